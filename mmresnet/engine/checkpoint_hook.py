"""The Runner hook that saves checkpoints which cannot destroy the last good one.

MMEngine's ``CheckpointHook`` writes the file in place and deletes the oldest kept
checkpoint *before* writing the new one, so a crash mid-write can leave no loadable
checkpoint. :class:`AtomicCheckpointHook` saves through
:func:`~mmresnet.checkpoint.saving.save_checkpoint_atomically` (temporary file + rename,
``last_checkpoint`` updated the same way), and only then deletes old checkpoints.
"""
import os.path as osp

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from ..checkpoint import remove_stale_temp_files, save_checkpoint_atomically


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose saves cannot destroy the last good checkpoint.

    Same arguments as MMEngine's ``CheckpointHook``. Differences: the file and
    ``last_checkpoint`` are written atomically (temporary file + rename), and checkpoints
    beyond ``max_keep_ckpts`` are deleted only after the new one is safely on disk.
    """

    def __init__(self, *args, backend_args=None, **kwargs):
        if backend_args is None:
            backend_args = dict(backend='atomic_local')
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def before_train(self, runner):
        super().before_train(runner)
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
