"""What plugs into MMEngine's Runner: the atomic checkpoint hook, hooks (divergence guard,
recipe, ResNet-110 warm-up), the device-data loop, sync-free iterations, the precision
(decided once: :mod:`.precision`) and bf16 autocast, speed switches, preemption
(checkpoint on a signal, mid-epoch resume), elastic runs (what each start resumes
from, the world size of a checkpoint), a time budget kept by the speed measured while
training (:mod:`.budget`)."""
from .budget import BudgetHook
from .checkpoint_hook import AtomicCheckpointHook
from .device_loop import DeviceIterBasedTrainLoop, build_device_loader
from .preemption import PREEMPTED_EXIT_CODE, PreemptionHook
from .elastic import ElasticHook
from .hooks import DivergenceError, RecipeHook, StopOnNonFiniteLossHook, WarmupUntilErrorHook
from .autocast import AutocastOptimWrapper, apply_float32_islands, run_in_float32
from .precision import Precision, cpu_has_native_bf16, decide_precision
from .frozen_bn import FrozenBatchNorm2d, fold_bn_into_conv, freeze_bn
from .runtime_info import AppendHistoryBuffer, LazyRuntimeInfoHook, read_scalars
from .speed_switches import SpeedUpHook, to_channels_last

__all__ = ['AtomicCheckpointHook', 'ElasticHook', 'BudgetHook',
           'PREEMPTED_EXIT_CODE', 'PreemptionHook', 'DeviceIterBasedTrainLoop',
           'build_device_loader',
           'DivergenceError', 'RecipeHook', 'StopOnNonFiniteLossHook', 'FrozenBatchNorm2d', 'SpeedUpHook',
           'fold_bn_into_conv', 'freeze_bn', 'to_channels_last', 'AppendHistoryBuffer',
           'AutocastOptimWrapper', 'LazyRuntimeInfoHook', 'read_scalars', 'WarmupUntilErrorHook',
           'cpu_has_native_bf16', 'run_in_float32', 'apply_float32_islands', 'Precision',
           'decide_precision']
