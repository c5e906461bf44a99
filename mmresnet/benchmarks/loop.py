"""Whole training iterations of a config through MMEngine's Runner, per training loop.

Unlike :mod:`mmresnet.benchmarks.models` (the model step alone, data already on the device),
this times what a user's ``tools/train.py`` run spends per iteration: data loading and
augmentation, the data preprocessor, forward, backward, the optimizer, and every hook
(logging, schedulers, checkpoint checks). Each loop runs the same config in the same process:
MMEngine's ``IterBasedTrainLoop`` with its DataLoader and workers, and
``DeviceIterBasedTrainLoop`` with the data set on the device. Reported: iterations/s after
``warmup`` iterations, images/s, and the time the config's whole schedule (its
``train_cfg.max_iters``, 64k for the paper's CIFAR recipe) would take at that speed,
validation excluded. With ``data=('synthetic', 'real')`` the same loop also runs on
synthetic data with decoding and augmentation taken out (:func:`synthetic_dataset`), and the
ratio real / synthetic says whether the input pipeline keeps up (the ImageNet target: at
least 0.8). Printed, never asserted.
"""
import os.path as osp
import tempfile
import time

import torch
from mmengine.hooks import Hook

from ..config import prepare_config
from ..utils import check_choices, check_counts
from .harness import environment, write_report

LOOPS = ('IterBasedTrainLoop', 'DeviceIterBasedTrainLoop')
DATA = ('synthetic', 'real')


class _IterClock(Hook):
    """Wall time between the end of iteration ``start`` and the end of the last one.

    The GPU is waited for only at those two points: a wait in every iteration would add
    the very host-device synchronisation the sync-free configs remove."""
    priority = 'LOWEST'

    def __init__(self, start):
        self.start, self.t0, self.t1, self.n = start, None, None, 0

    @staticmethod
    def _now():
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if batch_idx + 1 == self.start:
            self.t0 = self._now()
        elif batch_idx + 1 > self.start and self.is_last_train_iter(runner):
            self.t1, self.n = self._now(), batch_idx + 1 - self.start


def _type(t):
    return t.get('type') if isinstance(t, dict) else None


def synthetic_dataset(cfg, num_array=50000, num_files=1024):
    """A synthetic stand-in for ``cfg``'s training set.

    - Array data sets (CIFAR-like): ``num_array`` seeded random images of the pipeline's
      crop size, the pipeline kept (augmentation still timed).
    - File data sets (a pipeline with ``LoadImage``): ``num_files`` images already decoded
      and augmented (the crop size), packed only: the speed with decoding and augmentation
      taken out, which the real pipeline is compared against.
    """
    pipeline = list(cfg.train_dataloader.dataset.get('pipeline', []))
    channels = len(cfg.model.data_preprocessor.get('mean', [0, 0, 0]))
    size = next((t.get('size') for t in pipeline if _type(t) == 'RandomCropPad'), 32)
    hw = (size, size) if isinstance(size, int) else tuple(size)
    files = any(_type(t) == 'LoadImage' for t in pipeline)
    return dict(type='SyntheticClsDataset', num_samples=num_files if files else num_array,
                img_shape=(*hw, channels), num_classes=cfg.model.get('num_classes', 10),
                pipeline=[dict(type='PackClsInputs')] if files else pipeline)


def loop_config(config, loop, iters, warmup, work_dir, cfg_options=None, synthetic=True):
    """The config to time: ``loop`` for ``warmup + iters`` iterations, no validation or
    checkpoints, epoch-based LR schedulers left out, on the config's data or
    :func:`synthetic_dataset`.

    Returns:
        tuple: (config, the whole schedule in iterations or None when epoch-based).
    """
    cfg = prepare_config(config, 'benchmark', cfg_options=cfg_options)
    schedule = cfg.train_cfg.get('max_iters')
    if synthetic:
        cfg.train_dataloader.dataset = synthetic_dataset(cfg)
    cfg.train_cfg = dict(type=loop, max_iters=warmup + iters, val_interval=10**9)
    schedulers = cfg.get('param_scheduler') or []
    schedulers = [schedulers] if isinstance(schedulers, dict) else schedulers
    cfg.param_scheduler = [p for p in schedulers if p.get('by_epoch', True) is False] or None
    for key in ('val', 'test'):
        cfg[f'{key}_dataloader'] = cfg[f'{key}_cfg'] = cfg[f'{key}_evaluator'] = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, by_epoch=False,
                                        save_last=False)
    cfg.log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg, int(schedule) if schedule else None


def time_loop(cfg, warmup):
    """(iterations timed, seconds, batch size) of one Runner training run."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    clock = _IterClock(warmup)
    runner.register_hook(clock)
    runner.train()
    return clock.n, clock.t1 - clock.t0, cfg.train_dataloader.batch_size


def run_loop_benchmark(config, loops=LOOPS, iters=200, warmup=20, cfg_options=None,
                       data=('synthetic', ), out=None, log=print):
    """Time ``config`` under each loop and data source; returns the report (JSON at ``out``).

    Args:
        loops (Sequence[str]): Of :data:`LOOPS`.
        data (Sequence[str]): 'synthetic' (:func:`synthetic_dataset`) and/or 'real' (the
            config's own data set and pipeline).
    """
    check_choices('loop', loops, LOOPS)
    check_choices('data', data, DATA)
    check_counts(iters=iters, warmup=warmup)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    results, schedule = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for d in data:
            for loop in loops:
                cfg, schedule = loop_config(config, loop, iters, warmup,
                                            osp.join(tmp, f'{loop}_{d}'), cfg_options,
                                            synthetic=d == 'synthetic')
                n, seconds, batch = time_loop(cfg, warmup)
                its = n / seconds
                results.append(dict(loop=loop, data=d, iters=n, seconds=seconds,
                                    it_per_s=its, img_per_s=its * batch, batch=batch,
                                    schedule_min=schedule / its / 60 if schedule else None))
    report = dict(env=environment(device), settings=dict(
        config=config if isinstance(config, str) else '<Config>', iters=iters, warmup=warmup,
        cfg_options=cfg_options, data=list(data), schedule_iters=schedule,
        compile=bool(cfg.get('compile')), optim_wrapper=cfg.optim_wrapper.get('type'),
        amp_dtype=cfg.optim_wrapper.get('dtype')), results=results, ratios=loop_ratios(results))
    log(format_loop_report(report))
    write_report(report, out, log)
    return report


def loop_ratios(results):
    """Device loop / DataLoader loop on the same data; real / synthetic data in the same loop
    (the input pipeline keeps up when this is near 1)."""
    by = {(r['loop'], r['data']): r['it_per_s'] for r in results}
    out = []
    for (loop, d), v in by.items():
        if loop == LOOPS[1] and (LOOPS[0], d) in by:
            out.append(dict(what=f'{LOOPS[1]} / {LOOPS[0]} ({d} data)',
                            ratio=v / by[LOOPS[0], d]))
        if d == 'real' and (loop, 'synthetic') in by:
            out.append(dict(what=f'real / synthetic data ({loop})',
                            ratio=v / by[loop, 'synthetic']))
    return out


def format_loop_report(report):
    env, s = report['env'], report['settings']
    lines = [f"{s['config']}: device {env['device']} ({env['device_name']}), torch "
             f"{env['torch']}, {env['date']}; optim wrapper {s['optim_wrapper']}"
             f"{' ' + s['amp_dtype'] if s['amp_dtype'] else ''}, compile {s['compile']}; "
             f"{s['iters']} iterations timed after {s['warmup']}",
             '| loop | data | it/s | img/s | whole schedule (min) |', '|---|---|---|---|---|']
    for r in report['results']:
        sched = (f"{r['schedule_min']:.1f} ({s['schedule_iters']} it)" if r['schedule_min']
                 else '-')
        lines.append(f"| {r['loop']} | {r['data']} | {r['it_per_s']:.1f} | "
                     f"{r['img_per_s']:.0f} | {sched} |")
    for q in report['ratios']:
        lines.append(f"ratio {q['what']}: {q['ratio']:.2f}")
    return '\n'.join(lines)


__all__ = ['run_loop_benchmark', 'loop_config', 'time_loop', 'format_loop_report',
           'synthetic_dataset', 'loop_ratios', 'LOOPS', 'DATA']
