"""Checkpoints that survive: safe loading on every supported torch, atomic saves.

Loading. A checkpoint is a pickle and a pickle can run code, so no load uses the plain
pickle (``weights_only=False`` without a restricted ``pickle_module``). MMEngine 0.10.7's
checkpoints hold more than tensors (its message hub pickles ``HistoryBuffer`` objects with
numpy arrays): torch's bare ``weights_only=True`` loader refuses them, and its ``--resume``
fails. :mod:`~mmresnet.engine.safe_pickle` holds the one allow-list of exactly the globals
MMEngine's checkpoints need and the one restricted unpickler: on torch >= 2.6 the allow-list
is added to torch's ``weights_only`` loader, on torch 2.0-2.5 the project's unpickler
enforces the same rule (:func:`~mmresnet.engine.safe_pickle.safe_torch_load`).

``.safetensors`` files (tensors and a JSON header, no pickle) are read by
:mod:`~mmresnet.engine.tensor_files` on the same paths.

Every project loading path goes through MMEngine's ``CheckpointLoader`` (``init_cfg``
Pretrained, ``load_from``, ``--resume``, ``tools/test.py``) or :func:`load_checkpoint_file`
(tools); both raise :class:`UnsafeCheckpointError` naming the file and the refused global.
Importing mmresnet replaces MMEngine's loader for every scheme it knows: local paths,
http(s) (and the torch.hub cache it reads), torchvision:// / modelzoo://, open-mmlab://,
mmcls://, s3:// / petrel:// go through the same restricted unpickler; pavi:// is refused.

Saving. MMEngine's ``CheckpointHook`` writes the file in place and deletes the oldest kept
checkpoint *before* writing the new one, so a crash mid-write can leave no loadable
checkpoint. :class:`AtomicCheckpointHook` writes to a temporary file, renames it into place,
updates ``last_checkpoint`` the same way, and only then deletes old checkpoints.
"""
import errno
import os
import os.path as osp
import re
import tempfile

import torch
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.dist import is_main_process
from mmdet.registry import HOOKS

from .safe_pickle import (CheckpointFormatError, UnsafeCheckpointError,  # noqa: F401
                          register_safe_globals, safe_torch_load)

def load_checkpoint_file(filename, map_location='cpu'):
    """``torch.load`` with the restricted unpickler, and an error that says what was refused;
    a ``.safetensors`` file (by name or first bytes) is read without ``torch.load``
    (:func:`~mmresnet.engine.tensor_files.load_safetensors`: ``dict(state_dict, meta)``).

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file holds a global outside the allow-list (it could run
            code); the payload is never executed.
        CheckpointFormatError: the file is no checkpoint (text, random bytes, empty,
            truncated).
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    from .tensor_files import is_safetensors_file, load_safetensors
    if is_safetensors_file(filename):  # no pickle at all: tensors + a JSON header
        return load_safetensors(filename, filename, map_location)
    return safe_torch_load(filename, filename, map_location)


# Every local path MMEngine loads (init_cfg Pretrained, load_from, resume) comes here.
CheckpointLoader.register_scheme(prefixes='', force=True)(load_checkpoint_file)


def _url_cache_path(url, model_dir=None):
    """Where torch.hub (and MMEngine's http loader) caches ``url``."""
    from urllib.parse import urlparse
    folder = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(folder, osp.basename(urlparse(url).path))


def load_url_safely(url, map_location='cpu', model_dir=None, progress=False):
    """MMEngine's http(s) scheme through the safe loader.

    MMEngine's own calls torch.hub's ``load_state_dict_from_url``, whose ``weights_only``
    defaults to False: a checkpoint given as a URL, or already in the hub cache, would run
    its pickle. Here the file is fetched into the same cache (``$TORCH_HOME/hub/
    checkpoints``; a cached file is not fetched again) and loaded with
    :func:`load_checkpoint_file`.
    """
    from mmengine.dist import get_dist_info
    path = _url_cache_path(url, model_dir)
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
        torch.hub.download_url_to_file(url, path, progress=progress)
    if world_size > 1:
        torch.distributed.barrier()
    return load_checkpoint_file(path, map_location)


def _model_zoo_url(table, name, scheme):
    if name not in table:
        raise KeyError(f'{scheme}{name}: unknown model name; known: '
                       f'{", ".join(sorted(table)[:10])}...')
    return table[name]


def load_torchvision_safely(filename, map_location='cpu'):
    """``torchvision://NAME`` / ``modelzoo://NAME`` through the safe loader."""
    from mmengine.runner.checkpoint import get_torchvision_models
    scheme = 'modelzoo://' if filename.startswith('modelzoo://') else 'torchvision://'
    url = _model_zoo_url(get_torchvision_models(), filename[len(scheme):], scheme)
    return load_url_safely(url, map_location)


def load_openmmlab_safely(filename, map_location='cpu'):
    """``open-mmlab://NAME`` / ``openmmlab://NAME`` through the safe loader."""
    from mmengine.runner.checkpoint import (_get_mmengine_home, get_deprecated_model_names,
                                            get_external_models)
    scheme = 'open-mmlab://' if filename.startswith('open-mmlab://') else 'openmmlab://'
    name = filename[len(scheme):]
    name = get_deprecated_model_names().get(name, name)
    url = _model_zoo_url(get_external_models(), name, scheme)
    if url.startswith(('http://', 'https://')):
        return load_url_safely(url, map_location)
    return load_checkpoint_file(osp.join(_get_mmengine_home(), url), map_location)


def load_mmcls_safely(filename, map_location='cpu'):
    """``mmcls://NAME`` through the safe loader (MMEngine strips its ``backbone.`` prefix
    the same way)."""
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models
    url = _model_zoo_url(get_mmcls_models(), filename[len('mmcls://'):], 'mmcls://')
    return _process_mmcls_checkpoint(load_url_safely(url, map_location))


def load_ceph_safely(filename, map_location='cpu', backend='petrel'):
    """``s3://`` / ``petrel://`` through the safe loader (bytes from MMEngine's backend)."""
    import io

    from mmengine.fileio import get_file_backend
    from .tensor_files import SUFFIX, load_safetensors, looks_like_safetensors
    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    if filename.endswith(SUFFIX) or looks_like_safetensors(data[:9]):
        return load_safetensors(data, filename, map_location)
    with io.BytesIO(data) as buffer:
        return safe_torch_load(buffer, filename, map_location)


def refuse_pavi(filename, map_location=None):
    raise ValueError(f'{filename}: the pavi:// scheme is not supported by the safe '
                     'checkpoint loader (its client loads the pickle unrestricted); download '
                     'the file and pass its local path')


# Every remote scheme MMEngine's CheckpointLoader knows goes through the same safe loader
# (or is refused): http(s), torch.hub's cache, model zoos, s3/petrel, pavi.
SAFE_SCHEMES = {
    ('http://', 'https://'): load_url_safely,
    ('modelzoo://', 'torchvision://'): load_torchvision_safely,
    ('open-mmlab://', 'openmmlab://'): load_openmmlab_safely,
    ('mmcls://', ): load_mmcls_safely,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_ceph_safely,
    ('pavi://', ): refuse_pavi,
}
for _prefixes, _loader in SAFE_SCHEMES.items():
    CheckpointLoader.register_scheme(prefixes=list(_prefixes), loader=_loader, force=True)


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


register_safe_globals()
