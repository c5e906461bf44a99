"""docs/architecture.md's folder table in step with the package: every folder and top-level
module of ``mmresnet/`` has its row, every module of a folder is named in that row, and
every row names a path that exists."""
import re
from pathlib import Path

import mmresnet

PACKAGE = Path(mmresnet.__file__).parent
ROOT = PACKAGE.parent
DOC = ROOT / 'docs' / 'architecture.md'


def folder_rows():
    """The first cell (a path in backquotes) -> the second cell (what it holds)."""
    text = DOC.read_text()
    section = text.split('## Folders', 1)[1].split('\n## ', 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        m = re.fullmatch(r'`([^`]+)`', cells[0]) if len(cells) > 1 else None
        if m:
            rows[m.group(1).rstrip('/')] = cells[1]
    return rows


def package_parts():
    """``mmresnet/<folder>`` for each sub-package that holds modules (``models`` by its
    sub-packages), and ``mmresnet/<module>.py`` for each top-level module."""
    parts = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        rel = path.relative_to(ROOT)
        if len(rel.parts) == 2:  # mmresnet/x.py
            if path.name != '__init__.py':
                parts[str(rel)] = []
            continue
        folder = Path(*rel.parts[:-1])
        if (path.parent / '__init__.py').exists() and any(
                p.is_dir() and (p / '__init__.py').exists() for p in path.parent.iterdir()):
            continue  # a package of packages (models/): its sub-packages have the rows
        parts.setdefault(str(folder), [])
        if path.name != '__init__.py':
            parts[str(folder)].append(path.name)
    return parts


def test_every_folder_and_module_has_its_row():
    rows = folder_rows()
    missing = [part for part in package_parts() if part not in rows]
    assert not missing, f'docs/architecture.md has no row for {missing}'


def test_every_module_is_named_in_its_folders_row():
    rows = folder_rows()
    unnamed = [f'{folder}/{name}' for folder, names in package_parts().items()
               for name in names if folder in rows and name not in rows[folder]]
    assert not unnamed, f'docs/architecture.md does not name {unnamed} in its folder row'


def test_every_row_names_a_path_that_exists():
    gone = [path for path in folder_rows() if not (ROOT / path).exists()]
    assert not gone, f'docs/architecture.md has rows for paths that do not exist: {gone}'
