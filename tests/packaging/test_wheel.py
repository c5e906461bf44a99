"""What the built wheel promises and carries.

The wheel is built once per session from a copy of the sources (nothing is written into
the clone) with the running interpreter's setuptools, offline. Its metadata must admit the
stack MMDetection 3.3 users have (torch 2.0/2.1, mmcv 2.0-2.1, mmengine 0.10, Python 3.8)
and keep the newest; its ``mmresnet/.mim`` must carry the configs, tools and demo data;
installed on its own (``pip install --target``) and used from a folder that is no clone,
MMEngine must find a config by the ``mmresnet::`` scope.
"""
import email
import json
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

from .wheel_build import ROOT, pip as _pip

SCOPED = 'mmresnet::faster_rcnn/faster-rcnn_paper-r101-caffe-c4_1x_coco.py'


def _metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        return email.message_from_bytes(z.read(name))


def test_floor_in_built_metadata(wheel):
    """The stack MMDetection 3.3 users have satisfies the wheel's requirements, so pip
    leaves their torch, mmcv, mmdet and mmengine alone; the newest torch stays admitted."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    meta = _metadata(wheel)
    reqs = {Requirement(r).name: Requirement(r) for r in meta.get_all('Requires-Dist')
            if 'extra ==' not in r}
    users = {'torch': ['2.0.0', '2.0.1', '2.1.0', '2.1.2', '2.13.0', '2.14.1'],
             'mmcv': ['2.0.0', '2.0.1', '2.1.0'], 'mmengine': ['0.10.3', '0.10.7'],
             'mmdet': ['3.3.0']}
    for name, versions in users.items():
        for v in versions:
            assert reqs[name].specifier.contains(v), f'{name} {reqs[name].specifier} bars {v}'
    # mmdet 3.3 refuses mmcv 2.2: so must the project
    assert not reqs['mmcv'].specifier.contains('2.2.0')
    assert set(reqs) >= {'torch', 'mmcv', 'mmdet', 'mmengine', 'numpy', 'safetensors'}
    assert SpecifierSet(meta['Requires-Python']).contains('3.8.0')


def test_wheel_carries_configs_tools_and_demo_data(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    mim = 'mmresnet/.mim/'
    for rel in ('configs/faster_rcnn/faster-rcnn_paper-r101-caffe-c4_1x_coco.py',
                'configs/_base_/datasets/demo_detection.py',
                'configs/demo/faster-rcnn_paper-r18-c4_demo.py', 'tools/train.py',
                'tools/test.py', 'tools/demo.py', 'data/demo_detection/LICENSE.md',
                'data/demo_detection/annotations/instances_train.json', 'model-index.yml'):
        assert mim + rel in names, rel
    jpgs = [n for n in names if n.startswith(mim + 'data/demo_detection/JPEGImages/')]
    want = os.listdir(osp.join(ROOT, 'data', 'demo_detection', 'JPEGImages'))
    assert len(jpgs) == len(want) > 0
    # every config of the clone, nothing compiled
    configs = {osp.relpath(osp.join(d, f), osp.join(ROOT, 'configs'))
               for d, _, files in os.walk(osp.join(ROOT, 'configs')) for f in files
               if f.endswith('.py')}
    assert {mim + 'configs/' + c for c in configs} <= names
    assert not [n for n in names if '__pycache__' in n or n.endswith('.pyc')]
    # the start-up line that makes mmresnet:: readable without an import, and its module
    assert {'mmresnet-scope.pth', '_mmresnet_scope.py'} <= names
    with zipfile.ZipFile(wheel) as z:
        assert z.read('mmresnet-scope.pth').decode().startswith('import _mmresnet_scope;')


SCOPE_SCRIPT = r'''
import json, os, sys
import mmengine.hub
from mmengine.config import Config
import mmresnet  # MMEngine 0.10 knows OpenMMLab's scopes only: the import adds mmresnet::
from mmresnet.config import prepare_config
from mmresnet.resources import find_resource, resource_root

cfg = mmengine.hub.get_config(sys.argv[1])
with open('my_detector.py', 'w') as f:
    f.write(f"_base_ = '{sys.argv[1]}'\nmodel = dict(backbone=dict(frozen_stages=2))\n")
user = Config.fromfile('my_detector.py')
print(json.dumps(dict(
    package=mmresnet.__file__, root=resource_root(),
    depth=cfg.model.backbone.depth, type=cfg.model.backbone.type,
    user_depth=user.model.backbone.depth, user_frozen=user.model.backbone.frozen_stages,
    user_style=user.model.backbone.style,
    demo_config=find_resource('configs/demo/faster-rcnn_paper-r18-c4_demo.py'),
    demo_data=find_resource('data/demo_detection/annotations/instances_val.json'),
    infer_data_root=prepare_config('configs/demo/faster-rcnn_paper-r18-c4_demo.py', 'infer')
    .test_dataloader.dataset.data_root)))
'''


@pytest.mark.slow
def test_config_by_scope_from_outside_the_clone(wheel, tmp_path):
    """The wheel alone (``pip install --no-deps --target``), first on the path, used from a
    folder that is no clone: ``get_config('mmresnet::...')``, a user config with ``_base_ =
    'mmresnet::...'``, and the demo's config and data found in the package."""
    target = tmp_path / 'site'
    _pip('install', '-q', '--no-deps', '--no-index', '--target', str(target), str(wheel))
    work = tmp_path / 'elsewhere'
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, '-c', SCOPE_SCRIPT, SCOPED], cwd=work, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    pkg = str(target / 'mmresnet')
    assert got['package'].startswith(pkg), got  # the wheel's package, not the clone's
    assert got['root'] == osp.join(pkg, '.mim')
    assert (got['type'], got['depth']) == ('PaperResNet', 101)
    assert (got['user_depth'], got['user_frozen'], got['user_style']) == (101, 2, 'caffe')
    # inference and export read a relative config and its data_root from the package too
    assert got['infer_data_root'].startswith(osp.join(pkg, '.mim', 'data')), got
    assert got['demo_config'] == osp.join(pkg, '.mim', 'configs', 'demo',
                                          'faster-rcnn_paper-r18-c4_demo.py')
    assert osp.isfile(got['demo_data']) and got['demo_data'].startswith(pkg)
