"""The shortcut connections of He et al. 2015, Section 3.3 and 4.1 (Table 3).

This module is the one place where the paper's shortcut option is decided: blocks ask
:func:`build_shortcut` for their shortcut and add what it returns; they never branch on the
option themselves.

- option ``'A'``: identity; where the shape grows, subsample with stride and zero-pad the
  new channels (parameter-free). The paper's choice for every CIFAR net and Table 2 / Fig. 4.
- option ``'B'``: a projection (1x1 conv + BN, eq. 2) only where the shape changes.
  The paper's choice for ResNet-50/101/152.
- option ``'C'``: a projection on every block.
- ``plain=True``: no shortcut at all (the Fig. 4 / Fig. 6 plain nets).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer

from ...utils import check_choice

SHORTCUT_OPTIONS = ('A', 'B', 'C')


class IdentityShortcut(nn.Identity):
    """Shape-preserving identity shortcut (eq. 1). No parameters."""


class PadShortcut(nn.Module):
    """Option A where the shape changes: ``x[..., ::s, ::s]`` and zero-padded channels.

    Args:
        in_channels (int): Channels of the block input.
        out_channels (int): Channels of the block output (>= ``in_channels``).
        stride (int): Spatial subsampling factor.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f'option A pads channels and cannot shrink them: in_channels='
                f'{in_channels} > out_channels={out_channels}; use shortcut "B" or "C"')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[..., ::self.stride, ::self.stride]
        extra = self.out_channels - self.in_channels
        if extra:
            # F.pad pads the last dims first: (W, W, H, H, C_front, C_back).
            x = F.pad(x, (0, 0, 0, 0, 0, extra))
        return x

    def extra_repr(self) -> str:
        return (f'{self.in_channels}->{self.out_channels}, stride={self.stride}, '
                'zero-padded')


class ProjectionShortcut(nn.Sequential):
    """Options B/C: ``W_s x`` as a 1x1 conv + norm (eq. 2).

    A ``Sequential`` so that its state-dict names are the ecosystem's
    ``downsample.0.weight`` / ``downsample.1.*`` (torchvision, mmdet, timm).
    """

    def __init__(self, in_channels, out_channels, stride=1, conv_cfg=None,
                 norm_cfg=dict(type='BN')):
        super().__init__(
            build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=1,
                             stride=stride, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1])


def check_shortcut(shortcut):
    """Validate a shortcut option and return it (upper-cased)."""
    return check_choice('shortcut option', shortcut.upper() if isinstance(shortcut, str)
                        else shortcut, SHORTCUT_OPTIONS)


def build_shortcut(shortcut, in_channels, out_channels, stride=1, plain=False,
                   conv_cfg=None, norm_cfg=dict(type='BN')):
    """Return the shortcut module of one block, or ``None`` for a plain block.

    Args:
        shortcut (str): 'A', 'B' or 'C' (Table 3).
        in_channels (int): Channels entering the block.
        out_channels (int): Channels leaving the block.
        stride (int): Spatial stride of the block.
        plain (bool): No shortcut at all. Default: False.
    """
    if plain:
        return None
    shortcut = check_shortcut(shortcut)
    reshapes = stride != 1 or in_channels != out_channels
    if shortcut == 'C' or (shortcut == 'B' and reshapes):
        return ProjectionShortcut(in_channels, out_channels, stride, conv_cfg, norm_cfg)
    if shortcut == 'A' and reshapes:
        return PadShortcut(in_channels, out_channels, stride)
    return IdentityShortcut()
