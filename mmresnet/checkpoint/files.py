"""Checkpoint file formats (:data:`~mmresnet.utils.CHECKPOINT_FORMATS`): a pickled ``.pth``,
or weights in the safetensors format: tensors and a JSON header, no code at all.

A ``.pth`` file is a pickle: the project's restricted loader keeps it safe here, but any
other tool has to trust it. A ``.safetensors`` file (timm's and Hugging Face's format) is
read without ``torch.load`` by any safetensors reader. The project writes one with the
state dict as the tensors and the checkpoint's ``meta`` (the recipe: architecture and input
normalisation; the source, epoch, iteration) in the header's metadata, one entry per key,
each value JSON-encoded (the header holds strings only), plus ``format='pt'``.

Loading (:func:`load_safetensors`, reached through the project's ``CheckpointLoader``
schemes: ``init_cfg`` Pretrained, ``load_from``, ``tools/test.py``) gives back
``dict(state_dict=..., meta=...)``, so the recipe checks at load are the same as for a
``.pth``. A file is taken as safetensors by its ``.safetensors`` name or by its first bytes
(an 8-byte header length, then ``{``). Writing: :func:`checkpoint_bytes` in the format
:func:`output_format` picks, put on disk atomically by
:func:`~mmresnet.checkpoint.saving.write_checkpoint`.
"""
import io
import json
import struct

import torch

from ..utils import CHECKPOINT_FORMATS, check_choice
from .errors import CheckpointFormatError

SUFFIX = '.safetensors'


def _safetensors():
    try:
        import safetensors.torch
    except ImportError:
        raise ImportError('reading or writing .safetensors needs the safetensors package: '
                          'pip install safetensors (a dependency of mmresnet; '
                          'tools/setup_env.sh installs it)') from None
    return safetensors.torch


def looks_like_safetensors(head):
    """Whether the first bytes of a file are a safetensors header (8-byte little-endian
    length, then the JSON object)."""
    if len(head) < 9 or head[8:9] != b'{':
        return False
    return 2 <= struct.unpack('<Q', head[:8])[0] < 100 * 2**20


def is_safetensors_file(filename):
    """By name (``.safetensors``) or, for another name, by the file's first bytes."""
    if str(filename).endswith(SUFFIX):
        return True
    try:
        with open(filename, 'rb') as f:
            return looks_like_safetensors(f.read(9))
    except OSError:
        return False


def _check_format(fmt, name):
    check_choice(f'{name}: format', fmt, CHECKPOINT_FORMATS)


def output_format(dst, fmt=None):
    """The format to write ``dst`` in: ``fmt`` ('pth' or 'safetensors'), else by the suffix.

    Raises:
        ValueError: an unknown ``fmt``, or a pickle asked for under a ``.safetensors`` name
            (other tools would take it for the safe format).
    """
    if fmt is None:
        return 'safetensors' if str(dst).endswith(SUFFIX) else 'pth'
    _check_format(fmt, dst)
    if fmt == 'pth' and str(dst).endswith(SUFFIX):
        raise ValueError(f'{dst}: a .safetensors name for a pickled .pth checkpoint; name it '
                         '.pth or write --format safetensors')
    return fmt


def safetensors_bytes(checkpoint, name='<checkpoint>'):
    """``dict(state_dict, meta)`` as the bytes of a safetensors file (see the module
    docstring for the header)."""
    st = _safetensors()
    state = checkpoint.get('state_dict', checkpoint)
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f'{name}: safetensors holds tensors only; state dict entries '
                         f'{bad[:5]} are not tensors')
    # contiguous copies: safetensors refuses views and tensors sharing storage
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}
    metadata = {'format': 'pt'}
    for key, value in (checkpoint.get('meta') or {}).items():
        try:
            metadata[str(key)] = json.dumps(value)
        except TypeError as e:
            raise ValueError(f'{name}: meta[{key!r}] cannot be written into a safetensors '
                             f'header as JSON ({e})') from None
    return st.save(tensors, metadata=metadata)


def checkpoint_bytes(checkpoint, fmt='pth', name='<checkpoint>'):
    """The bytes of ``checkpoint`` (``dict(state_dict, meta)``) in ``fmt``."""
    _check_format(fmt, name)
    if fmt == 'safetensors':
        return safetensors_bytes(checkpoint, name)
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    return buf.getvalue()


def load_safetensors(source, name, map_location='cpu'):
    """``dict(state_dict=..., meta=...)`` of a safetensors file (a path) or its bytes.

    Raises:
        CheckpointFormatError: the header is no valid safetensors header, or the file is
            truncated; the message names ``name``. (A metadata value that is no JSON, as
            other writers' plain strings, is kept as the string.)
    """
    st = _safetensors()
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open(source, 'rb') as f:
            data = f.read()
    try:
        state = st.load(data)
    except Exception as e:  # safetensors raises its own SafetensorError (a Rust error)
        raise CheckpointFormatError(f'{name} is not a valid safetensors file: '
                                    f'{type(e).__name__}: {e}') from None
    header_len = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + header_len])
    meta = {}
    for key, value in (header.get('__metadata__') or {}).items():
        if key == 'format':
            continue
        try:
            meta[key] = json.loads(value)
        except ValueError:  # another writer's plain string
            meta[key] = value
    if map_location not in (None, 'cpu') and isinstance(map_location, (str, torch.device)):
        state = {k: v.to(map_location) for k, v in state.items()}
    return dict(state_dict=state, meta=meta)
