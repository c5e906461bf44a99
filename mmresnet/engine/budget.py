"""A time budget that holds under load: the training loop's length checked against the
clock while the run goes, not only against the speed probe measured before it.

:class:`BudgetHook` times the run's own training iterations (from the second on, so that
the first, the slowest, is not counted) and validations, after ``MIN_ITERS`` iterations,
again every ``check_s`` seconds and after each validation, and sets the rest of the
schedule so that training ends by ``deadline`` (seconds since the epoch, as
``time.time()``; or ``seconds`` after training began) with ``reserve_s`` left for what follows (the final test; scaled by the
same measured slowdown). It shortens the loop where the run is slower than planned and
lengthens it, up to ``wanted`` (the length the config asked for before any budget), where
the run is faster. The validation interval, the learning-rate steps (``milestones``) not
yet passed, and a scheduler's ``end`` at the old length, move with the length; the checkpoint hook's
``save_last`` saves the last one, wherever the loop now ends.

Where the measured seconds per iteration differ from ``planned_s`` (the probe's) by more
than ``SPEED_FACTOR``, or the length changed, one line says so with both speeds: in the
log while training (``budget: ...``) and at the end in :attr:`BudgetHook.record`
(``notice``), which the demo writes into summary.json and report.html.
"""
import time
from collections import Counter

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

SPEED_FACTOR = 1.5  # a measured speed this much off the probe's is said
MIN_ITERS = 3  # iterations timed before the first check
LENGTHEN_MARGIN = 1.05  # lengthen only by more than 5 % (no back and forth)
RESAY = 0.1  # after the first line, another where the length moved by more than 10 %


def _schedulers(runner):
    found = runner.param_schedulers or []
    if isinstance(found, dict):
        return [s for group in found.values() for s in group]
    return list(found)


@HOOKS.register_module()
class BudgetHook(Hook):
    """Keep a training run within ``deadline`` by the speed measured as it runs.

    Args:
        deadline (float, optional): when training must end (``time.time()`` seconds).
        seconds (float, optional): instead of ``deadline``: the seconds training may take
            from its start (``before_train``).
        planned_s (float): seconds per training iteration the plan assumed (the probe's).
        wanted (int, optional): the longest the loop may become, in its own unit (epochs
            or iterations); default: the config's length.
        planned_length (int, optional): the length the plan gave the loop; a loop of
            another length was set by hand (``--cfg-options``) and may only shrink.
        reserve_s (float): seconds the plan keeps after training (scaled by the measured
            slowdown).
        planned_val_s (float): seconds per validation the plan assumed.
        check_s (float): seconds between checks.
        name (str): what trains, for the messages ('detector', 'pretraining').
    """
    priority = 'LOW'

    def __init__(self, planned_s, deadline=None, seconds=None, wanted=None, reserve_s=0.0,
                 planned_val_s=0.0, check_s=10.0, name='training', planned_length=None):
        if (deadline is None) == (seconds is None):
            raise ValueError(f'BudgetHook: give deadline or seconds, one of them (got '
                             f'deadline={deadline!r}, seconds={seconds!r})')
        self.deadline = None if deadline is None else float(deadline)
        self.seconds = None if seconds is None else float(seconds)
        self.planned_s, self.wanted = float(planned_s), wanted
        self.planned_length = planned_length
        self.reserve_s, self.planned_val_s = float(reserve_s), float(planned_val_s)
        self.check_s, self.name = float(check_s), name
        self.record = dict(name=name, planned_s=self.planned_s, measured_s=None,
                           slowdown=None, planned_length=None, length=None, unit=None,
                           wanted=wanted, changes=0, notice=None)
        self._said_length = None

    def before_train(self, runner):
        if self.seconds is not None:
            self.deadline = time.time() + self.seconds
        loop = runner.train_loop
        self.by_epoch = isinstance(loop, EpochBasedTrainLoop)
        self.unit = 'epochs' if self.by_epoch else 'iterations'
        self.iters_per_epoch = len(loop.dataloader) if self.by_epoch else 1
        self.record.update(planned_length=self._length(runner), unit=self.unit)
        length = self._length(runner)
        if self.wanted is None or (self.planned_length is not None
                                   and length != self.planned_length):
            self.wanted = length  # the config's own length (or one set by hand): no more
        self.wanted = max(self.wanted, length)
        self.record['wanted'] = self.wanted
        self._ref = None  # (time, iterations done) after the first iteration
        self._val_s, self._vals, self._val_start, self._last_check = 0.0, 0, None, 0.0

    def _length(self, runner):
        loop = runner.train_loop
        return loop._max_epochs if self.by_epoch else loop._max_iters

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        now, done = time.time(), runner.iter + 1
        if self._ref is None:
            self._ref = (now, done, self._val_s)
            return
        if done - self._ref[1] >= MIN_ITERS and now - self._last_check >= self.check_s:
            self._check(runner, now, done, floor=runner.epoch + 1 if self.by_epoch
                        else done + 1)

    def before_val(self, runner):
        self._val_start = time.time()

    def after_val(self, runner):
        if self._val_start is None or not hasattr(self, 'by_epoch'):
            return  # a validation outside training
        now = time.time()
        self._val_s += now - self._val_start
        self._vals += 1
        self._val_start = None
        if self._ref is not None and runner.iter - self._ref[1] >= MIN_ITERS:
            self._check(runner, now, runner.iter,
                        floor=max(1, runner.epoch) if self.by_epoch else runner.iter)

    def _check(self, runner, now, done, floor):
        self._last_check = now
        t0, done0, val0 = self._ref
        measured = (now - t0 - (self._val_s - val0)) / max(1, done - done0)
        slowdown = measured / self.planned_s
        val_s = self._val_s / self._vals if self._vals else self.planned_val_s * slowdown
        loop = runner.train_loop
        val_every = loop.val_interval * self.iters_per_epoch
        per_iter = measured + (val_s / val_every if runner.val_loop is not None else 0.0)
        left = self.deadline - now - self.reserve_s * slowdown - (
            val_s if runner.val_loop is not None else 0.0)  # the validation at the end
        fits = done + int(max(0.0, left) / per_iter)
        target = min(self.wanted, max(floor, fits // self.iters_per_epoch))
        old = self._length(runner)
        self.record.update(measured_s=round(measured, 4), slowdown=round(slowdown, 2))
        changed = target < old or target > old * LENGTHEN_MARGIN
        if changed:
            self._set_length(runner, old, target)
            self.record['changes'] += 1
        off = not 1 / SPEED_FACTOR <= slowdown <= SPEED_FACTOR
        said = self._said_length
        ref = self.record['planned_length'] if said is None else said
        if (off and said is None) or (changed and abs(target - ref) > RESAY * ref):
            # a line when the speed is first found off, and where the length moved by
            # more than RESAY from the plan's or from the last line's
            self._said_length = target
            print_log(f'budget: {self.line(self.record["planned_length"], target)}',
                      logger='current')

    def line(self, old, new):
        """One line: both speeds, and what the budget made of the length."""
        m, p = self.record['measured_s'], self.planned_s
        ratio = f'{m / p:.1f}x slower' if m >= p else f'{p / m:.1f}x faster'
        what = (f'{self.name} {old} -> {new} {self.unit} (of {self.wanted} wanted) to end '
                'within the budget' if new != old else
                f'{self.name} stays at {new} {self.unit} (of {self.wanted} wanted)')
        return (f'{m:.3f} s per {self.name} iteration measured in training, {p:.3f} s '
                f'by the speed probe ({ratio}): {what}')

    def _set_length(self, runner, old, new):
        loop = runner.train_loop
        if self.by_epoch:
            loop._max_epochs, loop._max_iters = new, new * self.iters_per_epoch
        else:
            loop._max_iters = new
        # as many validations as planned, spread over the new length (the loops reset
        # val_interval from dynamic_intervals)
        loop.dynamic_intervals = [max(1, round(i * new / old))
                                  for i in getattr(loop, 'dynamic_intervals', [])]
        loop.val_interval = max(1, round(loop.val_interval * new / old))
        for s in _schedulers(runner):  # in the scheduler's unit: epochs or iterations
            k = 1 if (self.by_epoch and s.by_epoch) or not self.by_epoch else self.iters_per_epoch
            if getattr(s, 'end', None) == old * k:
                s.end = new * k
            if hasattr(s, 'milestones'):
                s.milestones = Counter({
                    (max(s.last_step + 1, round(m * new / old)) if m > s.last_step else m): c
                    for m, c in s.milestones.items()})

    def after_train(self, runner):
        planned, length = self.record['planned_length'], self._length(runner)
        self.record['length'] = length
        m = self.record['measured_s']
        if m is not None and (length != planned or not 1 / SPEED_FACTOR <= m / self.planned_s
                              <= SPEED_FACTOR):
            self.record['notice'] = self.line(planned, length)


__all__ = ['BudgetHook', 'SPEED_FACTOR']
