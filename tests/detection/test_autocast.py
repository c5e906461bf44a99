"""The C4 detector's training step in bf16 autocast (AutocastOptimWrapper) against float32."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmresnet.engine import AutocastOptimWrapper, cpu_has_native_bf16
from mmresnet.engine import sync_free

from .helpers import build_detector, tiny_batch, tiny_detector_cfg


def _sgd(model):
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)


@pytest.mark.skipif(not cpu_has_native_bf16(), reason='this CPU has no native bfloat16')
def test_c4_training_step_bf16_matches_float32():
    # Tolerance: bf16 keeps 8 bits of mantissa (relative error ~4e-3 per op); after a
    # whole backbone the losses agree to 5 % and the updated weights to 1e-3 of lr * grad.
    torch.manual_seed(0)
    model = build_detector(tiny_detector_cfg('c4', base_channels=8)).train()
    ref = copy.deepcopy(model)
    data = tiny_batch(model, size=128)
    w16, w32 = AutocastOptimWrapper(optimizer=_sgd(model)), OptimWrapper(_sgd(ref))
    torch.manual_seed(1)
    log16 = model.train_step(copy.deepcopy(data), w16)
    torch.manual_seed(1)
    log32 = ref.train_step(copy.deepcopy(data), w32)
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        torch.testing.assert_close(log16[key], log32[key], rtol=0.05, atol=0.02, msg=key)
    # the heavy parts ran in bf16, the RoI extractor and the heads in float32
    with w16.optim_context(model):
        x = torch.zeros(1, 3, 64, 64)
        feat = model.backbone(x)[0]
        assert feat.dtype == torch.bfloat16
        rois = torch.tensor([[0., 0., 0., 32., 32.]])
        assert model.roi_head.bbox_roi_extractor([feat], rois).dtype == torch.float32
        assert model.rpn_head([feat])[0][0].dtype == torch.float32
    moved = [(n, p, q) for (n, p), q in zip(model.named_parameters(), ref.parameters())
             if p.requires_grad]
    for name, a, b in moved:
        torch.testing.assert_close(a, b, rtol=0, atol=1e-3 * 0.01 + 1e-4, msg=name)


def test_without_native_bf16_the_wrapper_trains_in_float32(monkeypatch, caplog):
    monkeypatch.setattr(sync_free, 'cpu_has_native_bf16', lambda: False)
    model = build_detector(tiny_detector_cfg('c4', base_channels=8)).train()
    wrapper = AutocastOptimWrapper(optimizer=_sgd(model))
    with wrapper.optim_context(model):
        assert model.backbone(torch.zeros(1, 3, 32, 32))[0].dtype == torch.float32
    assert wrapper._enabled is False
