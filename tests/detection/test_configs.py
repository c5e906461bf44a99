"""Every detection config builds, and says what the issue asks of it."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmresnet.models import PaperResLayer, PaperResNet

from .helpers import ROOT

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs/faster_rcnn/*.py')) +
                 [osp.join(ROOT, 'configs/faster_rcnn_r101_coco.py')] +
                 glob.glob(osp.join(ROOT, 'configs/demo/faster-rcnn_*.py')))


def test_the_expected_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    for arch in ('c4', 'fpn'):
        for depth in ('r50', 'r101'):
            for data in ('1x_coco', '4e_voc07', '4e_voc0712'):
                assert f'faster-rcnn_paper-{depth}-{arch}_{data}.py' in names
    assert 'faster_rcnn_r101_coco.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and 'mmresnet' in cfg.custom_imports.imports
    init_default_scope('mmdet')
    with torch.device('meta'):  # the whole structure, no weight memory or init time
        model = MODELS.build(cfg.model)
    assert isinstance(model.backbone, PaperResNet)
    is_c4 = '-c4' in path or path.endswith('r101_coco.py') or '/demo/' in path
    if is_c4:
        head = model.roi_head.shared_head
        assert isinstance(head, PaperResLayer)
        # Section 4.3: conv1..conv4_x shared (stride 16), conv5_x per RoI.
        assert model.backbone.num_stages == 3 and model.backbone.out_indices == (2, )
        assert model.backbone.output_shape() == [(head.in_channels, 16)]
        assert model.roi_head.bbox_head.in_channels == head.out_channels
        assert model.roi_head.bbox_head.with_avg_pool
    else:
        assert model.backbone.out_indices == (0, 1, 2, 3)
        assert list(model.neck.in_channels) == model.backbone.stage_channels
    if '/demo/' in path:
        return
    # The paper's detectors: caffe-style PaperResNet, BN frozen, conv1 + conv2_x fixed,
    # initialised from a classification checkpoint given by path (never a download).
    bb = cfg.model.backbone
    assert bb.style == 'caffe' and bb.frozen_stages == 1 and bb.norm_eval
    assert bb.norm_cfg.requires_grad is False
    depth = 101 if 'r101' in path else 50
    assert bb.depth == depth
    ckpt = f'checkpoints/paper_resnet{depth}_backbone.pth'
    assert bb.init_cfg == dict(type='Pretrained', checkpoint=ckpt)
    if is_c4:
        head_cfg = cfg.model.roi_head.shared_head
        assert head_cfg.depth == depth and head_cfg.norm_eval
        assert head_cfg.init_cfg == dict(type='Pretrained', checkpoint=ckpt, prefix='layer4.')
    num_classes = 80 if 'coco' in path else 20
    assert cfg.model.roi_head.bbox_head.num_classes == num_classes


def test_voc0712_trains_on_both_years_and_tests_on_07_with_11_points():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/faster_rcnn/'
                                   'faster-rcnn_paper-r101-c4_4e_voc0712.py'))
    parts = cfg.train_dataloader.dataset.dataset.datasets
    assert [p.ann_file for p in parts] == ['VOC2007/ImageSets/Main/trainval.txt',
                                           'VOC2012/ImageSets/Main/trainval.txt']
    assert cfg.test_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/test.txt'
    assert cfg.test_evaluator.eval_mode == '11points'
    voc07 = Config.fromfile(osp.join(ROOT, 'configs/faster_rcnn/'
                                     'faster-rcnn_paper-r50-fpn_4e_voc07.py'))
    assert voc07.train_dataloader.dataset.dataset.ann_file == \
        'VOC2007/ImageSets/Main/trainval.txt'


def test_amp_flag_gives_float16_amp_wrapper():
    """--amp on the paper's config: fp16 (mmcv's RoIAlign has no bf16 kernel)."""
    from mmresnet.engine.launch import enable_amp
    cfg = Config.fromfile(osp.join(ROOT, 'configs/faster_rcnn_r101_coco.py'))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.get('dtype', 'float16') == 'float16'
