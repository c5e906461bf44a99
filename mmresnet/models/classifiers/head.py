"""The classifier top of Table 1 / Section 4.2: global average pool, fc, (softmax)."""
import torch.nn as nn

from ...utils import check_int


class PoolFcHead(nn.Module):
    """Global average pooling + fully-connected layer on the last backbone output.

    Args:
        in_channels (int): Channels of the last backbone stage.
        num_classes (int): 1000 for ImageNet, 10 for CIFAR-10.
    """

    def __init__(self, in_channels, num_classes):
        super().__init__()
        check_int('PoolFcHead: num_classes', num_classes)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats):
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        return self.fc(self.pool(x).flatten(1))

