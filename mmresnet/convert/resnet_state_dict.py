"""torchvision / timm ResNet state dicts -> PaperResNet checkpoints, with an output check.

torchvision's ``resnet18..152`` and timm's plain ``resnet18..152`` share one key layout:
``conv1``, ``bn1``, ``layerI.J.{conv,bn}K``, ``layerI.0.downsample.{0,1}`` and ``fc``.
PaperResNet keeps exactly these names (see the README), so converting is: check the layout,
infer depth / block / input channels / classes from the keys and shapes, and re-prefix
(``backbone.`` and ``head.fc.`` for a :class:`PaperResNetClassifier`, nothing for the
detection-backbone form that ``init_cfg=dict(type='Pretrained', ...)`` loads).

Both libraries put the stride of a bottleneck on its 3x3 conv (torchvision's "v1.5"), which
is PaperResNet's ``style='pytorch'``; their projections only where the shape changes are
Table 3's option B. Layouts that are not the paper's net are refused with the key that
shows it: timm's deep stem (``conv1.0``: the "c/d" variants), average-pool downsampling
(``downsample.2``: "d"), squeeze-excitation (``.se.``), and anything else unknown.
"""
import copy
import re
from collections import OrderedDict

import torch

from ..utils import IMAGENET_RGB, check_choice

SOURCES = ('torchvision', 'timm')
_KEY = re.compile(r'^(conv1\.weight|bn1\.\w+|fc\.(weight|bias)|'
                  r'layer[1-4]\.\d+\.(conv[1-3]\.weight|bn[1-3]\.\w+|'
                  r'downsample\.[01]\.\w+))$')
# timm variants that are not the paper's ResNet, and how their keys show it.
_FOREIGN = ((re.compile(r'^conv1\.\d'), 'a deep stem (timm resnet*c / *d)'),
            (re.compile(r'downsample\.2\.'), 'average-pool downsampling (timm resnet*d)'),
            (re.compile(r'\.se\.|\.attn\.'), 'squeeze-excitation / attention (timm seresnet*)'))


def infer_arch(state):
    """``(depth, bottleneck, stage_blocks)`` of a torchvision-layout ResNet state dict.

    Raises:
        ValueError: the blocks per stage are not one of Table 1's nets.
    """
    from ..models.layers import IMAGENET_SETTINGS
    from ..models.layers import Bottleneck
    blocks = []
    for i in range(1, 5):
        ids = {int(k.split('.')[1]) for k in state if k.startswith(f'layer{i}.')}
        blocks.append(len(ids))
    bottleneck = 'layer1.0.conv3.weight' in state
    for depth, (block, stage_blocks) in IMAGENET_SETTINGS.items():
        if tuple(blocks) == stage_blocks and (block is Bottleneck) == bottleneck:
            return depth, bottleneck, tuple(blocks)
    allowed = {d: s for d, (_, s) in IMAGENET_SETTINGS.items()}
    raise ValueError(f'blocks per stage {tuple(blocks)} ({"bottleneck" if bottleneck else "basic"}'
                     f' blocks) match no Table 1 net; allowed: {allowed}')


def check_layout(state, source='torchvision'):
    """Raise ``ValueError`` naming the first key that is not a plain torchvision/timm ResNet.

    Args:
        state (dict): The state dict.
        source (str): 'torchvision' or 'timm' (only used in messages).
    """
    check_choice('source', source, SOURCES)
    if not isinstance(state, dict) or not state:
        raise ValueError(f'expected a non-empty {source} state dict, got {type(state).__name__}')
    for key in state:
        for pattern, what in _FOREIGN:
            if pattern.search(key):
                raise ValueError(f'{source} key {key!r} shows {what}: not the paper\'s ResNet; '
                                 f'supported: plain resnet18/34/50/101/152')
        if not _KEY.match(key):
            raise ValueError(f'unexpected {source} key {key!r}: expected conv1, bn1, '
                             f'layerI.J.convK / bnK / downsample.0|1, fc (a plain '
                             f'resnet18/34/50/101/152 state dict)')
    for key in ('conv1.weight', 'fc.weight', 'fc.bias'):
        if key not in state:
            raise ValueError(f'{source} state dict lacks {key!r}')


def convert_resnet_state_dict(state, source='torchvision'):
    """A torchvision or timm ResNet state dict, as PaperResNet weights.

    Args:
        state (dict): ``{'conv1.weight': ..., ..., 'fc.bias': ...}`` (a ``{'state_dict':
            ...}`` or ``{'model': ...}`` wrapper and a ``module.`` prefix are accepted).
        source (str): 'torchvision' or 'timm'.

    Returns:
        dict: ``backbone`` (state dict of ``PaperResNet``), ``head`` (of ``PoolFcHead``:
        ``fc.weight``, ``fc.bias``) and ``meta`` (depth, style, shortcut, in_channels,
        num_classes, source): everything to build the matching net.
    """
    from ..models.utils.weights import extract_state_dict
    state = extract_state_dict(state) if isinstance(state, dict) else state
    check_layout(state, source)
    depth, _, _ = infer_arch(state)
    backbone = OrderedDict((k, v) for k, v in state.items() if not k.startswith('fc.'))
    head = OrderedDict((k, v) for k, v in state.items() if k.startswith('fc.'))
    in_channels = int(state['conv1.weight'].shape[1])
    meta = dict(source=source, depth=depth, arch='imagenet', style='pytorch', shortcut='B',
                in_channels=in_channels, num_classes=int(state['fc.weight'].shape[0]))
    meta['recipe'] = dict(
        arch=dict(arch='imagenet', depth=depth, style='pytorch', shortcut='B', plain=False,
                  base_channels=int(state['conv1.weight'].shape[0]),
                  in_channels=in_channels),
        # Both libraries train on RGB images scaled by ImageNet's mean and std.
        normalisation=copy.deepcopy(IMAGENET_RGB))
    return dict(backbone=backbone, head=head, meta=meta)


def classifier_checkpoint(converted):
    """``{'state_dict': {'backbone.*', 'head.fc.*'}, 'meta'}``: loads into a
    :class:`PaperResNetClassifier` (``tools/test.py --checkpoint``, ``load_from``)."""
    sd = OrderedDict(('backbone.' + k, v) for k, v in converted['backbone'].items())
    sd.update(('head.' + k, v) for k, v in converted['head'].items())
    return dict(state_dict=sd, meta=dict(converted['meta']))


def backbone_checkpoint(converted):
    """``{'state_dict': backbone, 'meta'}``: the detection-backbone form, loaded by
    ``PaperResNet(init_cfg=dict(type='Pretrained', checkpoint=...))``."""
    return dict(state_dict=OrderedDict(converted['backbone']), meta=dict(converted['meta']))


def paper_to_torchvision(state_dict):
    """Inverse of :func:`classifier_checkpoint`: a PaperResNetClassifier state dict back in
    torchvision's layout (``backbone.`` and ``head.`` prefixes stripped)."""
    out = OrderedDict()
    for k, v in state_dict.items():
        for prefix in ('backbone.', 'head.'):
            if k.startswith(prefix):
                out[k[len(prefix):]] = v
                break
        else:
            raise ValueError(f'unexpected key {k!r}: expected backbone.* or head.*')
    return out


def build_paper_classifier(meta):
    """PaperResNet + pool + fc matching a converted checkpoint's ``meta``."""
    from ..models import PAPER_CHOICES, PaperResNet, PaperResNetClassifier
    backbone = PaperResNet(meta['depth'], arch='imagenet', style=meta['style'],
                           shortcut=meta['shortcut'], in_channels=meta['in_channels'],
                           **PAPER_CHOICES)
    return PaperResNetClassifier(backbone, meta['num_classes'])


def build_reference(meta):
    """The reference net, built without torchvision: mmdet's ``ResNet`` (torchvision's
    layout, minus ``fc``) + global average pool + fc, composed as the classifier is."""
    from mmdet.models.backbones import ResNet

    from ..models import PaperResNetClassifier
    return PaperResNetClassifier(
        ResNet(meta['depth'], in_channels=meta['in_channels'], style='pytorch',
               out_indices=(3, )), meta['num_classes'])


@torch.no_grad()
def check_outputs(converted, size=64, batch=2, atol=1e-4):
    """Run the converted PaperResNet classifier and the reference on one random batch.

    Both are loaded with ``strict=True`` and compared in eval mode.

    Returns:
        float: max absolute difference of the logits.

    Raises:
        AssertionError: the difference exceeds ``atol`` (the conversion is wrong).
    """
    meta = converted['meta']
    paper = build_paper_classifier(meta).eval()
    sd = classifier_checkpoint(converted)['state_dict']
    paper.load_state_dict(sd, strict=True)
    ref = build_reference(meta).eval()
    ref.backbone.load_state_dict(converted['backbone'], strict=True)
    ref.head.load_state_dict(converted['head'], strict=True)
    x = torch.randn(batch, meta['in_channels'], size, size,
                    generator=torch.Generator().manual_seed(0))
    diff = (paper(x) - ref(x)).abs().max().item()
    if not diff <= atol:
        raise AssertionError(f'converted ResNet-{meta["depth"]} differs from the reference '
                             f'by {diff:.3g} (> {atol})')
    return diff


def convert_file(src, dst, source='torchvision', form='classifier', check=True, fmt=None):
    """Convert the file ``src`` (a .pth state dict) and write ``dst`` atomically.

    Args:
        src (str): torchvision / timm checkpoint (loaded with the project's safe loader).
        dst (str): Output path.
        source (str): 'torchvision' or 'timm'.
        form (str): 'classifier' (``backbone.*`` + ``head.fc.*``) or 'backbone' (the
            detection-backbone form).
        check (bool): Compare outputs with the reference first. Default: True.
        fmt (str, optional): 'pth' or 'safetensors'; default: by the suffix of ``dst``.

    Returns:
        dict: the ``meta`` of the conversion, with ``max_abs_diff`` when checked.
    """
    from ..checkpoint import load_checkpoint_file, output_format, write_checkpoint
    forms = dict(classifier=classifier_checkpoint, backbone=backbone_checkpoint)
    check_choice('form', form, forms)
    fmt = output_format(dst, fmt)
    try:
        converted = convert_resnet_state_dict(load_checkpoint_file(src), source)
    except ValueError as e:
        raise ValueError(f'{src}: {e}') from None
    meta = dict(converted['meta'])
    if check:
        meta['max_abs_diff'] = check_outputs(converted)
    write_checkpoint(forms[form](converted), dst, fmt)
    return meta
