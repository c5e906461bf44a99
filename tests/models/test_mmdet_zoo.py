"""mmdet's model zoo runs here: for each of mmdet's published Faster R-CNN checkpoints of the
paper's detectors (C4, DC5, FPN; R-50, R-101; caffe and pytorch style), mmdet's detector with
seeded random weights is saved as a zoo file is (``state_dict`` + ``meta``), loaded strictly
into the config here that runs it, and both give the same detections on the same batch.

The pairs are the table of docs/detection.md ("mmdet's model zoo"). Only the test scale
differs between the configs (600 px here, the paper's; 800 px in mmdet): a batch goes through
both data preprocessors, which must agree, and then through both models.
"""
import os.path as osp

import mmdet
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from .detector_helpers import ROOT, one_thread, randomise

MMDET_CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'faster_rcnn')
OURS = osp.join(ROOT, 'configs', 'faster_rcnn')

# (mmdet's config, the config here): the published checkpoint of the first runs in the second.
ZOO = [
    ('faster-rcnn_r50-caffe_c4-1x_coco.py', 'faster-rcnn_paper-r50-caffe-c4_1x_coco.py'),
    ('faster-rcnn_r50-caffe-dc5_1x_coco.py', 'faster-rcnn_paper-r50-caffe-dc5_1x_coco.py'),
    ('faster-rcnn_r50-caffe_fpn_1x_coco.py', 'faster-rcnn_paper-r50-caffe-fpn_1x_coco.py'),
    ('faster-rcnn_r50_fpn_1x_coco.py', 'faster-rcnn_paper-r50-pytorch-fpn_1x_coco.py'),
    ('faster-rcnn_r101-caffe_fpn_1x_coco.py', 'faster-rcnn_paper-r101-caffe-fpn_1x_coco.py'),
    ('faster-rcnn_r101_fpn_1x_coco.py', 'faster-rcnn_paper-r101-pytorch-fpn_1x_coco.py'),
]


def _model_cfg(path):
    model = Config.fromfile(path, import_custom_modules=False).model
    model.backbone.pop('init_cfg', None)  # no download, no checkpoint of ours: the zoo file
    shared = model.roi_head.get('shared_head')
    if shared is not None:
        shared.pop('init_cfg', None)
        shared.pop('pretrained', None)
    # 20 proposals per image on both sides keep the C4 head (conv5_x per RoI) cheap on a CPU
    model.test_cfg.rpn.update(nms_pre=200, max_per_img=20)
    return model


@pytest.mark.parametrize('theirs, ours', ZOO, ids=[z[1] for z in ZOO])
def test_mmdets_checkpoint_loads_strictly_and_gives_the_same_detections(theirs, ours,
                                                                         tmp_path):
    init_default_scope('mmdet')
    ref = MODELS.build(_model_cfg(osp.join(MMDET_CONFIGS, theirs)))
    randomise(ref, seed=3)
    with torch.no_grad():
        # small box deltas (else the anchors of unnormalised caffe features collapse and no
        # proposal is left) and sharp class scores (boxes pass the 0.05 score threshold)
        ref.rpn_head.rpn_reg.weight.mul_(1e-3)
        ref.roi_head.bbox_head.fc_reg.weight.mul_(1e-3)
        ref.roi_head.bbox_head.fc_cls.weight.mul_(30)
    zoo_file = tmp_path / theirs.replace('.py', '.pth')
    torch.save(dict(meta=dict(mmdet_version=mmdet.__version__, CLASSES=None),
                    state_dict=ref.state_dict()), zoo_file)
    model = MODELS.build(_model_cfg(osp.join(OURS, ours)))
    assert type(model.backbone).__name__ == 'PaperResNet'
    load_checkpoint(model, str(zoo_file), map_location='cpu', strict=True)
    ref.eval(), model.eval()

    torch.manual_seed(0)
    packed = demo_mm_inputs(1, [[3, 160, 224]], num_items=[2], num_classes=80)
    with torch.no_grad(), one_thread():
        a, b = ref.data_preprocessor(packed, False), model.data_preprocessor(packed, False)
        torch.testing.assert_close(a['inputs'], b['inputs'])  # the same normalisation
        want = ref.predict(a['inputs'], a['data_samples'])[0].pred_instances
        got = model.predict(b['inputs'], b['data_samples'])[0].pred_instances
    assert len(want) > 0, 'the seeded weights give no detection: the test would see nothing'
    assert len(got) == len(want)
    torch.testing.assert_close(got.bboxes, want.bboxes, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(got.scores, want.scores, rtol=1e-4, atol=1e-5)
    assert torch.equal(got.labels, want.labels)
