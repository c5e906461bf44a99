"""The package's layout rules (docs/architecture.md, "Imports go one way"), read from the
source: every import, at module level or inside a function, counts.

- no import circles between modules, counting the package ``__init__`` files an import runs
  (``import mmresnet.a.b`` runs ``mmresnet/a/__init__.py``);
- each folder imports only the folders below it (``RULES``); nothing outside
  ``benchmarks/`` imports the benchmarks;
- one place for each decision: ``IMG_EXTENSIONS`` and the other constants assigned once, one
  restricted unpickler;
- no module over 450 lines, no tool over 150.
"""
import ast
from pathlib import Path

import pytest

import mmresnet

PACKAGE = Path(mmresnet.__file__).parent
TOOLS = PACKAGE.parent / 'tools'
MODULES = {'.'.join(p.relative_to(PACKAGE.parent).with_suffix('').parts)
           .removesuffix('.__init__'): p for p in sorted(PACKAGE.rglob('*.py'))}


def imported_names(module, path):
    """Every ``mmresnet.*`` name a file imports (modules and the names taken from them),
    as absolute dotted names."""
    package = module if path.name == '__init__.py' else module.rsplit('.', 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            found.update(n for n in [name] + [f'{name}.{a.name}' for a in node.names]
                         if n.split('.')[0] == 'mmresnet')
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split('.')[0] == 'mmresnet')
    return found


def _ancestors(module):
    parts = module.split('.')
    return ['.'.join(parts[:i]) for i in range(1, len(parts))]


def import_graph():
    """module -> the modules its imports run: the imported module and each package
    ``__init__`` on the way to it that is not already being imported (an ancestor of the
    importer, or the importer itself)."""
    graph = {}
    for module, path in MODULES.items():
        own = set(_ancestors(module)) | {module}
        edges = set()
        for name in imported_names(module, path):
            while name not in MODULES:  # `from pkg.mod import name`: the module
                name = name.rsplit('.', 1)[0]
            edges.update(m for m in _ancestors(name) + [name] if m not in own)
        graph[module] = edges
    return graph


def find_cycle(graph):
    """One import circle as a list of modules, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 'open'
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 'open':
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        state[m] = 'done'
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_circles():
    assert find_cycle(import_graph()) is None, ' -> '.join(find_cycle(import_graph()))


def test_a_circle_is_found():
    """Else the test above could pass on nothing."""
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    graph = import_graph()
    assert 'mmresnet.models.layers' in graph['mmresnet.models.backbones.paper_resnet']
    assert 'mmresnet.models' in graph['mmresnet.analysis.complexity']  # the __init__ run


ALL = ('analysis', 'apis', 'benchmarks', 'checkpoint', 'config', 'convert', 'datasets',
       'deploy',
       'engine', 'evaluation', 'models', 'planning', 'registry', 'resources', 'utils',
       '__main__')
# folder -> the packages of mmresnet it may import (besides itself)
ALLOWED = {
    'utils': (),
    'registry': (),  # mmdet's and MMEngine's registries only
    'resources': ('utils', ),
    'checkpoint': ('utils', ),
    'evaluation': ('utils', ),
    'models': ('utils', 'checkpoint', 'evaluation'),
    'datasets': ('utils', 'checkpoint'),
    'engine': ('utils', 'checkpoint', 'datasets', 'models.utils'),
    'convert': ('utils', 'checkpoint', 'models'),
    # the one way in for a config and the one model builder (mmresnet/config.py), under
    # every folder that reads a config or builds a model
    'config': ('utils', 'resources', 'engine', 'models', 'mmresnet'),
    'analysis': ('utils', 'models', 'evaluation', 'config', 'mmresnet'),
    'planning': ('utils', 'datasets', 'engine', 'models', 'config', 'resources'),
    'deploy': ('utils', 'models', 'resources', 'engine.precision', 'config', 'mmresnet'),
    'apis': ('utils', 'checkpoint', 'datasets', 'engine', 'models', 'evaluation', 'analysis',
             'convert', 'planning', 'deploy', 'resources', 'config', 'mmresnet'),
    'benchmarks': ALL[:2] + ALL[3:] + ('mmresnet', ),
    '__main__': ('resources', ),
}
# models/: its own layers, one way (layers -> utils -> backbones / roi_heads / classifiers)
MODELS_RULES = {
    'models.layers': ('models.utils', 'models.backbones', 'models.roi_heads',
                      'models.classifiers'),
    'models.utils': ('models.backbones', 'models.roi_heads', 'models.classifiers'),
    'models.roi_heads': ('models.backbones', 'models.classifiers'),
    'models.backbones': ('models.roi_heads', 'models.classifiers'),
}


def _folder(module):
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else 'mmresnet'


def _allowed(importer, target):
    if target == 'mmresnet':  # the registrations of `import mmresnet`
        return 'mmresnet' in ALLOWED[_folder(importer)]
    folder, rest = _folder(target), target.split('.', 1)[1]
    if folder == _folder(importer):
        sub = importer.split('.', 1)[1]
        return not any(sub.startswith(k) and rest.startswith(bad)
                       for k, bads in MODELS_RULES.items() for bad in bads)
    return any(rest == a or rest.startswith(a + '.') or folder == a
               for a in ALLOWED[_folder(importer)])


def test_folders_import_one_way():
    assert {_folder(m) for m in MODULES if m != 'mmresnet'} <= set(ALLOWED), \
        'a new folder: give it a row in ALLOWED'
    wrong = {}
    for module, path in MODULES.items():
        if module == 'mmresnet':
            continue
        bad = sorted(t for t in imported_names(module, path)
                     if not _allowed(module, _as_module(t)))
        if bad:
            wrong[module] = bad
    assert not wrong, wrong


def _as_module(name):
    while name not in MODULES:
        name = name.rsplit('.', 1)[0]
    return name


def test_the_rules_see_a_wrong_import():
    assert not _allowed('mmresnet.models.layers.blocks', 'mmresnet.models.utils.base')
    assert not _allowed('mmresnet.engine.hooks', 'mmresnet.models.backbones.paper_resnet')
    assert not _allowed('mmresnet.planning.plan', 'mmresnet.benchmarks.models')
    assert _allowed('mmresnet.engine.hooks', 'mmresnet.models.utils.recipe')
    assert 'mmresnet.utils.check_int' in imported_names(
        'mmresnet.models.roi_heads.c4_shared_head',
        PACKAGE / 'models' / 'roi_heads' / 'c4_shared_head.py')


def _assignments(name):
    where = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, ast.AnnAssign) else [])
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                where.append(module)
    return where


@pytest.mark.parametrize('name', ['IMG_EXTENSIONS', 'IMAGENET_RGB', 'CAFFE_BGR',
                                  'TEST_PROTOCOLS', 'CHECKPOINT_FORMATS', 'DEPLOY_BACKENDS',
                                  'SAFE_GLOBALS'])
def test_each_constant_is_assigned_once(name):
    assert len(_assignments(name)) == 1, _assignments(name)


def test_one_restricted_unpickler():
    unpicklers = [(m, node.name) for m, path in MODULES.items()
                  for node in ast.walk(ast.parse(path.read_text()))
                  if isinstance(node, ast.ClassDef)
                  and any('Unpickler' in ast.unparse(b) for b in node.bases)]
    assert len(unpicklers) == 1, unpicklers


def test_module_and_tool_sizes():
    long = {str(p): n for p in list(MODULES.values())
            if (n := len(p.read_text().splitlines())) > 450}
    long.update({str(p): n for p in TOOLS.rglob('*.py')
                 if (n := len(p.read_text().splitlines())) > 150})
    assert not long, long
