"""The demo's C4 detector and the FPN and DC5 Faster R-CNN
(configs/_base_/models/faster_rcnn_paper_r50_caffe_{fpn,dc5}.py, the models of
configs/faster_rcnn/*-fpn_* and *-dc5_*) trained briefly on the embedded demo tiles,
exported with a dynamic batch, and held to mmdet's predict on the 9 validation tiles in
the config's batches of 3 with the C4 detector's tolerances (docs/deploy.md): boxes
scored >= 0.3 found in the other result (same label, IoU >= 0.9) for >= 95 % of them,
per image, on ONNX Runtime and OpenVINO.

Trained, not initialised: from init weights the RPN's scores saturate at exactly 0 and 1
and each runtime breaks the ties its own way, so such a check says nothing. The models
are the demo's from-scratch C4 and the shipped FPN and DC5 ones at its width
(PaperResNet-18 at 16 base channels, BN learning as in the demo's from-scratch config) and
the tiles at 224 px, so that a few dozen steps on
two CPU cores give spread scores."""
import os.path as osp

import pytest
import torch

pytest.importorskip('onnx', reason="the deploy extra (pip install 'mmresnet[deploy]') "
                    'is not installed')
pytest.importorskip('onnxruntime', reason='the deploy extra is not installed')

from mmresnet.deploy.export import export_onnx  # noqa: E402
from mmresnet.deploy.verify import verify_dataset  # noqa: E402

from ..models.detector_helpers import ROOT, quiet_init_info  # noqa: E402

DEMO = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
MODELS = {kind: osp.join(ROOT, f'configs/_base_/models/faster_rcnn_paper_r50_caffe_{kind}.py')
          for kind in ('fpn', 'dc5')}
SIZE = 224  # a multiple of 32: no padding, the tiles' crowns 8-39 px
STEPS = 40

pytestmark = pytest.mark.e2e  # a training run of a few dozen steps each (tens of seconds)


def small_config(kind, tmp_path):
    """The demo's data and evaluator with the ``kind`` model at a small width, written
    as a config file (the export tool's input)."""
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO)
    if kind == 'c4':  # the demo's own detector (PaperResNet-18 at 16 base channels)
        return _small_tiles(cfg, kind, tmp_path)
    model = Config.fromfile(MODELS[kind]).model
    w = 16
    norm = dict(type='BN', requires_grad=True)
    model.backbone.update(depth=18, base_channels=w, frozen_stages=-1, norm_cfg=norm,
                          norm_eval=False, init_cfg=None)
    channels = 8 * w  # conv5_x of a PaperResNet-18
    if kind == 'fpn':
        model.neck.update(in_channels=[w, 2 * w, 4 * w, 8 * w], out_channels=32)
        channels = 32
    model.rpn_head.update(in_channels=channels, feat_channels=channels)
    if kind == 'dc5':  # anchors of 16-64 px (the crowns at 224 px), not 32-512
        model.rpn_head.anchor_generator.scales = [1, 2, 4]
    model.roi_head.bbox_roi_extractor.out_channels = channels
    model.roi_head.bbox_head.update(in_channels=channels, fc_out_channels=64, num_classes=1)
    model.train_cfg.rpn_proposal.update(nms_pre=1000, max_per_img=300)
    model.train_cfg.rcnn.sampler.num = 64
    model.test_cfg.rpn.update(nms_pre=1000, max_per_img=300)
    cfg.model = model
    return _small_tiles(cfg, kind, tmp_path)


def _small_tiles(cfg, kind, tmp_path):
    for loader in ('train_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (SIZE, SIZE)
    cfg.val_dataloader = cfg.test_dataloader
    path = str(tmp_path / f'{kind}_demo.py')
    cfg.dump(path)
    return cfg, path


def train_briefly(cfg, steps=STEPS):
    """``steps`` SGD steps of batch 2 over the training tiles (seeded: order, init and
    flips); the model in eval mode."""
    from mmdet.registry import DATASETS, MODELS as DET_MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    from mmengine.registry import init_default_scope
    import numpy as np
    init_default_scope('mmdet')
    torch.manual_seed(0)
    np.random.seed(0)  # the pipeline's random flips
    with quiet_init_info():
        model = DET_MODELS.build(cfg.model)
        model.init_weights()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                                         weight_decay=1e-4))
    order = torch.randperm(len(dataset)).tolist() * (2 * steps // len(dataset) + 1)
    model.train()
    for i in range(steps):
        batch = pseudo_collate([dataset[j] for j in order[2 * i:2 * i + 2]])
        model.train_step(batch, optim)
    return model.eval()


@pytest.fixture(scope='module', params=['c4', 'fpn', 'dc5'])
def trained(request, tmp_path_factory):
    """(config, checkpoint, exported file) of the briefly trained ``kind`` detector."""
    folder = tmp_path_factory.mktemp(request.param)
    cfg, path = small_config(request.param, folder)
    model = train_briefly(cfg)
    ckpt = str(folder / 'trained.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('tree', )}}}, ckpt)
    report = export_onnx(path, ckpt, str(folder / 'detector.onnx'), dynamic=True,
                         log=lambda *a: None)
    return cfg, ckpt, report['out']


@pytest.mark.parametrize('backend, score_diff', [('onnxruntime', 1e-3), ('openvino', 1e-2)])
def test_trained_detector_matches_mmdet(trained, backend, score_diff):
    if backend == 'openvino':
        pytest.importorskip('openvino', reason='the deploy extra is not installed')
    from mmresnet.config import build_model
    cfg, ckpt, onnx_file = trained
    model = build_model(cfg, ckpt)
    result = verify_dataset(cfg, model, onnx_file, backend)  # the figures: pytest -s
    assert result['images'] == 9 and cfg.test_dataloader.batch_size == 3
    # the scores spread: boxes above the threshold to compare, not ties at 0 and 1
    assert result['total'] >= 20, result
    assert result['matched'] >= 0.95 * result['total'], result
    assert result['max_score_diff'] < score_diff, result
    assert result['deployed']['coco/bbox_mAP'] == pytest.approx(
        result['pytorch']['coco/bbox_mAP'], abs=0.005)
