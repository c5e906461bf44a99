"""Training never imports the deploy extra: ``import mmresnet`` loads neither
``mmresnet.deploy`` nor onnx / onnxruntime / openvino, and only the tools' layers (apis,
benchmarks) import ``mmresnet.deploy``."""
import subprocess
import sys

from ..models.test_import_direction import PACKAGE, imported_packages


def test_import_mmresnet_loads_no_runtime():
    code = ('import sys, mmresnet, mmresnet.models, mmresnet.engine, mmresnet.datasets; '
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('onnx', 'onnxruntime', 'openvino') or m.startswith('mmresnet.deploy')))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == '[]'


def test_only_apis_and_benchmarks_import_deploy():
    allowed = ('deploy', 'apis', 'benchmarks')
    wrong = {str(f.relative_to(PACKAGE)): sorted(n for n in imported_packages(f)
                                                  if n.startswith('mmresnet.deploy'))
             for f in sorted(PACKAGE.rglob('*.py'))
             if f.relative_to(PACKAGE).parts[0] not in allowed}
    assert not {k: v for k, v in wrong.items() if v}, wrong
    # the reader sees the imports that are there
    assert any(n.startswith('mmresnet.deploy') for n in
               imported_packages(PACKAGE / 'apis' / 'inference.py'))
