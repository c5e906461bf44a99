"""The C4 shared head of the paper's detector (He et al. 2015, Section 4.3 and Appendix A).

"We compute the full-image shared conv feature maps using those layers whose strides on the
image are no greater than 16 pixels (i.e., conv1, conv2_x, conv3_x, and conv4_x ...). We
consider these layers as analogous to the 13 conv layers in VGG-16 ... The RoI pooling layer
... and then conv5_1 and up are run on each RoI ... as the per-region head" (Appendix A).

mmdet's own ``ResLayer`` shared head builds mmdet's blocks, so it cannot be a PaperResNet's
conv5_x (no shortcut A/C, no plain twin). :class:`PaperResLayer` is that stage, built by the
very :func:`~mmresnet.models.layers.make_res_layer` the backbone uses, so a PaperResNet
checkpoint's ``layer4.*`` loads into it unchanged (:func:`load_shared_head_weights`).
"""
from mmdet.registry import MODELS

from ..layers import (DEFAULT_SHORTCUT, IMAGENET_SETTINGS, check_dcn, check_plugins,
                      check_shortcut, check_style, make_res_layer, stage_plugins)
from ...utils import check_choice, check_int
from ..utils import PaperModule, load_backbone_weights


def load_shared_head_weights(head, checkpoint, prefix=None, map_location='cpu'):
    """Load a PaperResNet backbone checkpoint's stage ``head.stage`` into the head.

    The head's stage is named as in the backbone (``layer4`` for conv5_x), so the weight
    mapping is ``layer4.J.* -> head.layer4.J.*``: the checkpoint's ``layer4.`` keys are
    selected and loaded into the stage, and loading fails loudly
    (:class:`~mmresnet.checkpoint.WeightsMismatchError`) when none match or shapes differ.

    Args:
        head (PaperResLayer): The shared head.
        checkpoint (str | dict): A backbone checkpoint (``tools/export_backbone.py``), or
            any checkpoint with ``prefix`` (e.g. ``'backbone.layer4.'`` for a classifier's).
        prefix (str, optional): Key prefix of the stage. Default: ``'layer{stage+1}.'``.

    Returns:
        tuple[list[str], list[str]]: missing and unexpected keys.
    """
    prefix = prefix or f'{head.layer_name}.'
    return load_backbone_weights(head.res_layer, checkpoint, prefix=prefix,
                                 map_location=map_location, owner=head,
                                 config_key='model.roi_head.shared_head')


@MODELS.register_module()
class PaperResLayer(PaperModule):
    """One PaperResNet stage run per RoI: the paper's C4 head (conv5_x by default).

    Options are the backbone's (``shortcut``, ``plain``, ``style``, ``base_channels``), so
    the head is the stage the backbone would have built. Pair it with mmdet's
    ``StandardRoIHead`` and a ``BBoxHead(with_avg_pool=True)`` (the paper's global pooling
    before the classifier and box regressor).

    Args:
        depth (int): Table 1 depth: 18, 34, 50, 101 or 152.
        stage (int): Index of the stage, 0-based (3 = conv5_x). Default: 3.
        stride (int): Stride of the stage's first block. Default: 2.
        dilation (int): Dilation of the stage. Default: 1.
        shortcut (str, optional): 'A' | 'B' | 'C'; None: the paper's 'B'. Default: None.
        plain (bool): No shortcuts (the plain twin). Default: False.
        style (str): 'caffe' (the paper's) or 'pytorch'. Default: 'caffe'.
        base_channels (int): The backbone's ``base_channels``. Default: 64.
        norm_cfg (dict): Norm config. Default: frozen BN
            (``dict(type='BN', requires_grad=False)``, Section 4.3 fixes BN statistics).
        norm_eval (bool): Keep BN in eval mode in ``train()``. Default: True.
        with_cp (bool): Gradient checkpointing. Default: False.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        dcn (dict, optional): Deformable 3x3 convs for every block of the stage, as mmdet's
            ``ResLayer`` shared head: e.g. ``dict(type='DCN', deform_groups=1)``.
            Default: None.
        plugins (list[dict], optional): The backbone's form (see PaperResNet): ``stages``
            None or four bools, of which entry ``stage`` applies here. Default: None.
        init_cfg (dict, optional): ``dict(type='Pretrained', checkpoint=PATH[, prefix=...])``
            loads the backbone checkpoint's ``layer{stage+1}.*`` (see
            :func:`load_shared_head_weights`). Default: He (Kaiming) init.

    Example:
        >>> import torch
        >>> head = PaperResLayer(depth=50, base_channels=16).eval()
        >>> tuple(head(torch.rand(2, 256, 14, 14)).shape)
        (2, 512, 7, 7)
    """

    def __init__(self, depth, stage=3, stride=2, dilation=1, shortcut=None, plain=False,
                 style='caffe', base_channels=64,
                 norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                 with_cp=False, conv_cfg=None, dcn=None, plugins=None, init_cfg=None):
        check_choice('PaperResLayer: depth', depth, tuple(IMAGENET_SETTINGS))
        check_int('PaperResLayer: stage', stage, 1, 3)
        check_int('PaperResLayer: stride', stride)
        check_int('PaperResLayer: dilation', dilation)
        check_int('PaperResLayer: base_channels', base_channels)
        check_style(style, 'PaperResLayer')
        dcn = check_dcn(dcn, conv_cfg, 'PaperResLayer')
        plugins = check_plugins(plugins, len(IMAGENET_SETTINGS[depth][1]), 'PaperResLayer')
        super().__init__(init_cfg)  # None: He init (Section 3.4), as the backbone
        block, stage_blocks = IMAGENET_SETTINGS[depth]
        self.depth, self.stage, self.norm_eval = depth, stage, norm_eval
        self.style, self.plain, self.base_channels = style, plain, base_channels
        self.shortcut = check_shortcut(DEFAULT_SHORTCUT['imagenet']
                                       if shortcut is None else shortcut)
        planes = base_channels * 2**stage
        # The previous stage's output: the stem width for conv2_x's input, expanded after.
        inplanes = base_channels * 2**(stage - 1) * block.expansion
        self.in_channels, self.out_channels = inplanes, planes * block.expansion
        self.layer_name = f'layer{stage + 1}'
        self.add_module(self.layer_name, make_res_layer(
            block, inplanes, planes, stage_blocks[stage], stride=stride, dilation=dilation,
            shortcut=self.shortcut, plain=plain, style=style, with_cp=with_cp,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, dcn=dcn,
            plugins=stage_plugins(plugins, stage)))

    def recipe_arch(self):
        """The architecture part of a checkpoint's recipe (see models/utils/recipe.py)."""
        return dict(arch='imagenet', depth=self.depth, style=self.style,
                    shortcut=self.shortcut, plain=self.plain,
                    base_channels=self.base_channels)

    @property
    def res_layer(self):
        """The stage (``nn.Sequential`` of blocks)."""
        return getattr(self, self.layer_name)

    def load_pretrained(self, checkpoint, prefix=None, map_location='cpu'):
        return load_shared_head_weights(self, checkpoint, prefix=prefix,
                                        map_location=map_location)

    def forward(self, x):
        return self.res_layer(x)


__all__ = ['PaperResLayer', 'load_shared_head_weights']
