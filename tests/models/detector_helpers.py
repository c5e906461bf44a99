"""Small builders shared by the detection tests (tiny widths, CPU, a few px)."""
import contextlib
import os.path as osp

import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmresnet  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
C4_BASE = osp.join(ROOT, 'configs/_base_/models/faster_rcnn_paper_r50_caffe_c4.py')
FPN_BASE = osp.join(ROOT, 'configs/_base_/models/faster_rcnn_paper_r50_caffe_fpn.py')


def tiny_detector_cfg(kind, base_channels=8, num_classes=3, checkpoint=None):
    """The paper's C4 or the FPN model config, PaperResNet-50 at ``base_channels`` width.

    Everything else (frozen BN, frozen_stages=1, caffe style, heads) is the shipped config.
    """
    init_default_scope('mmdet')
    cfg = Config.fromfile(C4_BASE if kind == 'c4' else FPN_BASE).model
    w = base_channels
    init = dict(type='Pretrained', checkpoint=checkpoint) if checkpoint else None
    cfg.backbone.update(base_channels=w, init_cfg=init)
    cfg.roi_head.bbox_head.num_classes = num_classes
    cfg.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
    cfg.train_cfg.rcnn.sampler.num = 32
    cfg.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    if kind == 'c4':
        cfg.rpn_head.update(in_channels=16 * w, feat_channels=16 * w)
        cfg.roi_head.shared_head.update(base_channels=w, init_cfg=dict(
            type='Pretrained', checkpoint=checkpoint, prefix='layer4.') if checkpoint else None)
        cfg.roi_head.bbox_roi_extractor.out_channels = 16 * w
        cfg.roi_head.bbox_head.in_channels = 32 * w
    else:
        cfg.neck.update(in_channels=[4 * w, 8 * w, 16 * w, 32 * w], out_channels=16)
        cfg.rpn_head.update(in_channels=16, feat_channels=16)
        cfg.roi_head.bbox_roi_extractor.out_channels = 16
        cfg.roi_head.bbox_head.update(in_channels=16, fc_out_channels=32)
    return cfg


def randomise(model, seed=0):
    """Seeded random values in every float tensor of ``model``'s state dict, in place:
    weights ~ N(0, 1/fan_in), norm scales and BN variances in [0.5, 1.5], the rest (biases,
    BN means, gates that start at 0) in [-0.1, 0.1], so that none of them is a no-op."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if t.dim() > 1:
                t.copy_(torch.randn(t.shape, generator=gen) / t[0].numel()**0.5)
            elif name.endswith(('running_var', 'weight')):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            else:
                t.copy_(torch.rand(t.shape, generator=gen) * 0.2 - 0.1)


@contextlib.contextmanager
def one_thread():
    """Tiny inputs: threads cost more than they give; the setting is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def quiet_init_info():
    """MMEngine's ``init_weights`` takes the mean of every parameter of a module after each
    initialiser, only to log which one changed it: a quarter of a small training run's time
    on a CPU. Off inside the block (the weights are the same); restored after."""
    import mmengine.model.base_module as base_module
    import mmengine.model.weight_init as weight_init
    saved = base_module.update_init_info, weight_init.update_init_info
    base_module.update_init_info = weight_init.update_init_info = lambda *a, **k: None
    try:
        yield
    finally:
        base_module.update_init_info, weight_init.update_init_info = saved


def build_detector(cfg):
    init_default_scope('mmdet')
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def tiny_batch(model, num_classes=3, size=96, n=2):
    """A preprocessed batch of ``n`` random ``size`` x ``size`` images with boxes."""
    torch.manual_seed(0)
    packed = demo_mm_inputs(n, [[3, size, size]] * n, num_items=[3] * n,
                            num_classes=num_classes + 1)
    for sample in packed['data_samples']:
        sample.gt_instances.labels = sample.gt_instances.labels.clamp(max=num_classes - 1)
    return model.data_preprocessor(packed, True)
