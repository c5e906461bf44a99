"""The speed switches of a model, from a config (:class:`SpeedUpHook`) or a timing
(:func:`apply_switches`, used by the demo's speed probe and the benchmarks).

- :func:`to_channels_last`: NHWC weights and inputs (faster convs with tensor cores /
  oneDNN).
- :class:`SpeedUpHook`: applies them and the BN switches of
  :mod:`mmresnet.engine.frozen_bn` from a config. ``torch.compile`` and fp16 AMP are
  MMEngine's own switches (``compile=True``, ``AmpOptimWrapper``); bf16 autocast without
  loss scaling is :mod:`mmresnet.engine.autocast`, iterations without host-device waits
  :mod:`mmresnet.engine.runtime_info`.
- :func:`check_dtype`: the precision that runs when a timing asks for one of
  :data:`DTYPES` on a device (:func:`mmresnet.engine.precision.decide_precision`).
"""
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..utils import check_choice
from .frozen_bn import fold_bn_into_conv, freeze_bn, unwrap_model
from .precision import DTYPES, decide_precision


def check_dtype(dtype, device):
    """The :class:`~mmresnet.engine.precision.Precision` that runs where a timing asks for
    ``dtype`` (a key of :data:`DTYPES`) on ``device``: bf16 on a CPU without native
    bfloat16 is float32, as in training; unknown names and fp16 off CUDA raise."""
    check_choice('dtype', dtype, DTYPES)
    return decide_precision(device, dtype)


def apply_switches(model, mode, channels_last, fold_bn):
    """Put ``model`` in ``mode`` and apply the speed switches; returns their description."""
    switches = []
    if mode == 'train':
        model.train()
        if fold_bn:
            switches.append(f'frozen BN->affine x{freeze_bn(model, only_frozen=True)}')
    else:
        model.eval()
        if fold_bn:
            switches.append(f'BN->conv x{fold_bn_into_conv(model)}')
    if channels_last:
        to_channels_last(model)
        switches.append('channels_last')
    return switches


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
        optim_wrapper = dict(type='AutocastOptimWrapper', optimizer=...)  # bf16 (autocast.py)

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


__all__ = ['DTYPES', 'check_dtype', 'apply_switches', 'to_channels_last', 'SpeedUpHook']
