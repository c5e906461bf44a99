"""Frozen and folded BN change no result beyond floating-point tolerance: outputs and
gradients of the switched model equal the plain model's (FrozenBatchNorm2d, BN folding)."""
import copy

import pytest
import torch
import torch.nn as nn
from mmdet.models.backbones import ResNet

from mmresnet.engine.frozen_bn import FrozenBatchNorm2d, fold_bn_into_conv, freeze_bn
from mmresnet.models import PaperResNet



def randomize_bn(model):
    """Non-trivial statistics and affine, so that a wrong fold cannot pass by accident."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) - 0.5)
    return model


def outputs_and_grads(model, x):
    x = x.clone().requires_grad_(True)
    outs = model(x)
    outs = outs if isinstance(outs, (tuple, list)) else (outs, )
    loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return [o.detach() for o in outs], x.grad.clone(), grads


def close(got, ref, rtol=1e-4, msg=None):
    """Equal up to float32 rounding: the absolute slack scales with the tensor's size, as
    summation-order differences do (values near zero in a tensor of thousands)."""
    atol = rtol * float(ref.abs().max()) + 1e-6
    torch.testing.assert_close(got, ref, rtol=rtol, atol=atol, msg=msg)


def assert_same(a, b):
    outs_a, gx_a, g_a = a
    outs_b, gx_b, g_b = b
    for oa, ob in zip(outs_a, outs_b, strict=True):
        close(ob, oa)
    close(gx_b, gx_a)
    assert g_a.keys() == g_b.keys() and g_a
    for k in g_a:
        close(g_b[k], g_a[k], msg=k)


def detector_backbone(**kw):
    # The paper's detector: BN frozen (statistics and affine), conv1 + conv2_x frozen.
    args = dict(depth=50, base_channels=8, style='caffe', frozen_stages=1, norm_eval=True,
                norm_cfg=dict(type='BN', requires_grad=False))
    args.update(kw)
    return randomize_bn(PaperResNet(**args))


# -- FrozenBatchNorm2d -------------------------------------------------------------------
def test_frozen_bn_equals_bn_in_eval_and_loads_its_state_dict():
    bn = randomize_bn(nn.Sequential(nn.BatchNorm2d(6)))[0].eval()
    frozen = FrozenBatchNorm2d.from_bn(bn)
    assert frozen.state_dict().keys() == bn.state_dict().keys()
    assert not list(frozen.parameters())  # nothing for an optimizer or train() to change
    x = torch.randn(2, 6, 5, 5)
    torch.testing.assert_close(frozen(x), bn(x), rtol=0, atol=0)  # no-grad path: same kernel
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    bn(xa).pow(2).sum().backward()
    frozen(xb).pow(2).sum().backward()  # affine path (x needs grad)
    close(xb.grad, xa.grad)
    again = FrozenBatchNorm2d(6)
    again.load_state_dict(bn.state_dict())
    torch.testing.assert_close(again(x), bn(x))


def test_frozen_bn_rejects_bn_without_statistics():
    with pytest.raises(ValueError, match='track_running_stats'):
        FrozenBatchNorm2d.from_bn(nn.BatchNorm2d(4, track_running_stats=False))


def test_freeze_bn_replaces_only_frozen_bn_and_keeps_grads():
    x = torch.randn(2, 3, 32, 32)
    net = detector_backbone().train()
    ref = copy.deepcopy(net)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert freeze_bn(net) == n_bn
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    net.train()  # cannot unfreeze anything
    assert net.state_dict().keys() == ref.state_dict().keys()
    assert_same(outputs_and_grads(ref, x), outputs_and_grads(net, x))

    # BN whose affine still trains (mmdet's requires_grad=True) stays BN; frozen stages'
    # BN (stem and conv2_x: requires_grad=False by _freeze) are replaced.
    partial = detector_backbone(norm_cfg=dict(type='BN', requires_grad=True)).train()
    ref = copy.deepcopy(partial)
    n = freeze_bn(partial)
    frozen_names = {k for k, m in partial.named_modules() if isinstance(m, FrozenBatchNorm2d)}
    assert n == len(frozen_names) > 0
    assert all(k == 'bn1' or k.startswith('layer1.') for k in frozen_names)
    assert_same(outputs_and_grads(ref, x), outputs_and_grads(partial, x))

    training_bn = PaperResNet(depth=20, arch='cifar').train()
    assert freeze_bn(training_bn) == 0  # BN that normalise with batch statistics stay


# -- BN folded into convs (inference) -----------------------------------------------------
@pytest.mark.parametrize('make', [
    lambda: PaperResNet(depth=50, base_channels=8, style='caffe'),
    lambda: PaperResNet(depth=50, base_channels=8, shortcut='C'),
    lambda: PaperResNet(depth=20, arch='cifar'),  # option A: pad shortcuts, no projection
    lambda: ResNet(depth=18, base_channels=8),  # mmdet's, the same names
], ids=['paper50-caffe-B', 'paper50-C', 'paper20-cifar-A', 'mmdet18'])
def test_fold_bn_into_conv_same_outputs(make):
    net = randomize_bn(make())
    net.eval()  # mmdet's ResNet.train() returns None
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)
        assert fold_bn_into_conv(net) > 0
        out = net(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    for a, b in zip(ref, out, strict=True):
        close(b, a)


def test_fold_bn_into_conv_after_freeze_and_refuses_training_mode():
    net = detector_backbone().train()
    freeze_bn(net)
    with pytest.raises(RuntimeError, match='model.eval'):
        fold_bn_into_conv(net)
    net.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)
        assert fold_bn_into_conv(net) == 53  # 1 stem + 16 blocks x 3 + 4 projections
        out = net(x)
        assert len(out) == len(ref) > 0
        for a, b in zip(ref, out, strict=True):
            close(b, a)
