"""Every runtime's visualizer reads ``vis_backends``: one line in a config (or
``--cfg-options``) switches TensorBoard on."""
import importlib.util
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmresnet.config import DEFAULT_VIS_BACKENDS, sync_vis_backends

from ..tools.tool_loader import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNTIMES = ['default_runtime.py', 'cls_runtime.py', 'cls_runtime_epoch.py', 'det_runtime.py']
CLS = osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10.py')
DET = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
TB = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
HAS_TB = importlib.util.find_spec('tensorboard') is not None


def _train_cfg(*argv):
    from mmresnet.apis.runner import tool_config
    return tool_config(load_tool('train').parse_args(list(argv)), 'train')


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_runtime_visualizer_reads_vis_backends(runtime):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_', runtime))
    assert cfg.vis_backends == DEFAULT_VIS_BACKENDS
    assert cfg.visualizer.vis_backends == cfg.vis_backends
    kind = 'DetLocalVisualizer' if runtime == 'det_runtime.py' else 'Visualizer'
    assert cfg.visualizer.type == kind


@pytest.mark.parametrize('config', [CLS, DET])
def test_overriding_vis_backends_reaches_the_visualizer(config, tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{config!r}]\n'
                     "vis_backends = [dict(type='LocalVisBackend'), "
                     "dict(type='WandbVisBackend')]\n")
    cfg = _train_cfg(str(child), '--work-dir', str(tmp_path))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend',
                                                                 'WandbVisBackend']
    # --cfg-options: its parser gives the entries as strings
    cfg = _train_cfg(config, '--work-dir', str(tmp_path), '--cfg-options',
                     "vis_backends=[dict(type='LocalVisBackend'),WandbVisBackend]")
    assert cfg.visualizer.vis_backends == [dict(type='LocalVisBackend'),
                                           dict(type='WandbVisBackend')]


def test_sync_rules():
    # mmdet's way, the visualizer's own list, is kept and copied back
    cfg = Config(dict(vis_backends=DEFAULT_VIS_BACKENDS,
                      visualizer=dict(type='Visualizer', vis_backends=[dict(type='X')])))
    sync_vis_backends(cfg)
    assert cfg.vis_backends == cfg.visualizer.vis_backends == [dict(type='X')]
    cfg = Config(dict(vis_backends=[dict(type='Y')], visualizer=dict(type='Visualizer')))
    assert sync_vis_backends(cfg).visualizer.vis_backends == [dict(type='Y')]
    cfg = Config(dict(vis_backends=[dict(type='Y')],
                      visualizer=dict(type='Visualizer', vis_backends=[dict(type='X')])))
    with pytest.raises(ValueError, match='disagree'):
        sync_vis_backends(cfg)
    cfg = Config(dict(vis_backends=['dict(type=1'], visualizer=dict(type='Visualizer')))
    with pytest.raises(ValueError, match='each entry must be a backend config'):
        sync_vis_backends(cfg)


def test_classification_runner_builds_its_own_visualizer(tmp_path):
    from mmresnet.apis.runner import build_runner
    runner = build_runner(_train_cfg(CLS, '--work-dir', str(tmp_path)))
    assert type(runner.visualizer).__name__ == 'Visualizer'
    assert runner.visualizer.instance_name == runner.experiment_name  # not shared
    assert [type(b).__name__ for b in runner.visualizer._vis_backends.values()] == [
        'LocalVisBackend']


@pytest.mark.skipif(HAS_TB, reason='tensorboard is installed')
def test_tensorboard_missing_names_the_install():
    with pytest.raises(ImportError, match=r'pip install -e "\.\[tensorboard\]"'):
        _train_cfg(CLS, '--cfg-options',
                   'vis_backends=[LocalVisBackend,TensorboardVisBackend]')


def test_tensorboard_backend_in_the_runner(tmp_path):
    pytest.importorskip('tensorboard')
    from mmresnet.apis.runner import build_runner
    child = tmp_path / 'tb.py'
    child.write_text(f'_base_ = [{CLS!r}]\n'
                     "vis_backends = [dict(type='LocalVisBackend'), "
                     "dict(type='TensorboardVisBackend')]\n")
    runner = build_runner(_train_cfg(str(child), '--work-dir', str(tmp_path / 'work')))
    backends = runner.visualizer._vis_backends
    assert [type(b).__name__ for b in backends.values()] == [
        'LocalVisBackend', 'TensorboardVisBackend']
    runner.visualizer.add_scalars({'loss': 1.0}, step=1)
    tb = backends['TensorboardVisBackend']
    tb.close()
    assert any('tfevents' in f for f in os.listdir(tb._save_dir))


def test_tta_wraps_the_model_and_replaces_the_test_pipeline():
    from mmresnet.apis.runner import enable_tta
    from mmresnet.engine.hooks import RecipeHook
    cfg = Config.fromfile(osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'))
    detector = cfg.model
    enable_tta(cfg)
    assert cfg.model.type == 'DetTTAModel' and cfg.model.module == detector
    transforms = cfg.test_dataloader.dataset.pipeline[1]['transforms']
    assert [t.get('direction') for t in transforms[1]] == [
        'horizontal', 'vertical', 'diagonal', None]
    # the recipe check and the speed switches reach the detector inside the TTA model
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from types import SimpleNamespace
    init_default_scope('mmdet')
    cfg.model.module.backbone.init_cfg = None
    cfg.model.module.roi_head.shared_head.init_cfg = None
    model = MODELS.build(cfg.model)
    assert RecipeHook._model(SimpleNamespace(model=model)) is model.module


def test_tta_without_its_keys_is_named():
    from mmresnet.apis.runner import enable_tta
    cfg = Config.fromfile(osp.join(ROOT, 'configs/faster_rcnn/'
                                   'faster-rcnn_paper-r50-caffe-c4_1x_coco.py'))
    with pytest.raises(ValueError, match='--tta needs tta_model and tta_pipeline'):
        enable_tta(cfg)


def test_cfg_options_keep_spaces_in_literal_values():
    import argparse

    from mmresnet.apis.runner import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', "a.classes=('potted plant', 'fire hydrant')",
                              "b='traffic light'", 'c=1,2', 'd=[x,y]', 'e=(128,128)', 'f=0.5',
                              'g=None', 'h=abc', 'i=potted plant', 'j=True', 'k=-3',
                              "l='potted plant, indoor'"])
    o = args.cfg_options
    assert o['a.classes'] == ('potted plant', 'fire hydrant')  # MMEngine's: 'pottedplant'
    assert o['b'] == 'traffic light'
    assert o['c'] == [1, 2] and o['d'] == ['x', 'y'] and o['e'] == (128, 128)
    assert o['f'] == 0.5 and o['g'] is None and o['h'] == 'abc'
    assert o['i'] == 'potted plant' and o['j'] is True and o['k'] == -3  # MMEngine: 'pottedplant'
    assert o['l'] == 'potted plant, indoor'
