"""The timing harness of the benchmarks: the device and environment a measurement ran
on, timed entries in interleaved rounds, and the JSON report."""
import json
import os
import os.path as osp
import platform
import resource
import statistics
import time

import torch


class BenchmarkSkipped(RuntimeError):
    """A benchmark entry cannot run here (missing config, package or device)."""


# -- environment -------------------------------------------------------------------------
def resolve_device(device):
    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if device not in ('cpu', 'cuda'):
        raise ValueError(f'unknown device {device!r}; allowed values: auto, cpu, cuda')
    if device == 'cuda' and not torch.cuda.is_available():
        raise ValueError('device "cuda" requested but torch.cuda.is_available() is False')
    return device


def environment(device):
    env = dict(torch=torch.__version__, python=platform.python_version(), device=device,
               threads=torch.get_num_threads(), host_cpus=os.cpu_count(),
               date=time.strftime('%Y-%m-%d %H:%M:%S %Z'))
    if device == 'cuda':
        env['device_name'] = torch.cuda.get_device_name()
    else:
        from ..engine.machine import machine_facts
        facts = machine_facts('cpu')
        env.update(device_name=facts['cpu'], cpu_capability=facts['cpu_capability'],
                   cpu_native_bf16=facts['cpu_native_bf16'],
                   cpu_bf16_evidence=facts['cpu_bf16_evidence'])
    return env


def _sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def _peak_mem_mb(device):
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / 2**20
    # ru_maxrss is in KiB on Linux: the whole process's high-water mark.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- one timed entry ---------------------------------------------------------------------
class Entry:
    """A named step function to time, and what it measured."""

    def __init__(self, name, mode, step, batch, switches, backbone=None):
        self.name, self.mode, self.step, self.batch = name, mode, step, batch
        self.switches, self.backbone = switches, backbone
        self.samples, self.peak_mem_mb, self.step_mem_mb = [], 0.0, None

    def as_dict(self):
        return dict(name=self.name, mode=self.mode, backbone=self.backbone,
                    switches=self.switches,
                    img_per_s=statistics.median(self.samples) if self.samples else None,
                    img_per_s_rounds=self.samples, peak_mem_mb=self.peak_mem_mb,
                    step_mem_mb=self.step_mem_mb)


CLOCKS = ('wall', 'cpu')


def time_entries(entries, device, warmup, iters, repeats, log=print, clock='wall'):
    """Warm up every entry, then time ``repeats`` interleaved rounds of ``iters`` steps.

    ``clock='cpu'`` times the process's CPU time (all its threads) instead of the wall
    clock: on a CPU shared with other jobs, what the steps cost rather than how long they
    waited (img/s per CPU-second with more than one thread)."""
    now = time.process_time if clock == 'cpu' else time.perf_counter
    for e in entries:
        log(f'warm-up: {e.name} [{e.mode}]')
        for _ in range(warmup):
            e.step()
        _sync(device)
    for r in range(repeats):
        # Odd rounds run in reverse order, so no model always runs right after another's
        # (e.g. a memory-hungry training step) on a shared machine.
        for e in (entries if r % 2 == 0 else entries[::-1]):
            if device == 'cuda':
                torch.cuda.reset_peak_memory_stats()
                resident = torch.cuda.memory_allocated() / 2**20
            _sync(device)
            start = now()
            for _ in range(iters):
                e.step()
            _sync(device)
            e.samples.append(e.batch * iters / (now() - start))
            e.peak_mem_mb = max(e.peak_mem_mb, _peak_mem_mb(device))
            if device == 'cuda':  # what this model's step adds to the resident tensors
                e.step_mem_mb = max(e.step_mem_mb or 0.0, e.peak_mem_mb - resident)
        log(f'round {r + 1}/{repeats}: ' + ', '.join(
            f'{e.name} [{e.mode}] {e.samples[-1]:.3g} img/s' for e in entries))
    return entries


def interleaved_medians(jobs, repeats):
    """Median over ``repeats`` rounds of each job's value; the jobs of a round run one after
    another, every other round in reverse order, so a load change on a shared machine hits
    all of them."""
    values = {name: [] for name in jobs}
    names = list(jobs)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            values[name].append(jobs[name]())
    return {name: statistics.median(v) for name, v in values.items()}


# -- report ------------------------------------------------------------------------------
def write_report(report, out, log=print):
    """Write ``report`` as JSON to ``out`` (folders made), if ``out`` is given."""
    if out:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(report, f, indent=2)
        log(f'wrote {out}')
