"""What PaperResNet and the C4 head PaperResLayer share: He init, strict Pretrained loading,
frozen BN statistics with ``norm_eval``, and the words for frozen BN trained from scratch."""
import torch
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from .weights import init_with_strict_pretrained, split_pretrained


def he_init_cfg():
    """He et al. 2015, Section 3.4: "We initialize the weights as in [13]" (Kaiming, fan
    out), BN / GN scale 1."""
    return [dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]


class PaperModule(BaseModule):
    """Base of the modules that load PaperResNet checkpoints.

    - ``init_cfg=None`` gives :func:`he_init_cfg`; a Pretrained entry (dict or list form) is
      checked when the module is built and loaded strictly by :meth:`init_weights` through
      :meth:`load_pretrained` (MMEngine's own PretrainedInit loads with ``strict=False`` and
      only logs, so a wrong file or prefix would silently leave random weights).
    - ``train()`` keeps BN in eval mode when ``self.norm_eval`` (Section 4.3: statistics
      fixed) and calls :meth:`_freeze` first (frozen stages).
    """

    norm_eval = False

    def __init__(self, init_cfg=None):
        if init_cfg is None:
            init_cfg = he_init_cfg()
        else:
            split_pretrained(init_cfg, type(self).__name__)  # checks the Pretrained entry
        super().__init__(init_cfg)

    def recipe_arch(self):
        """The architecture part of a checkpoint's recipe, ``dict(arch, depth, style,
        ...)`` (see :mod:`.recipe`); None for a module without one."""
        return None

    def load_pretrained(self, checkpoint, prefix=None, map_location='cpu'):
        """Load ``checkpoint`` strictly (see :func:`load_backbone_weights`)."""
        raise NotImplementedError

    def _default_init(self):
        super().init_weights()
        # MMEngine stops at the plain nn.Modules (stages, blocks): the blocks init what they
        # hold, as in mmdet (layers/blocks.py)
        for m in self.modules():
            if m is not self and callable(getattr(m, 'init_held_layers', None)):
                m.init_held_layers()

    def init_weights(self):
        init_with_strict_pretrained(self, self._default_init, type(self).load_pretrained)

    def _freeze(self):
        """Stop gradients / statistics of frozen parts (nothing by default)."""

    def train(self, mode=True):
        super().train(mode)
        self._freeze()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


# The three ways out of frozen BN from scratch, in one place: the backbone's warning and the
# divergence guard's message (engine/hooks.py) both give them.
FROZEN_BN_WAYS_OUT = (
    'load weights (init_cfg=dict(type=\'Pretrained\', checkpoint=...) or load_from), '
    'zero-init the residual branches (zero_init_residual=True with init_cfg=None), or train '
    'BN (norm_eval=False, norm_cfg=dict(type=\'BN\', requires_grad=True)); '
    'see docs/backbones.md, "Frozen BN from scratch"')


def _tracking_bns(module):
    return [m for m in module.modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats]


def frozen_bn_from_scratch_message(module, owner, pretrained, zero_init):
    """The warning for ``module`` (built, not yet initialised) when its BN statistics are
    frozen (``norm_eval``) and it will start from random weights; None otherwise.

    Frozen statistics from random init are mean 0, variance 1: BN does not normalise, and
    without zero-init every residual branch adds its full output to the sum (ResNet-50's
    sixteen branches overflow in a few steps). Loaded weights bring real statistics;
    zero-init makes every block start as its shortcut; BN in training mode normalises.
    """
    if pretrained or zero_init or not getattr(module, 'norm_eval', False):
        return None
    bns = _tracking_bns(module)
    if not bns:  # GN, or BN without running statistics: it normalises in eval mode too
        return None
    frozen_affine = not any(p.requires_grad for m in bns for p in m.parameters())
    return (f'{owner}: BN is frozen (norm_eval=True'
            f'{", requires_grad=False" if frozen_affine else ""}) and the weights are random '
            '(no Pretrained init_cfg, zero_init_residual off): BN keeps its initial '
            'statistics (mean 0, variance 1) and does not normalise, so the residual '
            'branches add up unchecked and the first losses may explode to NaN (nothing to '
            'do if load_from or resume loads the whole model). Three ways out: '
            f'{FROZEN_BN_WAYS_OUT}.')


def frozen_initial_bns(model):
    """Names of the BN layers of ``model`` that are frozen while ``model`` trains (eval
    mode, or any module with fixed ``running_mean`` / ``running_var`` buffers such as the
    speed switches' FrozenBatchNorm2d) and still hold their initial statistics (mean 0,
    variance 1): frozen BN from scratch."""
    if not model.training:
        return []
    names = []
    for name, m in model.named_modules():
        mean, var = getattr(m, 'running_mean', None), getattr(m, 'running_var', None)
        if not (isinstance(mean, torch.Tensor) and isinstance(var, torch.Tensor)):
            continue
        if isinstance(m, _BatchNorm) and m.training:
            continue
        if torch.count_nonzero(mean) == 0 and bool((var == 1).all()):
            names.append(name)
    return names
