"""The classification configs stack batches in the DataLoader workers (default_collate):
the model sees exactly what MMEngine's pseudo_collate + the data preprocessor gave."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmresnet.models.classifiers import ClsDataPreprocessor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('config', ['configs/cifar/paper-resnet20_b128-64k_cifar10.py',
                                    'configs/resnet/paper-resnet50_b256_imagenet.py'])
def test_default_collate_gives_the_same_batches(config):
    init_default_scope('mmdet')
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    if 'cifar' in config:  # fixed-size test images: evaluation batches are stacked too
        assert cfg.val_dataloader.collate_fn == cfg.test_dataloader.collate_fn == dict(
            type='default_collate')
    pre = ClsDataPreprocessor(mean=cfg.model.data_preprocessor.mean)
    batches = []
    for collate in ('default_collate', 'pseudo_collate'):
        loader = dict(cfg.train_dataloader, num_workers=0, persistent_workers=False,
                      batch_size=4, collate_fn=dict(type=collate),
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='SyntheticClsDataset', num_samples=8,
                                   img_shape=(40, 40, 3), pipeline=[dict(type='PackClsInputs')]))
        batch = next(iter(Runner.build_dataloader(loader)))
        assert isinstance(batch['inputs'], torch.Tensor if collate == 'default_collate' else list)
        batches.append(pre(batch))
    a, b = batches
    assert torch.equal(a['inputs'], b['inputs']) and a['inputs'].shape == (4, 3, 40, 40)
    assert [int(s.gt_label) for s in a['data_samples']] == [
        int(s.gt_label) for s in b['data_samples']]
