"""PaperResNet: every network of He et al. 2015 as one MMDetection backbone.

``arch='imagenet'`` builds the Table 1 nets (18/34/50/101/152); ``arch='cifar'`` builds the
Section 4.2 nets (6n+2 layers: 20, 32, 44, 56, 110, 1202, ...). ``shortcut`` and ``plain``
select Table 3's options and the plain twins; the decision itself lives in
:mod:`mmresnet.models.layers.shortcuts`.

Where the paper does not fix a constructor argument, its default is mmdet's ``ResNet``'s, so
that ``type='ResNet'`` -> ``type='PaperResNet'`` in an mmdet config is the only change, from
the first training step (``zero_init_residual=True``, ``norm_eval=True``). The paper's own
choices (He init with every BN scale 1, BN that learns its statistics) are
:data:`PAPER_CHOICES`, written out in the project's configs and recipes.
"""
import warnings

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmdet.registry import MODELS

from ..layers import (ARCHS, DEFAULT_SHORTCUT, IMAGENET_SETTINGS, BasicBlock, Bottleneck,
                      check_dcn, check_plugins, check_shortcut, check_stage_with_dcn,
                      check_style, cifar_blocks_per_stage, make_res_layer, stage_plugins)
from ...utils import check_choice, check_int, check_int_tuple
from ..utils import (PaperModule, frozen_bn_from_scratch_message, load_backbone_weights,
                     split_pretrained)

# The paper's choices where mmdet's ResNet defaults differ (docs/backbones.md, "Defaults"):
# He init with every BN scale 1 (Section 3.4; no zero-init of the residual branches) and BN
# that learns its statistics while training (Section 3.4; the detectors freeze BN, and say
# so, norm_eval=True). The project's classification configs, recipes and tools give them.
PAPER_CHOICES = dict(zero_init_residual=False, norm_eval=False)


class FrozenBNFromScratchWarning(UserWarning):
    """A backbone with frozen BN statistics that will train from random weights."""


def _stage_geometry(num_stages, strides, dilations, out_indices):
    """PaperResNet's (strides, dilations, out_indices), checked, their defaults filled in."""
    strides = ((1, 2, 2, 2)[:num_stages] if strides is None
               else check_int_tuple('PaperResNet: strides', strides))
    dilations = ((1, ) * num_stages if dilations is None
                 else check_int_tuple('PaperResNet: dilations', dilations))
    for name, val in (('strides', strides), ('dilations', dilations)):
        if len(val) != num_stages:
            raise ValueError(f'{name} must have num_stages={num_stages} entries, '
                             f'got {val!r}')
    out_indices = (tuple(range(num_stages)) if out_indices is None
                   else check_int_tuple('PaperResNet: out_indices', out_indices, minimum=0))
    if not out_indices or any(not 0 <= i < num_stages for i in out_indices):
        raise ValueError(f'out_indices {out_indices!r} out of range; allowed values: '
                         f'0..{num_stages - 1} (num_stages={num_stages})')
    return strides, dilations, out_indices


@MODELS.register_module()
class PaperResNet(PaperModule):
    """The ResNets of He et al., *Deep Residual Learning for Image Recognition*.

    Args:
        depth (int): Table 1 depth (18, 34, 50, 101, 152) for ``arch='imagenet'``, or
            6n+2 (n >= 1) for ``arch='cifar'``.
        arch (str): 'imagenet' (7x7/2 stem, 3x3/2 max pool, four stages 64..512) or
            'cifar' (3x3 stem with 16 filters, three stages 16/32/64). Default: 'imagenet'.
        shortcut (str, optional): 'A' | 'B' | 'C' (Table 3). None picks the paper's
            choice: 'A' for cifar, 'B' for imagenet. Default: None.
        plain (bool): Build the plain twin, without any shortcut. Default: False.
        style (str): 'pytorch' (stride on the 3x3 conv) or 'caffe' (stride on the first
            1x1 conv of a bottleneck, the paper's). Default: 'pytorch'.
        in_channels (int): Input image channels. Default: 3.
        base_channels (int, optional): Width of the stem and first stage. Default: 64 for
            imagenet, 16 for cifar.
        num_stages (int, optional): Stages to build, 1..4 (imagenet) or 1..3 (cifar).
            Default: all.
        strides (Sequence[int], optional): Stride of each stage. Default: (1, 2, 2, 2)
            or (1, 2, 2).
        dilations (Sequence[int], optional): Dilation of each stage. Default: all 1.
        out_indices (Sequence[int], optional): Stages whose outputs ``forward`` returns.
            Default: all built stages.
        frozen_stages (int): Stages to freeze (stop grad, BN in eval); 0 freezes only
            the stem, -1 nothing. Default: -1.
        norm_cfg (dict): Norm layer config (BN, SyncBN, GN, ...). Default:
            dict(type='BN', requires_grad=True) (mmdet's).
        norm_eval (bool): Keep norm layers in eval mode in ``train()`` (frozen statistics,
            as the paper's detector). Default: True (mmdet's; the paper's classification
            training: False, see :data:`PAPER_CHOICES`).
        with_cp (bool): Gradient checkpointing per block. Default: False.
        zero_init_residual (bool): Zero-init the last norm of every residual branch, when
            ``init_cfg`` is None (as mmdet: any ``init_cfg`` replaces the default init).
            Default: True (mmdet's; the paper's He init: False, see
            :data:`PAPER_CHOICES`).
        conv_cfg (dict, optional): Conv layer config. Default: None.
        dcn (dict, optional): mmdet's deformable convs: the conv config of the 3x3 convs of
            the stages ``stage_with_dcn`` selects, e.g. ``dict(type='DCN',
            deform_groups=1)`` or ``dict(type='DCNv2', deform_groups=1)``. Default: None.
        stage_with_dcn (Sequence[bool], optional): One bool per stage. Default: None (no
            stage).
        plugins (list[dict], optional): mmdet's plugin layers, built by mmcv's
            ``build_plugin_layer``: ``dict(cfg=dict(type='ContextBlock', ratio=1. / 4),
            stages=(False, True, True, True), position='after_conv3')``; positions
            'after_conv1', 'after_conv2', 'after_conv3' (bottleneck) or the first two
            (basic blocks). Default: None.
        init_cfg (dict | list[dict], optional): e.g. ``dict(type='Pretrained',
            checkpoint='backbone.pth')``. Default: He (Kaiming, fan out) init of the convs,
            BN scale 1 (mmdet's and the paper's), then ``zero_init_residual``.

    Frozen BN statistics (``norm_eval=True`` with BN) and random weights (no Pretrained
    entry, no zero-init) warn at construction (:class:`FrozenBNFromScratchWarning`): BN
    then never normalises and the residual branches add up unchecked.

    Example:
        >>> import torch
        >>> from mmresnet.models import PAPER_CHOICES, PaperResNet
        >>> net = PaperResNet(depth=20, arch='cifar', **PAPER_CHOICES).eval()
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 32, 32))]
        [(1, 16, 32, 32), (1, 32, 16, 16), (1, 64, 8, 8)]
    """

    def __init__(self, depth, arch='imagenet', shortcut=None, plain=False,
                 style='pytorch', in_channels=3, base_channels=None, num_stages=None,
                 strides=None, dilations=None, out_indices=None, frozen_stages=-1,
                 norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True,
                 with_cp=False, zero_init_residual=True, conv_cfg=None, dcn=None,
                 stage_with_dcn=None, plugins=None, init_cfg=None):
        check_choice('PaperResNet: arch', arch, ARCHS)
        if arch == 'imagenet':
            check_choice('PaperResNet: depth', depth, tuple(IMAGENET_SETTINGS))
            block, stage_blocks = IMAGENET_SETTINGS[depth]
            max_stages, default_base = 4, 64
        else:
            n = cifar_blocks_per_stage(depth)
            block, stage_blocks = BasicBlock, (n, n, n)
            max_stages, default_base = 3, 16
        shortcut = check_shortcut(DEFAULT_SHORTCUT[arch] if shortcut is None else shortcut)
        check_style(style, 'PaperResNet')
        num_stages = (max_stages if num_stages is None else
                      check_int('PaperResNet: num_stages', num_stages, 1, max_stages))
        check_int('PaperResNet: in_channels', in_channels)
        if base_channels is not None:
            check_int('PaperResNet: base_channels', base_channels)
        check_int('PaperResNet: frozen_stages', frozen_stages, -1, num_stages)
        strides, dilations, out_indices = _stage_geometry(num_stages, strides, dilations,
                                                          out_indices)
        dcn = check_dcn(dcn, conv_cfg, 'PaperResNet')
        stage_with_dcn = check_stage_with_dcn(stage_with_dcn, dcn, num_stages, 'PaperResNet')
        plugins = check_plugins(plugins, num_stages, 'PaperResNet')
        # init_cfg None: He init (Section 3.4), see PaperModule; zero-init of the residual
        # branches only then, as mmdet's ResNet (any init_cfg replaces its default init).
        zero_init = bool(zero_init_residual) and init_cfg is None
        pretrained = init_cfg is not None and split_pretrained(init_cfg, 'PaperResNet')[0]
        # (no Linear init: mmdet's has none, and a plugin's Linear layers keep their own)
        super().__init__(init_cfg)

        self.depth, self.arch, self.shortcut, self.plain = depth, arch, shortcut, plain
        self.style = style
        self.block = block
        self.stage_blocks = stage_blocks[:num_stages]
        self.num_stages = num_stages
        self.strides, self.dilations, self.out_indices = strides, dilations, out_indices
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.norm_cfg, self.conv_cfg = norm_cfg, conv_cfg
        self.with_cp, self.zero_init_residual = with_cp, zero_init_residual
        self._zero_init = zero_init
        self.base_channels = default_base if base_channels is None else base_channels
        self.dcn, self.stage_with_dcn, self.plugins = dcn, stage_with_dcn, plugins

        self._make_stem_layer(in_channels, self.base_channels)
        self._make_stages()
        self.out_channels = [self.stage_channels[i] for i in out_indices]
        self.feat_dim = self.stage_channels[-1]
        self._freeze()
        message = frozen_bn_from_scratch_message(
            self, 'PaperResNet', pretrained=bool(pretrained), zero_init=zero_init)
        if message:
            warnings.warn(message, FrozenBNFromScratchWarning, stacklevel=2)

    # -- structure ---------------------------------------------------------------------
    def _make_stages(self):
        """``layer1`` .. ``layerN`` (``res_layers``) and their output channels."""
        self.res_layers, self.stage_channels = [], []
        inplanes = self.base_channels
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = self.base_channels * 2**i
            layer = self.make_res_layer(inplanes, planes, num_blocks, self.strides[i],
                                        self.dilations[i], stage=i)
            name = f'layer{i + 1}'
            self.add_module(name, layer)
            self.res_layers.append(name)
            inplanes = planes * self.block.expansion
            self.stage_channels.append(inplanes)

    def _make_stem_layer(self, in_channels, stem_channels):
        if self.arch == 'imagenet':  # Table 1 conv1: 7x7, 64, stride 2; 3x3 max pool /2
            kernel, stride = 7, 2
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:  # Section 4.2: "The first layer is 3x3 convolutions", 16 filters
            kernel, stride = 3, 1
            self.maxpool = nn.Identity()
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, kernel,
                                      stride=stride, padding=kernel // 2, bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

    def make_res_layer(self, inplanes, planes, num_blocks, stride, dilation, stage=0):
        return make_res_layer(
            self.block, inplanes, planes, num_blocks, stride=stride, dilation=dilation,
            shortcut=self.shortcut, plain=self.plain, style=self.style,
            with_cp=self.with_cp, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            dcn=self.dcn if self.stage_with_dcn[stage] else None,
            plugins=stage_plugins(self.plugins, stage))

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def output_shape(self):
        """Channels and stride of each output, as ``[(channels, stride), ...]``."""
        stride = 4 if self.arch == 'imagenet' else 1
        shapes = []
        for i, ch in enumerate(self.stage_channels):
            stride *= self.strides[i]
            shapes.append((ch, stride))
        return [shapes[i] for i in self.out_indices]

    def recipe_arch(self):
        """The architecture part of a checkpoint's recipe (see models/utils/recipe.py)."""
        return dict(arch=self.arch, depth=self.depth, style=self.style,
                    shortcut=self.shortcut, plain=self.plain,
                    base_channels=self.base_channels,
                    in_channels=int(self.conv1.in_channels))

    # -- init, freezing (strict Pretrained and norm_eval: PaperModule) -------------------
    def load_pretrained(self, checkpoint, prefix=None, map_location='cpu'):
        return load_backbone_weights(self, checkpoint, prefix=prefix,
                                     map_location=map_location)

    def _default_init(self):
        super()._default_init()
        if self._zero_init:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.constant_(m.last_norm.weight, 0)

    def _freeze(self):
        if self.frozen_stages >= 0:
            self.norm1.eval()
            for m in (self.conv1, self.norm1):
                for param in m.parameters():
                    param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            m = getattr(self, f'layer{i}')
            m.eval()
            for param in m.parameters():
                param.requires_grad = False

    def forward(self, x):
        x = self.maxpool(self.relu(self.norm1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


# The tables are re-exported from here, where they were first defined.
__all__ = ['PaperResNet', 'PAPER_CHOICES', 'FrozenBNFromScratchWarning', 'IMAGENET_SETTINGS',
           'ARCHS', 'cifar_blocks_per_stage', 'DEFAULT_SHORTCUT']
