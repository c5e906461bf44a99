"""Engine pieces: safe checkpoint loading (registered on import), atomic saves, guards,
the backbone export, and the logic behind tools/train.py and tools/test.py."""
from .checkpoint import (AtomicCheckpointHook, UnsafeCheckpointError, atomic_write,
                         load_checkpoint_file, register_safe_globals)
from .export import export_backbone
from .hooks import DivergenceError, StopOnNonFiniteLossHook

__all__ = ['AtomicCheckpointHook', 'UnsafeCheckpointError', 'atomic_write',
           'load_checkpoint_file', 'register_safe_globals', 'export_backbone',
           'DivergenceError', 'StopOnNonFiniteLossHook']
