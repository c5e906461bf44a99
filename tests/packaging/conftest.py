import pytest

from .wheel_build import build_wheel, venv_with_wheel


@pytest.fixture(scope='session')
def wheel(tmp_path_factory):
    """The wheel ``pip wheel`` builds from a copy of the sources, once per session."""
    return build_wheel(tmp_path_factory.mktemp('wheel'))


@pytest.fixture(scope='session')
def wheel_python(wheel, tmp_path_factory):
    """The python of a new venv that has the wheel installed (wheel_build.venv_with_wheel)."""
    return venv_with_wheel(wheel, tmp_path_factory.mktemp('venv') / 'venv')
