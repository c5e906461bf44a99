"""PaperResNet option B is mmdet's ResNet: same state-dict keys, same outputs."""
import pytest
import torch
from mmdet.models.backbones import ResNet

from mmresnet.models import PaperResNet


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('style', ['pytorch', 'caffe'])
def test_mmdet_state_dict_loads_strict_and_outputs_match(depth, style):
    torch.manual_seed(0)
    ref = ResNet(depth, style=style, base_channels=16, out_indices=(0, 1, 2, 3))
    ref.init_weights()
    # Non-trivial BN statistics so that the comparison sees them.
    for m in ref.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    ours = PaperResNet(depth, style=style, base_channels=16)
    ours.load_state_dict(ref.state_dict(), strict=True)
    ref.eval(), ours.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(ref(x), ours(x)):
            assert a.shape == b.shape
            torch.testing.assert_close(a, b)


def test_torchvision_layout_state_dict_loads_minus_fc():
    """torchvision's resnet keys = ours + fc.*: loading without fc is strict."""
    ref = ResNet(34, base_channels=8)
    sd = {k: v for k, v in ref.state_dict().items()}
    sd_tv = dict(sd, **{'fc.weight': torch.zeros(1000, 64), 'fc.bias': torch.zeros(1000)})
    ours = PaperResNet(34, base_channels=8)
    missing, unexpected = ours.load_state_dict(sd_tv, strict=False)
    assert missing == [] and unexpected == ['fc.weight', 'fc.bias']
