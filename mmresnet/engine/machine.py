"""What this machine decides, decided once and said: the CPU's instruction sets and bf16
(:mod:`mmresnet.engine.precision`), the thread count, whether ``torch.compile`` can run,
and a GPU that is present but not used.

:func:`machine_facts` gathers them; :func:`describe_machine` gives the lines that the
runner writes at the top of every run's log and the demo prints with its plan;
:func:`decide_compile` turns a config's ``compile=True`` off, saying why, where
``torch.compile`` cannot run (a CPU without a C++ compiler for its inductor backend).
"""
import os
import platform
import shutil

import torch

from .precision import TEST_PRECISION, cpu_bf16_support, decide_precision


def _cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def thread_facts():
    """``(threads, why)``: torch's intra-op threads and where the number comes from."""
    threads = torch.get_num_threads()
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        if os.environ.get(var):
            return threads, f'{var}={os.environ[var]}'
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else None
    return threads, ("torch's default (the physical cores)"
                     + (f'; {usable} logical CPUs usable' if usable else ''))


def compile_support(device_type='cpu'):
    """``(available, why)``: whether ``torch.compile`` (inductor) can build kernels here.
    On a CPU it compiles C++: it needs a compiler (``CXX`` or c++ / g++ / clang++)."""
    if device_type != 'cpu':
        return True, f'inductor on {device_type}'
    names = [os.environ['CXX']] if os.environ.get('CXX') else ['c++', 'g++', 'clang++']
    found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if found:
        return True, f'inductor, C++ compiler {found}'
    return False, f'no C++ compiler for inductor ({" / ".join(names)} not found)'


def gpu_facts():
    """Which device trains, and a GPU that this torch cannot use."""
    if torch.cuda.is_available():
        return 'cuda', f'cuda: {torch.cuda.get_device_name()} (x{torch.cuda.device_count()})'
    present = shutil.which('nvidia-smi') or next(
        (p for p in ('/dev/nvidia0', '/dev/dxg') if os.path.exists(p)), None)
    if present:
        return 'cpu', (f'cpu: a GPU is present ({present}) but torch {torch.__version__} '
                       'cannot use it (a CPU build, or no driver): training runs on the CPU')
    return 'cpu', 'cpu (no GPU)'


def machine_facts(device_type=None):
    """A dict of what this machine decides (JSON-friendly), for ``device_type`` (the
    device that trains; default: cuda where torch can use it, else cpu)."""
    device, gpu = gpu_facts()
    device_type = device_type or device
    native, evidence = cpu_bf16_support()
    threads, threads_why = thread_facts()
    can_compile, compile_why = compile_support(device_type)
    return dict(
        device=device_type, devices=gpu, cpu=_cpu_name(), cpu_capability=_cpu_capability(),
        cpu_native_bf16=native, cpu_bf16_evidence=evidence,
        precision=decide_precision(device_type, 'bf16').describe(),
        test_precision=TEST_PRECISION, threads=threads, threads_why=threads_why,
        compile=can_compile, compile_why=compile_why, torch=torch.__version__)


def _cpu_capability():
    get = getattr(getattr(torch.backends, 'cpu', None), 'get_cpu_capability', None)
    return get() if get is not None else 'unknown'


def describe_machine(facts=None):
    """The lines that say what the machine decides (``facts``: :func:`machine_facts`)."""
    f = facts or machine_facts()
    return [f'device       {f["devices"]}',
            f'cpu          {f["cpu"]} (torch kernels: {f["cpu_capability"]}; native '
            f'bfloat16: {"yes" if f["cpu_native_bf16"] else "no"}, {f["cpu_bf16_evidence"]})',
            f'precision    training in {f["precision"]} where a config asks for bf16; '
            f'testing in {f["test_precision"]}',
            f'threads      {f["threads"]} ({f["threads_why"]})',
            f'compile      {"available" if f["compile"] else "unavailable"} '
            f'({f["compile_why"]})']


def decide_compile(cfg, device_type=None, log=None):
    """A config's ``compile`` as it can run here: turned off, with a warning naming why,
    where ``torch.compile`` cannot build kernels. Returns ``cfg``."""
    if not cfg.get('compile'):
        return cfg
    device_type = device_type or gpu_facts()[0]
    available, why = compile_support(device_type)
    if not available:
        cfg.compile = False
        message = (f'compile=True turned off: torch.compile cannot run here ({why}); the '
                   'run trains without it (install a C++ compiler to compile)')
        if log is None:
            from mmengine.logging import print_log
            print_log(message, logger='current', level=30)
        else:
            log(message)
    return cfg


__all__ = ['machine_facts', 'describe_machine', 'decide_compile', 'compile_support',
           'thread_facts', 'gpu_facts']
