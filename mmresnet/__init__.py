"""mmresnet: the ResNets of He et al. 2015 for MMEngine / MMDetection.

Importing the package registers its modules in MMDetection's registries, so configs use
``custom_imports=dict(imports=['mmresnet'])`` and ``type='PaperResNet'``. The scope
``mmresnet`` (``default_scope = 'mmresnet'``, and what a config inherits from
``_base_ = 'mmresnet::...'``) has its registries in :mod:`mmresnet.registry`, children of
mmdet's; MMEngine imports the package by itself when it builds in that scope.

What ``import mmresnet`` changes in MMEngine, for the whole process:

- **Checkpoint loading is restricted** (:mod:`mmresnet.checkpoint.loading`). Every scheme
  of MMEngine's ``CheckpointLoader`` (local paths, ``http(s)://``, ``torchvision://``,
  ``open-mmlab://``, ``s3://``, ...) is re-registered with a loader that reads through the
  project's one allow-list of what MMEngine checkpoints hold (``HistoryBuffer``, numpy
  arrays and dtypes; :mod:`mmresnet.checkpoint.safe_pickle`: torch's ``weights_only``
  loader on torch >= 2.6, the project's restricted unpickler on 2.0-2.5);
  a checkpoint that would run code is refused (``UnsafeCheckpointError``), ``pavi://`` is
  refused. On torch >= 2.6 also for plain ``torch.load`` calls of other code in the process
  (torch's default there is ``weights_only=True``; on older torch it is not).
- **An ``atomic_local`` file backend** (temp file + rename) is registered
  (:mod:`mmresnet.checkpoint.saving`); the project's ``AtomicCheckpointHook`` saves through
  it. MMEngine's default backend is not replaced.
- **``mmresnet::`` config paths** resolve (``mmengine.hub.get_config('mmresnet::faster_rcnn/
  ...')``, ``_base_ = 'mmresnet::...'``): the package is added to MMEngine's table of
  packages with configs (:mod:`mmresnet.resources`); the configs ship in ``mmresnet/.mim``.
- The hooks, loops, optimiser wrappers, datasets, transforms and models of the project are
  registered under their own names; nothing of MMEngine's or mmdet's is overridden.

See docs/checkpoint_safety.md and docs/architecture.md.
"""
from . import checkpoint, datasets, engine, evaluation, models  # noqa: F401
from . import registry  # noqa: F401  (the scope `mmresnet`: mmresnet/registry.py)
from .resources import register_config_scope

register_config_scope()

__version__ = '0.1.0'
