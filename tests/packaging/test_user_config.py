"""A user's config on top of the project's, from the installed wheel in a folder that is no
clone: ``_base_ = 'mmresnet::...'`` (and ``default_scope = 'mmresnet'``) builds a detector
and a classifier without ``import mmresnet``, trains through ``python -m mmresnet train``
and mmdet's own ``tools/train.py``, tests and infers through ``python -m mmresnet``.

The wheel goes into a new venv as ``pip install`` puts it (its ``mmresnet-scope.pth``
runs at start-up); the stack is the running environment's (tests/packaging/wheel_build.py).
"""
import importlib.util
import json
import os.path as osp
import subprocess

import pytest

from .wheel_build import clean_env

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DETECTOR = 'mmresnet::demo/faster-rcnn_paper-r18-c4_demo.py'
CLASSIFIER = 'mmresnet::demo/paper-resnet18-w16_tree-crops_pretrain_demo.py'
# the demo's detector at 128 px, 2 images, 2 iterations, from random weights
USER_DETECTOR = f"""_base_ = '{DETECTOR}'
model = dict(backbone=dict(init_cfg=None), roi_head=dict(shared_head=dict(init_cfg=None)),
             train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50),
                            rcnn=dict(sampler=dict(num=16))))
small_train = [dict(type='LoadDetImage'), dict(type='LoadAnnotations', with_bbox=True),
               dict(type='Resize', scale=(128, 128), keep_ratio=True),
               dict(type='PackDetInputs')]
small_test = [dict(type='LoadDetImage'), dict(type='Resize', scale=(128, 128), keep_ratio=True),
              dict(type='LoadAnnotations', with_bbox=True),
              dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                                    'img_shape', 'scale_factor'))]
train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                        dataset=dict(indices=2, pipeline=small_train))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(indices=2, pipeline=small_test))
test_dataloader = val_dataloader
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=2)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, by_epoch=False, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
"""
USER_CLASSIFIER = f"""_base_ = '{CLASSIFIER}'
train_dataloader = dict(batch_size=4, dataset=dict(crop_size=32, crops_per_box=1,
                        pipeline=[dict(type='RandomCropPad', size=32, padding=4),
                                  dict(type='PackClsInputs')]))
train_cfg = dict(max_iters=2, val_interval=3)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
"""
# the project's scope by name, nothing inherited, no custom_imports: MMEngine imports
# mmresnet.registry by itself
OWN_SCOPE = """default_scope = 'mmresnet'
model = dict(type='PaperResNetClassifier', num_classes=2,
             backbone=dict(type='PaperResNet', depth=18, base_channels=16),
             data_preprocessor=dict(type='ClsDataPreprocessor', mean=[103.53, 116.28, 123.675]))
"""

BUILD = r'''
import json, sys
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
cfg = Config.fromfile(sys.argv[1], import_custom_modules=False)
before = 'mmresnet' in sys.modules
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)
import mmresnet
print(json.dumps(dict(imported_before=before, model=type(model).__name__,
                      backbone=type(model.backbone).__name__,
                      preprocessor=type(model.data_preprocessor).__name__,
                      scope=cfg.model.get('_scope_'), default_scope=cfg.default_scope,
                      package=mmresnet.__file__)))
'''


@pytest.fixture(scope='module')
def user_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp('my_project')
    (folder / 'detector.py').write_text(USER_DETECTOR)
    (folder / 'classifier.py').write_text(USER_CLASSIFIER)
    (folder / 'own_scope.py').write_text(OWN_SCOPE)
    return folder


def _run(python, *args, cwd, timeout=600):
    proc = subprocess.run([python, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=clean_env(OMP_NUM_THREADS='2'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return proc, out


def _where(python, module):
    """The folder ``module`` is imported from (its package folder's parent), run from the
    venv's folder (``-c`` puts the working folder first on the path)."""
    code = f'import importlib.util as u; print(u.find_spec({module!r}).origin)'
    return osp.dirname(osp.dirname(subprocess.run(
        [python, '-c', code], capture_output=True, text=True, env=clean_env(),
        cwd=osp.dirname(python), check=True).stdout.strip()))


def test_user_configs_build_without_import(wheel_python, user_folder):
    """``mmresnet::`` reads at start-up (the wheel's .pth) and the inherited dicts carry
    the scope ``mmresnet``; a config may name the scope itself. MMEngine imports the
    package by itself when it builds them: no ``import mmresnet``, no custom_imports."""
    venv = osp.dirname(osp.dirname(wheel_python))
    got = {}
    for name in ('detector.py', 'classifier.py', 'own_scope.py'):
        proc, _ = _run(wheel_python, '-c', BUILD, name, cwd=user_folder)
        got[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        assert not got[name]['imported_before'], got
        assert got[name]["package"].startswith(venv), got  # the wheel's, not the clone's
    det, cls, own = got['detector.py'], got['classifier.py'], got['own_scope.py']
    assert (det['model'], det['backbone'], det['preprocessor'], det['scope']) == (
        'FasterRCNN', 'PaperResNet', 'DetDataPreprocessor', 'mmresnet')
    assert (cls['model'], cls['backbone'], cls['preprocessor'], cls['scope']) == (
        'PaperResNetClassifier', 'PaperResNet', 'ClsDataPreprocessor', 'mmresnet')
    assert (own['model'], own['default_scope'], own['scope']) == (
        'PaperResNetClassifier', 'mmresnet', None)


def test_user_detector_trains_tests_and_infers(wheel_python, user_folder):
    work = user_folder / 'work_det'
    _, out = _run(wheel_python, '-m', 'mmresnet', 'train', 'detector.py', '--work-dir',
                  str(work), cwd=user_folder)
    assert 'Iter(train) [2/2]' in out and 'is not in the' not in out, out[-3000:]
    assert 'not installed and its modules will not be registered' not in out
    ckpt = str(work / 'iter_2.pth')
    _, out = _run(wheel_python, '-m', 'mmresnet', 'test', 'detector.py', ckpt,
                  '--work-dir', str(user_folder / 'work_test'), cwd=user_folder)
    # two iterations from random weights: evaluated, though nothing is found yet
    assert 'Iter(test) [2/2]' in out and 'Evaluating bbox' in out, out[-3000:]
    image = osp.join(_where(wheel_python, 'mmresnet'), 'mmresnet', '.mim', 'data',
                     'demo_detection', 'JPEGImages', 'OSBS_029.jpg')
    assert image.startswith(osp.dirname(osp.dirname(wheel_python))), image
    _run(wheel_python, '-m', 'mmresnet', 'infer', 'detector.py', ckpt, image, '--out-dir',
         str(user_folder / 'out'), '--score-thr', '0', cwd=user_folder)
    assert (user_folder / 'out' / 'preds' / 'OSBS_029.json').is_file()


def test_user_classifier_trains(wheel_python, user_folder):
    _, out = _run(wheel_python, '-m', 'mmresnet', 'train', 'classifier.py', '--work-dir',
                  str(user_folder / 'work_cls'), cwd=user_folder)
    assert 'Iter(train) [2/2]' in out, out[-3000:]
    assert (user_folder / 'work_cls' / 'iter_2.pth').is_file()


def test_user_detector_trains_with_mmdets_train_tool(wheel_python, user_folder):
    """mmdet's own tools/train.py (shipped in its wheel), the config's custom_imports (from
    the project's runtime) the only import of mmresnet; the data root given in full, as
    mmdet's tool does not look for it in the package."""
    data = osp.join(_where(wheel_python, 'mmresnet'), 'mmresnet', '.mim', 'data',
                    'demo_detection') + '/'
    train = osp.join(_where(wheel_python, 'mmdet'), 'mmdet', '.mim', 'tools', 'train.py')
    _, out = _run(wheel_python, train, 'detector.py', '--work-dir',
                  str(user_folder / 'work_mmdet'), '--cfg-options',
                  f'train_dataloader.dataset.data_root={data}',
                  f'val_dataloader.dataset.data_root={data}',
                  f'val_evaluator.ann_file={data}annotations/instances_val.json',
                  cwd=user_folder)
    assert 'Iter(train) [2/2]' in out, out[-3000:]


@pytest.mark.skipif(importlib.util.find_spec('mim') is None,
                    reason='openmim is not installed (docs/get_started.md: how, with numpy '
                    'and setuptools pinned)')
def test_user_detector_trains_and_tests_through_mim(wheel_python, user_folder):
    """``mim train mmresnet`` / ``mim test mmresnet`` run the package's tools/ on the
    user's config."""
    work = user_folder / 'work_mim'
    _, out = _run(wheel_python, '-m', 'mim', 'train', 'mmresnet', 'detector.py',
                  '--work-dir', str(work), cwd=user_folder)
    assert 'Iter(train) [2/2]' in out, out[-3000:]
    _, out = _run(wheel_python, '-m', 'mim', 'test', 'mmresnet', 'detector.py',
                  '--checkpoint', str(work / 'iter_2.pth'), '--work-dir',
                  str(user_folder / 'work_mim_test'), cwd=user_folder)
    assert 'Iter(test) [2/2]' in out, out[-3000:]
