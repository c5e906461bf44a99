"""MSRA's own ResNet-50/101/152 weights in Detectron's ``.pkl`` format -> PaperResNet.

The weights He et al. released with the paper are Caffe models; Detectron ships them as
Python-2 pickles (``R-50.pkl``, ``R-101.pkl``, ``R-152.pkl``; detectron2 and mmdet's
``caffe`` backbones load the same files). A file holds ``{'blobs': {name: ndarray}}`` (other
top-level entries are ignored) or the plain ``{name: ndarray}`` dict, with these names:

- stem: ``conv1_w`` (no bias) and ``res_conv1_bn_s`` / ``res_conv1_bn_b``;
- block ``j`` of stage ``i`` (2..5): ``res{i}_{j}_branch2{a,b,c}_w`` (the 1x1, 3x3 and 1x1
  convs) with ``res{i}_{j}_branch2{a,b,c}_bn_s`` / ``_bn_b``, and on the first block of each
  stage the projection ``res{i}_0_branch1_w`` with ``res{i}_0_branch1_bn_s`` / ``_bn_b``;
- optionally the classifier, ``pred_w`` / ``pred_b`` or ``fc1000_w`` / ``fc1000_b``;
- ``*_momentum`` blobs (solver state) are ignored.

The BN layers come folded into a per-channel affine ``s * x + b`` (Caffe2's AffineChannel).
They become PaperResNet BN layers with ``weight=s``, ``bias=b``, ``running_mean=0`` and
``running_var=1 - eps`` (``eps`` of PaperResNet's BN, 1e-5 from mmcv's ``build_norm_layer``),
so that in eval mode ``BN(x) = s * x / sqrt(1 - eps + eps) + b = s * x + b``. The nets put the
stride of a bottleneck on its first 1x1 conv: PaperResNet's ``style='caffe'``, with
projection shortcuts only where the shape changes (Table 3's option B). The inputs they
expect are BGR images in 0..255 minus the per-channel mean (103.53, 116.28, 123.675); the
checkpoint's ``meta['recipe']`` says so.

    python tools/convert/msra2paper.py R-50.pkl paper_r50_caffe.pth
    python tools/convert/msra2paper.py R-50.pkl paper_r50_cls.pth --form classifier

The pickle is read with the project's restricted unpickler
(:mod:`~mmresnet.checkpoint.safe_pickle`), which rebuilds numpy arrays and dicts; anything else,
e.g. ``os.system``, is refused before it can run. Before writing, the converted net
is compared on a random batch with a functional re-implementation of Detectron's ResNet
computed from the blobs themselves (``--no-check`` skips it).
"""
import argparse
import copy
import os.path as osp
import pickle
import re
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoint import CheckpointFormatError, UnsafeCheckpointError, load_pickle
from ..utils import CAFFE_BGR, check_choice
from .cli import add_format_arg

STAGES = (2, 3, 4, 5)  # Detectron's res2..res5 = PaperResNet's layer1..layer4
BRANCHES = {'branch2a': ('conv1', 'bn1'), 'branch2b': ('conv2', 'bn2'),
            'branch2c': ('conv3', 'bn3'), 'branch1': ('downsample.0', 'downsample.1')}
CLASSIFIER_NAMES = (('pred_w', 'pred_b'), ('fc1000_w', 'fc1000_b'))
FORMS = ('backbone', 'classifier')

_BLOCK_BLOB = re.compile(r'^res([2-5])_(\d+)_(branch2[abc]|branch1)_(w|bn_s|bn_b)$')
ALLOWED_BLOBS = ('conv1_w, res_conv1_bn_s, res_conv1_bn_b, res{2..5}_{j}_branch2{a,b,c}_w '
                 'with _bn_s / _bn_b, res{2..5}_0_branch1_w with _bn_s / _bn_b, and '
                 'optionally pred_w / pred_b or fc1000_w / fc1000_b (*_momentum ignored)')


# -- safe loading -------------------------------------------------------------------------
def load_msra_blobs(filename):
    """The ``{name: ndarray}`` blobs of a Detectron weights pickle, read safely.

    Accepts ``{'blobs': {...}, ...}`` (other top-level entries are ignored) or the plain
    blob dict.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the pickle holds a global outside the allow-list; nothing
            was executed.
        CheckpointFormatError: the file is no pickle of a blob dict.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Detectron weights pickle not found: {filename}')
    with open(filename, 'rb') as f:
        try:
            # Detectron's files are Python-2 pickles
            obj = load_pickle(f, filename, encoding='latin1')
        except UnsafeCheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError,
                IndexError, AttributeError, UnicodeDecodeError) as e:
            f.seek(0)
            hint = ('; it is a zip archive, as torch.save writes: use tools/convert/'
                    'torchvision2paper.py for PyTorch checkpoints'
                    if f.read(4) == b'PK\x03\x04' else '')
            raise CheckpointFormatError(
                f'{filename} is not a Detectron weights pickle ({type(e).__name__}: '
                f'{e}{hint})') from None
    blobs = obj.get('blobs', obj) if isinstance(obj, dict) else obj
    if not isinstance(blobs, dict) or not blobs:
        raise CheckpointFormatError(
            f"{filename}: expected {{'blobs': {{name: ndarray}}}} or a plain {{name: "
            f'ndarray}} dict, got {type(blobs).__name__}')
    return blobs


# -- names, depth, conversion ---------------------------------------------------------------
def msra_blob_names(depth):
    """Every blob name (classifier excluded) of the MSRA ResNet-``depth``, in order."""
    stage_blocks = _bottleneck_settings()[depth]
    names = ['conv1_w', 'res_conv1_bn_s', 'res_conv1_bn_b']
    for i, n in zip(STAGES, stage_blocks):
        for j in range(n):
            for branch in ('branch2a', 'branch2b', 'branch2c') + (('branch1', ) if j == 0
                                                                  else ()):
                names += [f'res{i}_{j}_{branch}_{s}' for s in ('w', 'bn_s', 'bn_b')]
    return names


def paper_key(name):
    """PaperResNet's (backbone) or PoolFcHead's (head) key of the blob ``name``:
    ``('backbone', 'layer1.0.bn1.weight')`` for ``res2_0_branch2a_bn_s``; None if unknown."""
    if name == 'conv1_w':
        return 'backbone', 'conv1.weight'
    if name in ('res_conv1_bn_s', 'res_conv1_bn_b'):
        return 'backbone', 'bn1.' + ('weight' if name.endswith('_s') else 'bias')
    for w, b in CLASSIFIER_NAMES:
        if name in (w, b):
            return 'head', 'fc.weight' if name == w else 'fc.bias'
    m = _BLOCK_BLOB.match(name)
    if m is None:
        return None
    stage, block, branch, kind = m.groups()
    conv, norm = BRANCHES[branch]
    prefix = f'layer{int(stage) - 1}.{int(block)}.'
    key = {'w': f'{conv}.weight', 'bn_s': f'{norm}.weight', 'bn_b': f'{norm}.bias'}[kind]
    return 'backbone', prefix + key


def _bottleneck_settings():
    from ..models.layers import IMAGENET_SETTINGS
    from ..models.layers import Bottleneck
    return {d: s for d, (block, s) in IMAGENET_SETTINGS.items() if block is Bottleneck}


def infer_msra_depth(blobs, filename='<blobs>'):
    """Depth (50, 101 or 152) from the number of ``res{i}_{j}_*`` blocks per stage.

    Raises:
        ValueError: the blocks per stage are no bottleneck net of Table 1.
    """
    blocks = []
    for i in STAGES:
        ids = {int(m.group(2)) for m in map(_BLOCK_BLOB.match, blobs) if m and
               int(m.group(1)) == i}
        blocks.append(max(ids) + 1 if ids else 0)
    settings = _bottleneck_settings()
    for depth, stage_blocks in settings.items():
        if tuple(blocks) == stage_blocks:
            return depth
    raise ValueError(f'{filename}: blocks per stage res2..res5 {tuple(blocks)} match no MSRA '
                     f'ResNet; allowed: {settings}')


def _classifier_pair(blobs, filename):
    pairs = [p for p in CLASSIFIER_NAMES if p[0] in blobs or p[1] in blobs]
    if len(pairs) > 1:
        raise ValueError(f'{filename}: holds two classifiers ({", ".join(sum(pairs, ()))}); '
                         'expected one of pred_w/pred_b or fc1000_w/fc1000_b')
    if pairs:
        for name in pairs[0]:
            if name not in blobs:
                raise ValueError(f'{filename}: classifier blob {name!r} is missing (the '
                                 f'file has {"/".join(n for n in pairs[0] if n in blobs)})')
        return pairs[0]
    return None


def check_msra_blobs(blobs, filename='<blobs>'):
    """Validate the names of ``blobs``; return ``(depth, classifier pair or None)``.

    Raises:
        ValueError: naming ``filename`` and the first unknown or missing blob.
    """
    for name in blobs:
        if not isinstance(name, str):
            raise ValueError(f'{filename}: blob name {name!r} is not a string')
        if not name.endswith('_momentum') and paper_key(name) is None:
            raise ValueError(f'{filename}: unknown blob {name!r}; an MSRA ResNet-50/101/152 '
                             f'in Detectron format has {ALLOWED_BLOBS}')
    depth = infer_msra_depth(blobs, filename)
    for name in msra_blob_names(depth):
        if name not in blobs:
            raise ValueError(f'{filename}: blob {name!r} of the MSRA ResNet-{depth} is '
                             f'missing; expected {ALLOWED_BLOBS}')
    extra = [n for n in blobs if paper_key(n) and paper_key(n)[0] == 'backbone'
             and n not in set(msra_blob_names(depth))]
    if extra:  # e.g. res3_1_branch1_w: a projection where the paper's net has none
        raise ValueError(f'{filename}: blob {extra[0]!r} has no place in the MSRA '
                         f'ResNet-{depth}; expected {ALLOWED_BLOBS}')
    return depth, _classifier_pair(blobs, filename)


def _tensor(blobs, name, filename):
    a = blobs[name]
    if not isinstance(a, np.ndarray) or a.dtype.kind != 'f':
        raise ValueError(f'{filename}: blob {name!r} is {type(a).__name__}'
                         f'{" of dtype " + str(a.dtype) if isinstance(a, np.ndarray) else ""}'
                         '; expected a float array')
    return torch.from_numpy(np.array(a, dtype=np.float32, copy=True))


def msra_meta(depth, num_classes):
    """The checkpoint ``meta`` of a converted MSRA net (the recipe other code reads)."""
    return dict(source='msra', depth=depth, arch='imagenet', style='caffe', shortcut='B',
                in_channels=3, num_classes=num_classes,
                recipe=dict(arch=dict(arch='imagenet', depth=depth, style='caffe',
                                      shortcut='B', plain=False, base_channels=64,
                                      in_channels=3),
                            normalisation=copy.deepcopy(CAFFE_BGR)))


def convert_msra_blobs(blobs, filename='<blobs>'):
    """Detectron blobs of an MSRA ResNet, as PaperResNet (``style='caffe'``) weights.

    Returns:
        dict: ``backbone`` (state dict of ``PaperResNet(depth, style='caffe')``, in its key
        order), ``head`` (``fc.weight`` / ``fc.bias`` of :class:`PoolFcHead`; empty without
        a classifier) and ``meta`` (:func:`msra_meta`).

    Raises:
        ValueError: unknown / missing blob, or a blob of the wrong shape, naming it.
    """
    from ..models import PAPER_CHOICES, PaperResNet
    depth, fc = check_msra_blobs(blobs, filename)
    with torch.device('meta'):  # keys, shapes and BN eps only: no memory, no init
        net = PaperResNet(depth, style='caffe', **PAPER_CHOICES)
    own = net.state_dict()
    eps = {name + '.': m.eps for name, m in net.named_modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    source = {paper_key(n)[1]: n for n in msra_blob_names(depth)}
    backbone = OrderedDict()
    for key, ref in own.items():
        module, _, attr = key.rpartition('.')
        if attr == 'running_mean':
            value = torch.zeros(ref.shape)
        elif attr == 'running_var':  # BN(x) = s * x / sqrt(var + eps) + b = s * x + b
            value = torch.full(ref.shape, 1.0 - eps[module + '.'])
        elif attr == 'num_batches_tracked':
            value = torch.tensor(0, dtype=torch.long)
        else:
            name = source[key]
            value = _tensor(blobs, name, filename)
            if tuple(value.shape) != tuple(ref.shape):
                raise ValueError(f'{filename}: blob {name!r} has shape {tuple(value.shape)}, '
                                 f'the MSRA ResNet-{depth} has {tuple(ref.shape)} there '
                                 f'({key})')
        backbone[key] = value
    head = OrderedDict()
    if fc is not None:
        w, b = (_tensor(blobs, n, filename) for n in fc)
        if w.ndim == 4 and w.shape[2:] == (1, 1):  # a 1x1 conv classifier
            w = w.flatten(1)
        if w.ndim != 2 or w.shape[1] != net.feat_dim or b.shape != (w.shape[0], ):
            raise ValueError(f'{filename}: classifier {fc[0]} {tuple(blobs[fc[0]].shape)} / '
                             f'{fc[1]} {tuple(blobs[fc[1]].shape)}; expected (N, '
                             f'{net.feat_dim}) / (N, )')
        head['fc.weight'], head['fc.bias'] = w, b
    meta = msra_meta(depth, int(head['fc.weight'].shape[0]) if head else None)
    return dict(backbone=backbone, head=head, meta=meta)


def msra_checkpoint(converted, form='backbone'):
    """``{'state_dict', 'meta'}`` of a conversion: ``form='backbone'`` has PaperResNet's own
    keys (``init_cfg=dict(type='Pretrained', ...)``), ``'classifier'`` ``backbone.*`` +
    ``head.fc.*`` (:class:`~mmresnet.models.PaperResNetClassifier`, ``load_from``)."""
    from .resnet_state_dict import backbone_checkpoint, classifier_checkpoint
    check_choice('form', form, FORMS)
    if form == 'classifier':
        if not converted['head']:
            raise ValueError('the classifier form needs the classifier blobs pred_w / pred_b '
                             'or fc1000_w / fc1000_b; this net has none (use the backbone '
                             'form)')
        return classifier_checkpoint(converted)
    return backbone_checkpoint(converted)


# -- output check -----------------------------------------------------------------------
def _affine(x, blobs, prefix):
    """Caffe2's AffineChannel: the folded BN ``s * x + b``."""
    s, b = blobs[prefix + '_s'], blobs[prefix + '_b']
    return x * s.view(1, -1, 1, 1) + b.view(1, -1, 1, 1)


def reference_forward(blobs, x):
    """Detectron's ResNet (``ResNet.py``: ``basic_bn_stem``, ``bottleneck_transformation``
    with ``STRIDE_1X1=True``), written out functionally on the raw blobs.

    Returns:
        torch.Tensor: the logits if the blobs hold a classifier, else the res5 features.
    """
    t = {n: torch.from_numpy(np.array(a, dtype=np.float32)) for n, a in blobs.items()
         if isinstance(a, np.ndarray) and not n.endswith('_momentum')}
    x = F.relu(_affine(F.conv2d(x, t['conv1_w'], stride=2, padding=3), t, 'res_conv1_bn'))
    # Detectron's pool1 is 3x3 / 2 with pad 1 (Caffe2's floor rounding), the same as
    # PaperResNet's nn.MaxPool2d(3, 2, padding=1); the original Caffe prototxt pooled with
    # pad 0 and ceil rounding, which differs only in where the windows fall at the border.
    # The reference uses PaperResNet's padding, so that the check tests the weights alone.
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    for i in STAGES:
        j = 0
        while f'res{i}_{j}_branch2a_w' in t:
            p = f'res{i}_{j}_'
            stride = 2 if i >= 3 and j == 0 else 1  # caffe style: stride on the first 1x1
            y = F.relu(_affine(F.conv2d(x, t[p + 'branch2a_w'], stride=stride), t,
                               p + 'branch2a_bn'))
            y = F.relu(_affine(F.conv2d(y, t[p + 'branch2b_w'], padding=1), t,
                               p + 'branch2b_bn'))
            y = _affine(F.conv2d(y, t[p + 'branch2c_w']), t, p + 'branch2c_bn')
            if p + 'branch1_w' in t:
                x = _affine(F.conv2d(x, t[p + 'branch1_w'], stride=stride), t,
                            p + 'branch1_bn')
            x = F.relu(x + y)
            j += 1
    for w, b in CLASSIFIER_NAMES:
        if w in t:
            return F.linear(x.mean(dim=(2, 3)), t[w].flatten(1), t[b])
    return x


@torch.no_grad()
def check_msra_outputs(blobs, converted, size=64, batch=2, atol=1e-4):
    """Compare the converted PaperResNet (loaded ``strict=True``, eval mode) with
    :func:`reference_forward` on one random batch: the logits if there is a classifier,
    else the res5 feature map.

    Returns:
        float: the max absolute difference.

    Raises:
        AssertionError: it exceeds ``atol * max(1, max |reference|)`` (the conversion is
            wrong; relative to the output scale since real nets' outputs reach tens).
    """
    from ..models import PAPER_CHOICES, PaperResNet, PaperResNetClassifier
    from .resnet_state_dict import classifier_checkpoint
    meta = converted['meta']
    backbone = PaperResNet(meta['depth'], style='caffe', **PAPER_CHOICES)
    if converted['head']:
        net = PaperResNetClassifier(backbone, meta['num_classes'])
        net.load_state_dict(classifier_checkpoint(converted)['state_dict'], strict=True)
    else:
        net = backbone
        net.load_state_dict(converted['backbone'], strict=True)
    net.eval()
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    out = net(x)
    out = out[-1] if isinstance(out, (tuple, list)) else out
    ref = reference_forward(blobs, x)
    diff = (out - ref).abs().max().item()
    tol = atol * max(1.0, ref.abs().max().item())
    if not diff <= tol:
        raise AssertionError(f'converted MSRA ResNet-{meta["depth"]} differs from the '
                             f'functional reference by {diff:.3g} (> {tol:.3g})')
    return diff


# -- files, command line ----------------------------------------------------------------
def convert_msra_file(src, dst, form='backbone', check=True, fmt=None):
    """Convert the Detectron pickle ``src`` and write the PaperResNet checkpoint ``dst``
    atomically.

    Args:
        src (str): ``R-50.pkl`` / ``R-101.pkl`` / ``R-152.pkl`` (read with
            :mod:`~mmresnet.checkpoint.safe_pickle`).
        dst (str): Output path.
        form (str): 'backbone' (PaperResNet's keys) or 'classifier' (``backbone.*`` +
            ``head.fc.*``; needs the classifier blobs).
        check (bool): Compare outputs with :func:`reference_forward` first. Default: True.
        fmt (str, optional): 'pth' or 'safetensors'; default: by the suffix of ``dst``.

    Returns:
        dict: the ``meta`` of the conversion, with ``max_abs_diff`` and ``checked`` (what was
        compared) when checked.
    """
    from ..checkpoint import output_format, write_checkpoint
    check_choice('form', form, FORMS)
    fmt = output_format(dst, fmt)
    blobs = load_msra_blobs(src)
    if form == 'classifier' and _classifier_pair(blobs, src) is None:
        raise ValueError(f'{src}: --form classifier needs the classifier blobs pred_w / '
                         'pred_b or fc1000_w / fc1000_b; the file has none (use --form '
                         'backbone)')
    converted = convert_msra_blobs(blobs, src)
    ckpt = msra_checkpoint(converted, form)
    meta = dict(converted['meta'])
    if check:
        meta['max_abs_diff'] = check_msra_outputs(blobs, converted)
        meta['checked'] = 'logits' if converted['head'] else 'res5 features'
    write_checkpoint(ckpt, dst, fmt)
    return meta


def main(argv=None, doc=None):
    """``SRC DST [--form backbone|classifier] [--no-check]`` (tools/convert/msra2paper.py)."""
    parser = argparse.ArgumentParser(description=doc or __doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='MSRA ResNet weights in Detectron format (.pkl)')
    parser.add_argument('dst', help='output PaperResNet checkpoint')
    parser.add_argument('--form', choices=FORMS, default='backbone',
                        help='backbone: detection form (default); classifier: backbone.* + '
                        'head.fc.*')
    parser.add_argument('--no-check', action='store_true',
                        help='skip the output comparison with the functional reference')
    add_format_arg(parser)
    args = parser.parse_args(argv)
    meta = convert_msra_file(args.src, args.dst, form=args.form, check=not args.no_check,
                             fmt=args.format)
    print(f"ResNet-{meta['depth']} ({meta['in_channels']} input channels, "
          f"{meta['num_classes']} classes, style='caffe', shortcut B) -> {args.dst} "
          f"[{args.form}]")
    if 'max_abs_diff' in meta:
        print(f"output check ({meta['checked']}) vs functional reference from the blobs: "
              f"max |diff| = {meta['max_abs_diff']:.2e}")
    return meta
