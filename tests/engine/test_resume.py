"""A run killed with SIGKILL resumes from its checkpoint (torch >= 2.6,
weights_only loading) and ends with the same weights as an uninterrupted run."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mmresnet.checkpoint import load_checkpoint_file

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = '''
default_scope = 'mmdet'
custom_imports = dict(imports=['mmresnet', 'toy'], allow_failed_imports=False)
model = dict(type='EngineTestToyModel', sleep={sleep})
train_dataloader = dict(dataset=dict(type='EngineTestToyData'), batch_size=4, num_workers=0,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        collate_fn=dict(type='default_collate'))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[30], gamma=0.1)]
train_cfg = dict(by_epoch=False, max_iters=60)
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', interval=10, by_epoch=False,
                    max_keep_ckpts=2),
    logger=dict(type='LoggerHook', interval=10))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
'''


def train_cmd(cfg, work_dir, *extra):
    return [sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(cfg), '--work-dir',
            str(work_dir), *extra]


def env():
    e = dict(os.environ, PYTHONPATH=osp.dirname(osp.abspath(__file__)), OMP_NUM_THREADS='1')
    return e


def final_weights(work_dir):
    return load_checkpoint_file(osp.join(work_dir, 'iter_60.pth'))['state_dict']


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    fast = tmp_path / 'fast.py'
    fast.write_text(CONFIG.format(sleep=0.0))
    slow = tmp_path / 'slow.py'
    slow.write_text(CONFIG.format(sleep=0.05))

    ref_dir = tmp_path / 'ref'
    subprocess.run(train_cmd(fast, ref_dir), env=env(), check=True, capture_output=True)

    run_dir = tmp_path / 'run'
    proc = subprocess.Popen(train_cmd(slow, run_dir), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not osp.exists(run_dir / 'last_checkpoint') and time.time() < deadline:
        assert proc.poll() is None, 'training ended before writing a checkpoint'
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(run_dir / 'last_checkpoint') as f:
        killed_at = load_checkpoint_file(f.read())['meta']['iter']
    assert 0 < killed_at < 60, killed_at
    assert not osp.exists(run_dir / 'iter_60.pth')

    out = subprocess.run(train_cmd(fast, run_dir, '--resume'), env=env(), check=True,
                         capture_output=True, text=True)
    log = out.stdout + out.stderr
    assert f'resumed epoch: 0, iter: {killed_at}' in log, log[-3000:]
    ref, got = final_weights(ref_dir), final_weights(run_dir)
    assert ref.keys() == got.keys()
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=0)
