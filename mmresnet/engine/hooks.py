"""Hooks of the project: the divergence guard, the recipe written into and checked on
checkpoints, and the ResNet-110 warm-up rule of Section 4.2."""
import math
import os.path as osp

import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..utils import check_int, check_optional_int
from .runtime_info import read_scalars


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


def non_finite_tensors(state):
    """Names of the floating-point tensors of ``state`` (a state dict) holding NaN or Inf,
    found with one host-device transfer."""
    names = [k for k, v in state.items()
             if isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel()]
    if not names:
        return []
    flags = torch.stack([state[k].isfinite().all() for k in names]).cpu().tolist()
    return [k for k, ok in zip(names, flags) if not ok]


def _some(names, k=5):
    return ', '.join(names[:k]) + (', ...' if len(names) > k else '')


@HOOKS.register_module()
class StopOnNonFiniteLossHook(Hook):
    """Stop a diverging run, naming the iteration and a checkpoint verified finite; never
    save a diverged model.

    MMEngine's ``CheckInvalidLossHook`` only asserts, every ``interval`` iterations. This
    hook records every iteration's losses and reads them every ``interval`` iterations,
    at the end of training, and before every checkpoint is saved. The rules:

    - a loss is NaN or Inf;
    - the model's parameters or buffers hold NaN or Inf (BN's running variance goes inf
      first when a run explodes; checked at the same points);
    - a loss is more than ``max_loss_ratio`` times the median of the last 200 recorded
      losses (an explosion still finite, e.g. 6e14 at lr 50), once 20 are recorded;
    - before every save, every tensor of the checkpoint's state dict must be finite.

    The named checkpoint is the one ``last_checkpoint`` points to, written only after a
    save that passed the last rule. With ``interval=1`` the losses are read every
    iteration (one host-device wait each); a larger interval reads the recorded losses of
    the interval in one transfer (see :mod:`mmresnet.engine.runtime_info`) and still names the
    first bad iteration.

    Args:
        interval (int): Check every ``interval`` iterations. Default: 1.
        max_loss_ratio (float, optional): The explosion rule's factor; None turns that
            rule off. Default: 1e4.
    """
    priority = 'ABOVE_NORMAL'
    HISTORY, MIN_HISTORY = 200, 20

    def __init__(self, interval=1, max_loss_ratio=1e4):
        check_int('StopOnNonFiniteLossHook: interval', interval)
        if max_loss_ratio is not None and not max_loss_ratio > 1:
            raise ValueError(f'max_loss_ratio must be > 1 or None, got {max_loss_ratio!r}')
        self.interval, self.max_loss_ratio = interval, max_loss_ratio
        self._pending, self._history = [], []

    def before_train(self, runner):
        self._pending, self._history = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if outputs:
            losses = {k: v.detach().float().sum() if isinstance(v, torch.Tensor) else v
                      for k, v in outputs.items() if 'loss' in k}
            self._pending.append((runner.iter + 1, runner.epoch + 1, losses))
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self.check(runner)

    def before_save_checkpoint(self, runner, checkpoint):
        self.check(runner)
        bad = non_finite_tensors(checkpoint.get('state_dict', {}))
        if bad:
            self._stop(runner, f'the model to be saved holds NaN/Inf in {len(bad)} tensors '
                       f'({_some(bad)}); it was not saved')

    def _stop(self, runner, what, iteration=None, epoch=None):
        last = _last_saved(runner)
        iteration = runner.iter + 1 if iteration is None else iteration
        epoch = runner.epoch + 1 if epoch is None else epoch
        raise DivergenceError(
            f'training diverged at iteration {iteration} (epoch {epoch}): '
            f'{what}. Training stopped; the last checkpoint saved, verified finite, is '
            f'{last or "none (none was saved yet)"}; lower the lr or use gradient clipping '
            '(optim_wrapper.clip_grad) and resume from it.' + self._frozen_bn_hint(runner))

    @staticmethod
    def _frozen_bn_hint(runner):
        """Frozen BN from scratch, when the model holds BN layers frozen (eval mode) at their
        initial statistics: the likely cause of losses that explode from the start."""
        from ..models.utils import FROZEN_BN_WAYS_OUT, frozen_initial_bns
        from .frozen_bn import unwrap_model
        names = frozen_initial_bns(unwrap_model(runner.model))
        if not names:
            return ''
        return (f' Likely cause: {len(names)} BN layers ({_some(names, 3)}) are frozen '
                '(norm_eval) at their initial statistics (mean 0, variance 1), a backbone '
                'with frozen BN trained from random weights, whose residual branches add up '
                f'unchecked. Three ways out: {FROZEN_BN_WAYS_OUT}.')

    def _model_state(self, runner):
        model = runner.model
        model = getattr(model, 'module', model)
        return {**dict(model.named_parameters()), **dict(model.named_buffers())}

    def check(self, runner):
        """Read the recorded losses and the model; raise :class:`DivergenceError` at the
        first broken rule."""
        pending, self._pending = self._pending, []
        values = read_scalars([losses for _, _, losses in pending])
        for (iteration, epoch, _), losses in zip(pending, values):
            bad = {k: v for k, v in losses.items()
                   if isinstance(v, (int, float)) and not math.isfinite(v)}
            if bad:
                self._stop(runner, ', '.join(f'{k}={v}' for k, v in bad.items()),
                           iteration, epoch)
            total = sum(v for v in losses.values() if isinstance(v, (int, float)))
            if self.max_loss_ratio and len(self._history) >= self.MIN_HISTORY:
                median = sorted(self._history)[len(self._history) // 2]
                if median > 0 and total > self.max_loss_ratio * median:
                    self._stop(runner, f'loss {total:.4g} is over {self.max_loss_ratio:g} '
                               f'times the median {median:.4g} of the last '
                               f'{len(self._history)} iterations', iteration, epoch)
            self._history = (self._history + [total])[-self.HISTORY:]
        if pending:
            bad = non_finite_tensors(self._model_state(runner))
            if bad:
                self._stop(runner, f'NaN/Inf in {len(bad)} model tensors ({_some(bad)})')


@HOOKS.register_module()
class RecipeHook(Hook):
    """Writes the model's recipe into every checkpoint and checks recipes at load.

    - ``before_save_checkpoint``: ``checkpoint['meta']['recipe']`` = the architecture of the
      model's PaperResNet backbone and the normalisation of its data_preprocessor
      (:func:`~mmresnet.models.utils.model_recipe`).
    - ``after_load_checkpoint`` (``load_from``, ``--resume``, ``tools/test.py CKPT``): the
      checkpoint's recipe against the model: another architecture or style raises, another
      input normalisation raises unless ``check_normalisation=False``; a checkpoint without a
      recipe loads with one log line saying nothing could be checked.
    - ``before_train`` / ``before_val`` / ``before_test``: the normalisation of the weights
      that ``init_cfg`` Pretrained loaded into the backbone and the C4 head (their
      architecture was checked while loading).

    Args:
        check_normalisation (bool): Refuse weights trained with another input
            normalisation (mean, std, channel order). Default: True. Opt out in a config
            with ``default_hooks = dict(recipe=dict(type='RecipeHook',
            check_normalisation=False))`` or ``--cfg-options
            default_hooks.recipe.check_normalisation=False``.
    """

    priority = 'VERY_LOW'
    OPT_OUT = '--cfg-options default_hooks.recipe.check_normalisation=False'

    def __init__(self, check_normalisation=True):
        self.check_normalisation = check_normalisation
        self._checked_init = False

    @staticmethod
    def _model(runner):
        from .frozen_bn import unwrap_model  # the detector inside DDP or a --tta model
        return unwrap_model(runner.model)

    def before_save_checkpoint(self, runner, checkpoint):
        from ..models.utils import model_recipe
        recipe = model_recipe(self._model(runner))
        if recipe is not None:
            checkpoint.setdefault('meta', {})['recipe'] = recipe

    def after_load_checkpoint(self, runner, checkpoint):
        from ..models.utils import (check_arch, check_normalisation, checkpoint_recipe,
                                    normalisation_recipe)
        model = self._model(runner)
        path = getattr(runner, '_load_from', None)
        source = f'checkpoint {path}' if path else 'the resumed checkpoint'
        recipe = checkpoint_recipe(checkpoint, path)
        if recipe is None:
            runner.logger.info(f'{source} carries no recipe (third-party weights?): its '
                               'architecture, style and input normalisation could not be '
                               'checked against the model')
            return
        backbone = getattr(model, 'backbone', None)
        check_arch(recipe.get('arch'), backbone, source, 'model.backbone')
        shared = getattr(getattr(model, 'roi_head', None), 'shared_head', None)
        check_arch(recipe.get('arch'), shared, source, 'model.roi_head.shared_head')
        if self.check_normalisation:
            check_normalisation(recipe.get('normalisation'),
                                normalisation_recipe(getattr(model, 'data_preprocessor', None)),
                                source, self.OPT_OUT)

    def _check_init(self, runner):
        from ..models.utils import check_normalisation, normalisation_recipe
        if self._checked_init or not self.check_normalisation:
            return
        self._checked_init = True
        model = self._model(runner)
        own = normalisation_recipe(getattr(model, 'data_preprocessor', None))
        seen = set()
        for module in model.modules():
            loaded = getattr(module, '_loaded_recipe', None)
            if not loaded or not loaded['recipe'] or loaded['source'] in seen:
                continue
            seen.add(loaded['source'])
            check_normalisation(loaded['recipe'].get('normalisation'), own,
                                loaded['source'], self.OPT_OUT)

    def before_train(self, runner):
        self._check_init(runner)

    def before_val(self, runner):
        self._check_init(runner)

    def before_test(self, runner):
        self._check_init(runner)


# The ResNet-110 warm-up rule of Section 4.2, as the paper states it.
#
# "In this case, we find that the initial learning rate of 0.1 is slightly too large to start
# converging. So we use 0.01 to warm up the training until the training error is below 80%
# (about 400 iterations), and then go back to 0.1."
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
        check_int('WarmupUntilErrorHook: window', window)
        check_optional_int('WarmupUntilErrorHook: max_iters', max_iters)
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
