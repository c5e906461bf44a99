"""The registries of the ``mmresnet`` scope, as OpenMMLab projects have them
(``mmdet.registry``, ``mmpretrain.registry``): one node per MMEngine root registry, a child
of mmdet's node where mmdet has one (else of MMEngine's root), with ``locations`` that
import mmdet's modules and the project's.

MMEngine uses them where a config names the scope ``mmresnet``: the dicts a config
inherits from ``_base_ = 'mmresnet::...'`` carry ``_scope_='mmresnet'``, and a config may
set ``default_scope = 'mmresnet'``. MMEngine then imports ``mmresnet.registry`` by itself
(no ``custom_imports`` needed for building) and finds mmdet's modules (``FasterRCNN``,
``DetDataPreprocessor``, ``DetLocalVisualizer``, ...) and the project's (``PaperResNet``,
``AtomicCheckpointHook``, ...) through these nodes.

The project's classes stay registered in mmdet's registries (where ``import mmresnet``
puts them), so configs with ``default_scope = 'mmdet'`` and ``custom_imports =
dict(imports=['mmresnet'])`` keep building; a node of this scope finds them through its
parent. Nothing is registered here.
"""
import mmdet.registry as _mmdet
import mmengine.registry as _mmengine
from mmengine.registry import Registry

SCOPE = 'mmresnet'
# MMEngine's root registries, each with the project's modules that register in it
_OWN_LOCATIONS = {
    'MODELS': ['mmresnet.models'],
    'DATASETS': ['mmresnet.datasets'],
    'TRANSFORMS': ['mmresnet.datasets'],
    'HOOKS': ['mmresnet.engine'],
    'LOOPS': ['mmresnet.engine'],
    'OPTIM_WRAPPERS': ['mmresnet.engine'],
    'METRICS': ['mmresnet.evaluation'],
}
ROOT_NAMES = ('RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES', 'DATASETS',
              'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
              'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
              'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS',
              'VISBACKENDS', 'LOG_PROCESSORS', 'INFERENCERS', 'FUNCTIONS')


def _node(name):
    parent = getattr(_mmdet, name, None)  # not `or`: an empty registry is false
    if parent is None:
        parent = getattr(_mmengine, name)
    locations = list(getattr(parent, '_locations', [])) + _OWN_LOCATIONS.get(name, [])
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=locations)


RUNNERS = _node('RUNNERS')
RUNNER_CONSTRUCTORS = _node('RUNNER_CONSTRUCTORS')
LOOPS = _node('LOOPS')
HOOKS = _node('HOOKS')
STRATEGIES = _node('STRATEGIES')
DATASETS = _node('DATASETS')
DATA_SAMPLERS = _node('DATA_SAMPLERS')
TRANSFORMS = _node('TRANSFORMS')
MODELS = _node('MODELS')
MODEL_WRAPPERS = _node('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _node('WEIGHT_INITIALIZERS')
OPTIMIZERS = _node('OPTIMIZERS')
OPTIM_WRAPPERS = _node('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _node('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _node('PARAM_SCHEDULERS')
METRICS = _node('METRICS')
EVALUATOR = _node('EVALUATOR')
TASK_UTILS = _node('TASK_UTILS')
VISUALIZERS = _node('VISUALIZERS')
VISBACKENDS = _node('VISBACKENDS')
LOG_PROCESSORS = _node('LOG_PROCESSORS')
INFERENCERS = _node('INFERENCERS')
FUNCTIONS = _node('FUNCTIONS')

__all__ = list(ROOT_NAMES)
