"""mmdet's own detector configs train from random init with PaperResNet exactly as with mmdet's
ResNet: ``type='ResNet'`` -> ``type='PaperResNet'`` (and ``init_cfg=None``, from scratch) is
the only change, and the same seed gives the same first training losses.

Each config is read from the installed mmdet wheel (``mmdet/.mim/configs``) and built as it
is (ResNet-50, FPN, its heads, losses and optimizer; lr 0.005) but for the number of
proposals and sampled RoIs (fewer, the same for both backbones: the second-stage heads cost
most of the time), on mmdet's own random test batch (``demo_mm_inputs``: one 64x64 image
with three boxes and their masks), four SGD steps per backbone.
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

from .detector_helpers import quiet_init_info

CONFIG_ROOT = Path(mmdet.__file__).parent / '.mim' / 'configs'
# One per family that uses mmdet's ResNet: one-stage (RetinaNet, FCOS: caffe style, GN
# head), two-stage (Faster, Cascade, Mask R-CNN: masks). SOLO (whose config leaves norm_eval
# to the backbone's default) gives the same losses too, but costs as much as the others
# together: its norm layers' training mode is compared in test_mmdet_configs.py.
FAMILIES = {
    'retinanet': 'retinanet/retinanet_r50_fpn_1x_coco.py',
    'faster_rcnn': 'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'cascade_rcnn': 'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    'fcos': 'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'mask_rcnn': 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
}
ITERS, SIZE, LR = 4, 64, 0.005


def fewer_rois(train_cfg, proposals=100, rois=32):
    """Fewer RPN proposals and sampled RoIs per image in a two-stage ``train_cfg``."""
    if 'rpn_proposal' in train_cfg:
        train_cfg.rpn_proposal.update(nms_pre=2 * proposals, max_per_img=proposals)
    stages = train_cfg.get('rcnn') or []
    for stage in stages if isinstance(stages, list) else [stages]:
        stage.sampler.num = rois


def first_losses(config, backbone_type, iters=ITERS, size=SIZE, lr=LR, seed=0):
    """The total training loss of the first ``iters`` SGD steps of mmdet's ``config``
    with its backbone's type set to ``backbone_type`` and ``init_cfg=None``."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(CONFIG_ROOT / config))
    cfg.model.backbone.update(type=backbone_type, init_cfg=None)
    fewer_rois(cfg.model.get('train_cfg') or {})
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    with quiet_init_info():
        model.init_weights()
    model.train()
    cfg.optim_wrapper.optimizer.lr = lr
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    data = demo_mm_inputs(1, [(3, size, size)], num_items=[3], num_classes=80,
                          with_mask=True)
    losses = []
    for _ in range(iters):
        log_vars = model.train_step(data, optim)
        losses.append(float(log_vars['loss'].detach()))
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
