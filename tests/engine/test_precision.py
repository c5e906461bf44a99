"""The precision decided in one place (mmresnet.engine.precision): the switch, the CPU
check and its fallbacks, and the same words in the wrapper, the probe and the benchmarks."""
import warnings

import pytest
import torch

from mmresnet.engine import machine, precision
from mmresnet.engine.precision import (ENV_VAR, BF16EmulatedWarning, cpu_bf16_support,
                                       decide_precision)


def _cpu(monkeypatch, native):
    monkeypatch.setattr(precision, 'cpu_bf16_support',
                        lambda: (native, 'avx512_bf16, from torch.cpu' if native
                                 else 'no avx512_bf16 or amx, from torch.cpu'))


@pytest.mark.parametrize('native', [True, False])
def test_automatic_follows_the_cpu(monkeypatch, native):
    monkeypatch.delenv(ENV_VAR, raising=False)
    _cpu(monkeypatch, native)
    decided = decide_precision('cpu', 'bf16')
    assert decided.name == ('bf16' if native else 'fp32')
    assert decided.autocast is native
    if native:
        assert decided.describe().startswith('bf16 autocast (this CPU computes bfloat16 '
                                             'natively: avx512_bf16')
    else:
        assert decided.describe().startswith('float32 (this CPU has no native bfloat16')
        assert f'{ENV_VAR}=1 forces it' in decided.describe()


@pytest.mark.parametrize('native', [True, False])
def test_the_switch_at_0_never_runs_bf16_on_a_cpu(monkeypatch, native):
    monkeypatch.setenv(ENV_VAR, '0')
    _cpu(monkeypatch, native)
    decided = decide_precision('cpu', 'bf16')
    assert decided.name == 'fp32' and decided.dtype is None
    assert decided.describe() == f'float32 ({ENV_VAR}=0)'
    with decided.context():  # no autocast
        assert torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.float32


def test_the_switch_at_1_forces_bf16_and_warns_where_emulated(monkeypatch):
    monkeypatch.setenv(ENV_VAR, '1')
    _cpu(monkeypatch, False)
    with pytest.warns(BF16EmulatedWarning, match='emulated and slower'):
        decided = decide_precision('cpu', 'bf16')
    assert decided.name == 'bf16' and 'emulated' in decided.reason
    with decided.context():
        assert torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.bfloat16
    _cpu(monkeypatch, True)
    with warnings.catch_warnings():
        warnings.simplefilter('error', BF16EmulatedWarning)  # native: no warning
        assert decide_precision('cpu', 'bf16').name == 'bf16'


@pytest.mark.parametrize('value', ['yes', '2', 'true'])
def test_a_bad_switch_value_names_the_allowed_ones(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ValueError, match=f"{ENV_VAR}='{value}': allowed values are 0 .*1 "
                                         r'.*auto .*or unset'):
        decide_precision('cpu', 'bf16')


def test_float32_asked_is_float32_and_fp16_needs_cuda(monkeypatch):
    monkeypatch.setenv(ENV_VAR, '1')
    assert decide_precision('cpu', 'fp32').name == 'fp32'
    with pytest.raises(ValueError, match='fp16 .* needs device cuda'):
        decide_precision('cpu', 'fp16')
    with pytest.raises(ValueError, match="precision 'int8': allowed values"):
        decide_precision('cpu', 'int8')


def test_the_cpu_check_falls_back_to_cpuinfo_then_to_absent(monkeypatch):
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    # torch's own check first (torch >= 2.2 has it)
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: True, raising=False)
    assert cpu_bf16_support() == (True, 'avx512_bf16, from torch.cpu')
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: False)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: False, raising=False)
    assert cpu_bf16_support()[0] is False
    # an older torch: /proc/cpuinfo's flags
    monkeypatch.delattr(torch.cpu, '_is_avx512_bf16_supported')
    monkeypatch.setattr(precision, '_cpuinfo_flags', lambda: {'avx2', 'avx512_bf16'})
    monkeypatch.setattr(precision, '_aten_capability', lambda: 'AVX512')
    assert cpu_bf16_support() == (True, 'avx512_bf16, from /proc/cpuinfo')
    # ... unless torch runs below AVX-512 here (the OS withholds it, CPUID is masked)
    monkeypatch.setattr(precision, '_aten_capability', lambda: 'AVX2')
    assert cpu_bf16_support() == (
        False, 'avx512_bf16 in /proc/cpuinfo, but torch runs AVX2 kernels')
    monkeypatch.setattr(precision, '_aten_capability', lambda: None)  # torch cannot say
    assert cpu_bf16_support()[0] is True
    monkeypatch.setattr(precision, '_cpuinfo_flags', lambda: {'avx2', 'fma'})
    assert cpu_bf16_support() == (False, 'no avx512_bf16 or amx_bf16 in /proc/cpuinfo')
    # no check at all (macOS): absent, said so; the decision still works
    monkeypatch.setattr(precision, '_cpuinfo_flags', lambda: None)
    native, evidence = cpu_bf16_support()
    assert native is False and evidence.startswith('no bfloat16 check on')
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert decide_precision('cpu', 'bf16').name == 'fp32'


def test_a_onednn_isa_cap_below_bf16_counts_as_no_native_bf16(monkeypatch):
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: True, raising=False)
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'avx2')
    native, evidence = cpu_bf16_support()
    assert native is False and 'ONEDNN_MAX_CPU_ISA=AVX2' in evidence
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX512_CORE_AMX')
    assert cpu_bf16_support()[0] is True


def test_the_machine_lines_say_the_precision_in_the_same_words(monkeypatch):
    monkeypatch.setenv(ENV_VAR, '0')
    facts = machine.machine_facts('cpu')
    lines = machine.describe_machine(facts)
    assert facts['precision'] == decide_precision('cpu', 'bf16').describe()
    assert any(f'training in float32 ({ENV_VAR}=0)' in line for line in lines), lines
    assert any(line.startswith('threads') and str(torch.get_num_threads()) in line
               for line in lines)
    assert any(line.startswith('compile') for line in lines)


def test_compile_is_turned_off_with_a_reason_where_it_cannot_run(monkeypatch):
    from mmengine.config import Config
    monkeypatch.setattr(machine.shutil, 'which', lambda name: None)
    monkeypatch.delenv('CXX', raising=False)
    said = []
    cfg = machine.decide_compile(Config(dict(compile=True)), 'cpu', log=said.append)
    assert cfg.compile is False
    assert 'no C++ compiler' in said[0] and 'compile=True turned off' in said[0]
    monkeypatch.setattr(machine.shutil, 'which', lambda name: f'/usr/bin/{name}')
    assert machine.decide_compile(Config(dict(compile=True)), 'cpu', log=said.append).compile
    assert len(said) == 1


def test_a_gpu_that_torch_cannot_use_is_said(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(machine.shutil, 'which',
                        lambda name: '/usr/bin/nvidia-smi' if name == 'nvidia-smi' else None)
    device, text = machine.gpu_facts()
    assert device == 'cpu' and 'a GPU is present (/usr/bin/nvidia-smi)' in text
