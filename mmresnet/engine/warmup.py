"""The ResNet-110 warm-up rule of Section 4.2, as the paper states it.

"In this case, we find that the initial learning rate of 0.1 is slightly too large to start
converging. So we use 0.01 to warm up the training until the training error is below 80%
(about 400 iterations), and then go back to 0.1."
"""
import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log


@HOOKS.register_module()
class WarmupUntilErrorHook(Hook):
    """Scale the lr by ``factor`` until the training error drops below ``error_below``.

    The error is the classifier's logged ``error`` (top-1 training error of each batch, in
    percent), averaged over the last ``window`` iterations and over all ranks, so that every
    process switches at the same iteration. The lr is multiplied in place, so the param
    schedulers of the config (e.g. ``MultiStepLR`` at 32k and 48k) keep working on top.
    The state is saved in checkpoints: ``--resume`` neither re-applies nor forgets it.

    Args:
        factor (float): lr multiplier during the warm-up (0.1: 0.1 -> 0.01). Default: 0.1.
        error_below (float): Training error (%) that ends the warm-up. Default: 80.
        window (int): Iterations averaged before comparing. Default: 20.
        max_iters (int, optional): End the warm-up here at the latest, whatever the error.
            Default: None (no limit; the paper's rule).
        key (str): Key of the training error in the model's loss outputs. Default: 'error'.
    """
    priority = 'NORMAL'

    def __init__(self, factor=0.1, error_below=80.0, window=20, max_iters=None,
                 key='error'):
        if not 0 < factor < 1:
            raise ValueError(f'factor must be in (0, 1), got {factor!r}')
        if not 0 < error_below <= 100:
            raise ValueError(f'error_below is a percentage in (0, 100], got {error_below!r}')
        if not isinstance(window, int) or window < 1:
            raise ValueError(f'window must be a positive int, got {window!r}')
        if max_iters is not None and (not isinstance(max_iters, int) or max_iters < 1):
            raise ValueError(f'max_iters must be None or a positive int, got {max_iters!r}')
        self.factor, self.error_below, self.window = factor, error_below, window
        self.max_iters, self.key = max_iters, key
        self.state = 'pending'  # -> 'active' (lr scaled) -> 'done'
        self._errors, self._loaded_state = [], None

    def _scale_lr(self, runner, mult):
        for group in runner.optim_wrapper.param_groups:
            group['lr'] *= mult

    def before_train(self, runner):
        # Resumed (iter > 0): the optimizer state restored with the checkpoint already holds
        # the scaled lr while the warm-up was active; take the saved state, never scale
        # twice. Weights loaded with load_from (iter 0, fresh optimizer) warm up anew.
        if runner.iter > 0 and self._loaded_state in ('active', 'done'):
            self.state = self._loaded_state
        if self.state == 'pending':
            self._scale_lr(runner, self.factor)
            self.state = 'active'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.state != 'active':
            return
        if not outputs or self.key not in outputs:
            raise KeyError(f'WarmupUntilErrorHook needs the training error {self.key!r} in '
                           f'the model outputs; got {sorted(outputs or {})}')
        self._errors = (self._errors + [float(outputs[self.key])])[-self.window:]
        mean = torch.tensor(sum(self._errors) / len(self._errors), dtype=torch.float64)
        all_reduce(mean, op='mean')  # one decision for all ranks (no-op on one process)
        below = len(self._errors) == self.window and mean.item() < self.error_below
        capped = self.max_iters is not None and runner.iter + 1 >= self.max_iters
        if below or capped:
            self._scale_lr(runner, 1 / self.factor)
            self.state = 'done'
            why = (f'training error {mean.item():.1f}% < {self.error_below}%' if below else
                   f'max_iters={self.max_iters} reached')
            print_log(f'warm-up ends at iteration {runner.iter + 1} ({why}): lr back to '
                      f'{runner.optim_wrapper.param_groups[0]["lr"]:g}', logger='current')

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})['warmup_until_error'] = self.state

    def after_load_checkpoint(self, runner, checkpoint):
        self._loaded_state = checkpoint.get('meta', {}).get('warmup_until_error')
