"""What ``import mmresnet`` adds to MMDetection's and MMEngine's registries: classes only,
under the names configs use (``type=...``)."""
import inspect

import mmdet.registry
import mmengine.registry
from mmengine.registry import Registry

import mmresnet  # noqa: F401  (registers)


def _entries_of_mmresnet():
    found = {}
    for module in (mmdet.registry, mmengine.registry):
        for name in dir(module):
            registry = getattr(module, name)
            if not isinstance(registry, Registry):
                continue
            for key, obj in registry.module_dict.items():
                if getattr(obj, '__module__', '').split('.')[0] == 'mmresnet':
                    found[f'{module.__name__}.{name}[{key!r}]'] = obj
    return found


def test_every_entry_mmresnet_registers_is_a_class():
    found = _entries_of_mmresnet()
    for name in ("mmdet.registry.OPTIM_WRAPPERS['AutocastOptimWrapper']",
                 "mmdet.registry.HOOKS['SpeedUpHook']",
                 "mmdet.registry.HOOKS['LazyRuntimeInfoHook']",
                 "mmdet.registry.MODELS['PaperResNet']"):
        assert name in found, sorted(found)
    assert [k for k, obj in found.items() if not inspect.isclass(obj)] == []
