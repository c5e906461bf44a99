"""Every Table 1 / Table 6 config (and the Fashion-MNIST twins) loads and says what the
paper says: depth, shortcut option, plain or residual, recipe."""
import glob
import os.path as osp
import re

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import DefaultScope

TABLE1 = {'resnet18': (18, 'B', False), 'resnet34': (34, 'B', False),
          'resnet34-a': (34, 'A', False), 'resnet34-c': (34, 'C', False),
          'resnet50': (50, 'B', False), 'resnet101': (101, 'B', False),
          'resnet152': (152, 'B', False), 'plain18': (18, 'A', True),
          'plain34': (34, 'A', True)}
TABLE6 = [f'resnet{d}' for d in (20, 32, 44, 56, 110, 1202)] + [
    f'plain{d}' for d in (20, 32, 44, 56, 110)]


@pytest.mark.parametrize('name', sorted(TABLE1))
def test_imagenet_configs(name):
    cfg = Config.fromfile(f'configs/resnet/paper-{name}_b256_imagenet.py')
    b = cfg.model.backbone
    assert (b.depth, b.shortcut, b.plain, b.arch, b.style) == TABLE1[name] + ('imagenet',
                                                                            'caffe')
    assert cfg.model.num_classes == 1000 and cfg.auto_scale_lr.base_batch_size == 256
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.1, momentum=0.9,
                                               weight_decay=1e-4)
    assert cfg.param_scheduler[0].type == 'ReduceOnPlateauLR'
    steps = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert steps['ResizeShortSide']['size'] == (256, 480)
    assert steps['RandomCropPad']['size'] == 224 and 'PCALighting' in steps
    assert set(cfg.test_pipelines) == {'single', 'ten_crop', 'multi_scale'}
    assert cfg.model.test_cfg.scales == (224, 256, 384, 480, 640)


@pytest.mark.parametrize('dataset', ['cifar10', 'fashion-mnist'])
@pytest.mark.parametrize('name', TABLE6)
def test_cifar_configs(name, dataset):
    folder = 'cifar' if dataset == 'cifar10' else 'fashion_mnist'
    cfg = Config.fromfile(f'configs/{folder}/paper-{name}_b128-64k_{dataset}.py')
    b = cfg.model.backbone
    depth = int(re.findall(r'\d+', name)[0])
    assert (b.depth, b.plain, b.arch, b.shortcut) == (depth, name.startswith('plain'),
                                                      'cifar', 'A')
    assert b.get('in_channels', 3) == (3 if dataset == 'cifar10' else 1)
    assert len(cfg.model.data_preprocessor.mean) == b.get('in_channels', 3)
    assert cfg.train_dataloader.batch_size == 128 and cfg.train_cfg.max_iters == 64000
    assert cfg.param_scheduler[-1].milestones == [32000, 48000]
    warm = [h.type for h in cfg.get('custom_hooks', [])] == ['WarmupUntilErrorHook']
    assert warm == (depth >= 110)
    pad = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}['RandomCropPad']
    assert pad['padding'] == 4 and pad['size'] == (32 if dataset == 'cifar10' else 28)


def test_imagenet_list_variant_builds_its_dataset(tmp_path):
    # Swapping datasets/imagenet.py for datasets/imagenet_list.py in a Table 1 config.
    base = osp.abspath('configs/_base_')
    (tmp_path / 'cfg.py').write_text(f"_base_ = ['{base}/models/paper_resnet_imagenet.py', "
                                     f"'{base}/datasets/imagenet_list.py', "
                                     f"'{base}/schedules/imagenet_bs256_step.py', "
                                     f"'{base}/cls_runtime_epoch.py']\n")
    (tmp_path / 'train' / 'a').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'train' / 'a' / 'x.png'), np.zeros((300, 260, 3), np.uint8))
    (tmp_path / 'train.txt').write_text('a/x.png 7\n')
    cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
    assert cfg.param_scheduler[0].milestones == [30, 60] and cfg.train_cfg.max_epochs == 90
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(ann_file=str(tmp_path / 'train.txt'),
                  data_prefix=dict(img_path=str(tmp_path / 'train')))
    with DefaultScope.overwrite_default_scope('mmdet'):  # the configs' default_scope
        ds = DATASETS.build(ds_cfg)
        item = ds[0]
    assert item['inputs'].shape == (3, 224, 224) and int(item['data_samples'].gt_label) == 7


def _config_files():
    return sorted(p for p in glob.glob('configs/**/*.py', recursive=True)
                  if '/_base_/' not in p) + sorted(glob.glob('docs/results/**/config.py',
                                                             recursive=True))


def test_every_paper_config_writes_the_papers_init_and_bn():
    """PaperResNet's defaults are mmdet's (zero-init, frozen BN statistics): every config of
    the project states the paper's He init (zero_init_residual=False) and, where the net
    learns its BN (classification, the detector from scratch), norm_eval=False; the
    detectors that load weights keep BN frozen (norm_eval=True, Section 4.3)."""
    seen = 0
    for path in _config_files():
        cfg = Config.fromfile(path)
        b = cfg.get('model', {}).get('backbone', {})
        if b.get('type') != 'PaperResNet':
            continue
        seen += 1
        assert b.get('zero_init_residual') is False, path
        assert 'norm_eval' in b, path
        pretrained = isinstance(b.get('init_cfg'), dict)
        assert b.norm_eval is pretrained, (path, b.norm_eval, b.get('init_cfg'))
    assert seen >= 80, seen
