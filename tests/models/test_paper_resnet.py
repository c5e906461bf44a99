import warnings

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmresnet.models import (PAPER_CHOICES, BasicBlock, Bottleneck, FrozenBNFromScratchWarning,
                             IdentityShortcut, PadShortcut, PaperResNet, ProjectionShortcut)
from mmresnet.analysis import count_params


# --- errors first -------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, words', [
    (dict(depth=19), ['18, 34, 50, 101, 152']),
    (dict(depth=21, arch='cifar'), ['6n+2']),
    (dict(depth=2, arch='cifar'), ['6n+2']),
    (dict(depth=18, arch='vgg'), ['imagenet', 'cifar']),
    (dict(depth=18, shortcut='D'), ["'A', 'B', 'C'"]),
    (dict(depth=18, style='tf'), ['pytorch', 'caffe']),
    (dict(depth=18, out_indices=(0, 4)), ['out_indices', '0..3']),
    (dict(depth=20, arch='cifar', out_indices=(3, )), ['0..2']),
    (dict(depth=18, frozen_stages=5), ['PaperResNet: frozen_stages', '[-1, 4]']),
    (dict(depth=18, num_stages=5), ['num_stages', '[1, 4]']),
    (dict(depth=18, strides=(1, 2)), ['strides', '4 entries']),
])
def test_bad_arguments_name_allowed_values(kwargs, words):
    with pytest.raises(ValueError) as err:
        PaperResNet(**kwargs)
    for w in words:
        assert w in str(err.value)


# --- structure ----------------------------------------------------------------------
def shortcut_types(net):
    return [type(b.downsample) for layer in net.res_layers for b in getattr(net, layer)]


def test_paper_defaults():
    assert PaperResNet(20, arch='cifar').shortcut == 'A'
    assert PaperResNet(18).shortcut == 'B'


def test_option_b_projects_only_where_shape_changes():
    net = PaperResNet(18)
    assert shortcut_types(net) == [IdentityShortcut] * 2 + [
        ProjectionShortcut, IdentityShortcut] * 3
    net = PaperResNet(50)  # layer1.0 grows 64->256 channels at stride 1
    assert isinstance(net.layer1[0].downsample, ProjectionShortcut)
    assert isinstance(net.layer1[1].downsample, IdentityShortcut)


def test_option_c_projects_everywhere_and_a_never():
    assert set(shortcut_types(PaperResNet(34, shortcut='C'))) == {ProjectionShortcut}
    types = shortcut_types(PaperResNet(34, shortcut='A'))
    assert set(types) == {IdentityShortcut, PadShortcut}
    assert types.count(PadShortcut) == 3


@pytest.mark.parametrize('depth, arch', [(20, 'cifar'), (34, 'imagenet'), (50, 'imagenet')])
def test_option_a_parameter_free_and_plain_same_count(depth, arch):
    a = PaperResNet(depth, arch=arch, shortcut='A')
    plain = PaperResNet(depth, arch=arch, plain=True)
    b = PaperResNet(depth, arch=arch, shortcut='B')
    assert all(len(list(m.downsample.parameters())) == 0 for m in a.modules()
               if isinstance(m, (BasicBlock, Bottleneck)))
    assert count_params(a) == count_params(plain)
    assert count_params(b) > count_params(a)
    assert all(m.downsample is None for m in plain.modules()
               if isinstance(m, (BasicBlock, Bottleneck)))


def test_state_dict_names_are_the_ecosystems():
    keys = set(PaperResNet(50).state_dict())
    for k in ['conv1.weight', 'bn1.running_mean', 'layer1.0.conv3.weight',
              'layer1.0.bn3.weight', 'layer1.0.downsample.0.weight',
              'layer1.0.downsample.1.running_var', 'layer4.2.bn2.bias']:
        assert k in keys
    assert not any('layer2.1.downsample' in k for k in keys)


def test_caffe_style_puts_stride_on_first_1x1():
    caffe, torch_style = PaperResNet(50, style='caffe'), PaperResNet(50)
    assert caffe.layer2[0].conv1.stride == (2, 2) and caffe.layer2[0].conv2.stride == (1, 1)
    assert torch_style.layer2[0].conv1.stride == (1, 1)
    assert torch_style.layer2[0].conv2.stride == (2, 2)


def test_cifar_stack_matches_section_4_2():
    net = PaperResNet(56, arch='cifar')
    assert [len(getattr(net, n)) for n in net.res_layers] == [9, 9, 9]
    assert net.conv1.kernel_size == (3, 3) and net.conv1.out_channels == 16
    assert net.stage_channels == [16, 32, 64]
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 56 - 1  # 6n+1 convs + the fc = 6n+2 weighted layers


# --- behaviour ----------------------------------------------------------------------
@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('shortcut', ['A', 'B', 'C'])
@pytest.mark.parametrize('style', ['pytorch', 'caffe'])
def test_imagenet_output_shapes(depth, shortcut, style):
    net = PaperResNet(depth, shortcut=shortcut, style=style, base_channels=8).eval()
    outs = net(torch.rand(1, 3, 64, 64))
    exp = 1 if depth == 18 else 4
    assert [tuple(o.shape) for o in outs] == [
        (1, 8 * exp, 16, 16), (1, 16 * exp, 8, 8), (1, 32 * exp, 4, 4), (1, 64 * exp, 2, 2)]
    assert net.output_shape() == [(8 * exp, 4), (16 * exp, 8), (32 * exp, 16), (64 * exp, 32)]


@pytest.mark.parametrize('plain', [False, True])
@pytest.mark.parametrize('shortcut', ['A', 'B', 'C'])
def test_cifar_output_shapes(plain, shortcut):
    net = PaperResNet(8, arch='cifar', shortcut=shortcut, plain=plain, out_indices=(1, 2))
    outs = net.eval()(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 16), (2, 64, 8, 8)]


@pytest.mark.parametrize('depth', [34, 50])
def test_plain_imagenet_shapes(depth):
    net = PaperResNet(depth, plain=True, base_channels=4, out_indices=(3, )).eval()
    (out, ) = net(torch.rand(1, 3, 64, 64))
    assert out.shape == (1, 32 * (4 if depth == 50 else 1), 2, 2)


def test_option_a_shortcut_is_subsample_and_zero_pad():
    pad = PadShortcut(2, 4, stride=2)
    x = torch.arange(2 * 4 * 4, dtype=torch.float).reshape(1, 2, 4, 4)
    y = pad(x)
    assert y.shape == (1, 4, 2, 2)
    assert torch.equal(y[:, :2], x[..., ::2, ::2])
    assert torch.count_nonzero(y[:, 2:]) == 0


def test_plain_block_has_no_residual_path():
    block = BasicBlock(4, 4, plain=True).eval()
    for m in block.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
    x = torch.rand(1, 4, 5, 5)
    assert torch.count_nonzero(block(x)) == 0  # zero branch, no shortcut: relu(0 + bn bias 0)
    res = BasicBlock(4, 4, shortcut='A').eval()
    for m in res.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
    assert torch.allclose(res(x), x)  # identity survives


def test_frozen_stages_and_norm_eval_survive_train():
    net = PaperResNet(18, base_channels=4, frozen_stages=2, norm_eval=True)
    net.train()
    for name in ('conv1', 'bn1', 'layer1', 'layer2'):
        m = getattr(net, name)
        assert all(not p.requires_grad for p in m.parameters())
    assert all(p.requires_grad for p in net.layer3.parameters())
    assert all(not m.training for m in net.modules() if isinstance(m, _BatchNorm))
    # Frozen stage BN statistics do not move in a training step.
    before = net.layer1[0].bn1.running_mean.clone()
    net(torch.rand(2, 3, 32, 32)).__len__()
    assert torch.equal(before, net.layer1[0].bn1.running_mean)

    net2 = PaperResNet(18, base_channels=4, frozen_stages=1, norm_eval=False).train()
    assert not net2.layer1.training and net2.layer2.training


def test_with_cp_same_output_and_grad():
    torch.manual_seed(1)
    a = PaperResNet(20, arch='cifar', with_cp=False)
    b = PaperResNet(20, arch='cifar', with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    ya, yb = a(x)[-1], b(x)[-1]
    assert torch.allclose(ya, yb)
    ga = torch.autograd.grad(ya.sum(), a.conv1.weight)[0]
    gb = torch.autograd.grad(yb.sum(), b.conv1.weight)[0]
    assert torch.allclose(ga, gb, atol=1e-5)


def test_zero_init_residual_and_he_init():
    net = PaperResNet(50, base_channels=8)  # mmdet's default: zero-init
    net.init_weights()
    assert torch.count_nonzero(net.layer1[0].bn3.weight) == 0
    assert torch.all(net.layer1[0].bn1.weight == 1)
    std = net.layer2[0].conv2.weight.std().item()
    fan_out = 16 * 9  # Kaiming normal, fan_out mode: std = sqrt(2 / fan_out)
    assert abs(std - (2 / fan_out)**0.5) < 0.2 * (2 / fan_out)**0.5
    # the paper's He init: every BN scale 1; any init_cfg replaces the default (mmdet's rule)
    with pytest.warns(FrozenBNFromScratchWarning):  # frozen BN, an init_cfg that is no file
        custom = PaperResNet(18, base_channels=8, init_cfg=[
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', val=1, layer='_BatchNorm')])
    for net in (PaperResNet(18, base_channels=8, **PAPER_CHOICES), custom):
        net.init_weights()
        assert torch.all(net.layer1[0].bn2.weight == 1)


def test_defaults_are_mmdet_resnets_where_the_paper_is_silent():
    from mmdet.models.backbones import ResNet
    ref, ours = ResNet(50), PaperResNet(50)
    for attr in ('style', 'norm_eval', 'zero_init_residual', 'frozen_stages', 'norm_cfg',
                 'conv_cfg', 'with_cp', 'base_channels', 'num_stages', 'strides',
                 'dilations', 'out_indices', 'dcn', 'plugins'):
        a, b = getattr(ref, attr), getattr(ours, attr)
        if isinstance(a, (list, tuple)):
            a, b = tuple(a), tuple(b)
        assert a == b, (attr, a, b)
    ours.train()
    assert not any(m.training for m in ours.modules() if isinstance(m, _BatchNorm))
    # the paper's choices, as the project's classification configs write them
    paper = PaperResNet(50, **PAPER_CHOICES).train()
    assert all(m.training for m in paper.modules() if isinstance(m, _BatchNorm))


def test_frozen_bn_from_scratch_warns_once_naming_the_ways_out():
    with pytest.warns(FrozenBNFromScratchWarning) as record:
        PaperResNet(50, base_channels=8, zero_init_residual=False,
                    norm_cfg=dict(type='BN', requires_grad=False))
    assert len(record) == 1
    msg = str(record[0].message)
    for words in ('norm_eval=True, requires_grad=False', "type='Pretrained'",
                  'zero_init_residual=True', 'norm_eval=False'):
        assert words in msg, msg


@pytest.mark.parametrize('kwargs', [
    dict(),  # zero-init (mmdet's default)
    dict(zero_init_residual=False, norm_eval=False),  # BN learns (the paper's)
    dict(zero_init_residual=False, init_cfg=dict(type='Pretrained', checkpoint='b.pth')),
    dict(zero_init_residual=False, norm_cfg=dict(type='GN', num_groups=4)),
])
def test_no_warning_with_a_way_out(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('error', FrozenBNFromScratchWarning)
        PaperResNet(18, base_channels=8, **kwargs)


def test_syncbn_and_gn_through_norm_cfg():
    gn = PaperResNet(18, base_channels=8, norm_cfg=dict(type='GN', num_groups=4))
    assert isinstance(gn.layer1[0].gn1, torch.nn.GroupNorm)
    sbn = PaperResNet(18, base_channels=8, norm_cfg=dict(type='SyncBN'))
    assert isinstance(sbn.layer1[0].bn1, torch.nn.SyncBatchNorm)


def test_pretrained_init_cfg_loads_weights(tmp_path):
    src = PaperResNet(20, arch='cifar')
    ckpt = tmp_path / 'backbone.pth'
    torch.save({'state_dict': src.state_dict()}, ckpt)
    dst = PaperResNet(20, arch='cifar', init_cfg=dict(type='Pretrained', checkpoint=str(ckpt)))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(v, dst.state_dict()[k]), k
