"""bfloat16 autocast without loss scaling, on GPUs and CPUs.

- :class:`AutocastOptimWrapper`: bfloat16 has float32's exponent range, so the loss
  scaling of ``AmpOptimWrapper`` (a power of two, exact in that range) only adds the
  ``GradScaler``'s wait for the GPU before every step. Runs on CPUs too (MMEngine's
  ``AmpOptimWrapper`` refuses them), in the precision that
  :func:`mmresnet.engine.precision.decide_precision` chooses (float32 where the CPU has
  no native bfloat16).
- :func:`run_in_float32`: the parts of a detector that need float32 (no bf16 kernel,
  box coordinates) run outside autocast; :func:`apply_float32_islands` puts a detector's
  (:data:`DETECTOR_FLOAT32`) in place wherever bf16 runs.
"""
from contextlib import contextmanager

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper
from mmengine.utils import apply_to

from ..utils.checks import check_choice
from .precision import decide_precision

#: The parts of a detector that run in float32 under bf16 autocast: the RPN head (box
#: coordinates and NMS), the RoI extractor (mmcv's RoIAlign has no bf16 kernel) and the
#: box head; the backbone and the C4 conv5_x head, where the time goes, run in bf16.
DETECTOR_FLOAT32 = ('rpn_head', 'roi_head.bbox_roi_extractor', 'roi_head.bbox_head')


def model_device(model):
    """Where ``model``'s parameters are (CPU for a model without any)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def _to_float(value):
    return apply_to(value, lambda x: isinstance(x, torch.Tensor) and x.is_floating_point()
                    and x.dtype != torch.float32, lambda x: x.float())


def run_in_float32(module, device_type):
    """Make ``module.forward`` run outside autocast on float32 inputs (idempotent).

    For the parts of a detector whose ops lack bfloat16 kernels or need float32 precision:
    mmcv's RoIAlign (no bf16 kernel), the RPN and box heads (box coordinates and NMS: bf16
    resolves 400 px only to 2 px).
    """
    if getattr(module, '_mmresnet_float32', False):
        return
    forward = module.forward

    def float32_forward(*args, **kwargs):
        with torch.autocast(device_type=device_type, enabled=False):
            return forward(*_to_float(args), **_to_float(kwargs))

    module.forward = float32_forward
    module._mmresnet_float32 = True


def _submodule(model, name):
    """``model``'s submodule ``name``; a name the model lacks is a ValueError naming the
    names allowed where it goes wrong (the children of its deepest part that exists)."""
    module, path = model, []
    for part in name.split('.'):
        children = dict(module.named_children())
        if part not in children:
            check_choice('float32_modules name', name,
                         ['.'.join(path + [c]) for c in children])
        module = children[part]
        path.append(part)
    return module


def float32_submodules(model, names=None):
    """The submodules of ``model`` (unwrapped from DDP) named by ``names``, by name; a name
    the model lacks is an error naming the allowed ones. ``None``: those of
    :data:`DETECTOR_FLOAT32` the model has (a classifier has none of them)."""
    inner = getattr(model, 'module', model)
    if names is None:
        names = [n for n in DETECTOR_FLOAT32 if _has_submodule(inner, n)]
    return {name: _submodule(inner, name) for name in names}


def apply_float32_islands(model, device_type, names=None):
    """:func:`run_in_float32` on :func:`float32_submodules` of ``model``; returns their
    names."""
    modules = float32_submodules(model, names)
    for module in modules.values():
        run_in_float32(module, device_type)
    return list(modules)


def _has_submodule(model, name):
    try:
        model.get_submodule(name)
    except AttributeError:
        return False
    return True


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """bfloat16 autocast around the forward pass, without loss scaling.

    The same mixed precision as ``AmpOptimWrapper(dtype='bfloat16')`` without its
    ``GradScaler`` (whose inf check waits for the GPU before every step), on CUDA and
    CPU. float16 needs loss scaling: use MMEngine's ``AmpOptimWrapper`` for it.

    The precision is :func:`~mmresnet.engine.precision.decide_precision`'s for the model's
    device: on a CPU without native bfloat16 autocast would be emulated and slower, so the
    wrapper trains in float32 there (``MMRESNET_CPU_BF16=1`` forces bf16); the log says
    which and why.

    Args:
        dtype (str): ``'bfloat16'`` (the only one allowed). Default: ``'bfloat16'``.
        float32_modules (Sequence[str]): Dotted names of submodules of the model that run
            in float32 (:func:`run_in_float32`); a name the model lacks is an error naming
            the allowed ones. Default (None): those of :data:`DETECTOR_FLOAT32` the model
            has (a classifier has none), a detector's the RPN head, the RoI extractor (mmcv's RoIAlign has no
            bf16 kernel) and the box head; the backbone and the C4 conv5_x head, where the
            time goes, run in bf16.
        **kwargs: As :class:`mmengine.optim.OptimWrapper` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """
    DETECTOR_FLOAT32 = DETECTOR_FLOAT32

    def __init__(self, dtype='bfloat16', float32_modules=None, **kwargs):
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(f'AutocastOptimWrapper: dtype must be "bfloat16", got {dtype!r} '
                             '(float16 needs loss scaling: use AmpOptimWrapper)')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16
        self.float32_modules = (None if float32_modules is None else
                                tuple(float32_modules))
        self._enabled = None
        self.precision = None

    def _prepare(self, model, device_type):
        from mmengine.logging import print_log
        self.precision = decide_precision(device_type, 'bf16')
        self._enabled = self.precision.autocast
        float32_submodules(model, self.float32_modules)  # the names checked on any CPU
        kept = (apply_float32_islands(model, device_type, self.float32_modules)
                if self._enabled else [])
        print_log(f'AutocastOptimWrapper: training in {self.precision.describe()}'
                  + (f'; float32 in {", ".join(kept)}' if kept else ''), logger='current')

    @contextmanager
    def optim_context(self, model):
        device_type = model_device(model).type
        if self._enabled is None:
            self._prepare(model, device_type)
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype, enabled=self._enabled):
            yield


__all__ = ['model_device', 'AutocastOptimWrapper', 'DETECTOR_FLOAT32', 'apply_float32_islands',
           'float32_submodules', 'run_in_float32']
