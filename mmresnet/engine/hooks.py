"""Training guards."""
import math
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmdet.registry import HOOKS

from .sync_free import read_scalars


class DivergenceError(FloatingPointError):
    """The training loss became NaN or Inf."""


def _last_saved(runner):
    """The checkpoint named by ``work_dir/last_checkpoint`` (written after a save
    succeeds; the message hub's ``last_ckpt`` is set before the save is tried)."""
    path = osp.join(runner.work_dir, 'last_checkpoint')
    if osp.isfile(path):
        with open(path) as f:
            return f.read().strip()
    return None


@HOOKS.register_module()
class StopOnNonFiniteLossHook(Hook):
    """Stop training when the loss is NaN or Inf, naming the iteration; never save it.

    MMEngine's ``CheckInvalidLossHook`` only asserts, every ``interval`` iterations. This
    hook records every iteration's losses and reads them every ``interval`` iterations,
    at the end of training, and before every checkpoint is saved, so a diverged model is
    never saved: the last good checkpoint and ``last_checkpoint`` stay as they were. With
    ``interval=1`` it reads the loss in every iteration (one host-device wait each); a
    larger interval reads the recorded losses of the interval in one transfer (see
    :mod:`mmresnet.engine.sync_free`) and still names the first bad iteration.

    Args:
        interval (int): Read the recorded losses every ``interval`` iterations. Default: 1.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval=1):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be a positive int, got {interval!r}')
        self.interval = interval
        self._pending = []

    def before_train(self, runner):
        self._pending = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if outputs:
            losses = {k: v.detach().float().sum() if isinstance(v, torch.Tensor) else v
                      for k, v in outputs.items() if 'loss' in k}
            self._pending.append((runner.iter + 1, runner.epoch + 1, losses))
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self.check(runner)

    def before_save_checkpoint(self, runner, checkpoint):
        self.check(runner)

    def check(self, runner):
        """Read the recorded losses; raise :class:`DivergenceError` at the first bad one."""
        pending, self._pending = self._pending, []
        values = read_scalars([losses for _, _, losses in pending])
        for (iteration, epoch, _), losses in zip(pending, values):
            bad = {k: v for k, v in losses.items()
                   if isinstance(v, (int, float)) and not math.isfinite(v)}
            if bad:
                last = _last_saved(runner)
                raise DivergenceError(
                    f'training diverged at iteration {iteration} (epoch {epoch}): '
                    f'{", ".join(f"{k}={v}" for k, v in bad.items())}. Training stopped; the '
                    f'last good checkpoint is {last or "none (none was saved yet)"}; lower the '
                    'lr or use gradient clipping (optim_wrapper.clip_grad) and resume from it.')
