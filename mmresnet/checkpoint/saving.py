"""Checkpoints that survive a crash mid-write: every file is replaced atomically
(temporary file in the same folder, fsync, rename: :func:`atomic_write`).

Importing this module registers MMEngine's ``atomic_local`` file backend, which puts files
that way. :func:`save_checkpoint_atomically` saves a runner's checkpoint through it and
points ``last_checkpoint`` at the new file; every save of the project goes through it
(:class:`~mmresnet.engine.checkpoint_hook.AtomicCheckpointHook`, the preemption hook).
"""
import errno
import os
import os.path as osp
import re
import tempfile

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend, register_backend

from .files import checkpoint_bytes, output_format


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(data, filepath, mode='wb'):
    """Write ``data`` to ``filepath`` so that readers see the old file or the new one,
    never a partial file: temporary file in the same folder, fsync, rename. The file gets
    the permissions of any file the user creates (0666 less the umask).

    Raises:
        OSError: the disk is full (errno ENOSPC), naming the file, the size needed and
            that the previous file is intact.
    """
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp',
                               dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except OSError as e:
        if osp.exists(tmp):
            os.remove(tmp)
        if e.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, f'no space left on the device to write {filepath} '
                          f'({len(data) / 2**20:.1f} MiB needed); the previous '
                          f'{osp.basename(filepath)} (if any) is intact, nothing was '
                          'replaced') from None
        raise
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def write_checkpoint(checkpoint, dst, fmt=None):
    """Write ``checkpoint`` to ``dst`` atomically, in ``fmt`` or the format its suffix names
    (:func:`~mmresnet.checkpoint.files.output_format`). Returns the format written."""
    fmt = output_format(dst, fmt)
    atomic_write(checkpoint_bytes(checkpoint, fmt, str(dst)), str(dst))
    return fmt


STALE_TMP = re.compile(r'^\.(.+\.pth|last_checkpoint)\.[A-Za-z0-9_]+\.tmp$')


def remove_stale_temp_files(folder):
    """Remove what a save killed mid-write left behind in ``folder``: the temporary
    ``.NAME.pth.*.tmp`` and ``.last_checkpoint.*.tmp`` files of :func:`atomic_write`.

    Returns:
        list[str]: the removed paths.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    for name in os.listdir(folder):
        path = osp.join(folder, name)
        if STALE_TMP.match(name) and osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


@register_backend('atomic_local', force=True)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic ``put``/``put_text``."""

    def put(self, obj, filepath):
        atomic_write(obj, str(filepath), 'wb')

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj.encode(encoding), str(filepath), 'wb')


def save_checkpoint_atomically(runner, out_dir, filename, file_client_args=None,
                               backend_args=None, **kwargs):
    """``runner.save_checkpoint`` through the ``atomic_local`` backend (for a local
    ``out_dir`` when ``backend_args`` is None), then ``work_dir/last_checkpoint`` pointed at
    the new file, atomically too. Every save of the project goes through here: the
    ``before_save_checkpoint`` hooks run first (the divergence guard refuses a model with
    NaN/Inf, the recipe is written), and rank 0 writes.

    Args:
        runner (Runner): The runner (every rank calls this; only rank 0 writes).
        out_dir (str): Folder of the checkpoint.
        filename (str): Its file name, e.g. ``iter_30.pth``.
        **kwargs: ``save_optimizer``, ``save_param_scheduler``, ``meta``, ``by_epoch`` of
            ``Runner.save_checkpoint``.

    Returns:
        str: the checkpoint's path.
    """
    if backend_args is None and file_client_args is None:
        backend_args = dict(backend='atomic_local')
    runner.save_checkpoint(out_dir, filename, file_client_args, backend_args=backend_args,
                           **kwargs)
    path = osp.join(out_dir, filename)
    if is_main_process():
        atomic_write(path.encode(), osp.join(runner.work_dir, 'last_checkpoint'))
    return path
