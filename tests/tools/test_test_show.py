"""tools/test.py --show / --wait-time / --show-dir set the visualization hook as mmdet's
tools/test.py does (checked on the config: no window is opened, nothing runs)."""
import os.path as osp

import pytest

from mmresnet.apis.runner import prepare_test_config

from .tool_loader import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DET = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
CLS = osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10.py')


def _cfg(*argv):
    return prepare_test_config(load_tool('test').parse_args(list(argv)))


def test_show_sets_the_hook_like_mmdet(tmp_path):
    args = load_tool('test').parse_args([DET, 'det.pth', '--show', '--wait-time', '2'])
    assert args.show is True and args.wait_time == 2 and args.show_dir is None
    hook = _cfg(DET, 'det.pth', '--work-dir', str(tmp_path), '--show', '--wait-time',
                '2').default_hooks.visualization
    assert hook.type == 'DetVisualizationHook'
    assert (hook.draw, hook.show, hook.wait_time) == (True, True, 2)
    assert 'test_out_dir' not in hook


def test_show_defaults_and_show_dir_together(tmp_path):
    hook = _cfg(DET, 'det.pth', '--work-dir', str(tmp_path), '--show', '--show-dir',
                'vis').default_hooks.visualization
    assert (hook.draw, hook.show, hook.wait_time, hook.test_out_dir) == (True, True, 2, 'vis')
    hook = _cfg(DET, 'det.pth', '--work-dir', str(tmp_path), '--show-dir',
                'vis').default_hooks.visualization
    assert hook.draw is True and hook.test_out_dir == 'vis' and not hook.get('show', False)
    hook = _cfg(DET, 'det.pth', '--work-dir', str(tmp_path)).default_hooks.visualization
    assert not hook.get('draw', False) and not hook.get('show', False)


def test_show_on_a_classification_config_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match='--show needs a "visualization" hook'):
        _cfg(CLS, 'cls.pth', '--work-dir', str(tmp_path), '--show')
    with pytest.raises(RuntimeError, match='--show and --show-dir needs'):
        _cfg(CLS, 'cls.pth', '--work-dir', str(tmp_path), '--show', '--show-dir', 'vis')
