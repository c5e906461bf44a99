"""Training guards."""
import math

import torch
from mmengine.hooks import Hook
from mmdet.registry import HOOKS


class DivergenceError(FloatingPointError):
    """The training loss became NaN or Inf."""


@HOOKS.register_module()
class StopOnNonFiniteLossHook(Hook):
    """Stop training the moment the loss is NaN or Inf, naming the iteration.

    MMEngine's ``CheckInvalidLossHook`` only asserts, every ``interval`` iterations. This
    hook checks every iteration (one scalar sync) and runs before the checkpoint hook
    (priority ``ABOVE_NORMAL``), so a diverged model is never saved: the last good
    checkpoint and ``last_checkpoint`` stay as they were.

    Args:
        interval (int): Check every ``interval`` iterations. Default: 1.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, interval=1):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be a positive int, got {interval!r}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self.every_n_train_iters(runner, self.interval) or not outputs:
            return
        bad = {}
        for key, val in outputs.items():
            if 'loss' not in key:
                continue
            v = val.detach().float().sum().item() if isinstance(val, torch.Tensor) else val
            if isinstance(v, (int, float)) and not math.isfinite(v):
                bad[key] = v
        if bad:
            last = runner.message_hub.get_info('last_ckpt')
            raise DivergenceError(
                f'training diverged at iteration {runner.iter + 1} (epoch {runner.epoch + 1}): '
                f'{", ".join(f"{k}={v}" for k, v in bad.items())}. Training stopped; the last '
                f'good checkpoint is {last or "none (none was saved yet)"}; lower the lr or '
                f'use gradient clipping (optim_wrapper.clip_grad) and resume from it.')
