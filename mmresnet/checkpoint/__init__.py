"""Checkpoints in and out: the one allow-list and restricted unpickler
(:mod:`.safe_pickle`), the file formats (:mod:`.files`: ``.pth`` and ``.safetensors``), safe
loading by every scheme of MMEngine's ``CheckpointLoader`` (:mod:`.loading`), atomic saving
(:mod:`.saving`) and the errors a checkpoint raises (:mod:`.errors`).

Importing this package changes MMEngine for the whole process (see :mod:`mmresnet`): every
``CheckpointLoader`` scheme is re-registered with the safe loader, ``pavi://`` is refused, the
allow-list is given to torch's ``weights_only`` loader (torch >= 2.6) and the
``atomic_local`` file backend is registered. Imports nothing of mmresnet but
:mod:`mmresnet.utils`; the layers inside run one way: errors -> safe_pickle -> files ->
loading, saving.
"""
from .errors import (CheckpointFormatError, RecipeMismatchError, UnsafeCheckpointError,
                     WeightsMismatchError)
from .files import is_safetensors_file, output_format
from .loading import load_checkpoint_file
from .safe_pickle import load_pickle
from .saving import (atomic_write, remove_stale_temp_files, save_checkpoint_atomically,
                     write_checkpoint)

__all__ = ['CheckpointFormatError', 'RecipeMismatchError', 'UnsafeCheckpointError',
           'WeightsMismatchError', 'is_safetensors_file', 'output_format',
           'load_checkpoint_file', 'load_pickle', 'atomic_write', 'remove_stale_temp_files',
           'save_checkpoint_atomically', 'write_checkpoint']
