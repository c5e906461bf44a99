"""Backbone weights that do not fit are reported, and fail loudly."""
import pytest
import torch

from mmresnet.checkpoint import WeightsMismatchError
from mmresnet.models import PaperResNet, load_backbone_weights


def save(tmp_path, state, name='w.pth'):
    path = tmp_path / name
    torch.save({'state_dict': state}, path)
    return str(path)


def test_prefixed_classifier_checkpoint_loads_with_prefix(tmp_path):
    src = PaperResNet(20, arch='cifar')
    path = save(tmp_path, {f'backbone.{k}': v for k, v in src.state_dict().items()} |
                {'head.fc.weight': torch.zeros(10, 64)})
    dst = PaperResNet(20, arch='cifar',
                      init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    dst.init_weights()
    assert torch.equal(dst.layer3[2].conv2.weight, src.layer3[2].conv2.weight)


def test_wrong_prefix_fails_loudly(tmp_path):
    src = PaperResNet(20, arch='cifar')
    path = save(tmp_path, {f'backbone.{k}': v for k, v in src.state_dict().items()})
    dst = PaperResNet(20, arch='cifar', init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(WeightsMismatchError, match='no weight of .* matches PaperResNet'):
        dst.init_weights()


def test_wrong_depth_or_width_fails_loudly(tmp_path):
    path = save(tmp_path, PaperResNet(18, base_channels=8).state_dict())
    with pytest.raises(WeightsMismatchError, match='other shapes'):
        load_backbone_weights(PaperResNet(50, base_channels=8), path)


def test_partial_match_reports_missing_and_unexpected(tmp_path):
    small = PaperResNet(20, arch='cifar').state_dict()
    path = save(tmp_path, small)
    # A deeper net of the same width: the 20's keys all fit, the extra blocks are missing.
    missing, unexpected = load_backbone_weights(PaperResNet(32, arch='cifar'), path)
    assert 'layer1.3.conv1.weight' in missing and unexpected == []
    missing, unexpected = load_backbone_weights(PaperResNet(8, arch='cifar'), path)
    assert missing == [] and 'layer1.2.conv1.weight' in unexpected
