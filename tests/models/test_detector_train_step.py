"""One training step of the C4 and FPN detectors on a tiny CPU input."""
import pytest
import torch
from mmengine.optim import OptimWrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mmresnet.models import PaperResNet

from .detector_helpers import build_detector, tiny_batch, tiny_detector_cfg


def _bn_state(model):
    return {n: b.clone() for n, b in model.named_buffers() if 'running_' in n}


@pytest.mark.parametrize('kind', ['c4', 'fpn'])
def test_one_training_step(kind, tmp_path):
    # Backbone (and C4 head) from a backbone checkpoint, as the paper fine-tunes.
    path = str(tmp_path / 'bb.pth')
    torch.save({'state_dict': PaperResNet(depth=50, base_channels=8).state_dict()}, path)
    model = build_detector(tiny_detector_cfg(kind, checkpoint=path))
    model.train()
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9))
    data = tiny_batch(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    bn_before = _bn_state(model)

    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'} <= set(losses)
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    optim.update_params(loss)

    # Gradients reach the backbone: conv3_x and conv4_x learn; conv1 and conv2_x
    # (frozen_stages=1) do not.
    bb = model.backbone
    for name in ('layer2.0.conv1.weight', 'layer3.0.conv2.weight'):
        assert not torch.equal(dict(bb.named_parameters())[name],
                               before['backbone.' + name]), name
    assert not bb.conv1.weight.requires_grad and not bb.layer1[0].conv1.weight.requires_grad
    assert torch.equal(bb.layer1[0].conv1.weight, before['backbone.layer1.0.conv1.weight'])
    if kind == 'c4':
        # conv5_x per RoI learns too.
        head = model.roi_head.shared_head.res_layer
        assert not torch.equal(head[0].conv1.weight,
                               before['roi_head.shared_head.layer4.0.conv1.weight'])

    # Frozen BN (Section 4.3): eval mode, no trainable affine, statistics untouched.
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    assert not any(p.requires_grad for m in bns for p in m.parameters())
    for n, b in _bn_state(model).items():
        assert torch.equal(b, bn_before[n]), n


def test_test_mode_predicts_boxes():
    model = build_detector(tiny_detector_cfg('c4')).eval()
    data = tiny_batch(model)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    assert len(results) == 2
    for r in results:
        assert r.pred_instances.bboxes.shape[1] == 4
        assert len(r.pred_instances.scores) == len(r.pred_instances.labels)
