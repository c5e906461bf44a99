"""Checkpoints loaded safely on every supported torch, by every scheme MMEngine knows.

A checkpoint is a pickle and a pickle can run code, so no load uses the plain pickle
(``weights_only=False`` without a restricted ``pickle_module``). MMEngine 0.10.7's
checkpoints hold more than tensors (its message hub pickles ``HistoryBuffer`` objects with
numpy arrays): torch's bare ``weights_only=True`` loader refuses them, and its ``--resume``
fails. :mod:`~mmresnet.checkpoint.safe_pickle` holds the one allow-list of exactly the globals
MMEngine's checkpoints need and the one restricted unpickler: on torch >= 2.6 the allow-list
is added to torch's ``weights_only`` loader, on torch 2.0-2.5 the project's unpickler
enforces the same rule (:func:`~mmresnet.checkpoint.safe_pickle.safe_torch_load`).

``.safetensors`` files (tensors and a JSON header, no pickle) are read by
:mod:`~mmresnet.checkpoint.files` on the same paths.

Every project loading path goes through MMEngine's ``CheckpointLoader`` (``init_cfg``
Pretrained, ``load_from``, ``--resume``, ``tools/test.py``) or :func:`load_checkpoint_file`
(tools); both raise :class:`~mmresnet.checkpoint.errors.UnsafeCheckpointError` naming the
file and the refused global. Importing this module replaces MMEngine's loader for every
scheme it knows: local paths, http(s) (and the torch.hub cache it reads), torchvision:// /
modelzoo://, open-mmlab://, mmcls://, s3:// / petrel:// go through the same restricted
unpickler; pavi:// is refused.
"""
import os
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from .files import SUFFIX, is_safetensors_file, load_safetensors, looks_like_safetensors
from .safe_pickle import register_safe_globals, safe_torch_load


def load_checkpoint_file(filename, map_location='cpu'):
    """``torch.load`` with the restricted unpickler, and an error that says what was refused;
    a ``.safetensors`` file (by name or first bytes) is read without ``torch.load``
    (:func:`~mmresnet.checkpoint.files.load_safetensors`: ``dict(state_dict, meta)``).

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


register_safe_globals()
