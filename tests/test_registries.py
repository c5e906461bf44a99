"""What ``import mmresnet`` adds to MMDetection's and MMEngine's registries: classes only,
under the names configs use (``type=...``)."""
import inspect
import json
import subprocess
import sys
from pathlib import Path

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


def test_the_mmresnet_scope_has_a_node_under_each_of_mmdets():
    """``mmresnet.registry``: one node of scope ``mmresnet`` per MMEngine root registry, a
    child of mmdet's where mmdet has one, importing mmdet's modules and the project's."""
    import mmresnet.registry as own
    for name in own.ROOT_NAMES:
        node, root = getattr(own, name), getattr(mmengine.registry, name)
        assert node.scope == 'mmresnet' and node.name == node.parent.name, name
        assert node.parent is getattr(mmdet.registry, name, root), name
        assert root._search_child('mmresnet') is node, name  # what MMEngine looks up
    assert own.MODELS._locations == ['mmdet.models', 'mmresnet.models']
    assert 'mmresnet.engine' in own.HOOKS._locations


DEMO = Path(__file__).resolve().parents[1] / 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'
BUILD_IN_SCOPE = r'''
import json, sys
from mmengine.config import Config
from mmengine.registry import MODELS, VISUALIZERS, init_default_scope
cfg = Config.fromfile(sys.argv[1], import_custom_modules=False)
before = 'mmresnet' in sys.modules
init_default_scope('mmresnet')
model = MODELS.build(cfg.model)
vis = VISUALIZERS.build(dict(type='DetLocalVisualizer', name='v'))
print(json.dumps([before, type(model).__name__, type(model.backbone).__name__,
                  type(model.roi_head.shared_head).__name__,
                  type(model.data_preprocessor).__name__, type(vis).__name__]))
'''


def test_default_scope_mmresnet_builds_without_an_import(tmp_path):
    """``default_scope = 'mmresnet'`` and no custom_imports: MMEngine imports
    ``mmresnet.registry`` itself and finds mmdet's modules and the project's."""
    cfg = tmp_path / 'mine.py'
    cfg.write_text(f"_base_ = '{DEMO}'\ndefault_scope = 'mmresnet'\ncustom_imports = None\n")
    out = subprocess.run([sys.executable, '-c', BUILD_IN_SCOPE, str(cfg)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        False, 'FasterRCNN', 'PaperResNet', 'PaperResLayer', 'DetDataPreprocessor',
        'DetLocalVisualizer']
    assert 'Failed to search registry' not in out.stdout + out.stderr


def test_a_dict_of_the_mmresnet_scope_builds_in_the_mmdet_scope():
    """What ``_base_ = 'mmresnet::...'`` gives: dicts with ``_scope_='mmresnet'`` in a run
    whose default scope is mmdet's."""
    from mmengine.registry import DefaultScope

    from mmresnet.resources import read_config
    cfg = read_config(str(DEMO))
    model = dict(cfg.model, _scope_='mmresnet')
    with DefaultScope.overwrite_default_scope('mmdet'):
        built = mmengine.registry.MODELS.build(model)
    assert type(built.backbone).__name__ == 'PaperResNet'
