"""``_mmresnet_scope`` (run at start-up by the wheel's ``mmresnet-scope.pth``): MMEngine's
table of config packages gets ``mmresnet`` when MMEngine's config utilities are imported,
nothing heavy is imported at start-up, ``MMRESNET_SCOPE_HOOK=0`` turns it off."""
import json
import subprocess
import sys

import pytest

from .wheel_build import ROOT, clean_env

SCRIPT = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import _mmresnet_scope
_mmresnet_scope.install()
_mmresnet_scope.install()  # twice: one finder
at_start = sorted(m for m in ('torch', 'mmengine', 'mmresnet', 'mmdet') if m in sys.modules)
finders = sum(isinstance(f, _mmresnet_scope.ScopeFinder) for f in sys.meta_path)
from mmengine.config.utils import MODULE2PACKAGE, _get_package_and_cfg_path
known = 'mmresnet' in MODULE2PACKAGE
package = _get_package_and_cfg_path('mmresnet::demo/x.py')[0] if known else None
print(json.dumps(dict(at_start=at_start, finders=finders, known=known, package=package,
                      mmresnet_imported='mmresnet' in sys.modules)))
'''


@pytest.mark.parametrize('switch, known', [(None, True), ('0', False)])
def test_the_scope_is_added_when_mmengine_reads_configs(switch, known):
    env = clean_env() if switch is None else clean_env(MMRESNET_SCOPE_HOOK=switch)
    out = subprocess.run([sys.executable, '-c', SCRIPT, ROOT], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got['at_start'] == [] and got['mmresnet_imported'] is False, got
    assert got['known'] is known, got
    if known:
        assert got['finders'] == 1 and got['package'] == 'mmresnet', got
