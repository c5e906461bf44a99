"""Building the wheel from a copy of the sources and installing it where the clone is not
seen: the machinery of tests/packaging (fixtures in conftest.py)."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCES = ('mmresnet', 'configs', 'tools', osp.join('data', 'demo_detection'), 'setup.py',
           'README.md', 'MANIFEST.in', '_mmresnet_scope.py')


def pip(*args, cwd=None):
    out = subprocess.run([sys.executable, '-m', 'pip', '--disable-pip-version-check', *args],
                         cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def build_wheel(tmp):
    """The wheel ``pip wheel`` builds from a copy of the sources (offline, no isolation)."""
    src = tmp / 'src'
    for rel in SOURCES:
        path = osp.join(ROOT, rel)
        if osp.isdir(path):
            shutil.copytree(path, src / rel, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc', '.mim', '*.egg-info'))
        else:
            os.makedirs(src / osp.dirname(rel), exist_ok=True)
            shutil.copy(path, src / rel)
    pip('wheel', '-q', '--no-deps', '--no-build-isolation', '--no-index', '-w',
        str(tmp / 'dist'), str(src))
    found = list((tmp / 'dist').glob('mmresnet-*.whl'))
    assert len(found) == 1, found
    return found[0]


def venv_with_wheel(wheel, folder):
    """A new venv (``--without-pip``) with the wheel installed into its site-packages, as
    ``pip install`` puts it there (``.pth`` files included). The stack (torch, mmcv, mmdet,
    mmengine) is this interpreter's site-packages, added as a plain path: its own ``.pth``
    files, the clone's editable install among them, are not run. Returns the venv's
    python."""
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(folder)], check=True)
    python = str(folder / 'bin' / 'python')
    site = subprocess.run([python, '-c', "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    site = site.stdout.strip()
    pip('install', '-q', '--no-deps', '--no-index', '--target', site, str(wheel))
    stack = {sysconfig.get_paths()[k] for k in ('purelib', 'platlib')}
    with open(osp.join(site, 'zz-mmresnet-test-stack.pth'), 'w') as f:
        f.write('\n'.join(sorted(stack)) + '\n')
    return python


def clean_env(**extra):
    """The environment without the clone on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(extra)
    return env
