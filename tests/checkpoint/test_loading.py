"""Issue 6: safe loading (allow-list, never weights_only=False), atomic saves, NaN stop."""
import io
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmresnet.engine import UnsafeCheckpointError, load_checkpoint_file
from mmresnet.engine.safe_pickle import torch_has_safe_globals
from mmresnet.engine.hooks import DivergenceError
from mmresnet.models import PaperResNet

from .toy import toy_runner  # noqa: E402


class Payload:
    """Pickles as os.system(<touch marker>): what a hostile checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class GetattrPayload:
    """Pickles as getattr(HistoryBuffer, '__init__'): probes the getattr stand-in."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def write_hostile(path, marker):
    state = PaperResNet(8, arch='cifar').state_dict()
    torch.save({'state_dict': state, 'meta': {'x': Payload(marker)}}, path)


def test_mmengine_checkpoint_with_history_buffer_loads_safely(tmp_path):
    runner = toy_runner(tmp_path, max_iters=2, interval=2)
    runner.train()
    loads = [load_checkpoint_file]
    if torch_has_safe_globals():  # torch >= 2.6: its default (weights_only=True) + allow-list
        loads.append(torch.load)
    for load in loads:
        ckpt = load(tmp_path / 'iter_2.pth')
        buf = ckpt['message_hub']['log_scalars']['train/loss']
        assert isinstance(buf, HistoryBuffer) and len(buf.data[0]) == 2
        assert buf.mean() == pytest.approx(float(buf.data[0].mean()))


def test_getattr_stand_in_refuses_other_attributes(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetattrPayload()}, path)
    with pytest.raises(UnsafeCheckpointError, match='refused'):
        load_checkpoint_file(path)


def _loaders(path):
    """Every loading path of the project, as callables on one file."""
    yield 'load_checkpoint_file', lambda: load_checkpoint_file(path)
    yield 'mmengine _load_checkpoint', lambda: _load_checkpoint(str(path))
    yield 'init_cfg Pretrained', lambda: PaperResNet(8, arch='cifar', init_cfg=dict(
        type='Pretrained', checkpoint=str(path))).init_weights()


def test_hostile_checkpoint_refused_and_payload_never_runs(tmp_path):
    marker = tmp_path / 'PWNED'
    path = tmp_path / 'hostile.pth'
    write_hostile(path, marker)
    for name, load in _loaders(path):
        with pytest.raises(pickle.UnpicklingError) as err:
            load()
        assert str(path) in str(err.value), name
        assert 'posix.system' in str(err.value), name
        assert not marker.exists(), f'payload ran through {name}'


def test_payload_is_real_under_unrestricted_pickle(tmp_path):
    """Guards the test above: the same object really runs code when unpickled freely."""
    marker = tmp_path / 'RAN'
    data = pickle.dumps(Payload(marker))
    pickle.loads(data)  # our own object, in a temp dir: proves the payload works
    assert marker.exists()


def test_runner_load_from_and_resume_refuse_hostile(tmp_path):
    marker = tmp_path / 'PWNED'
    path = tmp_path / 'hostile.pth'
    write_hostile(path, marker)
    runner = toy_runner(tmp_path / 'wd', max_iters=2)
    with pytest.raises(pickle.UnpicklingError):
        runner.load_checkpoint(str(path))
    with pytest.raises(pickle.UnpicklingError):
        runner.resume(str(path))
    assert not marker.exists()


def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    import mmresnet.engine.checkpoint as ck
    runner = toy_runner(tmp_path, max_iters=6, interval=2, max_keep_ckpts=1)
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 5:  # saves: iter_2 (ckpt, last), iter_4 (ckpt, last), iter_6 ckpt
            raise OSError('disk full (simulated crash while writing iter_6.pth)')
        real_fsync(fd)

    monkeypatch.setattr(ck.os, 'fsync', failing_fsync)
    with pytest.raises(OSError, match='simulated'):
        runner.train()
    files = sorted(os.listdir(tmp_path))
    assert 'iter_4.pth' in files and 'iter_6.pth' not in files
    assert not [f for f in files if f.endswith('.tmp')]
    with open(tmp_path / 'last_checkpoint') as f:
        last = f.read()
    assert osp.basename(last) == 'iter_4.pth'
    assert load_checkpoint_file(last)['meta']['iter'] == 4


def test_stock_hook_would_lose_checkpoint_ordering(tmp_path):
    """Our hook deletes the stale checkpoint only after the new one is written."""
    runner = toy_runner(tmp_path, max_iters=4, interval=2, max_keep_ckpts=1)
    runner.train()
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['iter_4.pth']


def test_nan_loss_stops_with_iteration_and_keeps_last_good(tmp_path):
    runner = toy_runner(tmp_path, max_iters=10, interval=2, nan_at_iter=5)
    with pytest.raises(DivergenceError, match='iteration 5') as err:
        runner.train()
    assert 'iter_4.pth' in str(err.value)
    with open(tmp_path / 'last_checkpoint') as f:
        last = f.read()
    ckpt = load_checkpoint_file(last)
    assert ckpt['meta']['iter'] == 4
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values())
    assert not osp.exists(tmp_path / 'iter_6.pth')


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
    path = tmp_path / 'trunc.pth'
    buf = io.BytesIO()
    torch.save({'a': torch.zeros(100)}, buf)
    path.write_bytes(buf.getvalue()[:200])
    with pytest.raises(RuntimeError, match='corrupt or truncated'):
        load_checkpoint_file(path)
    with pytest.raises(FileNotFoundError, match='not found'):
        load_checkpoint_file(tmp_path / 'missing.pth')
