"""mmdet's ``dcn``, ``stage_with_dcn`` and ``plugins`` on PaperResNet, its blocks and the C4
head: mmdet's positions and key names, every shortcut option and the plain nets, forward and
backward on the CPU, errors that name the argument."""
import copy

import pytest
import torch
from mmcv.ops import DeformConv2dPack, ModulatedDeformConv2dPack
from mmdet.models.backbones import ResNet
from mmdet.models.roi_heads.shared_heads import ResLayer

from mmresnet.models import BasicBlock, Bottleneck, PaperResLayer, PaperResNet

from .detector_helpers import randomise

DCN = dict(type='DCN', deform_groups=1, fallback_on_stride=False)
DCNV2 = dict(type='DCNv2', deform_groups=1, fallback_on_stride=False)
GC = dict(cfg=dict(type='ContextBlock', ratio=1. / 4), stages=(False, True, True, True),
          position='after_conv3')
ATTN = dict(cfg=dict(type='GeneralizedAttention', spatial_range=-1, num_heads=2,
                     attention_type='0010', kv_stride=2),
            stages=(False, False, True, True), position='after_conv2')
NL = dict(cfg=dict(type='NonLocal2d', reduction=2), position='after_conv1',
          stages=(False, False, True, False))


@pytest.mark.parametrize('kwargs, words', [
    (dict(dcn='DCN'), ["dcn must be None or a conv config", "'DCN'"]),
    (dict(dcn=dict(type='Deform')), ["unknown dcn type 'Deform'", "'DCNv2'"]),
    (dict(dcn=dict(DCN, fallback_on_stride=True)), ['fallback_on_stride=True',
                                                     'allowed values: False']),
    (dict(dcn=DCN, conv_cfg=dict(type='Conv2d')), ['dcn and conv_cfg', 'one of them']),
    (dict(dcn=DCN, stage_with_dcn=(True, True)), ['stage_with_dcn must be 4 bools']),
    (dict(stage_with_dcn=(False, True, True, True)), ['but dcn is None']),
    (dict(plugins=GC['cfg']), ['plugins must be None or a list']),
    (dict(plugins=[dict(GC, position='after_conv4')]),
     ["PaperResNet: plugins[0]: unknown position 'after_conv4'; allowed values: (",
      "'after_conv3'"]),
    (dict(plugins=[dict(GC, stages=(True, ))]), ['plugins[0]: stages must be None', '4 bools']),
    (dict(plugins=[dict(GC, where='x')]), ["unknown keys ['where']", "'stages'"]),
    (dict(plugins=[dict(position='after_conv3')]), ['plugins[0] must be dict(cfg=']),
    (dict(depth=18, plugins=[GC]), ["position 'after_conv3' is not in a BasicBlock",
                                    "('after_conv1', 'after_conv2')"]),
    (dict(plugins=[GC, GC]), ["two layers named 'context_block'", 'postfix']),
])
def test_bad_dcn_and_plugins_name_the_argument_and_allowed_values(kwargs, words):
    kwargs = dict(dict(depth=50, base_channels=8), **kwargs)
    with pytest.raises(ValueError) as err:
        PaperResNet(**kwargs)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


@pytest.mark.parametrize('dcn, kind', [(DCN, DeformConv2dPack),
                                       (DCNV2, ModulatedDeformConv2dPack)])
def test_dcn_replaces_the_3x3_of_the_chosen_stages(dcn, kind):
    net = PaperResNet(50, base_channels=8, dcn=dcn, stage_with_dcn=(False, True, False, True))
    for i, layer in enumerate((net.layer1, net.layer2, net.layer3, net.layer4)):
        for block in layer:
            assert isinstance(block.conv2, kind) == (i in (1, 3))
            assert not isinstance(block.conv1, kind) and not isinstance(block.conv3, kind)
    assert 'layer2.0.conv2.conv_offset.weight' in net.state_dict()
    assert DCN['fallback_on_stride'] is False  # the caller's dict is left as it was
    assert 'fallback_on_stride' not in net.dcn


def test_plugins_sit_where_mmdet_puts_them():
    net = PaperResNet(50, base_channels=16, plugins=[GC, ATTN, NL])
    keys = net.state_dict()
    assert not any('context_block' in k for k in keys if k.startswith('layer1.'))
    assert 'layer2.0.context_block.conv_mask.weight' in keys
    assert not any('gen_attention_block' in k for k in keys if k.startswith('layer2.'))
    assert 'layer4.2.gen_attention_block.key_conv.weight' in keys
    assert 'layer3.0.nonlocal_block.g.conv.weight' in keys
    assert not any('nonlocal_block' in k for k in keys if k.startswith('layer4.'))
    block = net.layer3[0]
    assert block.plugin_names == dict(after_conv1=('nonlocal_block', ),
                                      after_conv2=('gen_attention_block', ),
                                      after_conv3=('context_block', ))


@pytest.mark.parametrize('kwargs', [
    dict(dcn=DCN, stage_with_dcn=(False, True, True, True)),
    dict(dcn=DCNV2, stage_with_dcn=(False, False, True, True), style='caffe'),
    dict(plugins=[GC, ATTN]),
    dict(plugins=[NL, dict(cfg=dict(type='ContextBlock', ratio=1. / 4, postfix='2'),
                           position='after_conv3')]),
    dict(dcn=DCN, stage_with_dcn=(False, True, True, True), plugins=[GC], with_cp=True),
])
def test_mmdet_resnet_with_dcn_and_plugins_loads_strictly_and_matches(kwargs):
    args = dict(depth=50, base_channels=16, **kwargs)
    ref, ours = ResNet(**copy.deepcopy(args)), PaperResNet(**copy.deepcopy(args))
    randomise(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)
    # mmcv's deformable conv needs inputs of at least 3x3: 96 px leave conv5_x 3x3
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    ref.eval(), ours.eval()
    with torch.no_grad():
        for a, b in zip(ref(x), ours(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * a.abs().max().item())


@pytest.mark.parametrize('depth, arch', [(20, 'cifar'), (18, 'imagenet'), (50, 'imagenet')])
@pytest.mark.parametrize('shortcut, plain', [('A', False), ('B', False), ('C', False),
                                             ('B', True)])
def test_dcn_and_plugins_on_every_shortcut_and_plain_net_train(depth, arch, shortcut, plain):
    num_stages = 3 if arch == 'cifar' else 4
    gc = dict(GC, stages=(False, ) + (True, ) * (num_stages - 1),
              position='after_conv2' if depth < 50 else 'after_conv3')
    net = PaperResNet(depth, arch=arch, shortcut=shortcut, plain=plain, base_channels=8,
                      dcn=DCNV2, stage_with_dcn=(False, ) * (num_stages - 1) + (True, ),
                      plugins=[gc])
    kind = Bottleneck if depth == 50 else BasicBlock
    last = getattr(net, f'layer{num_stages}')[0]
    assert isinstance(last, kind) and 'context_block' in dict(last.named_children())
    deform = (last.conv2, ) if kind is Bottleneck else (last.conv1, last.conv2)
    assert all(isinstance(c, ModulatedDeformConv2dPack) for c in deform)
    assert (last.downsample is None) == plain
    net.train()
    out = net(torch.randn(2, 3, 32 if arch == 'cifar' else 96, 96))
    sum(o.float().pow(2).mean() for o in out).backward()
    grads = [p.grad for n, p in net.named_parameters() if 'conv_offset' in n]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    # the offsets start at 0 (mmcv's init): DCN is then the plain conv, and gets gradient
    assert any(g.abs().sum() > 0 for g in grads)


def test_in_place_sum_is_kept_out_of_a_trailing_plugin():
    plain = Bottleneck(32, 8)
    gated = Bottleneck(32, 8, plugins=[dict(cfg=dict(type='ContextBlock', ratio=0.25),
                                            position='after_conv3')])
    mid = Bottleneck(32, 8, plugins=[dict(cfg=dict(type='ContextBlock', ratio=0.25),
                                          position='after_conv2')])
    assert plain._add_in_place and mid._add_in_place and not gated._add_in_place
    x = torch.randn(2, 32, 8, 8, requires_grad=True)
    for block in (plain, gated, mid):
        block(x).sum().backward()  # autograd would refuse an unsafe in-place sum
    assert torch.isfinite(x.grad).all()


def test_c4_head_takes_dcn_and_plugins_and_loads_mmdets_shared_head():
    ref = ResLayer(50, style='caffe', dcn=copy.deepcopy(DCN),
                   norm_cfg=dict(type='BN', requires_grad=False))
    randomise(ref)
    ours = PaperResLayer(50, style='caffe', dcn=DCN)
    ours.load_state_dict(ref.state_dict(), strict=True)
    ref.eval(), ours.eval()
    x = torch.randn(2, 1024, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-4)
    head = PaperResLayer(50, base_channels=8, plugins=[GC])  # stage 3 of GC's four
    assert 'layer4.2.context_block.conv_mask.weight' in head.state_dict()
    with pytest.raises(ValueError, match='PaperResLayer: dcn and conv_cfg'):
        PaperResLayer(50, dcn=DCN, conv_cfg=dict(type='Conv2d'))


def test_init_is_mmdets_for_deformable_convs_and_plugins():
    """After the He init the layers a block holds init themselves, as in mmdet's blocks:
    DCNv2 offsets start at 0 (plain conv), NonLocal2d starts as the identity; DCN (v1), which
    has no init of its own, keeps the Kaiming offsets mmdet gives it too."""
    plugins = [dict(NL, stages=None)]
    for dcn, zero in ((DCNV2, True), (DCN, False)):
        args = dict(depth=50, base_channels=8, dcn=dcn, stage_with_dcn=(False, True, True, True),
                    plugins=plugins)
        ref, ours = ResNet(**copy.deepcopy(args)), PaperResNet(**copy.deepcopy(args))
        ref.init_weights(), ours.init_weights()
        for net in (ref, ours):
            offsets = [m.conv_offset.weight for m in net.modules() if hasattr(m, 'conv_offset')]
            assert offsets and all(bool((w == 0).all()) == zero for w in offsets)
            out = [m.conv_out.conv.weight for m in net.modules() if hasattr(m, 'conv_out')]
            assert out and all((w == 0).all() for w in out)
