"""Which precision runs, decided in one place: :func:`decide_precision`.

Training (:class:`~mmresnet.engine.autocast.AutocastOptimWrapper`), the demo's speed probe,
the benchmarks and the deploy tools ask it, so they agree and say the same words:

- bf16 autocast where the device computes bfloat16 natively: a CUDA GPU with bf16, a CPU
  with AVX512-BF16 or AMX. The float32 islands (mmcv's RoIAlign and NMS have no bf16
  kernel; the RPN and box heads hold box coordinates) are the same wherever bf16 runs
  (:func:`mmresnet.engine.autocast.apply_float32_islands`).
- float32 elsewhere: on a CPU without native bf16 (AVX2-only x86, most laptops; Apple and
  other ARM CPUs, where no check is known) bf16 is emulated and slower than float32.
- Testing and inference run in float32 on every device (MMEngine's test loop has no
  autocast; the figures are the float32 model's).

The switch ``MMRESNET_CPU_BF16``: ``0`` never bf16 on a CPU, ``1`` bf16 on a CPU even where
it is emulated (with a :class:`BF16EmulatedWarning`), unset (or ``auto``) automatic.

Native bf16 on a CPU is read from torch's own check (``torch.cpu._is_avx512_bf16_supported``
and ``_is_amx_tile_supported``, torch >= 2.2), else from ``/proc/cpuinfo``'s flags (unless
torch runs below AVX-512 kernels here, as where the OS withholds AVX-512), else (no check on
this system) it is taken as absent. ``ONEDNN_MAX_CPU_ISA`` capped below
AVX512_CORE_BF16 (e.g. ``AVX2``) keeps oneDNN from its bf16 kernels, so it counts as absent.
"""
import os
import platform
import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import torch

ENV_VAR = 'MMRESNET_CPU_BF16'
#: The values of ``MMRESNET_CPU_BF16`` and what each means ('' and 'auto': unset).
ENV_CHOICES = {'0': 'never bf16 on a CPU', '1': 'bf16 on a CPU even where emulated',
               'auto': 'bf16 where the CPU computes it natively (the default)'}
#: oneDNN ISA caps below AVX512_CORE_BF16: with one of them oneDNN has no bf16 kernel.
ONEDNN_NO_BF16 = ('SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2', 'AVX512_CORE',
                  'AVX512_CORE_VNNI')
#: The precisions by name and their autocast dtype (None: float32, no autocast).
DTYPES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
#: What each precision is called in the log, the plan and the benchmarks.
LABELS = dict(bf16='bf16 autocast', fp32='float32', fp16='fp16 autocast')
#: How testing and inference run on every device (no autocast in MMEngine's test loop).
TEST_PRECISION = 'float32 (MMEngine\'s test loop runs without autocast)'


class BF16EmulatedWarning(UserWarning):
    """bf16 forced (``MMRESNET_CPU_BF16=1``) on a CPU that emulates it: slower than
    float32."""


def _cpuinfo_flags():
    """The CPU flags of ``/proc/cpuinfo`` (Linux x86 ``flags``, ARM ``Features``), or None
    where there is no such file (macOS, Windows)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(('flags', 'Features')):
                    return set(line.split(':', 1)[-1].split())
    except OSError:
        return None
    return set()


def _aten_capability():
    """The kernel level torch runs on this CPU ('AVX512', 'AVX2', 'DEFAULT', ...), or None
    where torch cannot say."""
    get = getattr(getattr(torch.backends, 'cpu', None), 'get_cpu_capability', None)
    return get().upper() if get is not None else None


def cpu_bf16_support():
    """``(native, evidence)``: whether this CPU computes bfloat16 natively, and how that
    was found (words for the log)."""
    isa = os.environ.get('ONEDNN_MAX_CPU_ISA', '').strip().upper()
    if isa in ONEDNN_NO_BF16:
        return False, f'ONEDNN_MAX_CPU_ISA={isa} keeps oneDNN from its bfloat16 kernels'
    avx512_bf16 = getattr(torch.cpu, '_is_avx512_bf16_supported', None)
    amx = getattr(torch.cpu, '_is_amx_tile_supported', None)
    if avx512_bf16 is not None:
        found = [name for name, check in (('avx512_bf16', avx512_bf16), ('amx', amx))
                 if check is not None and check()]
        if found:
            return True, f'{" and ".join(found)}, from torch.cpu'
        return False, 'no avx512_bf16 or amx, from torch.cpu'
    flags = _cpuinfo_flags()
    if flags is None:
        return False, (f'no bfloat16 check on {platform.system()} '
                       f'{platform.machine()}: taken as absent')
    found = sorted(flags & {'avx512_bf16', 'amx_bf16'})
    capability = _aten_capability()
    if found and capability is not None and not capability.startswith('AVX512'):
        # the flags are the CPU's; torch asks CPUID and what the OS enabled, and runs
        # AVX2 kernels (an AVX-512 state the OS withholds, CPUID masked, or
        # ATEN_CPU_CAPABILITY): no bf16 kernel runs then
        return False, (f'{" and ".join(found)} in /proc/cpuinfo, but torch runs '
                       f'{capability} kernels')
    if found:
        return True, f'{" and ".join(found)}, from /proc/cpuinfo'
    return False, 'no avx512_bf16 or amx_bf16 in /proc/cpuinfo'


def cpu_has_native_bf16():
    """Whether this CPU computes bfloat16 natively (:func:`cpu_bf16_support`)."""
    return cpu_bf16_support()[0]


def cpu_bf16_switch():
    """``MMRESNET_CPU_BF16`` as '0', '1' or 'auto'; anything else is an error naming the
    allowed values."""
    value = os.environ.get(ENV_VAR, '').strip().lower()
    if value in ('', 'auto'):
        return 'auto'
    if value not in ENV_CHOICES:
        raise ValueError(f'{ENV_VAR}={os.environ[ENV_VAR]!r}: allowed values are '
                         + ', '.join(f'{k} ({v})' for k, v in ENV_CHOICES.items())
                         + ', or unset (auto)')
    return value


@dataclass(frozen=True)
class Precision:
    """What runs (``name``: 'bf16' or 'fp32', or 'fp16' on CUDA where asked) on
    ``device_type``, and why (``reason``)."""
    name: str
    reason: str
    device_type: str = 'cpu'

    @property
    def dtype(self):
        """The autocast dtype, or None for float32."""
        return DTYPES[self.name]

    @property
    def autocast(self):
        """Whether this precision runs under autocast."""
        return self.dtype is not None

    def describe(self):
        """The one sentence the log, the plan and the benchmarks print."""
        return f'{LABELS[self.name]} ({self.reason})'

    def context(self):
        """``torch.autocast`` in this precision, or nothing for float32."""
        if not self.autocast:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)


def decide_precision(device_type='cpu', wanted='bf16'):
    """The precision that runs on ``device_type`` ('cpu', 'cuda', ...) when a config or a
    command asks for ``wanted`` ('bf16', 'fp32', or 'fp16', which needs CUDA).

    'fp32' is float32 everywhere; 'bf16' follows the rule of this module (and the
    ``MMRESNET_CPU_BF16`` switch on a CPU).
    """
    if wanted not in LABELS:
        raise ValueError(f'precision {wanted!r}: allowed values are {", ".join(LABELS)}')
    if wanted == 'fp32':
        return Precision('fp32', 'asked for', device_type)
    if wanted == 'fp16':
        if device_type != 'cuda':
            raise ValueError(f'dtype fp16 (AMP with loss scaling) needs device cuda, got '
                             f'{device_type!r}; use bf16 or fp32 on {device_type}')
        return Precision('fp16', 'asked for', device_type)
    if device_type == 'cuda':
        try:  # torch >= 2.4 counts emulated bf16 unless told not to
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:
            native = torch.cuda.is_bf16_supported()
        if native:
            return Precision('bf16', 'this GPU computes bfloat16', device_type)
        return Precision('fp32', 'this GPU has no bfloat16', device_type)
    if device_type != 'cpu':
        return Precision('fp32', f'no bfloat16 rule for device {device_type!r}',
                         device_type)
    switch = cpu_bf16_switch()
    if switch == '0':
        return Precision('fp32', f'{ENV_VAR}=0', device_type)
    native, evidence = cpu_bf16_support()
    if switch == '1':
        if native:
            return Precision('bf16', f'{ENV_VAR}=1; this CPU computes bfloat16 natively: '
                             f'{evidence}', device_type)
        warnings.warn(f'{ENV_VAR}=1: bf16 autocast on a CPU without native bfloat16 '
                      f'({evidence}), where it is emulated and slower than float32',
                      BF16EmulatedWarning, stacklevel=2)
        return Precision('bf16', f'{ENV_VAR}=1; emulated, slower than float32: '
                         f'{evidence}', device_type)
    if native:
        return Precision('bf16', f'this CPU computes bfloat16 natively: {evidence}',
                         device_type)
    return Precision('fp32', f'this CPU has no native bfloat16 ({evidence}), where bf16 '
                     f'is emulated and slower; {ENV_VAR}=1 forces it', device_type)


__all__ = ['ENV_VAR', 'ENV_CHOICES', 'DTYPES', 'TEST_PRECISION', 'BF16EmulatedWarning', 'Precision',
           'cpu_bf16_support', 'cpu_has_native_bf16', 'cpu_bf16_switch', 'decide_precision']
