"""The C4 detector sized to a data set's boxes (mmresnet.planning.sizing)."""
import json
import os.path as osp

import numpy as np
import pytest

from mmresnet.planning.sizing import (aligned_iou, anchor_shapes, best_possible_recall,
                                      size_detector)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _embedded():
    path = osp.join(ROOT, 'data', 'demo_detection', 'annotations', 'instances_train.json')
    data = json.load(open(path))
    imgs = {i['id']: i for i in data['images']}
    boxes = np.array([a['bbox'] for a in data['annotations']], np.float64)
    boxes[:, 2:] += boxes[:, :2]
    wh = np.array([[imgs[a['image_id']]['width'], imgs[a['image_id']]['height']]
                   for a in data['annotations']], np.float64)
    return boxes, wh


def _boxes(rng, n, side, aspect, image):
    """n boxes of sqrt(w*h) in ``side`` (range) and h/w in ``aspect`` (range) in images of
    ``image`` (w, h)."""
    s = np.exp(rng.uniform(*np.log(side), n))
    a = np.exp(rng.uniform(*np.log(aspect), n))
    w, h = s / np.sqrt(a), s * np.sqrt(a)
    x, y = rng.uniform(0, image[0] - w), rng.uniform(0, image[1] - h)
    return np.stack([x, y, x + w, y + h], 1), np.tile(image, (n, 1)).astype(float)


def test_aligned_iou_and_anchor_shapes():
    np.testing.assert_allclose(aligned_iou([[32, 32]], [[32, 32], [64, 64], [16, 64]]),
                               [[1.0, 0.25, 16 * 32 / (32 * 32 + 16 * 64 - 16 * 32)]])
    # mmdet's AnchorGenerator: h / w = ratio, area (stride * scale)^2
    np.testing.assert_allclose(anchor_shapes([2], [0.5, 1, 2]),
                               [[32 * 2 ** .5, 32 / 2 ** .5], [32, 32],
                                [32 / 2 ** .5, 32 * 2 ** .5]])
    assert best_possible_recall(np.array([[32, 32], [45, 45], [46, 46]]), [2], [1]) == \
        pytest.approx(2 / 3)  # (32/45)^2 = 0.506, (32/46)^2 = 0.484


def test_embedded_tiles_give_the_hand_tuned_sizes():
    boxes, wh = _embedded()
    s = size_detector(boxes, wh)
    assert s['input_size'] == 800
    assert s['anchor_ratios'] == [0.5, 1.0, 2.0]
    assert s['anchor_scales'][:3] == [2.0, 4.0, 8.0]  # 32, 64, 128 px
    assert s['roi_size'] == 4 and s['crop_size'] == 64
    assert s['bpr'] >= 0.98
    # 3x larger tiles and crowns: another resize factor, the same network input
    s3 = size_detector(boxes * 3, wh * 3)
    assert s3['input_size'] == 800 and s3['stats']['side_px'][1] == pytest.approx(
        3 * s['stats']['side_px'][1], rel=1e-3)
    assert s3['anchor_scales'] == s['anchor_scales'] and s3['roi_size'] == s['roi_size']


def test_small_objects_in_large_images_hit_the_scale_limit():
    rng = np.random.default_rng(0)
    boxes, wh = _boxes(rng, 400, (8, 20), (0.8, 1.25), (3000, 2000))  # 4-9 px at 1333
    s = size_detector(boxes, wh)
    assert s['input_size'] == 1333  # 32 px would want ~10,000
    assert s['anchor_scales'][0] == 1.0  # 16 px anchors (one stride) for 4-9 px boxes
    assert any('kept within' in w for w in s['why'])
    assert 0 <= s['bpr'] < 0.98  # honestly reported: boxes below 11 px find no anchor
    assert any(w.startswith('WARNING') and 'tiles' in w for w in s['why'])


def test_large_objects_get_a_small_input_and_a_large_roi():
    rng = np.random.default_rng(1)
    boxes, wh = _boxes(rng, 300, (150, 280), (0.7, 1.4), (500, 375))
    s = size_detector(boxes, wh)
    assert s['input_size'] == 320
    assert s['roi_size'] >= 8 and s['crop_size'] == 16 * s['roi_size']
    assert 16 * min(s['anchor_scales']) >= 64  # 96-180 px boxes at 320 px: no small anchors
    assert s['bpr'] >= 0.98


def test_elongated_objects_get_elongated_anchors():
    rng = np.random.default_rng(2)
    boxes, wh = _boxes(rng, 300, (40, 80), (0.12, 0.3), (640, 480))  # wide, flat objects
    s = size_detector(boxes, wh)
    assert min(s['anchor_ratios']) <= 0.125
    assert s['bpr'] >= 0.98
    # mmdet's ratios alone would miss most of them
    wh_in = (boxes[:, 2:] - boxes[:, :2]) * s['input_size'] / 640
    assert best_possible_recall(wh_in, s['anchor_scales'], [0.5, 1, 2]) < 0.9


def test_refit_adds_what_the_recall_lacks():
    rng = np.random.default_rng(3)
    a, wa = _boxes(rng, 380, (30, 60), (0.8, 1.25), (400, 400))
    b, wb = _boxes(rng, 20, (300, 380), (0.8, 1.25), (400, 400))  # 5 % much larger
    s = size_detector(np.concatenate([a, b]), np.concatenate([wa, wb]))
    assert s['bpr'] >= 0.98 > s['bpr_before_refit']
    # 256 px anchors for the 310-400 px boxes, not the next octave (128 px) first
    assert any('added the scale 16 ' in w for w in s['why'])
    assert 8.0 not in s['anchor_scales'] and 16.0 in s['anchor_scales']


def test_no_box_is_refused():
    with pytest.raises(ValueError, match='no training box'):
        size_detector(np.zeros((0, 4)), np.zeros((0, 2)))
