"""The package, its tools and configs are Python 3.8 code (only 3.11 runs here); the test
suite is Python 3.10 code (``zip(strict=)``, ``str.removesuffix``): setup.py's
``python_requires='>=3.8'`` is the package's claim, the suite claims 3.10 (SUITE_PYTHON).

``ast.parse(feature_version=(3, 8))`` refuses 3.9+ grammar (``match``, parenthesised context
managers, ...); the AST walk below finds what that parse accepts but 3.8 fails on at run
time: ``X | Y`` and ``list[int]`` evaluated as annotations or arguments, and 3.9+ library
calls (``str.removeprefix``, ``math.lcm``, ``functools.cache``, ``zoneinfo``, ``dict | dict``).
"""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FOLDERS = ('mmresnet', 'tools', 'configs')
GENERIC_BUILTINS = {'list', 'dict', 'tuple', 'set', 'frozenset', 'type'}
# attributes only 3.9+ types have (str, bytes, Path, int)
NEW_METHODS = {'removeprefix': '3.9', 'removesuffix': '3.9', 'is_relative_to': '3.9',
               'with_stem': '3.9', 'bit_count': '3.10'}
NEW_FUNCTIONS = {('math', 'lcm'): '3.9', ('math', 'nextafter'): '3.9', ('math', 'ulp'): '3.9',
                 ('functools', 'cache'): '3.9', ('itertools', 'pairwise'): '3.10',
                 ('itertools', 'batched'): '3.12', ('random', 'randbytes'): '3.9',
                 ('ast', 'unparse'): '3.9', ('asyncio', 'to_thread'): '3.9',
                 ('os', 'waitstatus_to_exitcode'): '3.9', ('typing', 'Annotated'): '3.9',
                 ('importlib.resources', 'files'): '3.9', ('inspect', 'get_annotations'): '3.10',
                 ('typing', 'TypeAlias'): '3.10', ('typing', 'ParamSpec'): '3.10',
                 ('typing', 'Self'): '3.11', ('types', 'NoneType'): '3.10',
                 ('contextlib', 'aclosing'): '3.10', ('hashlib', 'file_digest'): '3.11'}
NEW_MODULES = {'zoneinfo': '3.9', 'graphlib': '3.9', 'tomllib': '3.11'}
NEW_KEYWORDS = {('zip', 'strict'): '3.10', ('dataclass', 'slots'): '3.10',
                ('dataclass', 'kw_only'): '3.10'}


def python_files():
    for folder in FOLDERS:
        yield from sorted((ROOT / folder).rglob('*.py'))
    yield ROOT / '_mmresnet_scope.py'  # run at start-up by the wheel's .pth


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return '.'.join(reversed(parts))
    return None


def _is_new_type_expr(node):
    """``X | Y`` or ``list[...]`` anywhere inside ``node``."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.BitOr):
            return 'X | Y'
        if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) \
                and sub.value.id in GENERIC_BUILTINS:
            return f'{sub.value.id}[...]'
    return None


#: The Python the test suite needs (docs/get_started.md); the package's is setup.py's 3.8.
SUITE_PYTHON = (3, 10)


def offenders(path, version=(3, 8)):
    """What in ``path`` needs a Python newer than ``version``."""
    src = path.read_text(encoding='utf-8')
    rel = path.relative_to(ROOT) if ROOT in path.parents else path.name
    try:
        tree = ast.parse(src, str(rel), feature_version=version)
    except SyntaxError as e:
        return [f'{rel}:{e.lineno}: not Python {version[0]}.{version[1]} grammar: {e.msg}']
    future = any(isinstance(n, ast.ImportFrom) and n.module == '__future__'
                 and any(a.name == 'annotations' for a in n.names) for n in tree.body)
    found = []

    def bad(node, what):
        found.append(f'{rel}:{node.lineno}: {what}')

    annotations = set()
    for node in ast.walk(tree):
        anns = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            anns = [x.annotation for x in a.posonlyargs + a.args + a.kwonlyargs
                    + [a.vararg, a.kwarg] if x is not None and x.annotation is not None]
            anns += [node.returns] if node.returns is not None else []
        elif isinstance(node, ast.AnnAssign):
            anns = [node.annotation]
        for ann in anns:
            annotations.update(id(n) for n in ast.walk(ann))
            what = _is_new_type_expr(ann)
            if what and not future:
                bad(ann, f'{what} in an annotation without `from __future__ import '
                    'annotations` (evaluated at run time, 3.9/3.10+)')
    for node in ast.walk(tree):
        if id(node) in annotations:
            continue
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in GENERIC_BUILTINS:
            bad(node, f'{node.value.id}[...] at run time (3.9+)')
        if isinstance(node, ast.Call):
            fn = _dotted(node.func)
            if fn in ('isinstance', 'issubclass') and len(node.args) == 2 \
                    and isinstance(node.args[1], ast.BinOp):
                bad(node, f'{fn}(x, A | B) (3.10+)')
            name = fn.rpartition('.')[2] if fn else None
            for kw in node.keywords:
                if (name, kw.arg) in NEW_KEYWORDS:
                    bad(node, f'{name}({kw.arg}=...) ({NEW_KEYWORDS[(name, kw.arg)]}+)')
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) and any(
                isinstance(s, (ast.Dict, ast.DictComp)) or (
                    isinstance(s, ast.Call) and _dotted(s.func) == 'dict')
                for s in (node.left, node.right)):
            bad(node, 'dict | dict (3.9+)')
        if isinstance(node, ast.Attribute):
            if node.attr in NEW_METHODS:
                bad(node, f'.{node.attr}() ({NEW_METHODS[node.attr]}+)')
            owner = _dotted(node.value)
            if (owner, node.attr) in NEW_FUNCTIONS:
                bad(node, f'{owner}.{node.attr} ({NEW_FUNCTIONS[(owner, node.attr)]}+)')
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if (node.module, a.name) in NEW_FUNCTIONS:
                    bad(node, f'from {node.module} import {a.name} '
                        f'({NEW_FUNCTIONS[(node.module, a.name)]}+)')
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) \
                else [node.module or '']
            for mod in mods:
                if mod.partition('.')[0] in NEW_MODULES:
                    bad(node, f'import {mod} ({NEW_MODULES[mod.partition(".")[0]]}+)')
    return [f for f in found if _needs(f) > version]


def _needs(offence):
    """The Python an offence needs: '(3.10+)' -> (3, 10); (3, 9) where it says none."""
    found = re.search(r'(\d+)\.(\d+)\+', offence)
    return (int(found[1]), int(found[2])) if found else (3, 9)


def test_package_tools_configs_are_python38():
    files = list(python_files())
    assert len(files) > 100  # the package, its tools and configs were found
    found = [line for path in files for line in offenders(path)]
    assert not found, 'Python 3.8 offenders:\n' + '\n'.join(found)


@pytest.mark.parametrize('code, what', [
    ('def f(x: int | None): pass', 'X | Y'),
    ('def f() -> list[int]: pass', 'list[...]'),
    ('x = dict[str, int]', 'dict[...]'),
    ('isinstance(1, int | float)', 'A | B'),
    ("'ab'.removeprefix('a')", 'removeprefix'),
    ('import math\nmath.lcm(2, 3)', 'math.lcm'),
    ('from functools import cache', 'functools import cache'),
    ('import zoneinfo', 'zoneinfo'),
    ('a = {1: 2} | {3: 4}', 'dict | dict'),
    ('for a, b in zip([1], [2], strict=True): pass', 'zip(strict'),
    ('with (open("a") as f, open("b") as g): pass', 'Parenthesized context managers'),
    ('match 1:\n    case 1: pass', 'grammar'),
])
def test_checker_finds_3_9_code(tmp_path, code, what):
    path = tmp_path / 'mod.py'
    path.write_text(code + '\n')
    found = offenders(path)
    assert found and what in found[0], found


@pytest.mark.parametrize('code', [
    'from __future__ import annotations\ndef f(x: int | None) -> list[int]: pass',
    'with (open("a")) as f: pass',
    'with open("a") as f, open("b") as g: pass',
    'if (n := 3) > 2: pass',
    'a = 1 | 2',
    'from typing import List\nx: List[int] = []',
])
def test_checker_accepts_3_8_code(tmp_path, code):
    path = tmp_path / 'mod.py'
    path.write_text(code + '\n')
    assert offenders(path) == []


def test_the_suite_needs_no_more_than_the_python_it_claims():
    files = sorted((ROOT / 'tests').rglob('*.py'))
    assert len(files) > 50
    found = [line for path in files for line in offenders(path, SUITE_PYTHON)]
    assert not found, f'needs more than Python {SUITE_PYTHON}:\n' + '\n'.join(found)
    assert 'python_requires=\'>=3.8\'' in (ROOT / 'setup.py').read_text()
    assert 'test suite needs Python >= 3.10' in (ROOT / 'docs' / 'get_started.md').read_text()
