"""mmresnet: the ResNets of He et al. 2015 for MMEngine / MMDetection.

Importing the package registers its modules in MMDetection's registries, so configs use
``custom_imports=dict(imports=['mmresnet'])`` and ``type='PaperResNet'``.

What ``import mmresnet`` changes in MMEngine, for the whole process:

- **Checkpoint loading is restricted.** Every scheme of MMEngine's ``CheckpointLoader``
  (local paths, ``http(s)://``, ``torchvision://``, ``open-mmlab://``, ``s3://``, ...) is
  re-registered with a loader that reads with ``torch.load(weights_only=True)`` plus an
  allow-list of what MMEngine checkpoints hold (``HistoryBuffer``, numpy arrays and dtypes);
  a checkpoint that would run code is refused (``UnsafeCheckpointError``), ``pavi://`` is
  refused. Also for checkpoints loaded by plain mmdet code in the same process.
- **An ``atomic_local`` file backend** (temp file + rename) is registered; the project's
  ``AtomicCheckpointHook`` saves through it. MMEngine's default backend is not replaced.
- The hooks, loops, optimiser wrappers, datasets, transforms and models of the project are
  registered under their own names; nothing of MMEngine's or mmdet's is overridden.

See docs/checkpoint_safety.md and docs/architecture.md.
"""
from . import datasets, engine, evaluation, models  # noqa: F401

__version__ = '0.1.0'
