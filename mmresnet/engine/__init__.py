"""Engine pieces: safe checkpoint loading (registered on import), atomic saves, guards,
the backbone export, speed switches (sync-free iterations included), and the logic behind
tools/train.py and tools/test.py."""
from .checkpoint import (AtomicCheckpointHook, CheckpointFormatError, UnsafeCheckpointError,
                         atomic_write, load_checkpoint_file, register_safe_globals,
                         remove_stale_temp_files)
from .device_loop import DeviceIterBasedTrainLoop, build_device_loader
from .export import export_backbone
from .hooks import DivergenceError, RecipeHook, StopOnNonFiniteLossHook
from .speed import (FrozenBatchNorm2d, SpeedUpHook, fold_bn_into_conv, freeze_bn,
                    to_channels_last)
from .sync_free import (AppendHistoryBuffer, AutocastOptimWrapper, LazyRuntimeInfoHook,
                        cpu_has_native_bf16, read_scalars, run_in_float32)
from .warmup import WarmupUntilErrorHook

__all__ = ['AtomicCheckpointHook', 'UnsafeCheckpointError', 'atomic_write',
           'CheckpointFormatError', 'remove_stale_temp_files',
           'load_checkpoint_file', 'register_safe_globals', 'DeviceIterBasedTrainLoop',
           'build_device_loader', 'export_backbone',
           'DivergenceError', 'RecipeHook', 'StopOnNonFiniteLossHook', 'FrozenBatchNorm2d', 'SpeedUpHook',
           'fold_bn_into_conv', 'freeze_bn', 'to_channels_last', 'AppendHistoryBuffer',
           'AutocastOptimWrapper', 'LazyRuntimeInfoHook', 'read_scalars', 'WarmupUntilErrorHook',
           'cpu_has_native_bf16', 'run_in_float32']
