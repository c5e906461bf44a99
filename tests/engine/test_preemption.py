"""A preemption signal writes a checkpoint at its iteration and exits with 75; the resumed
run's losses are the uninterrupted run's, iteration- and epoch-based (mid-epoch), on one
process and on two (gloo); a signal during a save; a second signal exits at once."""
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import uuid

import pytest
import torch

from mmresnet.checkpoint import load_checkpoint_file
from mmresnet.engine import PREEMPTED_EXIT_CODE, PreemptionHook

pytestmark = pytest.mark.e2e  # runs tools or training end to end

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)
from toy import ToyData, ToyModel, read_losses, train_config  # noqa: E402


def toy_run(work_dir, by_epoch=False, resume=False, signal_hook=None, ckpt_interval=100,
            repeat_window=2.0, val=False):
    """Train the toy (32 samples, batch 4: 8 iterations an epoch) for 40 iterations / 5
    epochs in this process; ``signal_hook``: kwargs of the toy's SelfSignalHook; ``val``:
    validate every 10 iterations."""
    import mmresnet  # noqa: F401
    from mmengine.runner import Runner
    train_cfg = (dict(by_epoch=True, max_epochs=5, val_interval=100) if by_epoch else
                 dict(by_epoch=False, max_iters=40, val_interval=10))
    validation = dict(val_dataloader=dict(
        dataset=ToyData(), batch_size=4, collate_fn=dict(type='default_collate'),
        sampler=dict(type='DefaultSampler', shuffle=False)), val_cfg=dict(type='ValLoop'),
        val_evaluator=dict(type='EngineTestToyMetric')) if val else {}
    hooks = [dict(type='EngineTestLossRecordHook')]
    if signal_hook:
        hooks.append(dict(type='EngineTestSelfSignalHook', **signal_hook))
    torch.manual_seed(0)  # the model's initial weights
    # (iteration-based: mmengine restarts a finite sampler with a 2 s pause per epoch)
    sampler = 'DefaultSampler' if by_epoch else 'InfiniteSampler'
    runner = Runner(
        model=ToyModel(), work_dir=str(work_dir), experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=ToyData(), batch_size=4, collate_fn=dict(
            type='default_collate'), sampler=dict(type=sampler, shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=[dict(type='MultiStepLR', by_epoch=False, milestones=[30],
                              gamma=0.1)],
        train_cfg=train_cfg,
        default_hooks=dict(
            checkpoint=dict(type='AtomicCheckpointHook', interval=ckpt_interval,
                            by_epoch=by_epoch, max_keep_ckpts=2),
            preemption=dict(type='PreemptionHook', repeat_window=repeat_window),
            logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=hooks, resume=resume, default_scope='mmdet',
        randomness=dict(seed=0), **validation)
    runner.train()


def last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"'SIGNOPE'.*allowed values: .*SIGTERM"):
        PreemptionHook(signals=('SIGTERM', 'SIGNOPE'))
    with pytest.raises(ValueError, match='SIGKILL'):
        PreemptionHook(signals='SIGKILL')
    with pytest.raises(ValueError, match='check_interval'):
        PreemptionHook(check_interval=0)


def test_on_in_every_runtime():
    import glob

    from mmengine.config import Config
    runtimes = glob.glob(osp.join(ROOT, 'configs', '_base_', '*runtime*.py'))
    assert len(runtimes) >= 4
    for path in runtimes:
        assert Config.fromfile(path).default_hooks.preemption.type == 'PreemptionHook', path


def test_exit_code_is_documented_and_the_launchers_agree():
    assert PREEMPTED_EXIT_CODE == 75
    doc = open(osp.join(ROOT, 'docs', 'checkpoint_safety.md')).read()
    assert f'exits with {PREEMPTED_EXIT_CODE}' in doc
    for script in ('dist_train.sh', 'slurm_train.sh'):
        text = open(osp.join(ROOT, 'tools', script)).read()
        assert f'PREEMPTED_EXIT_CODE={PREEMPTED_EXIT_CODE}\n' in text, script


@pytest.mark.parametrize('by_epoch,sig,at', [(False, 'SIGTERM', 30), (True, 'SIGUSR1', 19)])
def test_signal_checkpoints_and_resume_is_exact(tmp_path, by_epoch, sig, at):
    """SIGTERM at iteration 30 of 40 (the checkpoint interval is 100); SIGUSR1 at iteration
    19 of an epoch-based run, 3 batches into epoch 3 of 5."""
    ref, run = tmp_path / 'ref', tmp_path / 'run'
    toy_run(ref, by_epoch)
    handler = signal.getsignal(getattr(signal, sig))
    with pytest.raises(SystemExit) as stop:
        toy_run(run, by_epoch, signal_hook=dict(at_iter=at, signal=sig))
    assert stop.value.code == PREEMPTED_EXIT_CODE
    assert last_checkpoint(run) == osp.join(run, f'iter_{at}.pth')
    meta = load_checkpoint_file(last_checkpoint(run))['meta']
    assert meta['iter'] == at and meta['preempted'] == dict(signal=sig)
    if by_epoch:
        assert (meta['epoch'], meta['iter_in_epoch']) == (2, 3)
    assert signal.getsignal(getattr(signal, sig)) == handler  # the hook's one is gone
    assert max(read_losses(run)) == at

    toy_run(run, by_epoch, resume=True)
    want, got = read_losses(ref), read_losses(run)
    assert sorted(got) == list(range(1, 41)) == sorted(want)
    assert got == want  # every digit, each iteration after the signal included
    final = 'epoch_5.pth' if by_epoch else 'iter_40.pth'
    a = load_checkpoint_file(osp.join(ref, final))['state_dict']
    b = load_checkpoint_file(osp.join(run, final))['state_dict']
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0)


def test_signal_during_a_save_finishes_the_save_first(tmp_path):
    with pytest.raises(SystemExit):
        toy_run(tmp_path, signal_hook=dict(at_iter=20, when='save'), ckpt_interval=10)
    # The periodic save of iteration 20 completed and is the preemption's checkpoint.
    assert last_checkpoint(tmp_path) == osp.join(tmp_path, 'iter_20.pth')
    assert load_checkpoint_file(osp.join(tmp_path, 'iter_20.pth'))['meta']['iter'] == 20
    assert max(read_losses(tmp_path)) == 20
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith('.pth')) == [
        'iter_10.pth', 'iter_20.pth']


def test_signal_during_validation_finishes_it_first(tmp_path):
    with pytest.raises(SystemExit):
        toy_run(tmp_path, signal_hook=dict(at_iter=10, when='val'), val=True)
    with open(tmp_path / 'val.txt') as f:  # the validation after iteration 10, all of it
        assert f.read().splitlines() == ["10 {'samples': 32}"]
    # then one more iteration, and its checkpoint
    assert last_checkpoint(tmp_path) == osp.join(tmp_path, 'iter_11.pth')
    assert max(read_losses(tmp_path)) == 11


def test_repeat_within_the_window_is_the_same_request():
    hook = PreemptionHook(repeat_window=60)
    hook._handle(signal.SIGTERM, None)
    hook._handle(signal.SIGUSR1, None)  # would exit the process past the window
    assert hook._signal == 'SIGTERM'




def _env(**extra):
    return dict(os.environ, PYTHONPATH=HERE, OMP_NUM_THREADS='1', PYTHON=sys.executable,
                **extra)


def test_second_signal_exits_at_once_previous_checkpoint_intact(tmp_path):
    """tools/train.py: SIGTERM after iteration 25, again while its checkpoint is saved."""
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(train_config(window=0, hooks=[
        "dict(type='EngineTestSelfSignalHook', at_iter=25, again=True)"]))
    work = tmp_path / 'work'
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(cfg),
                          '--work-dir', str(work)], env=_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == PREEMPTED_EXIT_CODE, out.stderr[-3000:]
    assert 'second signal (SIGTERM): exiting at once' in out.stderr
    assert not osp.exists(work / 'iter_25.pth')
    assert last_checkpoint(work) == str(work / 'iter_20.pth')
    assert load_checkpoint_file(work / 'iter_20.pth')['meta']['iter'] == 20


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_stop_together_and_resume_exactly(tmp_path):
    """tools/dist_train.sh with 2 CPU processes: rank 1 alone gets SIGTERM after iteration
    25; both stop there, rank 0 writes the one checkpoint, dist_train.sh exits with 75, and
    the resumed run's losses (both ranks') are the uninterrupted run's."""
    def dist_train(cfg, work, *extra):
        return subprocess.run(
            ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(cfg), '2', '--work-dir',
             str(work), *extra], cwd=ROOT, env=_env(PORT=str(_free_port())),
            capture_output=True, text=True, timeout=240)

    plain, signalled = tmp_path / 'plain.py', tmp_path / 'signalled.py'
    record = "dict(type='EngineTestLossRecordHook')"
    plain.write_text(train_config([record]))
    signalled.write_text(train_config([record, (
        "dict(type='EngineTestSelfSignalHook', at_iter=25, rank=1)")]))
    ref, run = tmp_path / 'ref', tmp_path / 'run'
    out = dist_train(signalled, run)
    log = out.stdout + out.stderr
    assert out.returncode == PREEMPTED_EXIT_CODE, log[-3000:]
    assert sorted(p for p in os.listdir(run) if p.endswith('.pth')) == [
        'iter_10.pth', 'iter_20.pth', 'iter_25.pth'], log[-3000:]  # one written on 25
    assert last_checkpoint(run) == str(run / 'iter_25.pth')
    assert load_checkpoint_file(run / 'iter_25.pth')['meta']['iter'] == 25
    assert 'preempted by a signal on another rank: stopped after iteration 25' in log
    assert max(read_losses(run)) == max(read_losses(run, rank=1)) == 25  # both ranks
    out = subprocess.run(  # the resumed run, then the uninterrupted one in its own dir
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={_free_port()}', osp.join(HERE, 'dist_resume_and_reference.py'),
         str(plain), str(run), str(ref)], cwd=ROOT, env=_env(), capture_output=True,
        text=True, timeout=240)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert 'resumed epoch: 0, iter: 25' in out.stdout + out.stderr
    for rank in (0, 1):
        assert read_losses(run, rank) == read_losses(ref, rank)
