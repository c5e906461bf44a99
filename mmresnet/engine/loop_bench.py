"""Whole training iterations of a config through MMEngine's Runner, per training loop.

Unlike :mod:`mmresnet.engine.benchmark` (the model step alone, data already on the device),
this times what a user's ``tools/train.py`` run spends per iteration: data loading and
augmentation, the data preprocessor, forward, backward, the optimizer, and every hook
(logging, schedulers, checkpoint checks). Each loop runs the same config in the same process:
MMEngine's ``IterBasedTrainLoop`` with its DataLoader and workers, and
``DeviceIterBasedTrainLoop`` with the data set on the device. Reported: iterations/s after
``warmup`` iterations, images/s, and the time the config's whole schedule (its
``train_cfg.max_iters``, 64k for the paper's CIFAR recipe) would take at that speed,
validation excluded. Printed, never asserted.
"""
import copy
import os.path as osp
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from .benchmark import environment, write_report

LOOPS = ('IterBasedTrainLoop', 'DeviceIterBasedTrainLoop')


class _IterClock(Hook):
    """Wall time between the end of iteration ``start`` and the end of the last one."""
    priority = 'LOWEST'

    def __init__(self, start):
        self.start, self.t0, self.t1, self.n = start, None, None, 0

    def _now(self, runner):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if batch_idx + 1 == self.start:
            self.t0 = self._now(runner)
        elif batch_idx + 1 > self.start:
            self.t1, self.n = self._now(runner), batch_idx + 1 - self.start


def loop_config(config, loop, iters, warmup, work_dir, cfg_options=None, synthetic=True):
    """The config to time: ``loop`` for ``warmup + iters`` iterations, no validation or
    checkpoints, optionally on a 50k-image CIFAR-shaped synthetic data set (the pipeline
    is kept)."""
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    schedule = int(cfg.train_cfg.get('max_iters', 0))
    if synthetic:
        ds = cfg.train_dataloader.dataset
        shape = (32, 32, cfg.model.data_preprocessor.get('mean', [0, 0, 0]).__len__())
        cfg.train_dataloader.dataset = dict(
            type='SyntheticClsDataset', num_samples=50000, img_shape=shape,
            num_classes=cfg.model.get('num_classes', 10), pipeline=ds.pipeline)
    train_cfg = {k: v for k, v in cfg.train_cfg.items() if k not in ('type', 'max_iters')}
    train_cfg.update(type=loop, max_iters=warmup + iters, val_interval=10**9)
    cfg.train_cfg = train_cfg
    for key in ('val', 'test'):
        cfg[f'{key}_dataloader'] = cfg[f'{key}_cfg'] = cfg[f'{key}_evaluator'] = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, by_epoch=False,
                                        save_last=False)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg, schedule


def time_loop(cfg, warmup):
    """(iterations timed, seconds, batch size) of one Runner training run."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    clock = _IterClock(warmup)
    runner.register_hook(clock)
    runner.train()
    return clock.n, clock.t1 - clock.t0, cfg.train_dataloader.batch_size


def run_loop_benchmark(config, loops=LOOPS, iters=200, warmup=20, cfg_options=None,
                       synthetic=True, out=None, log=print):
    """Time ``config`` under each loop; returns the report (also JSON at ``out``)."""
    for loop in loops:
        if loop not in LOOPS:
            raise ValueError(f'unknown loop {loop!r}; allowed values: {LOOPS}')
    if not isinstance(iters, int) or iters < 1 or not isinstance(warmup, int) or warmup < 1:
        raise ValueError(f'iters and warmup must be positive ints, got {iters}, {warmup}')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    results, schedule = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for loop in loops:
            cfg, schedule = loop_config(config, loop, iters, warmup, osp.join(tmp, loop),
                                        cfg_options, synthetic)
            n, seconds, batch = time_loop(cfg, warmup)
            its = n / seconds
            results.append(dict(loop=loop, iters=n, seconds=seconds, it_per_s=its,
                                img_per_s=its * batch, batch=batch,
                                schedule_min=schedule / its / 60 if schedule else None))
    report = dict(env=environment(device), settings=dict(
        config=config if isinstance(config, str) else '<Config>', iters=iters, warmup=warmup,
        cfg_options=cfg_options, synthetic=synthetic, schedule_iters=schedule,
        compile=bool(cfg.get('compile')), optim_wrapper=cfg.optim_wrapper.get('type'),
        amp_dtype=cfg.optim_wrapper.get('dtype')), results=results)
    log(format_loop_report(report))
    write_report(report, out, log)
    return report


def format_loop_report(report):
    env, s = report['env'], report['settings']
    data = 'synthetic 50k' if s['synthetic'] else 'config'
    lines = [f"{s['config']}: device {env['device']} ({env['device_name']}), torch "
             f"{env['torch']}, {env['date']}; optim wrapper {s['optim_wrapper']}"
             f"{' ' + s['amp_dtype'] if s['amp_dtype'] else ''}, compile {s['compile']}; "
             f"{s['iters']} iterations timed after {s['warmup']}; data {data}",
             '| loop | it/s | img/s | whole schedule (min) |', '|---|---|---|---|']
    for r in report['results']:
        sched = f"{r['schedule_min']:.1f}" if r['schedule_min'] else '-'
        lines.append(f"| {r['loop']} | {r['it_per_s']:.1f} | {r['img_per_s']:.0f} | "
                     f'{sched} ({s["schedule_iters"]} it) |')
    if len(report['results']) == 2:
        a, b = report['results']
        lines.append(f"ratio {b['loop']} / {a['loop']}: {b['it_per_s'] / a['it_per_s']:.2f}")
    return '\n'.join(lines)


__all__ = ['run_loop_benchmark', 'loop_config', 'time_loop', 'format_loop_report', 'LOOPS']
