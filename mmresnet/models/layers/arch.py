"""The paper's architecture tables, shared by the backbone and the C4 head.

They live with the blocks they name, so that PaperResNet (models/backbones) and the C4 head
PaperResLayer (models/roi_heads) both read them from layers/ and neither imports the other.
"""
from .blocks import BasicBlock, Bottleneck

ARCHS = ('imagenet', 'cifar')

# Table 1: block type and blocks per stage (conv2_x .. conv5_x).
IMAGENET_SETTINGS = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}

# Section 4.2: the shortcut the paper used for each family (Table 3 'B' for ImageNet,
# 'A' for every CIFAR net).
DEFAULT_SHORTCUT = {'imagenet': 'B', 'cifar': 'A'}


def cifar_blocks_per_stage(depth):
    """n for a 6n+2-layer CIFAR net; raises for depths not of that form."""
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f'CIFAR depth must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, '
                         f'110, 1202, ...), got {depth!r}')
    return (depth - 2) // 6


__all__ = ['ARCHS', 'IMAGENET_SETTINGS', 'DEFAULT_SHORTCUT', 'cifar_blocks_per_stage']
