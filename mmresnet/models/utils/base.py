"""What PaperResNet and the C4 head PaperResLayer share: He init, strict Pretrained loading,
frozen BN statistics with ``norm_eval``."""
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from .weights import init_with_strict_pretrained, split_pretrained


def he_init_cfg(linear_std=None):
    """He et al. 2015, Section 3.4: "We initialize the weights as in [13]" (Kaiming, fan
    out), BN / GN scale 1; a Linear layer (if any) from N(0, ``linear_std``)."""
    cfg = [dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu'),
           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
    if linear_std is not None:
        cfg.append(dict(type='Normal', std=linear_std, layer='Linear'))
    return cfg


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

    def __init__(self, init_cfg=None, linear_std=None):
        if init_cfg is None:
            init_cfg = he_init_cfg(linear_std)
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
