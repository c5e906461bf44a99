"""The Runner hook that saves checkpoints which cannot destroy the last good one.

MMEngine's ``CheckpointHook`` writes the file in place and deletes the oldest kept
checkpoint *before* writing the new one, so a crash mid-write can leave no loadable
checkpoint. :class:`AtomicCheckpointHook` saves through
:func:`~mmresnet.checkpoint.saving.save_checkpoint_atomically` (temporary file + rename,
``last_checkpoint`` updated the same way), and only then deletes old checkpoints. With
``interval_minutes`` it also saves by the clock, which bounds what a dead worker of an
elastic run (tools/dist_train.sh) or a crash costs when iterations are slow.
"""
import os.path as osp
import time

import torch
from mmdet.registry import HOOKS
from mmengine.dist import broadcast, get_dist_info, is_main_process
from mmengine.hooks import CheckpointHook

from ..checkpoint import remove_stale_temp_files, save_checkpoint_atomically


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose saves cannot destroy the last good checkpoint.

    Same arguments as MMEngine's ``CheckpointHook``, and ``interval_minutes``. Differences:
    the file and ``last_checkpoint`` are written atomically (temporary file + rename), and
    checkpoints beyond ``max_keep_ckpts`` are deleted only after the new one is safely on
    disk.

    Args:
        interval_minutes (float, optional): Also save ``iter_N.pth`` after the first
            iteration that ends this many minutes after the last save (of any kind), as
            well as every ``interval``. Rank 0's clock decides for all ranks (one broadcast
            of one number per iteration, on a gloo group). In an epoch-based run the
            clock's checkpoints are saved mid-epoch (resumed exactly: PreemptionHook) and
            only the newest of them is kept beside the epoch checkpoints; in an
            iteration-based run they count in ``max_keep_ckpts``. Default: None (off).
    """

    def __init__(self, *args, backend_args=None, interval_minutes=None, **kwargs):
        if backend_args is None:
            backend_args = dict(backend='atomic_local')
        if interval_minutes is not None and (
                isinstance(interval_minutes, bool)
                or not isinstance(interval_minutes, (int, float)) or interval_minutes <= 0):
            raise ValueError('AtomicCheckpointHook: interval_minutes must be a number of '
                             f'minutes > 0, or None (off); got {interval_minutes!r}')
        super().__init__(*args, backend_args=backend_args, **kwargs)
        self.interval_minutes = interval_minutes
        self._saved_at = None
        self._clock_ckpt = None  # epoch-based runs: the clock's newest checkpoint
        self._group = None

    def before_train(self, runner):
        super().before_train(runner)
        self._saved_at = _now()
        if self.interval_minutes is not None and get_dist_info()[1] > 1:
            import torch.distributed as dist
            self._group = (dist.group.WORLD if dist.get_backend() == 'gloo' else
                           dist.new_group(backend='gloo'))
        if is_main_process():
            from mmengine.logging import print_log
            removed = set()
            for folder in {self.out_dir, runner.work_dir}:
                removed.update(remove_stale_temp_files(folder))
            if removed:
                print_log(f'removed {len(removed)} temporary file(s) of interrupted saves: '
                          + ', '.join(sorted(osp.basename(p) for p in removed)),
                          logger='current')

    def _save_checkpoint_with_step(self, runner, step, meta):
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        save_checkpoint_atomically(
            runner, self.out_dir, ckpt_filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        # Only now that the new checkpoint is on disk may the oldest one go.
        for old in stale:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)

    # -- saves by the clock ---------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint):
        self._saved_at = _now()  # every save restarts the clock (the preemption's too)

    def _time_is_up(self):
        up = torch.tensor([int(is_main_process() and self._saved_at is not None
                               and _now() - self._saved_at >= 60 * self.interval_minutes)])
        if self._group is not None:
            broadcast(up, src=0, group=self._group)
        return bool(up.item())

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        if self.interval_minutes is None or not self._time_is_up():
            return
        step = runner.iter + 1
        runner.logger.info(f'Saving checkpoint at {step} iterations ({self.interval_minutes} '
                           'min since the last save: interval_minutes)')
        if not self.by_epoch:
            self._save_checkpoint(runner)
            return
        filename = f'iter_{step}.pth'
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        save_checkpoint_atomically(
            runner, self.out_dir, filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=dict(epoch=runner.epoch, iter=step), by_epoch=False,
            backend_args=self.backend_args, **self.args)
        old, self._clock_ckpt = self._clock_ckpt, self.last_ckpt
        if is_main_process() and old and old != self.last_ckpt and self.file_backend.isfile(old):
            self.file_backend.remove(old)


def _now():
    return time.monotonic()
