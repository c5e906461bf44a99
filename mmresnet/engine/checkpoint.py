"""Checkpoints that survive: safe loading on torch >= 2.6, atomic saves.

Loading. Since PyTorch 2.6 ``torch.load`` defaults to ``weights_only=True``: a restricted
unpickler that only rebuilds allow-listed globals. MMEngine 0.10.7's checkpoints hold more
than tensors (its message hub pickles ``HistoryBuffer`` objects with numpy arrays), so its
``--resume`` fails. We never fall back to ``weights_only=False`` (a checkpoint is a pickle and
a pickle can run code); we allow-list exactly the globals MMEngine's checkpoints need:

- ``mmengine.logging.history_buffer.HistoryBuffer``: a plain data class (numpy arrays + ints),
  rebuilt by ``NEWOBJ`` + ``BUILD`` (its ``__dict__``), no code runs.
- numpy's array/scalar reconstructors, ``numpy.dtype`` and the numeric dtype classes: they
  only build arrays from bytes. Object arrays rebuild their items through the same
  restricted unpickler.
- ``_codecs.encode``: how numpy's pickles carry raw bytes (str -> latin-1 bytes).
- ``builtins.getattr`` is NOT allowed: it would let a pickle reach any attribute of any
  allowed object. MMEngine pickles ``HistoryBuffer._statistics_methods`` as
  ``getattr(HistoryBuffer, 'min' | 'max' | 'current' | 'mean')``, so the name
  ``builtins.getattr`` is bound to :func:`history_buffer_getattr`, which returns those four
  functions of that one class and refuses everything else.

Every project loading path goes through MMEngine's ``CheckpointLoader`` (``init_cfg``
Pretrained, ``load_from``, ``--resume``, ``tools/test.py``) or :func:`load_checkpoint_file`
(tools); both raise :class:`UnsafeCheckpointError` naming the file and the refused global.

Saving. MMEngine's ``CheckpointHook`` writes the file in place and deletes the oldest kept
checkpoint *before* writing the new one, so a crash mid-write can leave no loadable
checkpoint. :class:`AtomicCheckpointHook` writes to a temporary file, renames it into place,
updates ``last_checkpoint`` the same way, and only then deletes old checkpoints.
"""
import os
import os.path as osp
import pickle
import re
import tempfile

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.dist import is_main_process
from mmdet.registry import HOOKS

HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds something the safe loader refuses to rebuild."""


def history_buffer_getattr(obj, name):
    """Stand-in for ``builtins.getattr`` inside checkpoints: only HistoryBuffer statistics."""
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'refused getattr({obj!r}, {name!r}) in a checkpoint: only getattr(HistoryBuffer, '
        f'name) with name in {HISTORY_BUFFER_METHODS} is allowed')


def _numpy_safe_globals():
    core = getattr(np, '_core', None) or np.core
    multiarray = core.multiarray
    names = [(multiarray._reconstruct, f'{multiarray.__name__}._reconstruct'),
             (multiarray.scalar, f'{multiarray.__name__}.scalar')]
    # numpy 1.x pickles as numpy.core.*, numpy 2.x as numpy._core.*: accept both spellings.
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        names += [(multiarray._reconstruct, f'{mod}._reconstruct'),
                  (multiarray.scalar, f'{mod}.scalar')]
    safe = [np.ndarray, np.dtype]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:  # numpy >= 1.25 pickles some dtypes by their class
        safe += [getattr(dtypes, n) for n in dir(dtypes)
                 if n.endswith('DType')
                 and isinstance(getattr(dtypes, n), type)]
    return names + safe


def register_safe_globals():
    """Allow-list what MMEngine checkpoints need (idempotent); see the module docstring."""
    import _codecs
    torch.serialization.add_safe_globals(
        [HistoryBuffer, _codecs.encode, (history_buffer_getattr, 'builtins.getattr')] +
        _numpy_safe_globals())


def load_checkpoint_file(filename, map_location='cpu'):
    """``torch.load`` with the restricted unpickler, and an error that says what was refused.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file holds a global outside the allow-list (it could run
            code); the payload is never executed.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r'GLOBAL (\S+)', str(e))
        what = f'the global {found.group(1)}' if found else 'objects'
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: it holds {what}, which is outside '
            f'the safe allow-list and could execute code when unpickled (nothing was '
            f'executed). Only load checkpoints you trust; re-save a trusted one as a plain '
            f'state dict of tensors.') from None
    except (RuntimeError, EOFError, ValueError) as e:
        raise RuntimeError(f'checkpoint {filename} is corrupt or truncated '
                           f'({type(e).__name__}: {e})') from e


# Every local path MMEngine loads (init_cfg Pretrained, load_from, resume) comes here.
CheckpointLoader.register_scheme(prefixes='', force=True)(load_checkpoint_file)


def atomic_write(data, filepath, mode='wb'):
    """Write ``data`` to ``filepath`` so that readers see the old file or the new one,
    never a partial file: temporary file in the same folder, fsync, rename."""
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp',
                               dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


@register_backend('atomic_local', force=True)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic ``put``/``put_text``."""

    def put(self, obj, filepath):
        atomic_write(obj, str(filepath), 'wb')

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj.encode(encoding), str(filepath), 'wb')


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

        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        atomic_write(self.last_ckpt.encode(), osp.join(runner.work_dir, 'last_checkpoint'))
        # Only now that the new checkpoint is on disk may the oldest one go.
        for old in stale:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)


register_safe_globals()
