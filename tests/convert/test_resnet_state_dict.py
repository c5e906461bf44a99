"""torchvision / timm ResNet state dicts -> PaperResNet, round trip and output check."""
import runpy
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from mmresnet.convert import (backbone_checkpoint, check_outputs, classifier_checkpoint,
                              convert_file, convert_resnet_state_dict, infer_arch,
                              paper_to_torchvision)

ROOT = Path(__file__).resolve().parents[2]


def torchvision_state_dict(depth, num_classes=7, in_channels=3):
    """A randomly initialised state dict in torchvision's resnet layout, built without
    torchvision: mmdet's ResNet has the same keys minus ``fc``."""
    from mmdet.models.backbones import ResNet
    net = ResNet(depth, in_channels=in_channels, style='pytorch')
    sd = OrderedDict()
    g = torch.Generator().manual_seed(depth)
    for k, v in net.state_dict().items():
        if v.is_floating_point():
            v = torch.rand(v.shape, generator=g) + 0.5 if k.endswith('running_var') else \
                torch.randn(v.shape, generator=g) * 0.1
        sd[k] = v
    sd['fc.weight'] = torch.randn(num_classes, net.feat_dim, generator=g) * 0.1
    sd['fc.bias'] = torch.randn(num_classes, generator=g)
    return sd


@pytest.mark.parametrize('depth', [18, 50])
def test_round_trip_and_outputs_match(depth):
    sd = torchvision_state_dict(depth)
    conv = convert_resnet_state_dict(sd)
    assert conv['meta']['depth'] == depth and conv['meta']['num_classes'] == 7
    ckpt = classifier_checkpoint(conv)
    back = paper_to_torchvision(ckpt['state_dict'])
    assert list(back) == list(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    # Random BN statistics make a wrong mapping visible in the outputs.
    assert check_outputs(conv, size=32) < 1e-4


def test_backbone_form_loads_into_detection_backbone(tmp_path):
    from mmresnet.models import PaperResNet
    from mmresnet.models.utils import load_backbone_weights
    conv = convert_resnet_state_dict(torchvision_state_dict(18))
    path = tmp_path / 'r18_backbone.pth'
    torch.save(backbone_checkpoint(conv), path)
    net = PaperResNet(18, style='pytorch')
    missing, unexpected = load_backbone_weights(net, str(path))
    assert not missing and not unexpected
    assert torch.equal(net.layer4[1].conv2.weight, conv['backbone']['layer4.1.conv2.weight'])


def test_check_outputs_catches_a_wrong_conversion():
    # Calling torchvision's bottleneck nets 'caffe' style (stride on the 1x1) loads strictly
    # (same shapes) but computes something else: the check must see it.
    conv = convert_resnet_state_dict(torchvision_state_dict(50))
    conv['meta']['style'] = 'caffe'
    with pytest.raises(AssertionError, match='differs from the reference'):
        check_outputs(conv, size=32)


def test_infer_arch_and_timm_layouts_refused():
    sd = torchvision_state_dict(34, num_classes=5)
    assert infer_arch(sd)[:2] == (34, False)
    with pytest.raises(ValueError, match='deep stem'):
        convert_resnet_state_dict({'conv1.0.weight': torch.zeros(1), **sd}, 'timm')
    with pytest.raises(ValueError, match='average-pool'):
        convert_resnet_state_dict({**sd, 'layer2.0.downsample.2.weight': torch.zeros(1)},
                                  'timm')
    with pytest.raises(ValueError, match="unexpected timm key 'head.fc.weight'"):
        convert_resnet_state_dict({**sd, 'head.fc.weight': torch.zeros(1)}, 'timm')
    with pytest.raises(ValueError, match='match no Table 1 net'):
        convert_resnet_state_dict({k: v for k, v in sd.items()
                                   if not k.startswith('layer4.2.')})
    with pytest.raises(ValueError, match='allowed values'):
        convert_resnet_state_dict(sd, 'caffe2')


def run_tool(monkeypatch, tool, *args):
    """Run tools/convert/<tool> as ``python tools/convert/<tool> ARGS``, in this process."""
    monkeypatch.setattr(sys, 'argv', [tool, *map(str, args)])
    runpy.run_path(str(ROOT / 'tools/convert' / tool), run_name='__main__')


def test_tools_convert_timm_file(tmp_path, monkeypatch, capsys):
    src, dst = tmp_path / 'timm_r18.pth', tmp_path / 'paper_r18.pth'
    sd = torchvision_state_dict(18)  # timm's plain resnet18 has the same names
    torch.save(sd, src)
    run_tool(monkeypatch, 'timm2paper.py', src, dst)
    assert 'max |diff|' in capsys.readouterr().out
    ckpt = torch.load(dst, weights_only=True)
    assert torch.equal(ckpt['state_dict']['head.fc.weight'], sd['fc.weight'])
    assert ckpt['meta']['source'] == 'timm'
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:  # a user's mistake: exit 2, no traceback
        run_tool(monkeypatch, 'torchvision2paper.py', tmp_path / 'nope.pth', dst)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert 'nope.pth' in err and 'Traceback' not in err


def test_convert_file_backbone_form(tmp_path):
    src, dst = tmp_path / 'tv.pth', tmp_path / 'bb.pth'
    torch.save(torchvision_state_dict(18), src)
    meta = convert_file(str(src), str(dst), form='backbone')
    assert meta['max_abs_diff'] < 1e-4
    assert 'fc.weight' not in torch.load(dst, weights_only=True)['state_dict']
