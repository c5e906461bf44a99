"""Elastic runs without processes: what each start resumes from (and says), the collective
timeout from the config, the message when the restarts run out, checkpoints by the clock.
(The runs themselves, two agents on 127.0.0.1: tests/tools/test_dist_train_elastic.py.)"""
import datetime
import os
import os.path as osp
import socket
import sys
import uuid

import pytest
from mmengine.config import Config
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

from mmresnet.engine import checkpoint_hook
from mmresnet.engine.elastic import (DEFAULT_COLLECTIVE_TIMEOUT_S, collective_timeout,
                                     decide_elastic_start, restarts_exhausted_message)
from mmresnet.utils.errors import ConfigError

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from toy import ToyData, ToyModel, train_config  # noqa: E402

ENV = dict(TORCHELASTIC_RESTART_COUNT='2', TORCHELASTIC_MAX_RESTARTS='3',
           TORCHELASTIC_RUN_ID='job7', GROUP_RANK='1', GROUP_WORLD_SIZE='2', WORLD_SIZE='16')


def _cfg(work_dir, **kw):
    return Config(dict(dict(work_dir=str(work_dir), resume=False, load_from=None), **kw))


def test_every_start_resumes_from_last_checkpoint(tmp_path):
    cfg = _cfg(tmp_path)
    line = decide_elastic_start(cfg, ENV)
    assert line.startswith(f'elastic start of run job7: node 1 of 2 ({socket.gethostname()}), '
                           "world size 16, this node's restarts 2 of at most 3: ")
    assert line.endswith(f'no checkpoint in {tmp_path} yet; starting fresh')
    assert (cfg.resume, cfg.load_from) == (False, None)

    # --resume CKPT (or load_from) counts only while the run has written no checkpoint
    cfg = _cfg(tmp_path, resume=True, load_from='/elsewhere/iter_5.pth')
    assert decide_elastic_start(cfg, ENV).endswith('yet; resuming from /elsewhere/iter_5.pth')
    ckpt = tmp_path / 'iter_20.pth'
    ckpt.write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    line = decide_elastic_start(cfg, ENV)
    assert line.endswith(f': resuming from {ckpt} ({tmp_path}/last_checkpoint)')
    assert (cfg.resume, cfg.load_from) == (True, str(ckpt))


def test_last_checkpoint_naming_a_missing_file_is_an_error(tmp_path):
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_9.pth'))
    with pytest.raises(FileNotFoundError, match=r'last_checkpoint names .*iter_9.pth, which '
                       'does not exist'):
        decide_elastic_start(_cfg(tmp_path), ENV)


def test_collective_timeout_from_the_config_or_the_default():
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert collective_timeout(cfg) == datetime.timedelta(seconds=DEFAULT_COLLECTIVE_TIMEOUT_S)
    assert cfg.env_cfg.dist_cfg.timeout == DEFAULT_COLLECTIVE_TIMEOUT_S  # MMEngine reads it
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=120))))
    assert collective_timeout(cfg) == datetime.timedelta(seconds=120)
    for bad in (0, -5, '10', True):
        with pytest.raises(ConfigError, match=r'env_cfg.dist_cfg.timeout must be .* got'):
            collective_timeout(Config(dict(env_cfg=dict(dist_cfg=dict(timeout=bad)))))


def test_the_message_when_restarts_run_out(tmp_path):
    killed = ProcessFailure(local_rank=0, pid=4321, exitcode=-9, error_file='/nonexistent')
    error = ChildFailedError('tools/train.py', {3: killed})
    line = restarts_exhausted_message(error, str(tmp_path), 2, 'bash tools/dist_train.sh c 8')
    assert line.startswith('[dist_train] training failed after 2 restart(s): rank 3 (local '
                           f'rank 0, pid 4321) on node {socket.gethostname()} ended with '
                           'signal SIGKILL (killed from outside, or by the kernel when out '
                           'of memory). ')
    assert f'none: {tmp_path} has no last_checkpoint, the next start begins fresh' in line
    assert line.endswith('Run the same command again to continue: bash tools/dist_train.sh c 8')

    errors = tmp_path / 'error.json'  # what torch's @record writes for an exception
    errors.write_text('{"message": {"message": "RuntimeError: CUDA error: out of memory", '
                      '"extraInfo": {"py_callstack": "...", "timestamp": "1"}}}')
    ckpt = tmp_path / 'iter_30.pth'
    ckpt.write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    raised = ProcessFailure(local_rank=1, pid=7, exitcode=1, error_file=str(errors))
    line = restarts_exhausted_message(ChildFailedError('t', {5: raised}), str(tmp_path), 0, 'c')
    assert 'rank 5 (local rank 1, pid 7)' in line
    assert 'ended with exit code 1: RuntimeError: CUDA error: out of memory.' in line
    assert f'Checkpoint to resume from: {ckpt} ({tmp_path}/last_checkpoint).' in line


def _clock_run(work_dir, by_epoch, monkeypatch, minutes=2.0, seconds_per_iter=40.0):
    """12 iterations (3 epochs of 4 when ``by_epoch``); the hook's clock advances
    ``seconds_per_iter`` per iteration; the regular interval never comes."""
    import mmresnet  # noqa: F401
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    clock = [0.0]
    monkeypatch.setattr(checkpoint_hook, '_now', lambda: clock[0])

    class Tick(Hook):
        priority = 'HIGHEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            clock[0] += seconds_per_iter

    train_cfg = (dict(by_epoch=True, max_epochs=3) if by_epoch else
                 dict(by_epoch=False, max_iters=12))
    runner = Runner(
        model=ToyModel(), work_dir=str(work_dir), experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=ToyData(), batch_size=8, collate_fn=dict(
            type='default_collate'), sampler=dict(
                type='DefaultSampler' if by_epoch else 'InfiniteSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)), train_cfg=train_cfg,
        default_hooks=dict(checkpoint=dict(
            type='AtomicCheckpointHook', interval=100, by_epoch=by_epoch, save_last=False,
            max_keep_ckpts=10, interval_minutes=minutes),
            preemption=dict(type='PreemptionHook')),
        custom_hooks=[Tick()], default_scope='mmdet', randomness=dict(seed=0))
    runner.train()
    return sorted((p for p in os.listdir(work_dir) if p.endswith('.pth')),
                  key=lambda p: int(p.split('_')[1].split('.')[0]))


def test_checkpoints_by_the_clock(tmp_path, monkeypatch):
    # 40 s an iteration, 2 minutes: after iterations 3, 6, 9, 12
    assert _clock_run(tmp_path / 'iters', False, monkeypatch) == [
        'iter_3.pth', 'iter_6.pth', 'iter_9.pth', 'iter_12.pth']
    # epoch-based (4 iterations an epoch): mid-epoch saves, only the newest kept
    assert _clock_run(tmp_path / 'epochs', True, monkeypatch) == ['iter_12.pth']
    from mmresnet.checkpoint import load_checkpoint_file
    meta = load_checkpoint_file(str(tmp_path / 'epochs' / 'iter_12.pth'))['meta']
    assert meta['iter'] == 12


def test_interval_minutes_is_checked():
    from mmresnet.engine import AtomicCheckpointHook
    for bad in (0, -1, '5', True):
        with pytest.raises(ValueError, match='interval_minutes must be a number of minutes'):
            AtomicCheckpointHook(interval=1, interval_minutes=bad)


def test_world_size_change_rule():
    from mmresnet.engine.elastic import world_size_change
    factor, skip, text = world_size_change(2, 1, 4, samples_seen=40)
    assert (factor, skip) == (0.5, 10)
    assert text.startswith('world size 2 -> 1: global batch 8 -> 4 (per-rank batch 4 kept); '
                           "lr x 0.5 (on_world_size_change='scale_lr'")
    assert 'each rank skips 10 batches of its new shard (at most 0 samples seen twice' in text
    factor, skip, text = world_size_change(1, 2, 4, samples_seen=84, policy='keep_lr')
    assert (factor, skip) == (1.0, 11)  # 88 samples skipped: 4 of them not trained before
    assert "lr kept (on_world_size_change='keep_lr')" in text and 'at most 4 samples' in text
    assert world_size_change(2, 2, 4, 40) == (1.0, 5, 'world size 2 -> 2: unchanged')
    with pytest.raises(ValueError, match=r"on_world_size_change 'halve'.*'scale_lr'"):
        world_size_change(2, 1, 4, 40, policy='halve')


def _batch_run(work_dir, max_iters, resume=False, by_epoch=False):
    """The toy at batch 4, InfiniteSampler (or epoch-based: ``max_iters`` epochs of 8
    iterations, DefaultSampler, a checkpoint at iteration 11); records each iteration's
    inputs (sum) and lr."""
    import mmresnet  # noqa: F401
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    seen = {}

    class Record(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            seen[runner.iter + 1] = (float(data_batch['inputs'].sum()),
                                     runner.optim_wrapper.get_lr()['lr'][0])

    runner = Runner(
        model=ToyModel(), work_dir=str(work_dir), experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=ToyData(), batch_size=4, collate_fn=dict(
            type='default_collate'), sampler=dict(
                type='DefaultSampler' if by_epoch else 'InfiniteSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05)),
        train_cfg=(dict(by_epoch=True, max_epochs=max_iters) if by_epoch else
                   dict(by_epoch=False, max_iters=max_iters)),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook',
                                           interval=11 if by_epoch else 5, by_epoch=False),
                           preemption=dict(type='PreemptionHook'),
                           sampler_seed=dict(type='DistSamplerSeedHook'),
                           elastic=dict(type='ElasticHook')),
        custom_hooks=[Record()], resume=resume, default_scope='mmdet',
        randomness=dict(seed=0))
    runner.train()
    return seen


def test_resumed_at_another_world_size_continues_at_the_same_sample(tmp_path, capsys):
    """A checkpoint written at iteration 5 by 2 ranks (40 samples drawn) resumed by 1: the
    lr is halved and the first batch trained is the stream's 11th (samples 40-43), the one
    the 1-rank run trains at iteration 11."""
    import torch
    ref = _batch_run(tmp_path / 'ref', 12)
    _batch_run(tmp_path / 'run', 5)
    path = tmp_path / 'run' / 'iter_5.pth'
    ckpt = torch.load(path, weights_only=False)
    assert (ckpt['meta']['world_size'], ckpt['meta']['per_rank_batch'],
            ckpt['meta']['samples_seen']) == (1, 4, 20)
    ckpt['meta'].update(world_size=2, samples_seen=40)  # as if 2 ranks had trained it
    torch.save(ckpt, path)
    got = _batch_run(tmp_path / 'run', 7, resume=True)
    assert sorted(got) == [6, 7]
    assert got[6][0] == ref[11][0] and got[7][0] == ref[12][0]  # the data position
    assert got[6][1] == pytest.approx(0.025)  # lr x 1/2


def test_an_unreachable_rendezvous_is_one_clear_error(tmp_path, capsys):
    """The agent (tools/elastic_run.py, in this process) joins a store nobody hosts."""
    from mmresnet.apis.launch import run_elastic
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(train_config())
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    rc = run_elastic(['--nnodes=2:2', '--nproc_per_node=1', '--rdzv-backend=c10d',
                      f'--rdzv-endpoint=127.0.0.1:{port}', '--rdzv-id=job',
                      '--rdzv-conf=is_host=false,read_timeout=2', '--max-restarts=0',
                      osp.join(osp.dirname(osp.dirname(HERE)), 'tools', 'train.py'),
                      str(cfg), '--launcher', 'pytorch', '--work-dir', str(tmp_path / 'w')])
    assert rc == 1
    err = capsys.readouterr().err
    assert f'[dist_train] the rendezvous at 127.0.0.1:{port} (RDZV_ENDPOINT; backend c10d, ' \
           'run id job) failed: The connection to the C10d store has failed' in err, err
    assert "that the first node's agent runs (it hosts the store)" in err


def test_epoch_based_resume_at_another_world_size_continues_in_the_epoch(tmp_path):
    """Epoch-based, 8 iterations an epoch at 1 rank (4 at 2). A checkpoint of 2 ranks after
    iteration 11 (epoch 3, 3 batches = 24 samples in) resumed by 1 rank: it skips 6 batches
    of epoch 3's order and trains that epoch's last 2, as the 1-rank run's iterations 23
    and 24."""
    import torch
    ref = _batch_run(tmp_path / 'ref', 3, by_epoch=True)
    _batch_run(tmp_path / 'run', 2, by_epoch=True)
    path = tmp_path / 'run' / 'iter_11.pth'
    ckpt = torch.load(path, weights_only=False)
    assert (ckpt['meta']['epoch'], ckpt['meta']['samples_seen'],
            ckpt['meta']['iter_in_epoch']) == (1, 12, 3)  # 1 rank: epoch 2, 3 batches in
    ckpt['meta'].update(world_size=2, epoch=2, samples_seen=24)  # as 2 ranks would have
    torch.save(ckpt, path)
    (tmp_path / 'run' / 'last_checkpoint').write_text(str(path))
    got = _batch_run(tmp_path / 'run', 3, resume=True, by_epoch=True)
    assert sorted(got) == [12, 13]
    assert (got[12][0], got[13][0]) == (ref[23][0], ref[24][0])
    assert got[12][1] == pytest.approx(0.025)


def test_in_every_runtime():
    import glob
    root = osp.dirname(osp.dirname(HERE))
    runtimes = glob.glob(osp.join(root, 'configs', '_base_', '*runtime*.py'))
    assert len(runtimes) >= 4
    for path in runtimes:
        hook = Config.fromfile(path).default_hooks.elastic
        assert (hook.type, hook.on_world_size_change) == ('ElasticHook', 'scale_lr'), path


@pytest.mark.e2e
def test_a_collective_timeout_names_the_rank_that_hung():
    """Three gloo ranks under torchrun, rank 1 never reaches the all-reduce: ranks 0 and 2
    fail after the collective timeout with one message naming rank 1 (asked through the
    store; tests/engine/hang_worker.py)."""
    import subprocess
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=3',
         f'--master_port={port}', osp.join(HERE, 'hang_worker.py')],
        capture_output=True, text=True, timeout=180)
    got = {}
    for line in proc.stdout.splitlines():
        if line.startswith('RESULT '):
            _, rank, kind, text = (line.split(' ', 3) + [''])[:4]
            got[int(rank)] = (kind, text)
    for rank in (0, 2):
        assert rank in got, proc.stdout[-2000:] + proc.stderr[-3000:]
        kind, text = got[rank]
        assert kind == 'CollectiveTimeoutError', (rank, kind, text)
        assert f'on rank {rank} of 3' in text and 'rank(s) 1 did not answer' in text, text
        assert 'collective timeout (2 s, env_cfg.dist_cfg.timeout)' in text
    assert got.get(1, ('killed',))[0] != 'CollectiveTimeoutError'  # the hung rank


def test_an_error_that_is_no_timeout_passes_unchanged():
    from mmresnet.engine.elastic import naming_silent_ranks
    with pytest.raises(ValueError, match='not a timeout'):
        with naming_silent_ranks(Config(dict())):
            raise ValueError('not a timeout')
    with pytest.raises(RuntimeError, match='timed out'):  # no process group: as it was
        with naming_silent_ranks(Config(dict())):
            raise RuntimeError('timed out')
