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


class CheckpointFormatError(RuntimeError, ValueError):
    """A file given as a checkpoint is not one (text, random bytes, empty, truncated)."""


NOT_A_CHECKPOINT = ('is not a PyTorch checkpoint (torch.save writes a zip archive or a '
                    'pickle of tensors): ')


def safe_torch_load(source, name, map_location='cpu'):
    """``torch.load(source, weights_only=True)`` with errors that name ``name`` and say
    what went wrong: a refused global (:class:`UnsafeCheckpointError`, the payload never
    runs) or a file that is not a checkpoint (:class:`CheckpointFormatError`)."""
    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # bytes that are no pickle at all: torch's unpickler meets an unknown opcode
        garbage = re.search(r'(Unsupported operand \S+|invalid load key[^\n]*)', str(e))
        if garbage:
            raise CheckpointFormatError(f'{name} {NOT_A_CHECKPOINT}{garbage.group(1)}'
                                        ) from None
        found = re.search(r'GLOBAL (\S+)', str(e))
        what = f'the global {found.group(1)}' if found else 'objects'
        refused = re.search(r'refused getattr[^\n]*', str(e))
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {name}: it holds {what}, which is outside the '
            f'safe allow-list and could execute code when unpickled (nothing was executed'
            f'{"; " + refused.group(0) if refused else ""}). Only load checkpoints you '
            'trust; re-save a trusted one as a plain state dict of tensors.') from None
    except EOFError:
        raise CheckpointFormatError(f'{name} {NOT_A_CHECKPOINT}the file is empty or ends '
                                    'too early') from None
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        # torch's pickle reader on text or other bytes: KeyError of a byte value, an empty
        # mark stack, ...
        raise CheckpointFormatError(f'{name} {NOT_A_CHECKPOINT}its bytes are no pickle '
                                    f'({type(e).__name__}: {e}; a text file?)') from None
    except (RuntimeError, ValueError) as e:
        raise CheckpointFormatError(f'checkpoint {name} is corrupt or truncated '
                                    f'({type(e).__name__}: {str(e).splitlines()[0]})') from e


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
