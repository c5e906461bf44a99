"""Imports in models/ run one way: layers -> utils -> backbones / roi_heads / classifiers, and
the engine asks models for their recipe without importing a model class (docs/architecture.md).
Read from the source (every import, at module level or inside a function)."""
import ast
from pathlib import Path

import pytest

import mmresnet

PACKAGE = Path(mmresnet.__file__).parent


def imported_packages(path):
    """The ``mmresnet.*`` modules a file imports, as absolute dotted names."""
    module = '.'.join(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    package = module.rsplit('.', 1)[0] if path.name != '__init__.py' else module
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            names = [f'{name}.{a.name}' for a in node.names]
            found.update(n for n in [name] + names if n.startswith('mmresnet'))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith('mmresnet'))
    return found


# (folder, packages its files must not import)
RULES = [
    ('models/layers', ('mmresnet.models.utils', 'mmresnet.models.backbones',
                       'mmresnet.models.roi_heads', 'mmresnet.models.classifiers')),
    ('models/utils', ('mmresnet.models.backbones', 'mmresnet.models.roi_heads',
                      'mmresnet.models.classifiers')),
    ('models/roi_heads', ('mmresnet.models.backbones', )),
    ('models/backbones', ('mmresnet.models.roi_heads', 'mmresnet.models.classifiers')),
    ('engine', ('mmresnet.models.backbones', 'mmresnet.models.roi_heads',
                'mmresnet.models.classifiers')),
]


@pytest.mark.parametrize('folder, forbidden', RULES, ids=[r[0] for r in RULES])
def test_imports_run_one_way(folder, forbidden):
    files = sorted((PACKAGE / folder).rglob('*.py'))
    assert files
    wrong = {str(f.relative_to(PACKAGE)): sorted(n for n in imported_packages(f)
                                                  if n.startswith(forbidden))
             for f in files}
    assert not {k: v for k, v in wrong.items() if v}, wrong


def test_the_reader_resolves_relative_imports():
    """Else the test above could pass on nothing."""
    f = PACKAGE / 'models' / 'utils' / 'recipe.py'
    assert 'mmresnet.models.utils.weights' in imported_packages(f)
    assert 'mmresnet.models.layers.IMAGENET_SETTINGS' in imported_packages(
        PACKAGE / 'models' / 'backbones' / 'paper_resnet.py')
