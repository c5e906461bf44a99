"""DetectionCropDataset on the embedded detection annotations."""
import json
import os.path as osp

import numpy as np
import pytest
from mmdet.evaluation.functional import bbox_overlaps

from mmresnet.datasets import DetectionCropDataset, crop_window

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(ROOT, 'data/demo_detection')


def _images(ann):
    with open(osp.join(DATA, 'annotations', ann)) as f:
        return json.load(f)


def test_crops_of_the_training_tiles_only_with_balanced_counts():
    ds = DetectionCropDataset(ann_file='annotations/instances_train.json', data_root=DATA,
                              crop_size=32, crops_per_box=2)
    train, val = _images('instances_train.json'), _images('instances_val.json')
    assert ds.metainfo['classes'] == ('background', 'tree')
    boxes = [a for a in train['annotations'] if min(a['bbox'][2:]) >= 4]
    labels = np.array([ds.get_data_info(i)['gt_label'] for i in range(len(ds))])
    assert (labels == 1).sum() == 2 * len(boxes)
    # as many background windows as box windows (sampling may fall short in dense tiles)
    assert 0.9 * (labels == 1).sum() <= (labels == 0).sum() <= (labels == 1).sum()
    used = {osp.basename(p) for p in ds.image_files}
    assert used <= {osp.basename(i['file_name']) for i in train['images']}
    assert not used & {osp.basename(i['file_name']) for i in val['images']}
    assert ds.get_data_info(0)['img'].shape == (32, 32, 3)
    assert ds.get_data_info(0)['img'].dtype == np.uint8


def test_crops_are_seeded_and_backgrounds_overlap_no_box():
    kw = dict(ann_file='annotations/instances_val.json', data_root=DATA, crop_size=16,
              crops_per_box=1)
    a, b = DetectionCropDataset(**kw, seed=3), DetectionCropDataset(**kw, seed=3)
    assert np.array_equal(a._images, b._images)
    rng = np.random.default_rng(0)
    boxes = np.array([[10, 10, 40, 40], [100, 100, 130, 140]], dtype=float)
    for bg in a._backgrounds(boxes, 20, 200, 200, rng):
        assert bbox_overlaps(bg[None], boxes).max() < a.neg_iou
    for _ in range(20):
        assert bbox_overlaps(a._jitter(boxes[0], rng)[None], boxes[:1])[0, 0] >= a.pos_iou


def test_crop_window_is_the_box_with_context():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 40:60] = 255
    out = crop_window(img, np.array([40., 40., 60., 60.]), context=2.0, size=40)
    # the 20 px box in a 40 px window, warped 1:1: white in the middle half only
    assert out.shape == (40, 40, 3)
    assert out[12:28, 12:28].min() == 255 and out[:8].max() == 0 and out[:, -8:].max() == 0


def test_crop_window_at_a_fixed_scale_keeps_the_box_size():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 40:60] = 255
    # scale 1: a 40 px window of the image itself, the 20 px box stays 20 px
    out = crop_window(img, np.array([40., 40., 60., 60.]), context=3.0, size=40, scale=1.0)
    assert out[11:29, 11:29].min() == 255 and out[:9].max() == 0 and out[:, 31:].max() == 0
    # scale 2: a 20 px window enlarged twice, the box fills it
    out = crop_window(img, np.array([40., 40., 60., 60.]), context=3.0, size=40, scale=2.0)
    assert out[2:38, 2:38].min() == 255


@pytest.mark.parametrize('kw, word', [(dict(crop_size=4), 'crop_size'),
                                      (dict(context=0.5), 'context'),
                                      (dict(scale=0), 'scale'),
                                      (dict(neg_iou=1.5), 'neg_iou'),
                                      (dict(color_type='rgb'), 'color_type')])
def test_bad_arguments_are_named(kw, word):
    with pytest.raises(ValueError, match=word):
        DetectionCropDataset(ann_file='annotations/instances_val.json', data_root=DATA, **kw)


def test_a_missing_image_is_named(tmp_path):
    ann = _images('instances_val.json')
    ann['images'][0]['file_name'] = 'JPEGImages/nope.jpg'
    (tmp_path / 'a.json').write_text(json.dumps(ann))
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        DetectionCropDataset(ann_file=str(tmp_path / 'a.json'), data_root=DATA)
