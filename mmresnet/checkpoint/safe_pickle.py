"""The one restricted unpickler and the one allow-list of the project.

Every pickle the project reads goes through here: checkpoints of every scheme
(:mod:`~mmresnet.checkpoint.loading`: ``init_cfg`` Pretrained, ``load_from``, ``--resume``,
the tools), MSRA's Detectron weights (:mod:`~mmresnet.convert.msra`) and CIFAR-10 batches
(:mod:`~mmresnet.datasets.classification`). A pickle is a program: its ``GLOBAL`` opcodes
name any callable (``os.system``, ``builtins.eval``) and ``REDUCE`` calls it. The rule here:
only the globals in :data:`SAFE_GLOBALS` (plus, for checkpoints, the tensor rebuilders of
``torch.save``) are ever resolved; any other name raises :class:`UnsafeCheckpointError`
naming the file and the global, before anything is called.

:data:`SAFE_GLOBALS` (``'module.name' -> object``) holds what the project's files need
beyond tensors, and nothing that runs code on given arguments:

- numpy's array and scalar rebuilders (both spellings: numpy 1.x pickles
  ``numpy.core.multiarray``, numpy 2.x ``numpy._core.multiarray``), ``numpy.ndarray``,
  ``numpy.dtype`` and the dtype classes of ``numpy.dtypes``: they only build arrays from
  bytes; object arrays rebuild their items through the same restricted unpickler;
- ``_codecs.encode``: how protocol <= 2 pickles carry bytes (str -> latin-1 bytes);
- ``collections.OrderedDict``, ``collections.Counter``, ``set``, ``bytearray``, ``complex``
  (plain data; torch >= 2.6 allows them by default, MMEngine's checkpoints hold Counters);
- ``mmengine.logging.history_buffer.HistoryBuffer``: a plain data class (numpy arrays and
  ints, rebuilt by ``NEWOBJ`` + ``BUILD``) that MMEngine's message hub saves in checkpoints;
- ``builtins.getattr`` bound to :func:`history_buffer_getattr`: MMEngine pickles
  ``HistoryBuffer._statistics_methods`` as ``getattr(HistoryBuffer, 'mean')`` etc.; the real
  ``getattr`` would reach any attribute of any allowed object, the stand-in returns those
  four methods of that one class and refuses everything else.

Checkpoints (:func:`safe_torch_load`). On torch >= 2.6 ``torch.load(weights_only=True)``
(torch's own restricted unpickler, with its tensor rebuilders) gets :data:`SAFE_GLOBALS`
through ``torch.serialization.add_safe_globals``. On torch 2.0-2.5 (no ``add_safe_globals``,
or not yet the ``(object, name)`` pairs the allow-list needs) ``torch.load`` runs with this
module as its ``pickle_module``: :class:`RestrictedUnpickler` resolves :data:`SAFE_GLOBALS`
and the tensor rebuilders of torch's own ``weights_only`` list, nothing else. Either way
``weights_only=False`` with the plain pickle is never used.

Bad files get errors that name them: :class:`UnsafeCheckpointError` (a refused global;
nothing was executed) or :class:`CheckpointFormatError` (no checkpoint: text, random bytes,
empty, truncated, corrupt).
"""
import collections
import functools
import pickle
import re

import numpy as np
import torch

from .errors import CheckpointFormatError, UnsafeCheckpointError

HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')
# the first torch whose add_safe_globals takes the (object, 'module.name') pairs used here,
# and whose torch.load defaults to weights_only=True
TORCH_WEIGHTS_ONLY_WITH_PAIRS = (2, 6)


def history_buffer_getattr(obj, name):
    """Stand-in for ``builtins.getattr`` inside pickles: only HistoryBuffer statistics."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'refused getattr({obj!r}, {name!r}) in a pickle: only getattr(HistoryBuffer, '
        f'name) with name in {HISTORY_BUFFER_METHODS} is allowed', 'builtins.getattr')


def _numpy_globals():
    import importlib
    # numpy 2.x: numpy._core; numpy 1.x: numpy.core (1.26 also has a partial numpy._core)
    multiarray = importlib.import_module('numpy._core.multiarray' if int(
        np.__version__.split('.')[0]) >= 2 else 'numpy.core.multiarray')
    safe = {}
    # numpy 1.x pickles as numpy.core.*, numpy 2.x as numpy._core.*: accept both spellings.
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        safe[f'{mod}._reconstruct'] = multiarray._reconstruct
        safe[f'{mod}.scalar'] = multiarray.scalar
    safe['numpy.ndarray'] = np.ndarray
    safe['numpy.dtype'] = np.dtype
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:  # numpy >= 1.25 pickles some dtypes by their class
        for n in dir(dtypes):
            if n.endswith('DType') and isinstance(getattr(dtypes, n), type):
                safe[f'numpy.dtypes.{n}'] = getattr(dtypes, n)
    return safe


def _safe_globals():
    import _codecs

    from mmengine.logging import HistoryBuffer
    # plain data types (torch >= 2.6 allows the same by default)
    safe = {'_codecs.encode': _codecs.encode,
            'collections.OrderedDict': collections.OrderedDict,
            'collections.Counter': collections.Counter,
            'builtins.set': set, 'builtins.bytearray': bytearray, 'builtins.complex': complex,
            'mmengine.logging.history_buffer.HistoryBuffer': HistoryBuffer,
            'builtins.getattr': history_buffer_getattr}
    safe.update(_numpy_globals())
    return safe


#: The allow-list: ``'module.name' -> object`` (see the module docstring).
SAFE_GLOBALS = _safe_globals()


@functools.lru_cache(maxsize=None)
def torch_tensor_globals():
    """What ``torch.save`` writes for tensors, storages, dtypes, sizes and devices:
    torch's own ``weights_only`` list on the running torch."""
    from torch import _weights_only_unpickler as wou
    allowed = dict(wou._get_allowed_globals())
    # every dtype and torch.device, as torch >= 2.6 allows them (2.1 lists some dtypes only)
    for attr in dir(torch):
        if isinstance(getattr(torch, attr), torch.dtype):
            allowed.setdefault(f'torch.{attr}', getattr(torch, attr))
    allowed.setdefault('torch.device', torch.device)
    # the list gives some names under their torch.* spelling only
    for key, obj in list(allowed.items()):
        if key.startswith('torch.') and isinstance(obj, type):
            allowed.setdefault(f'{obj.__module__}.{obj.__qualname__}', obj)
    return allowed


def py3_name(module, name):
    """``module.name`` as Python 3 spells it: protocol <= 2 pickles (torch.save's default)
    write Python-2 names (``__builtin__.getattr``, ``copy_reg``, ``commands.Popen``)."""
    import _compat_pickle
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f'{module}.{name}'


def _allowed(module, name, with_torch):
    key = py3_name(module, name)
    obj = SAFE_GLOBALS.get(key)
    if obj is None and with_torch:
        obj = torch_tensor_globals().get(key)
    return key, obj


def damaged_name(key, with_torch=True):
    """How ``key`` is a damaged allowed name (one character flipped, or cut short), if it
    is one and names nothing loaded: a corrupt file rather than a hostile global."""
    import sys
    module, _, attr = key.rpartition('.')
    if hasattr(sys.modules.get(module), attr):
        return None  # a real global: refused as such
    names = list(SAFE_GLOBALS) + (list(torch_tensor_globals()) if with_torch else [])
    for name in names:
        if len(name) == len(key) and sum(a != b for a, b in zip(name, key)) == 1:
            return f'one character away from {name}'
    stem = key.rstrip('.')
    for name in names:  # torch's reader stops a name at the end of a truncated file
        if stem and name.startswith(stem):
            return f'the start of {name} (the file ends there)'
    return None


def _refuse(name, key, kind='checkpoint', detail=None, with_torch=True):
    near = damaged_name(key, with_torch)
    if near is not None:
        return CheckpointFormatError(
            f'{kind + " " if kind else ""}{name} is corrupt or truncated: its pickle names '
            f'{key}, {near} (a damaged file, not loaded)')
    return UnsafeCheckpointError(refusal(name, key, detail, kind), key)


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only allow-listed globals.

    Args:
        file: A binary file.
        name (str): The file's name, for errors. Default: ``'<pickle>'``.
        with_torch (bool): Also resolve torch's tensor rebuilders (what ``torch.save``
            writes). True when ``torch.load`` uses this module as its ``pickle_module``.
        **kwargs: ``encoding``, ``errors``, ``fix_imports`` of ``pickle.Unpickler``.

    A persistent id (``torch.save``'s storages) is refused unless the caller sets
    ``persistent_load`` (as ``torch.load`` does).
    """

    def __init__(self, file, *, name='<pickle>', with_torch=True, **kwargs):
        super().__init__(file, **kwargs)
        self.name = name
        self.with_torch = with_torch

    def find_class(self, module, name):
        key, obj = _allowed(module, name, self.with_torch)
        if obj is None:
            raise _refuse(self.name, key, kind='', with_torch=self.with_torch)
        return obj


Unpickler = RestrictedUnpickler  # torch.load(pickle_module=safe_pickle) subclasses it


def load(file, **kwargs):
    """``pickle.load`` through :class:`RestrictedUnpickler` (``pickle_module`` API)."""
    return RestrictedUnpickler(file, **kwargs).load()


def refusal(name, global_name=None, detail=None, kind='checkpoint'):
    """The message of :class:`UnsafeCheckpointError` for the file ``name``."""
    what = f'the global {global_name}' if global_name else 'objects'
    return (f'refused to load {kind + " " if kind else ""}{name}: it holds {what}, which is '
            f'outside the safe allow-list (mmresnet.checkpoint.safe_pickle.SAFE_GLOBALS) and '
            f'could execute code when unpickled (nothing was executed'
            f'{"; " + detail if detail else ""}). Only load files you trust; re-save a '
            'trusted checkpoint as a plain state dict of tensors.')


def load_pickle(file, name, encoding='ASCII'):
    """An allow-listed pickle that holds no tensors (MSRA weights, CIFAR batches): dicts,
    lists, bytes, numpy arrays. Refused globals raise :class:`UnsafeCheckpointError`;
    other errors are the unpickler's own (the caller knows the expected format)."""
    return RestrictedUnpickler(file, name=name, with_torch=False, encoding=encoding).load()


# -- torch.load --------------------------------------------------------------------------
def torch_has_safe_globals():
    """Whether the running torch takes the allow-list into its own ``weights_only`` loader."""
    version = tuple(int(x) for x in re.findall(r'\d+', torch.__version__)[:2])
    return (version >= TORCH_WEIGHTS_ONLY_WITH_PAIRS
            and hasattr(torch.serialization, 'add_safe_globals'))


def register_safe_globals():
    """Give :data:`SAFE_GLOBALS` to torch's ``weights_only`` loader (idempotent; nothing on
    a torch without ``(object, name)`` pairs in ``add_safe_globals``)."""
    if torch_has_safe_globals():
        torch.serialization.add_safe_globals(
            [(obj, key) for key, obj in SAFE_GLOBALS.items()])


NOT_A_CHECKPOINT = ('is not a PyTorch checkpoint (torch.save writes a zip archive or a '
                    'pickle of tensors): ')


def _torch_load(source, map_location, restricted):
    if restricted:
        import sys
        return torch.load(source, map_location=map_location,
                          pickle_module=sys.modules[__name__])
    register_safe_globals()
    return torch.load(source, map_location=map_location, weights_only=True)


def _device_error(e):
    """A map_location the machine cannot honour: the user's argument, not the file."""
    return isinstance(e, RuntimeError) and re.search(
        r'CUDA|cuda|device|map_location', str(e).splitlines()[0] if str(e) else '')


def safe_torch_load(source, name, map_location='cpu', restricted=None):
    """``torch.load`` under the allow-list, with errors that name ``name``.

    Args:
        source (str | file): A path or a binary file.
        name (str): The file's name, for errors.
        map_location: As ``torch.load``'s.
        restricted (bool | None): Use :class:`RestrictedUnpickler` as ``torch.load``'s
            ``pickle_module`` (True) or torch's ``weights_only`` loader with the allow-list
            (False). Default: the latter where the running torch has it
            (:func:`torch_has_safe_globals`).

    Raises:
        UnsafeCheckpointError: a global outside the allow-list; the payload never ran.
        CheckpointFormatError: no checkpoint (text, random bytes, empty, truncated,
            corrupt).
    """
    if restricted is None:
        restricted = not torch_has_safe_globals()
    try:
        return _torch_load(source, map_location, restricted)
    except UnsafeCheckpointError as e:  # the project's unpickler
        detail = str(e) if e.global_name == 'builtins.getattr' else None
        raise _refuse(name, e.global_name, detail=detail) from None
    except CheckpointFormatError as e:  # the project's unpickler: a damaged name
        raise CheckpointFormatError(str(e).replace('<pickle>', name, 1)) from None
    except pickle.UnpicklingError as e:  # torch's weights_only unpickler, or bad bytes
        text = str(e)
        found = re.search(r'GLOBAL (\S+)', text)
        refused = re.search(r'refused getattr[^\n]*', text)
        if found or refused:
            key = found.group(1) if found else 'builtins.getattr'
            module, _, attr = key.rpartition('.')
            key = py3_name(module or 'builtins', attr)  # torch writes builtins bare
            raise _refuse(name, key, detail=refused.group(0) if refused else None) from None
        garbage = re.search(r'(Unsupported operand \S+|invalid load key[^\n]*|could not find '
                            r'MARK|unpickling stack underflow)', text)
        if garbage:
            raise CheckpointFormatError(f'{name} {NOT_A_CHECKPOINT}{garbage.group(1)}'
                                        ) from None
        raise CheckpointFormatError(f'checkpoint {name} is corrupt or truncated (its pickle '
                                    f'does not read: {_first_line(text)})') from None
    except EOFError:
        raise CheckpointFormatError(f'{name} {NOT_A_CHECKPOINT}the file is empty or ends '
                                    'too early') from None
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        # torch's pickle reader on text or other bytes: KeyError of a byte value, an empty
        # mark stack, ...
        raise CheckpointFormatError(f'{name} {NOT_A_CHECKPOINT}its bytes are no pickle '
                                    f'({type(e).__name__}: {_first_line(e)}; a text file?)'
                                    ) from None
    except Exception as e:  # noqa: BLE001 -- zip, storage or pickle errors of a bad file
        if _device_error(e):
            raise
        raise CheckpointFormatError(f'checkpoint {name} is corrupt or truncated '
                                    f'({type(e).__name__}: {_first_line(e)})') from None


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else 'no message'
