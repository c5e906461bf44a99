"""Speed switches that change no result beyond floating-point tolerance.

- :class:`FrozenBatchNorm2d` / :func:`freeze_bn`: a BN whose statistics and affine are
  frozen (the paper's detector, Section 4.3 / Appendix A: BN is fixed after pre-training)
  becomes a fixed per-channel affine: nothing to update, cheaper backward, and no
  ``train()`` call can unfreeze it. State-dict keys stay those of ``nn.BatchNorm2d``.
- :func:`fold_bn_into_conv`: for inference, every eval-mode BN right after a conv is
  folded into the conv's weight and bias (one pass over the activations fewer).
- :func:`to_channels_last`: NHWC weights and inputs (faster convs with tensor cores / oneDNN).
- :class:`SpeedUpHook`: applies the above from a config switch. ``torch.compile`` and fp16
  AMP are MMEngine's own switches (``compile=True``, ``AmpOptimWrapper``); bf16 autocast
  without loss scaling and iterations without host-device waits are in
  :mod:`mmresnet.engine.sync_free`.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
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


def _inputs_channels_last(module, args, kwargs):
    args = tuple(a.contiguous(memory_format=torch.channels_last)
                 if isinstance(a, torch.Tensor) and a.dim() == 4 else a for a in args)
    return args, kwargs


def _inputs_contiguous(module, args, kwargs):
    args = tuple(a.contiguous() if isinstance(a, torch.Tensor) and a.dim() == 4 else a
                 for a in args)
    return args, kwargs


def _reads_nchw_memory(module):
    """mmcv's compiled ops (RoIAlign, RoIPool, deformable convs, ...) index the data
    pointer of a feature map as NCHW and do not check its layout: fed an NHWC tensor they
    silently compute on scrambled features."""
    return type(module).__module__.startswith('mmcv.ops')


def to_channels_last(model):
    """NHWC (channels_last) weights, and NHWC inputs to the backbone, in place.

    Parameters keep their identity (``Module.to`` swaps ``.data``), so an optimizer built
    before stays valid. The inputs of ``model.backbone`` (or of ``model`` when it has no
    backbone) are converted by a forward pre-hook; later layers keep the format, except the
    modules of ``mmcv.ops`` (a detector's RoIAlign / RoIPool), whose inputs are made NCHW
    contiguous again: their kernels read NCHW memory whatever the tensor's layout.

    Returns:
        nn.Module: ``model``.
    """
    inner = unwrap_model(model)
    inner.to(memory_format=torch.channels_last)
    target = getattr(inner, 'backbone', inner)
    if not getattr(target, '_mmresnet_channels_last', False):
        target.register_forward_pre_hook(_inputs_channels_last, with_kwargs=True)
        target._mmresnet_channels_last = True
    for module in inner.modules():
        if _reads_nchw_memory(module) and not getattr(module, '_mmresnet_nchw', False):
            module.register_forward_pre_hook(_inputs_contiguous, with_kwargs=True)
            module._mmresnet_nchw = True
    return model


@HOOKS.register_module()
class SpeedUpHook(Hook):
    """Apply the speed switches to the runner's model from a config.

    Example::

        custom_hooks = [dict(type='SpeedUpHook', freeze_bn=True, channels_last=True,
                             fold_bn_test=True)]
        compile = True                                              # MMEngine: torch.compile
        optim_wrapper = dict(type='AutocastOptimWrapper', optimizer=...)  # bf16 (sync_free.py)

    Applied at ``before_train`` / ``before_test``, i.e. after the weights are loaded or
    resumed and after ``model.train()``/``eval()`` set the frozen BN's mode. Checkpoints
    keep their keys: frozen BN keep their buffers' names and BN folding into convs is only
    done for testing.

    Args:
        freeze_bn (bool): Frozen BN (eval mode, no trainable affine) -> per-channel affine
            for training. Default: True.
        channels_last (bool): NHWC weights and inputs. Default: False.
        fold_bn_test (bool): In ``before_test``, fold every BN into its conv.
            Default: True.
    """
    priority = 'VERY_HIGH'

    def __init__(self, freeze_bn=True, channels_last=False, fold_bn_test=True):
        for key, val in (('freeze_bn', freeze_bn), ('channels_last', channels_last),
                         ('fold_bn_test', fold_bn_test)):
            if not isinstance(val, bool):
                raise TypeError(f'SpeedUpHook: {key} must be True or False, got {val!r}')
        self.freeze_bn = freeze_bn
        self.channels_last = channels_last
        self.fold_bn_test = fold_bn_test

    def before_train(self, runner):
        model = unwrap_model(runner.model)
        model.train()  # so that norm_eval / frozen stages put their BN in eval mode
        if self.freeze_bn:
            n = freeze_bn(model, only_frozen=True)
            runner.logger.info(f'SpeedUpHook: {n} frozen BN layers -> FrozenBatchNorm2d')
        if self.channels_last:
            to_channels_last(model)

    def before_test(self, runner):
        model = unwrap_model(runner.model)
        model.eval()
        if self.fold_bn_test:
            n = fold_bn_into_conv(model)
            runner.logger.info(f'SpeedUpHook: {n} BN layers folded into their convs')
        if self.channels_last:
            to_channels_last(model)


__all__ = ['unwrap_model', 'FrozenBatchNorm2d', 'freeze_bn', 'fold_bn_into_conv',
           'to_channels_last', 'SpeedUpHook']
