"""Engine pieces: safe checkpoint loading (registered on import), atomic saves, guards."""
from .checkpoint import (AtomicCheckpointHook, UnsafeCheckpointError, atomic_write,
                         load_checkpoint_file, register_safe_globals)
from .hooks import DivergenceError, StopOnNonFiniteLossHook

__all__ = ['AtomicCheckpointHook', 'UnsafeCheckpointError', 'atomic_write',
           'load_checkpoint_file', 'register_safe_globals', 'DivergenceError',
           'StopOnNonFiniteLossHook']
