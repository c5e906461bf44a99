"""Residual blocks of He et al. 2015 (Fig. 5): basic (two 3x3) and bottleneck (1x1-3x3-1x1).

BN follows every convolution, ReLU comes after the addition (Section 3.4). The shortcut is
whatever :func:`~mmresnet.models.layers.shortcuts.build_shortcut` returns; ``None`` makes
the block plain. Attribute names (conv1, bn1, ..., downsample) are the ecosystem's, so
torchvision / mmdet state dicts load unchanged.
"""
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer

from .shortcuts import build_shortcut

STYLES = ('pytorch', 'caffe')


def check_style(style, owner='style'):
    """``style`` if it is one of :data:`STYLES`, else a ValueError naming ``owner``."""
    if style not in STYLES:
        raise ValueError(f'{owner}: unknown style {style!r}; allowed values: {STYLES}')
    return style


class _ResBlockBase(nn.Module):
    expansion = 1

    def _add_norm(self, idx, norm_cfg, channels):
        name, norm = build_norm_layer(norm_cfg, channels, postfix=idx)
        self.add_module(name, norm)
        return name

    @property
    def last_norm(self):
        return getattr(self, self.norm_names[-1])

    def _residual(self, x):
        raise NotImplementedError

    def forward(self, x):

        def _inner_forward(x):
            out = self._residual(x)
            if self.downsample is not None:
                out = out + self.downsample(x)
            return out

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        return self.relu(out)


class BasicBlock(_ResBlockBase):
    """3x3 - BN - ReLU - 3x3 - BN (+ shortcut) - ReLU: ResNet-18/34 and the CIFAR nets.

    Args:
        inplanes (int): Input channels.
        planes (int): Output channels of both 3x3 convs.
        stride (int): Stride of the first 3x3 conv. Default: 1.
        dilation (int): Dilation of the 3x3 convs. Default: 1.
        shortcut (str): Shortcut option 'A' | 'B' | 'C'. Default: 'B'.
        plain (bool): No shortcut. Default: False.
        style (str): Ignored for basic blocks (one place for the stride). Default: 'pytorch'.
        with_cp (bool): Gradient checkpointing. Default: False.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: dict(type='BN').
    """
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, dilation=1, shortcut='B',
                 plain=False, style='pytorch', with_cp=False, conv_cfg=None,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        self.with_cp = with_cp
        self.stride = stride
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        n1 = self._add_norm(1, norm_cfg, planes)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=False)
        n2 = self._add_norm(2, norm_cfg, planes)
        self.norm_names = (n1, n2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = build_shortcut(shortcut, inplanes, planes * self.expansion,
                                         stride, plain, conv_cfg, norm_cfg)

    def _residual(self, x):
        n1, n2 = self.norm_names
        out = self.relu(getattr(self, n1)(self.conv1(x)))
        return getattr(self, n2)(self.conv2(out))


class Bottleneck(_ResBlockBase):
    """1x1 (reduce) - 3x3 - 1x1 (expand x4), BN after each: ResNet-50/101/152.

    ``style='caffe'`` puts the stride on the first 1x1 conv, as in the paper's released
    (MSRA Caffe) models; ``style='pytorch'`` puts it on the 3x3 (torchvision's "v1.5").

    Args: as :class:`BasicBlock`; ``planes`` is the bottleneck width, the output has
    ``planes * 4`` channels.
    """
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, shortcut='B',
                 plain=False, style='pytorch', with_cp=False, conv_cfg=None,
                 norm_cfg=dict(type='BN')):
        super().__init__()
        check_style(style, 'Bottleneck')
        self.with_cp = with_cp
        self.stride = stride
        s1, s2 = (stride, 1) if style == 'caffe' else (1, stride)
        out_channels = planes * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 1, stride=s1, bias=False)
        n1 = self._add_norm(1, norm_cfg, planes)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, stride=s2,
                                      padding=dilation, dilation=dilation, bias=False)
        n2 = self._add_norm(2, norm_cfg, planes)
        self.conv3 = build_conv_layer(conv_cfg, planes, out_channels, 1, bias=False)
        n3 = self._add_norm(3, norm_cfg, out_channels)
        self.norm_names = (n1, n2, n3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = build_shortcut(shortcut, inplanes, out_channels, stride, plain,
                                         conv_cfg, norm_cfg)

    def _residual(self, x):
        n1, n2, n3 = self.norm_names
        out = self.relu(getattr(self, n1)(self.conv1(x)))
        out = self.relu(getattr(self, n2)(self.conv2(out)))
        return getattr(self, n3)(self.conv3(out))


def make_res_layer(block, inplanes, planes, num_blocks, stride=1, dilation=1, **kwargs):
    """One stage (conv2_x ... conv5_x): ``num_blocks`` blocks, the first one strided.

    Shared by the backbone and the C4 shared head, so both are the same code.

    Returns:
        nn.Sequential: blocks named ``0..num_blocks-1`` (state-dict ``layerI.J.*``).
    """
    layers = [block(inplanes, planes, stride=stride, dilation=dilation, **kwargs)]
    inplanes = planes * block.expansion
    for _ in range(1, num_blocks):
        layers.append(block(inplanes, planes, stride=1, dilation=dilation, **kwargs))
    return nn.Sequential(*layers)
