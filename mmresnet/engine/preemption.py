"""Preemption: a signal ends the run with a checkpoint at the current iteration, and the
resumed run continues exactly, mid-epoch too.

Slurm sends a signal before a job's time limit (``--signal=USR1@120``) and SIGTERM when it
preempts or ends a job (SIGKILL follows after ``KillWait``, 30 s by default); Kubernetes and
torchrun send SIGTERM. MMEngine handles neither: everything since the last checkpoint
interval is lost. :class:`PreemptionHook` (in every runtime config) turns the signal into a
checkpoint and an exit code that a launcher requeues (``tools/slurm_train.sh``,
``tools/dist_train.sh``); ``--resume`` then continues from ``last_checkpoint``.

Mid-epoch resume. MMEngine's ``EpochBasedTrainLoop`` restores ``epoch`` and ``iter`` from a
checkpoint and runs the saved epoch from its first batch again: a checkpoint written
mid-epoch (by this hook, or by an iteration-interval ``CheckpointHook`` in an epoch-based
run) would train the epoch's first batches twice. The hook writes ``meta['iter_in_epoch']``
into every checkpoint and, on resume, skips that many batches of the resumed epoch in its
batch sampler: indices only, no image is loaded, and the remaining batches are the ones the
uninterrupted run gets (the sampler is seeded by epoch, ``DistSamplerSeedHook``). The
loop numbers the resumed epoch's batches from 0 again, so that epoch's log lines count the
remaining batches from 1 (``[3][1/8]`` for its 4th batch of 8, say); iterations, schedules and
checkpoints count right. ``IterBasedTrainLoop`` resumes exactly by itself: it draws the
``iter`` batches already trained again (loading them) and drops them.
"""
import os
import signal
import sys
import time

import torch
from mmdet.registry import HOOKS
from mmengine.dist import all_reduce, barrier, get_dist_info, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from ..checkpoint import save_checkpoint_atomically
from ..utils import check_int

# EX_TEMPFAIL of sysexits.h: "a temporary failure; the user is invited to retry". A run
# stopped by a preemption signal exits with it (with or without the checkpoint: after a
# second signal the previous checkpoint is the one to resume from); tools/slurm_train.sh
# requeues on it and tools/dist_train.sh passes it on.
PREEMPTED_EXIT_CODE = 75
# Where tools/dist_train.sh learns that its workers were preempted: torchrun itself exits 1
# whatever its workers' exit codes, so the hook also writes a line into this file.
PREEMPTED_FILE_ENV = 'MMRESNET_PREEMPTED_FILE'
DEFAULT_SIGNALS = ('SIGTERM', 'SIGUSR1')


def _signal_number(name):
    allowed = sorted(n for n in dir(signal) if n.startswith('SIG') and not n.startswith(
        ('SIG_', 'SIGKILL', 'SIGSTOP')) and isinstance(getattr(signal, n), signal.Signals))
    number = getattr(signal, str(name).upper(), None) if isinstance(name, str) else None
    if not isinstance(number, signal.Signals) or number in (signal.SIGKILL, signal.SIGSTOP):
        raise ValueError(f'PreemptionHook: signals holds {name!r}, which is not a signal that '
                         f'can be caught on this system; allowed values: {allowed}')
    return number


class _SkipFirstBatches:
    """A batch sampler whose next pass starts ``skip`` batches in; later passes are the
    wrapped sampler's own. Everything else is the wrapped sampler's (``sampler``,
    ``batch_size``, ``len``)."""

    def __init__(self, batch_sampler, skip):
        self.batch_sampler, self.skip = batch_sampler, skip

    def __iter__(self):
        batches = iter(self.batch_sampler)
        skip, self.skip = self.skip, 0
        for _ in range(skip):
            next(batches, None)
        yield from batches

    def __len__(self):
        return len(self.batch_sampler)

    def __getattr__(self, name):
        if 'batch_sampler' not in self.__dict__:  # being copied or unpickled
            raise AttributeError(name)
        return getattr(self.__dict__['batch_sampler'], name)


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Checkpoint and exit on a preemption signal; resume epoch-based runs mid-epoch.

    On one of ``signals`` the current iteration finishes (a validation or a checkpoint
    save under way finishes too: the handler only raises a flag), then:

    1. every ``check_interval`` iterations the ranks agree on the flag (one all-reduce of
       one number, on a gloo group beside NCCL, so no GPU sync), so that all of them stop
       after the same iteration;
    2. the checkpoint ``iter_{N}.pth`` is written through the project's save
       (:func:`~mmresnet.checkpoint.saving.save_checkpoint_atomically`: the divergence
       guard and the recipe run first, rank 0 writes to a temporary file and renames it,
       then ``last_checkpoint`` points at it). It is kept outside ``max_keep_ckpts``;
    3. every rank waits for rank 0's write, then exits with :data:`PREEMPTED_EXIT_CODE`
       (75), so that a scheduler does not take the run as finished.

    A second signal more than ``repeat_window`` seconds after the first exits at once
    with the same code: the checkpoint being written (if any) is abandoned as a temporary
    file, and ``last_checkpoint`` still names the previous checkpoint, intact. A repeat
    within the window counts as the same request (``tools/dist_train.sh`` and torchrun
    both pass a SIGTERM on to the workers).

    Args:
        signals (Sequence[str]): Signal names. Default: ``('SIGTERM', 'SIGUSR1')``.
        check_interval (int): Iterations between the ranks' agreements (on one process
            the flag is read every iteration at no cost). Default: 1.
        repeat_window (float): Seconds after the first signal in which another counts as
            the same request. Default: 2.0.
    """
    priority = 'LOWEST'  # after the checkpoint hook's save of the same iteration (VERY_LOW)

    def __init__(self, signals=DEFAULT_SIGNALS, check_interval=1, repeat_window=2.0):
        if isinstance(signals, str):
            signals = (signals, )
        self.signals = tuple(_signal_number(s) for s in signals)
        check_int('PreemptionHook: check_interval', check_interval)
        if not isinstance(repeat_window, (int, float)) or repeat_window < 0:
            raise ValueError(f'PreemptionHook: repeat_window must be seconds >= 0, got '
                             f'{repeat_window!r}')
        self.check_interval, self.repeat_window = check_interval, float(repeat_window)
        self._signal = self._signal_time = None
        self._previous = {}
        self._group = None
        self._epoch_start_iter = 0
        self._resume_skip = None

    # -- signals --------------------------------------------------------------------------
    def _handle(self, signum, frame):
        now = time.monotonic()
        name = signal.Signals(signum).name
        if self._signal is None:
            self._signal, self._signal_time = name, now
            os.write(2, f'[PreemptionHook] {name} received: the checkpoint is written after '
                     'this iteration\n'.encode())
        elif now - self._signal_time > self.repeat_window:
            os.write(2, f'[PreemptionHook] second signal ({name}): exiting at once with '
                     f'{PREEMPTED_EXIT_CODE}; last_checkpoint names the previous checkpoint, '
                     'which is intact\n'.encode())
            _mark_preempted(f'{name} (second signal): no checkpoint written')
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(PREEMPTED_EXIT_CODE)

    def before_train(self, runner):
        self._signal = self._signal_time = None
        import threading
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning('PreemptionHook: training runs outside the main thread, '
                                  'where no signal handler can be installed; a preemption '
                                  'signal will not write a checkpoint')
        else:
            for s in self.signals:
                self._previous[s] = signal.signal(s, self._handle)
        _, world_size = get_dist_info()
        if world_size > 1 and self._group is None:
            import torch.distributed as dist
            self._group = (dist.group.WORLD if dist.get_backend() == 'gloo' else
                           dist.new_group(backend='gloo'))

    def after_train(self, runner):
        self._restore_handlers()

    def _restore_handlers(self):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def _agreed_signal(self, runner):
        """The signal every rank stops for (the flag of any rank), or None."""
        _, world_size = get_dist_info()
        if world_size == 1:
            return self._signal
        if not self.every_n_train_iters(runner, self.check_interval):
            return None
        flag = torch.tensor([0 if self._signal is None else 1])
        all_reduce(flag, op='max', group=self._group)
        if not flag.item():
            return None
        return self._signal or 'a signal on another rank'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        name = self._agreed_signal(runner)
        if name is None:
            return
        step = runner.iter + 1
        out_dir, backend_args = runner.work_dir, None
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and getattr(hook, 'out_dir', None):
                out_dir, backend_args = hook.out_dir, getattr(hook, 'backend_args', None)
                if backend_args == dict(backend='local'):
                    backend_args = None
                break
        filename = f'iter_{step}.pth'
        path = os.path.join(out_dir, filename)
        # A periodic save of this iteration (the checkpoint hook runs first) wrote it
        # already; the message hub says so on every rank alike.
        if runner.message_hub.get_info('last_ckpt') != path:
            runner.message_hub.update_info('last_ckpt', path)  # as the checkpoint hook does
            save_checkpoint_atomically(runner, out_dir, filename, backend_args=backend_args,
                                       by_epoch=False,
                                       meta=dict(preempted=dict(signal=str(name))))
        barrier()  # no rank exits (torchrun would stop rank 0) before rank 0 has written
        if is_main_process():
            _mark_preempted(f'{name} at iteration {step}: {path}')
        print_log(f'preempted by {name}: stopped after iteration {step} (epoch '
                  f'{runner.epoch + 1}), checkpoint {path}; continue with --resume. '
                  f'Exiting with code {PREEMPTED_EXIT_CODE}.', logger='current')
        self._restore_handlers()
        raise SystemExit(PREEMPTED_EXIT_CODE)

    # -- mid-epoch resume -----------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint):
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return
        meta = checkpoint.setdefault('meta', {})
        # mmengine's meta: (epoch, iter) = (epochs done, iterations done); a save inside an
        # epoch gives the current epoch, at its end the next one.
        inside = meta.get('epoch') == runner.epoch
        meta['iter_in_epoch'] = meta.get('iter', 0) - self._epoch_start_iter if inside else 0

    def after_load_checkpoint(self, runner, checkpoint):
        meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
        if 'epoch' in meta and 'iter' in meta:
            self._resume_skip = (meta['epoch'], meta['iter'], meta.get('iter_in_epoch'))

    def before_train_epoch(self, runner):
        self._epoch_start_iter = runner.iter
        if self._resume_skip is None or not isinstance(runner.train_loop,
                                                       EpochBasedTrainLoop):
            return
        epoch, iteration, skip = self._resume_skip
        self._resume_skip = None
        if (runner.epoch, runner.iter) != (epoch, iteration):
            return  # load_from (weights only), not a resume
        loader = runner.train_loop.dataloader
        if skip is None:  # a checkpoint written without this hook
            skip = iteration - epoch * len(loader)
        if not 0 < skip <= len(loader):  # len: stopped after the epoch's last batch,
            return                         # before its end (validation, epoch save)
        if getattr(loader, 'batch_sampler', None) is None:
            raise RuntimeError('PreemptionHook: resuming mid-epoch (iteration '
                               f'{iteration}, {skip} batches into epoch {epoch + 1}) needs a '
                               'train_dataloader with a batch sampler (batch_size set)')
        # DataLoader refuses to re-assign its batch sampler once built; the wrapper only
        # shortens the next pass.
        object.__setattr__(loader, 'batch_sampler', _SkipFirstBatches(loader.batch_sampler,
                                                                      skip))
        self._epoch_start_iter = iteration - skip
        print_log(f'resuming mid-epoch: the first {skip} batches of epoch {epoch + 1} were '
                  'trained before the checkpoint; skipping them (indices only)',
                  logger='current')

    def after_train_epoch(self, runner):
        loader = runner.train_loop.dataloader
        wrapped = getattr(loader, 'batch_sampler', None)
        if isinstance(wrapped, _SkipFirstBatches):
            object.__setattr__(loader, 'batch_sampler', wrapped.batch_sampler)


def _mark_preempted(line):
    """One line into ``$MMRESNET_PREEMPTED_FILE`` (set by tools/dist_train.sh), if set."""
    target = os.environ.get(PREEMPTED_FILE_ENV)
    if target:
        with open(target, 'a') as f:
            f.write(line + '\n')
