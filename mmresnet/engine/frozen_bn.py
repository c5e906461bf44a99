"""Frozen and folded BatchNorm: speed switches that change no result beyond
floating-point tolerance.

- :class:`FrozenBatchNorm2d` / :func:`freeze_bn`: a BN whose statistics and affine are
  frozen (the paper's detector, Section 4.3 / Appendix A: BN is fixed after pre-training)
  becomes a fixed per-channel affine: nothing to update, cheaper backward, and no
  ``train()`` call can unfreeze it. State-dict keys stay those of ``nn.BatchNorm2d``.
- :func:`fold_bn_into_conv`: for inference, every eval-mode BN right after a conv is
  folded into the conv's weight and bias (one pass over the activations fewer).

A config turns them on with :class:`~mmresnet.engine.speed_switches.SpeedUpHook`.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d with fixed statistics and affine: ``y = x * scale + shift``.

    Holds ``weight``, ``bias``, ``running_mean``, ``running_var`` (and
    ``num_batches_tracked``) as buffers, so checkpoints of the BN it replaces load unchanged.

    Args:
        num_features (int): Channels.
        eps (float): As the BN's. Default: 1e-5.
    """

    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.register_buffer('weight', torch.ones(num_features))
        self.register_buffer('bias', torch.zeros(num_features))
        self.register_buffer('running_mean', torch.zeros(num_features))
        self.register_buffer('running_var', torch.ones(num_features))
        self.register_buffer('num_batches_tracked', torch.tensor(0, dtype=torch.long))

    @classmethod
    def from_bn(cls, bn):
        """A frozen copy of ``bn`` (its current running statistics and affine)."""
        if not bn.track_running_stats or bn.running_mean is None:
            raise ValueError(f'{type(bn).__name__} without running statistics '
                             '(track_running_stats=False) cannot be frozen')
        frozen = cls(bn.num_features, bn.eps)
        with torch.no_grad():
            if bn.affine:
                frozen.weight.copy_(bn.weight)
                frozen.bias.copy_(bn.bias)
            frozen.running_mean.copy_(bn.running_mean)
            frozen.running_var.copy_(bn.running_var)
            if bn.num_batches_tracked is not None:
                frozen.num_batches_tracked.copy_(bn.num_batches_tracked)
        return frozen.to(bn.running_mean.device)

    def scale_shift(self):
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        return scale, self.bias - self.running_mean * scale

    def forward(self, x):
        if not x.requires_grad:
            # One fused kernel, bit-identical to BN in eval mode.
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight,
                                self.bias, False, 0.0, self.eps)
        # With gradients, F.batch_norm's backward also computes weight/bias gradients and
        # keeps more memory (detectron2's FrozenBatchNorm2d does the same). Cast to the
        # activations' dtype so AMP activations are not promoted to float32.
        scale, shift = (t.to(x.dtype).view(1, -1, 1, 1) for t in self.scale_shift())
        return torch.addcmul(shift, x, scale)

    def extra_repr(self):
        return f'{self.num_features}, eps={self.eps}'


def unwrap_model(model):
    """The model inside a DDP-style wrapper or a test-time-augmentation model."""
    from mmengine.model import BaseTTAModel
    return model.module if is_model_wrapper(model) or isinstance(model, BaseTTAModel) \
        else model


def _is_frozen_bn(module):
    """BN in eval mode whose affine does not train: its output is a fixed affine map."""
    return (isinstance(module, _BatchNorm) and not module.training
            and module.track_running_stats and module.running_mean is not None
            and not any(p.requires_grad for p in module.parameters(recurse=False)))


def freeze_bn(model, only_frozen=True):
    """Replace BN layers by :class:`FrozenBatchNorm2d`, in place.

    Call it after ``model.train()`` (or ``model.eval()``) and after the weights are loaded:
    a BN counts as frozen when it is in eval mode and has no trainable parameter, as in
    frozen stages and with ``norm_eval=True, norm_cfg.requires_grad=False`` (mmdet's
    detector defaults). Gradients w.r.t. the input and every other parameter are unchanged.

    Args:
        model (nn.Module): Model to change in place.
        only_frozen (bool): Leave BN that still trains (train mode or trainable affine)
            alone. ``False`` freezes every BN with running statistics (inference).
            Default: True.

    Returns:
        int: Number of BN layers replaced.
    """
    count = 0
    for parent in list(unwrap_model(model).modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, _BatchNorm) or child.running_mean is None:
                continue
            if only_frozen and not _is_frozen_bn(child):
                continue
            setattr(parent, name, FrozenBatchNorm2d.from_bn(child))
            count += 1
    return count


def _conv_bn_pairs(parent):
    """(conv name, norm name) pairs whose norm directly follows the conv in ``forward``.

    Two conventions are recognised: consecutive children of an ``nn.Sequential`` (the
    ``downsample`` projection, eq. 2) and the ecosystem's ``convK`` / ``bnK`` names
    (torchvision, mmdet and PaperResNet blocks and stems), where ``bnK`` normalises
    ``convK``'s output.
    """
    children = dict(parent.named_children())
    if isinstance(parent, nn.Sequential):
        names = list(children)
        return [(a, b) for a, b in zip(names, names[1:])]
    return [(name, 'bn' + name[4:]) for name in children
            if name.startswith('conv') and name[4:].isdigit() and 'bn' + name[4:] in children]


def fold_bn_into_conv(model):
    """Fold every eval-mode BN that follows a conv into that conv, in place (inference).

    The conv gets ``W * s`` and bias ``b + (beta - mean) * s`` with
    ``s = gamma / sqrt(var + eps)`` (torch's ``fuse_conv_bn_eval``); the BN becomes
    ``nn.Identity``. The state dict changes, so do this after loading the weights and
    never on a model that will be saved or trained.

    Args:
        model (nn.Module): Model in eval mode.

    Returns:
        int: Number of BN layers folded.

    Raises:
        RuntimeError: the model is in training mode.
    """
    model = unwrap_model(model)
    if model.training:
        raise RuntimeError('fold_bn_into_conv is for inference: call model.eval() first '
                           '(folding a BN that still updates its statistics changes results)')
    count = 0
    for parent in list(model.modules()):
        for conv_name, bn_name in _conv_bn_pairs(parent):
            conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
            if type(conv) is not nn.Conv2d:  # subclasses may have their own forward
                continue
            if isinstance(bn, FrozenBatchNorm2d):
                bn = _frozen_as_bn(bn)
            elif not isinstance(bn, _BatchNorm) or bn.running_mean is None or bn.training:
                continue
            setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(parent, bn_name, nn.Identity())
            count += 1
    return count


def _frozen_as_bn(frozen):
    bn = nn.BatchNorm2d(frozen.num_features, frozen.eps).to(frozen.weight.device).eval()
    bn.load_state_dict(frozen.state_dict())
    return bn


__all__ = ['unwrap_model', 'FrozenBatchNorm2d', 'freeze_bn', 'fold_bn_into_conv']
