"""A short CPU run through tools/train.py lowers the loss and writes a checkpoint; the
checkpoint tests through tools/test.py and exports to a detection-ready backbone."""
import json
import os
import os.path as osp
import pickle
import re
import subprocess
import sys
from glob import glob

import numpy as np
import pytest
import torch

from mmresnet.checkpoint import RecipeMismatchError, load_checkpoint_file
from mmresnet.models import PaperResNet

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_cifar(root, n=64):
    # Two easy classes (dark vs bright images) so that a few iterations learn something.
    rng = np.random.default_rng(0)
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        labels = rng.integers(0, 2, n)
        data = (rng.integers(0, 60, (n, 3072)) + 180 * labels[:, None]).astype(np.uint8)
        with open(root / name, 'wb') as f:
            pickle.dump({b'data': data, b'labels': labels.tolist()}, f)


def run(script, *args):
    env = dict(os.environ, OMP_NUM_THREADS='2')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', script), *args], env=env,
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def test_train_test_export(tmp_path):
    data = tmp_path / 'cifar'
    data.mkdir()
    write_cifar(data)
    work = tmp_path / 'work'
    # The ResNet-110 config (depth cut to 8): its warm-up hook runs for real, ending when
    # the training error of 5 iterations averages below 80%.
    cfg = 'configs/cifar/paper-resnet110_b128-64k_cifar10.py'
    common = [f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
              f'test_dataloader.dataset.data_root={data}', 'model.backbone.depth=8',
              'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
              'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
              'test_dataloader.persistent_workers=False', 'train_dataloader.dataset.num_train=256',
              'val_dataloader.dataset.num_train=256']
    log = run('train.py', cfg, '--work-dir', str(work), '--cfg-options', *common,
              'train_cfg.max_iters=30', 'train_cfg.val_interval=30',
              'default_hooks.logger.interval=5', 'default_hooks.checkpoint.interval=30',
              'optim_wrapper.optimizer.lr=0.05', 'custom_hooks.0.window=5')
    ends = re.search(r'warm-up ends at iteration (\d+) \(training error', log)
    assert ends and 5 <= int(ends.group(1)) < 10, log[-3000:]
    ckpt = work / 'iter_30.pth'
    assert ckpt.exists()
    scalars = glob(str(work / '*' / 'vis_data' / 'scalars.json'))[0]
    logged = [json.loads(line) for line in open(scalars) if '"loss"' in line]
    losses = [x['loss'] for x in logged]
    assert [x['lr'] for x in logged[:2]] == pytest.approx([0.005, 0.05])  # warm-up, then back
    assert len(losses) == 6 and losses[-1] < losses[0] * 0.7, losses

    out = run('test.py', cfg, str(ckpt), '--work-dir', str(work), '--protocol', 'single',
              '--out', str(tmp_path / 'preds.pkl'), '--cfg-options', *common)
    assert 'error/top1' in out
    with open(tmp_path / 'preds.pkl', 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 64 and preds[0]['pred_score'].shape == (10, )

    # The checkpoint carries its recipe (the RecipeHook of the base runtime), the export too.
    recipe = load_checkpoint_file(ckpt)['meta']['recipe']
    assert recipe['arch'] == dict(arch='cifar', depth=8, style='pytorch', shortcut='A',
                                  plain=False, base_channels=16, in_channels=3)
    assert recipe['normalisation'] == dict(mean=[125.31, 122.95, 113.87], std=[1.0] * 3,
                                           channel_order='rgb')
    backbone = tmp_path / 'backbone.pth'
    run('export_backbone.py', str(ckpt), str(backbone))
    assert load_checkpoint_file(backbone)['meta']['recipe'] == recipe
    with pytest.raises(RecipeMismatchError, match=r"shortcut: checkpoint 'A', model 'B'"):
        PaperResNet(8, arch='cifar', shortcut='B',
                    init_cfg=dict(type='Pretrained', checkpoint=str(backbone))).init_weights()
    exported = load_checkpoint_file(backbone)['state_dict']
    assert 'conv1.weight' in exported and not any(k.startswith('backbone.') for k in exported)
    net = PaperResNet(8, arch='cifar', init_cfg=dict(type='Pretrained', checkpoint=str(backbone)))
    net.init_weights()
    full = load_checkpoint_file(ckpt)['state_dict']
    assert torch.equal(net.layer3[0].conv1.weight, full['backbone.layer3.0.conv1.weight'])
