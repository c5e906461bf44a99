"""DeviceIterBasedTrainLoop: one config line, the same training as MMEngine's loop with a
DataLoader, and an exact resume."""
import os.path as osp
import uuid

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.runner import Runner

from mmresnet.checkpoint import load_checkpoint_file
from mmresnet.engine import DeviceIterBasedTrainLoop

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10.py')


def make_cfg(work_dir, loop, max_iters=6, pipeline=None, shuffle=True, ckpt_interval=100):
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.depth = 8
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'devloop_{uuid.uuid4().hex}'  # its own message hub
    cfg.train_dataloader = dict(
        batch_size=8, num_workers=0,
        sampler=dict(type='InfiniteSampler', shuffle=shuffle),
        dataset=dict(type='SyntheticClsDataset', num_samples=32, num_classes=10, seed=0,
                     pipeline=pipeline or cfg.train_pipeline))
    for key in ('val', 'test'):
        cfg[f'{key}_dataloader'] = cfg[f'{key}_cfg'] = cfg[f'{key}_evaluator'] = None
    cfg.train_cfg = dict(type=loop, max_iters=max_iters, val_interval=1000)
    cfg.default_hooks.checkpoint.interval = ckpt_interval
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    return cfg


def train(cfg, resume=False):
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_same_weights_as_the_dataloader_loop(tmp_path):
    # No augmentation and no shuffling: both loops see the same batches in the same order
    # (crossing an epoch end at iteration 4), so they train to the same weights.
    # Both start from the same weights (building a DataLoader iterator draws from the
    # global RNG, so the same seed alone would initialise them differently).
    plain = [dict(type='PackClsInputs')]
    cfgs = [make_cfg(tmp_path / name, loop, pipeline=plain, shuffle=False)
            for name, loop in (('ref', 'IterBasedTrainLoop'),
                               ('dev', 'DeviceIterBasedTrainLoop'))]
    model = MODELS.build(cfgs[0].model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'init.pth')
    for cfg in cfgs:
        cfg.load_from = str(tmp_path / 'init.pth')
    ref, dev = train(cfgs[0]), train(cfgs[1])
    assert isinstance(dev.train_loop, DeviceIterBasedTrainLoop)
    assert dev.train_loop.dataloader.images.device == next(dev.model.parameters()).device
    a, b = weights(ref), weights(dev)
    assert a.keys() == b.keys()
    assert not torch.equal(b['backbone.conv1.weight'], model.state_dict()['backbone.conv1.weight'])
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)


def test_resume_continues_the_exact_stream(tmp_path):
    full = weights(train(make_cfg(tmp_path / 'full', 'DeviceIterBasedTrainLoop')))
    part = make_cfg(tmp_path / 'part', 'DeviceIterBasedTrainLoop', max_iters=3,
                    ckpt_interval=3)
    train(part)
    assert load_checkpoint_file(str(tmp_path / 'part' / 'iter_3.pth'))['meta']['iter'] == 3
    resumed = weights(train(make_cfg(tmp_path / 'part', 'DeviceIterBasedTrainLoop'),
                            resume=True))
    for k in full:
        torch.testing.assert_close(resumed[k], full[k], rtol=0, atol=0)


def test_unsupported_pipeline_is_refused_with_the_allowed_transforms(tmp_path):
    cfg = make_cfg(tmp_path, 'DeviceIterBasedTrainLoop',
                   pipeline=[dict(type='PCALighting'), dict(type='PackClsInputs')])
    with pytest.raises(ValueError, match='PCALighting.*allowed transforms'):
        train(cfg)


DIST = """
_base_ = '{base}'
model = dict(backbone=dict(depth=8))
train_dataloader = dict(batch_size=8, dataset=dict(
    _delete_=True, type='SyntheticClsDataset', num_samples=64,
    pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(type='DeviceIterBasedTrainLoop', max_iters=3, val_interval=1000)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3))
"""


@pytest.mark.e2e
def test_two_process_ddp_with_device_data(tmp_path):
    """tools/dist_train.sh with 2 gloo processes: each rank builds its shard of the device
    data set, DDP trains, rank 0 writes the checkpoint."""
    import os
    import socket
    import subprocess
    import sys
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    cfg = tmp_path / 'dist_device.py'
    cfg.write_text(DIST.format(base=CONFIG))
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1')
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools/dist_train.sh'), str(cfg), '2', '--work-dir',
         str(work)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'Distributed training: True' in out and 'GPU number: 2' in out, out[-3000:]
    assert 'DeviceIterBasedTrainLoop: 64 images' in out and 'Iter(train) [3/3]' in out
    assert '32 per epoch on each of 2 rank(s)' in out, out[-3000:]
    ckpt = load_checkpoint_file(str(work / 'iter_3.pth'))
    assert ckpt['meta']['iter'] == 3 and 'backbone.conv1.weight' in ckpt['state_dict']
