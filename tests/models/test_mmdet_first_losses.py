"""mmdet's own detector configs train from random init with PaperResNet exactly as with mmdet's
ResNet: ``type='ResNet'`` -> ``type='PaperResNet'`` (and ``init_cfg=None``, from scratch) is
the only change, and the same seed gives the same first training losses.

Each config is read from the installed mmdet wheel (``mmdet/.mim/configs``) and built as it
is (ResNet-50, FPN, its heads, losses and optimizer; lr 0.005), on mmdet's own random test
batch (``demo_mm_inputs``: two 96x96 images with boxes and masks), four SGD steps per
backbone.
"""
from pathlib import Path

import mmdet
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmresnet  # noqa: F401  (registers PaperResNet)

CONFIG_ROOT = Path(mmdet.__file__).parent / '.mim' / 'configs'
# One per family that uses mmdet's ResNet: one-stage (RetinaNet, FCOS: caffe style, GN
# head), two-stage (Faster, Cascade, Mask R-CNN: masks), and SOLO, whose config leaves
# norm_eval to the backbone's default (mmdet's True).
FAMILIES = {
    'retinanet': 'retinanet/retinanet_r50_fpn_1x_coco.py',
    'faster_rcnn': 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'cascade_rcnn': 'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    'fcos': 'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'mask_rcnn': 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'solo': 'solo/solo_r50_fpn_1x_coco.py',
}
ITERS, SIZE, LR = 4, 96, 0.005


def first_losses(config, backbone_type, iters=ITERS, size=SIZE, lr=LR, seed=0):
    """The total training loss of the first ``iters`` SGD steps of mmdet's ``config``
    with its backbone's type set to ``backbone_type`` and ``init_cfg=None``."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(CONFIG_ROOT / config))
    cfg.model.backbone.update(type=backbone_type, init_cfg=None)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    cfg.optim_wrapper.optimizer.lr = lr
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    data = demo_mm_inputs(2, [(3, size, size)] * 2, num_items=[3, 2], num_classes=80,
                          with_mask=True)
    losses = []
    for _ in range(iters):
        log_vars = model.train_step(data, optim)
        losses.append(float(log_vars['loss']))
    return losses


@pytest.fixture(scope='module', autouse=True)
def _configs():
    if not CONFIG_ROOT.is_dir():
        pytest.skip(f'mmdet was installed without its configs ({CONFIG_ROOT})')


@pytest.mark.parametrize('family', list(FAMILIES))
def test_type_swap_alone_gives_the_same_first_losses(family):
    want = first_losses(FAMILIES[family], 'ResNet')
    got = first_losses(FAMILIES[family], 'PaperResNet')
    print(f'\n{family}: ResNet {[round(v, 4) for v in want]}, '
          f'PaperResNet {[round(v, 4) for v in got]}')
    assert all(torch.isfinite(torch.tensor(want))), want
    assert len(set(want)) > 1, want  # the steps change the model: the losses can differ
    for a, b in zip(want, got):
        assert abs(a - b) <= 1e-3 * abs(a), (want, got)
