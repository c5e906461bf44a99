"""Residual blocks of He et al. 2015 (Fig. 5): basic (two 3x3) and bottleneck (1x1-3x3-1x1).

BN follows every convolution, ReLU comes after the addition (Section 3.4). The shortcut is
whatever :func:`~mmresnet.models.layers.shortcuts.build_shortcut` returns; ``None`` makes
the block plain. Attribute names (conv1, bn1, ..., downsample) are the ecosystem's, so
torchvision / mmdet state dicts load unchanged.

mmdet's additions (``dcn``: deformable 3x3 convs; ``plugins``: layers after conv1/2/3) sit
where mmdet's Bottleneck puts them, under mmdet's names (see :mod:`.plugins`). mmdet's
BasicBlock refuses both; here a basic block takes them too: ``dcn`` makes both its 3x3
convs deformable (DCNv2's "all the 3x3 conv layers" of a stage), and its plugins go
``after_conv1`` or ``after_conv2`` (it has no conv3).
"""
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer, build_plugin_layer

from ...utils import check_choice
from .plugins import PLUGIN_POSITIONS, check_dcn
from .shortcuts import build_shortcut

STYLES = ('pytorch', 'caffe')


def check_style(style, owner):
    """``style`` if it is one of :data:`STYLES`, else a ValueError naming ``owner``."""
    return check_choice(f'{owner}: style', style, STYLES)


class _ResBlockBase(nn.Module):
    expansion = 1
    plugin_positions = PLUGIN_POSITIONS
    plugin_names = {}
    # The sum is taken in place (as mmdet does) when the residual branch ends in a norm
    # layer, whose backward needs its input, not its output; after a plugin at the end of
    # the branch it is not (a plugin may keep its output for backward).
    _add_in_place = True

    def _add_plugins(self, plugins, channels):
        """Build ``plugins`` (``[dict(cfg, position)]`` of one stage) with mmcv's
        ``build_plugin_layer``, as mmdet's ``Bottleneck.make_block_plugins`` names them;
        ``channels`` maps each position to the channels there."""
        names = {pos: [] for pos in self.plugin_positions}
        for plugin in plugins or ():
            pos = plugin['position']
            if pos not in names:
                raise ValueError(f'plugins: position {pos!r} is not in a '
                                 f'{type(self).__name__}; allowed values: '
                                 f'{self.plugin_positions}')
            cfg = dict(plugin['cfg'])
            name, layer = build_plugin_layer(cfg, in_channels=channels[pos],
                                             postfix=cfg.pop('postfix', ''))
            if hasattr(self, name):
                raise ValueError(f'plugins: two layers named {name!r} in one block; give '
                                 f'each plugin of a type its own cfg.postfix')
            self.add_module(name, layer)
            names[pos].append(name)
        self.plugin_names = {pos: tuple(n) for pos, n in names.items() if n}
        self._add_in_place = self.plugin_positions[-1] not in self.plugin_names

    def init_held_layers(self):
        """After the network's init: the ``init_weights`` of the mmcv layers the block holds
        (DCNv2 zeroes its offsets, NonLocal2d its output conv, GeneralizedAttention sets its
        own), as MMEngine calls them in mmdet's blocks (BaseModules; these are not)."""
        for child in self.children():
            if callable(getattr(child, 'init_weights', None)):
                child.init_weights()

    def _plugins(self, out, position):
        for name in self.plugin_names.get(position, ()):
            out = getattr(self, name)(out)
        return out

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
                if self._add_in_place:
                    out += self.downsample(x)
                else:
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
        dilation (int): Dilation of the first 3x3 conv (``conv1``; ``conv2`` is not
            dilated, as in mmdet's BasicBlock); a bottleneck's one 3x3. Default: 1.
        shortcut (str): Shortcut option 'A' | 'B' | 'C'. Default: 'B'.
        plain (bool): No shortcut. Default: False.
        style (str): Ignored for basic blocks (one place for the stride). Default: 'pytorch'.
        with_cp (bool): Gradient checkpointing. Default: False.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: dict(type='BN').
        dcn (dict, optional): Conv config of both 3x3 convs, e.g. ``dict(type='DCN',
            deform_groups=1)``. Default: None.
        plugins (list[dict], optional): ``dict(cfg=dict(type=...), position=...)`` with
            position 'after_conv1' or 'after_conv2'. Default: None.
    """
    expansion = 1
    plugin_positions = PLUGIN_POSITIONS[:2]

    def __init__(self, inplanes, planes, stride=1, dilation=1, shortcut='B',
                 plain=False, style='pytorch', with_cp=False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), dcn=None, plugins=None):
        super().__init__()
        dcn = check_dcn(dcn, conv_cfg, 'BasicBlock')
        self.with_cp = with_cp
        self.stride = stride
        conv3x3 = conv_cfg if dcn is None else dcn
        self.conv1 = build_conv_layer(conv3x3, inplanes, planes, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        n1 = self._add_norm(1, norm_cfg, planes)
        self.conv2 = build_conv_layer(conv3x3, planes, planes, 3, padding=1, bias=False)
        n2 = self._add_norm(2, norm_cfg, planes)
        self.norm_names = (n1, n2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = build_shortcut(shortcut, inplanes, planes * self.expansion,
                                         stride, plain, conv_cfg, norm_cfg)
        self._add_plugins(plugins, dict(after_conv1=planes, after_conv2=planes))

    def _residual(self, x):
        n1, n2 = self.norm_names
        out = self.relu(getattr(self, n1)(self.conv1(x)))
        if self.plugin_names:
            out = self._plugins(out, 'after_conv1')
            return self._plugins(getattr(self, n2)(self.conv2(out)), 'after_conv2')
        return getattr(self, n2)(self.conv2(out))


class Bottleneck(_ResBlockBase):
    """1x1 (reduce) - 3x3 - 1x1 (expand x4), BN after each: ResNet-50/101/152.

    ``style='caffe'`` puts the stride on the first 1x1 conv, as in the paper's released
    (MSRA Caffe) models; ``style='pytorch'`` puts it on the 3x3 (torchvision's "v1.5").

    ``dcn`` builds the 3x3 conv (mmdet's ``conv2``) as a deformable conv; ``plugins`` go
    'after_conv1', 'after_conv2' or 'after_conv3' (before the sum), as in mmdet.

    Args: as :class:`BasicBlock`; ``planes`` is the bottleneck width, the output has
    ``planes * 4`` channels.
    """
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, shortcut='B',
                 plain=False, style='pytorch', with_cp=False, conv_cfg=None,
                 norm_cfg=dict(type='BN'), dcn=None, plugins=None):
        super().__init__()
        check_style(style, 'Bottleneck')
        dcn = check_dcn(dcn, conv_cfg, 'Bottleneck')
        self.with_cp = with_cp
        self.stride = stride
        s1, s2 = (stride, 1) if style == 'caffe' else (1, stride)
        out_channels = planes * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 1, stride=s1, bias=False)
        n1 = self._add_norm(1, norm_cfg, planes)
        self.conv2 = build_conv_layer(conv_cfg if dcn is None else dcn, planes, planes, 3,
                                      stride=s2, padding=dilation, dilation=dilation,
                                      bias=False)
        n2 = self._add_norm(2, norm_cfg, planes)
        self.conv3 = build_conv_layer(conv_cfg, planes, out_channels, 1, bias=False)
        n3 = self._add_norm(3, norm_cfg, out_channels)
        self.norm_names = (n1, n2, n3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = build_shortcut(shortcut, inplanes, out_channels, stride, plain,
                                         conv_cfg, norm_cfg)
        self._add_plugins(plugins, dict(after_conv1=planes, after_conv2=planes,
                                        after_conv3=out_channels))

    def _residual(self, x):
        n1, n2, n3 = self.norm_names
        out = self.relu(getattr(self, n1)(self.conv1(x)))
        if self.plugin_names:
            out = self._plugins(out, 'after_conv1')
            out = self._plugins(self.relu(getattr(self, n2)(self.conv2(out))), 'after_conv2')
            return self._plugins(getattr(self, n3)(self.conv3(out)), 'after_conv3')
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
