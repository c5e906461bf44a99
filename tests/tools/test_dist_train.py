"""2-process CPU (gloo) DDP training through tools/dist_train.sh, as on 8 GPUs."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TINY = """
_base_ = '{demo}'
train_pipeline = [
    dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True), dict(type='PackDetInputs')]
train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root='{data}', pipeline=train_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
model = dict(train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50),
                            rcnn=dict(sampler=dict(num=16))))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, by_epoch=False, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
"""


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_two_cpu_processes(tmp_path):
    cfg = tmp_path / 'tiny_dist.py'
    cfg.write_text(TINY.format(
        demo=osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py'),
        data=osp.join(ROOT, 'data/demo_detection/')))
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools/dist_train.sh'), str(cfg), '2', '--work-dir', str(work)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'Distributed training: True' in out and 'GPU number: 2' in out, out[-3000:]  # world size
    assert 'Iter(train) [2/2]' in out, out[-3000:]
    assert sorted(p for p in os.listdir(work) if p.endswith('.pth')) == ['iter_2.pth']
    # One checkpoint, written once (by rank 0), and it loads.
    from mmresnet.checkpoint import load_checkpoint_file  # the allow-list, on every torch
    ckpt = load_checkpoint_file(str(work / 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    assert any(k.startswith('roi_head.shared_head.layer4.') for k in ckpt['state_dict'])
