import os

import pytest
import torch

# Two cores on CI: keep torch from oversubscribing them.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# The precision switch (mmresnet.engine.precision): a test marked `precision` runs once per
# value of MMRESNET_CPU_BF16, so that the float32 path and the bf16 path (forced, emulated
# where the CPU lacks it) are both tested on any machine, and 'auto' as this CPU decides.
CPU_BF16_SWITCHES = ('0', 'auto', '1')


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker('precision') is not None:
        if 'cpu_bf16' not in metafunc.fixturenames:
            metafunc.fixturenames.append('cpu_bf16')
        metafunc.parametrize('cpu_bf16', CPU_BF16_SWITCHES, indirect=True)


@pytest.fixture
def cpu_bf16(request, monkeypatch):
    """The value of MMRESNET_CPU_BF16 for this test ('0', 'auto' or '1'), set in the
    environment (unset for 'auto'); bf16 forced on a CPU that emulates it warns, which
    the test expects."""
    import warnings

    from mmresnet.engine.precision import ENV_VAR, BF16EmulatedWarning
    value = getattr(request, 'param', 'auto')
    if value == 'auto':
        monkeypatch.delenv(ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(ENV_VAR, value)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', BF16EmulatedWarning)
        yield value
