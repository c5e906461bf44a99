"""Atomic saves: a crash or a full disk mid-write leaves the previous checkpoint intact and
no temporary file behind."""
import errno
import os
import os.path as osp

import pytest

from mmresnet.checkpoint import atomic_write, load_checkpoint_file

from ..engine.toy import toy_runner


def test_crash_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    import mmresnet.checkpoint.saving as ck
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


def test_a_full_disk_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    target = tmp_path / 'iter_1.pth'
    atomic_write(b'old', str(target))

    def full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(OSError, match=r'iter_1.pth .*MiB needed.*intact') as err:
        atomic_write(b'x' * 2**20, str(target))
    assert err.value.errno == errno.ENOSPC
    assert target.read_bytes() == b'old'
    assert [p.name for p in tmp_path.iterdir()] == ['iter_1.pth']
