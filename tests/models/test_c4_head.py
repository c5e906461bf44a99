"""The C4 shared head: the backbone's own conv5_x, loadable from a backbone checkpoint."""
import pytest
import torch
from mmdet.registry import MODELS

from mmresnet.models import PaperResLayer, PaperResNet, load_shared_head_weights
from mmresnet.checkpoint import WeightsMismatchError


def test_bad_arguments_name_the_allowed_values():
    # the backbone's wording, the owner named
    with pytest.raises(ValueError, match=r'^PaperResLayer: unknown depth 42; allowed values: '
                       r'\(18, 34, 50, 101, 152\)$'):
        PaperResLayer(depth=42)
    with pytest.raises(ValueError, match=r'^PaperResNet: unknown depth 42; allowed values: '
                       r'\(18, 34, 50, 101, 152\)$'):
        PaperResNet(depth=42)
    for stage in (4, 0, True):
        with pytest.raises(ValueError, match=r'^PaperResLayer: stage must be an int in '
                           r'\[1, 3\], got '):
            PaperResLayer(depth=50, stage=stage)
    with pytest.raises(ValueError, match="style 'tf'.*'pytorch', 'caffe'"):
        PaperResLayer(depth=50, style='tf')
    with pytest.raises(ValueError, match="shortcut option 'D'"):
        PaperResLayer(depth=50, shortcut='D')
    with pytest.raises(ValueError, match='checkpoint=<path'):
        PaperResLayer(depth=50, init_cfg=dict(type='Pretrained'))


def test_registered_in_mmdet():
    head = MODELS.build(dict(type='PaperResLayer', depth=18, base_channels=8))
    assert isinstance(head, PaperResLayer)


@pytest.mark.parametrize('depth,opts', [(50, {}), (50, dict(style='pytorch')),
                                        (18, dict(shortcut='A')), (34, dict(shortcut='C')),
                                        (18, dict(plain=True))])
def test_head_is_the_backbones_conv5(depth, opts):
    """Same parameter names and shapes as the backbone's layer4, for every option."""
    backbone = PaperResNet(depth=depth, base_channels=8, **opts)
    head = PaperResLayer(depth=depth, base_channels=8, **opts)
    expected = {k[len('layer4.'):]: v.shape for k, v in backbone.state_dict().items()
                if k.startswith('layer4.')}
    assert {k: v.shape for k, v in head.res_layer.state_dict().items()} == expected
    assert head.in_channels == backbone.stage_channels[2]
    assert head.out_channels == backbone.stage_channels[3]
    assert list(head.state_dict())[0].startswith('layer4.0.')


def _backbone_checkpoint(tmp_path, depth=50, **kwargs):
    backbone = PaperResNet(depth=depth, base_channels=8, **kwargs)
    for p in backbone.parameters():  # something no init would produce
        torch.nn.init.uniform_(p, -1, 1)
    for name, buf in backbone.named_buffers():
        if name.endswith('running_var'):
            buf.uniform_(0.5, 2)
    path = str(tmp_path / 'backbone.pth')
    torch.save(dict(state_dict=backbone.state_dict()), path)
    return backbone.eval(), path


def test_head_loads_conv5_from_a_backbone_checkpoint(tmp_path):
    backbone, path = _backbone_checkpoint(tmp_path, style='caffe')
    head = MODELS.build(dict(
        type='PaperResLayer', depth=50, base_channels=8,
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='layer4.')))
    head.init_weights()
    for k, v in backbone.layer4.state_dict().items():
        assert torch.equal(head.res_layer.state_dict()[k], v), k
    x = torch.rand(3, head.in_channels, 14, 14)
    head.eval()
    with torch.no_grad():
        assert torch.allclose(head(x), backbone.layer4(x))
    assert head(x).shape == (3, head.out_channels, 7, 7)


def test_default_prefix_and_classifier_prefix(tmp_path):
    backbone, path = _backbone_checkpoint(tmp_path)
    head = PaperResLayer(depth=50, base_channels=8)
    missing, unexpected = load_shared_head_weights(head, path)  # prefix: layer4.
    assert not missing and not unexpected
    # A classifier checkpoint keeps the backbone under 'backbone.'.
    clf = {'state_dict': {'backbone.' + k: v for k, v in backbone.state_dict().items()}}
    head2 = PaperResLayer(depth=50, base_channels=8)
    load_shared_head_weights(head2, clf, prefix='backbone.layer4.')
    assert torch.equal(head2.res_layer[0].conv1.weight, backbone.layer4[0].conv1.weight)


def test_wrong_checkpoint_fails_loudly(tmp_path):
    _, path = _backbone_checkpoint(tmp_path, depth=18)
    head = PaperResLayer(depth=50, base_channels=8, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='layer4.'))
    with pytest.raises(WeightsMismatchError, match='other shapes'):
        head.init_weights()
    head = PaperResLayer(depth=18, base_channels=8, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='layer5.'))
    with pytest.raises(WeightsMismatchError, match="prefix='layer5.'"):
        head.init_weights()


def test_norm_eval_keeps_bn_in_eval_mode():
    head = PaperResLayer(depth=18, base_channels=8).train()
    bns = [m for m in head.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    assert not any(p.requires_grad for m in bns for p in m.parameters())
    head = PaperResLayer(depth=18, base_channels=8, norm_eval=False,
                         norm_cfg=dict(type='BN')).train()
    assert all(m.training for m in head.modules() if isinstance(m, torch.nn.BatchNorm2d))
