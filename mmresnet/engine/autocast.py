"""bfloat16 autocast without loss scaling, on GPUs and CPUs.

- :class:`AutocastOptimWrapper`: bfloat16 has float32's exponent range, so the loss
  scaling of ``AmpOptimWrapper`` (a power of two, exact in that range) only adds the
  ``GradScaler``'s wait for the GPU before every step. Runs on CPUs too (MMEngine's
  ``AmpOptimWrapper`` refuses them), in float32 where the CPU has no native bfloat16
  (:func:`cpu_has_native_bf16`).
- :func:`run_in_float32`: the parts of a detector that need float32 (no bf16 kernel,
  box coordinates) run outside autocast.
"""
from contextlib import contextmanager

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper
from mmengine.utils import apply_to


def model_device(model):
    """Where ``model``'s parameters are (CPU for a model without any)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device('cpu')


def cpu_has_native_bf16():
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16).

    Without it, bf16 autocast on a CPU is emulated and slower than float32. Read from
    ``/proc/cpuinfo`` (Linux); elsewhere False.
    """
    try:
        with open('/proc/cpuinfo') as f:
            flags = next((line for line in f if line.startswith('flags')), '').split()
    except OSError:
        return False
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


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


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """bfloat16 autocast around the forward pass, without loss scaling.

    The same mixed precision as ``AmpOptimWrapper(dtype='bfloat16')`` without its
    ``GradScaler`` (whose inf check waits for the GPU before every step), on CUDA and
    CPU. float16 needs loss scaling: use MMEngine's ``AmpOptimWrapper`` for it.

    On a CPU without native bfloat16 (:func:`cpu_has_native_bf16`) autocast would be
    emulated and slower: the wrapper trains in float32 instead and says so in the log.

    Args:
        dtype (str): ``'bfloat16'`` (the only one allowed). Default: ``'bfloat16'``.
        float32_modules (Sequence[str]): Dotted names of submodules of the model that run
            in float32 (:func:`run_in_float32`); names the model lacks are skipped. A
            detector's defaults: the RPN head, the RoI extractor (mmcv's RoIAlign has no
            bf16 kernel) and the box head; the backbone and the C4 conv5_x head, where the
            time goes, run in bf16.
        **kwargs: As :class:`mmengine.optim.OptimWrapper` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """
    DETECTOR_FLOAT32 = ('rpn_head', 'roi_head.bbox_roi_extractor', 'roi_head.bbox_head')

    def __init__(self, dtype='bfloat16', float32_modules=DETECTOR_FLOAT32, **kwargs):
        if dtype not in ('bfloat16', torch.bfloat16):
            raise ValueError(f'AutocastOptimWrapper: dtype must be "bfloat16", got {dtype!r} '
                             '(float16 needs loss scaling: use AmpOptimWrapper)')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16
        self.float32_modules = tuple(float32_modules)
        self._enabled = None

    def _prepare(self, model, device_type):
        from mmengine.logging import print_log
        self._enabled = device_type != 'cpu' or cpu_has_native_bf16()
        if not self._enabled:
            print_log('AutocastOptimWrapper: this CPU has no native bfloat16 (avx512_bf16 / '
                      'amx_bf16), where bf16 is emulated and slower: training in float32',
                      logger='current', level=30)
            return
        inner = getattr(model, 'module', model)
        kept = []
        for name in self.float32_modules:
            try:
                run_in_float32(inner.get_submodule(name), device_type)
                kept.append(name)
            except AttributeError:
                continue
        print_log(f'AutocastOptimWrapper: bfloat16 autocast on {device_type}'
                  + (f'; float32 in {", ".join(kept)}' if kept else ''), logger='current')

    @contextmanager
    def optim_context(self, model):
        device_type = model_device(model).type
        if self._enabled is None:
            self._prepare(model, device_type)
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype, enabled=self._enabled):
            yield


__all__ = ['model_device', 'AutocastOptimWrapper', 'cpu_has_native_bf16', 'run_in_float32']
