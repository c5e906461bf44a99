"""tools/avx2_only.sh: a command run as on an AVX2-only CPU (CPUID answered without
AVX-512, bf16, VNNI, AMX), where the machine can fault CPUID; skipped elsewhere."""
import os.path as osp
import shutil
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'avx2_only.sh')


def _can_fault_cpuid():
    try:
        with open('/proc/cpuinfo') as f:
            return 'cpuid_fault' in f.read().split()
    except OSError:
        return False


def test_usage_is_named():
    out = subprocess.run(['bash', TOOL], capture_output=True, text=True)
    assert out.returncode == 2 and 'usage: bash tools/avx2_only.sh COMMAND' in out.stderr


@pytest.mark.skipif(not _can_fault_cpuid() or not shutil.which('gcc'),
                    reason='needs CPUID faulting (cpuid_fault) and gcc')
def test_libraries_see_an_avx2_cpu(tmp_path):
    code = '\n'.join([
        'import torch',
        'from mmresnet.engine.precision import cpu_has_native_bf16, decide_precision',
        'print(torch.backends.cpu.get_cpu_capability())',
        'print(cpu_has_native_bf16())',
        'print(decide_precision("cpu", "bf16").autocast)',
        'try:',
        '    import openvino',
        '    print("BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))',
        'except ImportError:',
        '    print(False)',
        'raise SystemExit(7)'])
    env = dict(__import__('os').environ, XDG_CACHE_HOME=str(tmp_path))  # built anew
    out = subprocess.run(['bash', TOOL, sys.executable, '-c', code], capture_output=True,
                         text=True, cwd=ROOT, env=env)
    assert out.returncode == 7, out.stderr  # the command's own exit status
    capability, bf16, autocast, openvino_bf16 = out.stdout.split()[-4:]
    assert capability in ('AVX2', 'DEFAULT')
    assert (bf16, autocast, openvino_bf16) == ('False', 'False', 'False')


@pytest.mark.skipif(not _can_fault_cpuid() or not shutil.which('gcc'),
                    reason='needs CPUID faulting (cpuid_fault) and gcc')
def test_the_process_own_segv_handlers_stay(tmp_path):
    """Python's faulthandler (as pytest's, or a DataLoader worker's handler) set before the
    libraries ask the CPU: CPUID is still answered, and a real fault still reaches it."""
    import os
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    code = ('import torch, ctypes; print(torch.backends.cpu.get_cpu_capability(), '
            'flush=True); ctypes.string_at(0)')
    out = subprocess.run(['bash', TOOL, sys.executable, '-X', 'faulthandler', '-c', code],
                         capture_output=True, text=True, env=env)
    assert out.stdout.split() in (['AVX2'], ['DEFAULT'])
    assert 'Fatal Python error: Segmentation fault' in out.stderr  # the handler's report
    assert out.returncode != 0
