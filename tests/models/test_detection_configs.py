"""Every detection config builds, and holds the choices its family README states."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmresnet.models import PaperResLayer, PaperResNet

from .detector_helpers import ROOT

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs/faster_rcnn/*.py')) +
                 [osp.join(ROOT, 'configs/faster_rcnn_r101_coco.py')] +
                 glob.glob(osp.join(ROOT, 'configs/demo/faster-rcnn_*.py')))


STYLES = ('caffe', 'pytorch')
DATASETS = ('1x_coco', '4e_voc07', '4e_voc0712')
# Per style and depth: c4 and fpn on the three datasets, DC5 on COCO.
VARIANTS = ([(arch, data) for arch in ('c4', 'fpn') for data in DATASETS] +
            [('dc5', '1x_coco')])
TWINS = [(f'faster-rcnn_paper-{depth}-caffe-{arch}_{data}.py',
          f'faster-rcnn_paper-{depth}-pytorch-{arch}_{data}.py')
         for depth in ('r50', 'r101') for arch, data in VARIANTS]
# torchvision's RGB normalisation (the pytorch twins) and the paper's BGR mean (caffe).
TORCHVISION_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                        bgr_to_rgb=True)
CAFFE_NORM = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)


def _faster_rcnn(name):
    return osp.join(ROOT, 'configs/faster_rcnn', name)


def test_the_expected_configs_exist():
    names = {osp.basename(p) for p in CONFIGS}
    expected = {name for twin in TWINS for name in twin}
    assert len(expected) == 28
    assert expected <= names
    # every detection config under configs/faster_rcnn/ is named for its weights' style
    named = {osp.basename(p) for p in CONFIGS if '/faster_rcnn/' in p}
    assert named == expected
    assert 'faster_rcnn_r101_coco.py' in names
    # the path users type is the R-101 caffe C4 COCO config
    assert Config.fromfile(osp.join(ROOT, 'configs/faster_rcnn_r101_coco.py')).model == \
        Config.fromfile(_faster_rcnn('faster-rcnn_paper-r101-caffe-c4_1x_coco.py')).model


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet' and 'mmresnet' in cfg.custom_imports.imports
    init_default_scope('mmdet')
    with torch.device('meta'):  # the whole structure, no weight memory or init time
        model = MODELS.build(cfg.model)
    assert isinstance(model.backbone, PaperResNet)
    is_c4 = '-c4' in path or path.endswith('r101_coco.py') or '/demo/' in path
    is_dc5 = '-dc5' in path
    if is_c4:
        head = model.roi_head.shared_head
        assert isinstance(head, PaperResLayer)
        # Section 4.3: conv1..conv4_x shared (stride 16), conv5_x per RoI.
        assert model.backbone.num_stages == 3 and model.backbone.out_indices == (2, )
        assert model.backbone.output_shape() == [(head.in_channels, 16)]
        assert model.roi_head.bbox_head.in_channels == head.out_channels
        assert model.roi_head.bbox_head.with_avg_pool
    elif is_dc5:
        # all four stages, conv5_x dilated at stride 1: one stride-16 C5 map, no neck
        assert not model.with_neck and not model.roi_head.with_shared_head
        assert model.backbone.num_stages == 4 and model.backbone.out_indices == (3, )
        assert model.backbone.strides == (1, 2, 2, 1)
        assert model.backbone.dilations == (1, 1, 1, 2)
        assert model.backbone.output_shape() == [(2048, 16)]
        assert model.rpn_head.in_channels == 2048
        assert model.rpn_head.prior_generator.strides == [(16, 16)]
        extractor = model.roi_head.bbox_roi_extractor
        assert extractor.out_channels == 2048 and extractor.featmap_strides == [16]
        assert extractor.roi_layers[0].output_size == (7, 7)
        assert type(model.roi_head.bbox_head).__name__ == 'Shared2FCBBoxHead'
        assert model.roi_head.bbox_head.in_channels == 2048
    else:
        assert model.backbone.out_indices == (0, 1, 2, 3)
        assert list(model.neck.in_channels) == model.backbone.stage_channels
    if '/demo/' in path:
        return
    # The full-size detectors: PaperResNet in the style of the weights the config names
    # (caffe: the paper's, from tools/export_backbone.py; pytorch: torchvision's, from
    # tools/convert/torchvision2paper.py), BN frozen, conv1 + conv2_x fixed, initialised
    # from a checkpoint given by path (never a download).
    style = 'pytorch' if '-pytorch-' in path else 'caffe'
    bb = cfg.model.backbone
    assert bb.style == style and bb.frozen_stages == 1 and bb.norm_eval
    assert model.backbone.style == style
    assert bb.norm_cfg.requires_grad is False
    depth = 101 if 'r101' in path else 50
    assert bb.depth == depth
    ckpt = (f'checkpoints/torchvision_resnet{depth}_backbone.pth' if style == 'pytorch'
            else f'checkpoints/paper_resnet{depth}_backbone.pth')
    assert bb.init_cfg == dict(type='Pretrained', checkpoint=ckpt)
    norm = TORCHVISION_NORM if style == 'pytorch' else CAFFE_NORM
    assert {k: cfg.model.data_preprocessor[k] for k in norm} == norm
    if is_c4:
        head_cfg = cfg.model.roi_head.shared_head
        assert head_cfg.depth == depth and head_cfg.norm_eval and head_cfg.style == style
        assert head_cfg.init_cfg == dict(type='Pretrained', checkpoint=ckpt,
                                         prefix='layer4.')
    num_classes = 80 if 'coco' in path else 20
    assert cfg.model.roi_head.bbox_head.num_classes == num_classes


def _flatten(value, prefix=''):
    """``{'a.b.c': leaf}`` of a config dict (lists, e.g. pipelines, are leaves)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f'{prefix}{k}.'))
        return out
    return {prefix[:-1]: value}


@pytest.mark.parametrize('caffe,pytorch', TWINS, ids=[t[1] for t in TWINS])
def test_pytorch_twin_differs_from_caffe_only_in_style_norm_and_checkpoint(caffe, pytorch):
    a = _flatten(Config.fromfile(_faster_rcnn(caffe)).to_dict())
    b = _flatten(Config.fromfile(_faster_rcnn(pytorch)).to_dict())
    for flat in (a, b):  # the config-level name of the checkpoint (one per file)
        flat.pop('backbone_checkpoint', None)
    assert a.keys() == b.keys()
    diff = {k for k in a if a[k] != b[k]}
    expected = {'model.backbone.style', 'model.backbone.init_cfg.checkpoint',
                'model.data_preprocessor.mean', 'model.data_preprocessor.std',
                'model.data_preprocessor.bgr_to_rgb'}
    if '-c4_' in caffe:
        expected |= {'model.roi_head.shared_head.style',
                     'model.roi_head.shared_head.init_cfg.checkpoint'}
    assert diff == expected
    depth = 101 if '-r101-' in caffe else 50
    for k in expected:
        if k.endswith('.style'):
            assert (a[k], b[k]) == ('caffe', 'pytorch')
        elif k.endswith('.checkpoint'):
            assert a[k] == f'checkpoints/paper_resnet{depth}_backbone.pth'
            assert b[k] == f'checkpoints/torchvision_resnet{depth}_backbone.pth'
        else:
            name = k.rsplit('.', 1)[1]
            assert (a[k], b[k]) == (CAFFE_NORM[name], TORCHVISION_NORM[name])
    if '-c4_' in caffe:
        assert b['model.roi_head.shared_head.init_cfg.prefix'] == 'layer4.'


@pytest.mark.parametrize('style', STYLES)
def test_dc5_backbone_gives_one_stride16_2048_channel_map(style):
    cfg = Config.fromfile(_faster_rcnn(f'faster-rcnn_paper-r50-{style}-dc5_1x_coco.py'))
    init_default_scope('mmdet')
    backbone = MODELS.build(cfg.model.backbone).eval()  # He init: no checkpoint read
    assert backbone.style == style
    with torch.no_grad():
        outs = backbone(torch.rand(1, 3, 64, 64))
    assert len(outs) == 1
    assert tuple(outs[0].shape) == (1, 2048, 4, 4)  # 64 / 16
    # conv5_x kept the stride-16 resolution of conv4_x with dilation 2 on its 3x3 convs
    conv2 = backbone.layer4[0].conv2
    assert conv2.stride == (1, 1) and conv2.dilation == (2, 2) and conv2.padding == (2, 2)


def test_voc0712_trains_on_both_years_and_tests_on_07_with_11_points():
    cfg = Config.fromfile(_faster_rcnn('faster-rcnn_paper-r101-caffe-c4_4e_voc0712.py'))
    parts = cfg.train_dataloader.dataset.dataset.datasets
    assert [p.ann_file for p in parts] == ['VOC2007/ImageSets/Main/trainval.txt',
                                           'VOC2012/ImageSets/Main/trainval.txt']
    assert cfg.test_dataloader.dataset.ann_file == 'VOC2007/ImageSets/Main/test.txt'
    assert cfg.test_evaluator.eval_mode == '11points'
    voc07 = Config.fromfile(_faster_rcnn('faster-rcnn_paper-r50-caffe-fpn_4e_voc07.py'))
    assert voc07.train_dataloader.dataset.dataset.ann_file == \
        'VOC2007/ImageSets/Main/trainval.txt'


def test_amp_flag_gives_float16_amp_wrapper():
    """--amp on the paper's config: fp16 (mmcv's RoIAlign has no bf16 kernel)."""
    from mmresnet.apis.runner import enable_amp
    cfg = Config.fromfile(osp.join(ROOT, 'configs/faster_rcnn_r101_coco.py'))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.get('dtype', 'float16') == 'float16'
