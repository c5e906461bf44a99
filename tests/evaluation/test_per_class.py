"""Per-class results of a detection test: COCO AP / AP50 / AR per class (their mean is
CocoMetric's mAP), PR curves and mmdet's confusion-matrix counting."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from mmresnet.evaluation.per_class import (evaluate_per_class, format_table,
                                           plot_confusion_matrix, plot_pr_curves)

CATS = [dict(id=3, name='tree'), dict(id=8, name='dead tree'), dict(id=9, name='shrub')]


def _files(tmp_path):
    """Two 100x100 images: trees found, a dead tree taken for a tree, a false shrub, and
    no 'shrub' box in the ground truth."""
    gt = dict(images=[dict(id=1, file_name='a.jpg', width=100, height=100),
                      dict(id=2, file_name='b.jpg', width=100, height=100)],
              categories=CATS, annotations=[
                  dict(id=1, image_id=1, category_id=3, bbox=[10, 10, 20, 20], area=400,
                       iscrowd=0),
                  dict(id=2, image_id=1, category_id=3, bbox=[50, 50, 30, 30], area=900,
                       iscrowd=0),
                  dict(id=3, image_id=2, category_id=8, bbox=[5, 5, 40, 40], area=1600,
                       iscrowd=0),
                  dict(id=4, image_id=2, category_id=3, bbox=[60, 60, 20, 20], area=400,
                       iscrowd=1)])
    dets = [dict(image_id=1, category_id=3, bbox=[10, 10, 20, 20], score=0.9),
            dict(image_id=1, category_id=3, bbox=[50, 50, 30, 30], score=0.8),
            dict(image_id=2, category_id=3, bbox=[5, 5, 40, 40], score=0.7),
            dict(image_id=2, category_id=9, bbox=[70, 0, 20, 20], score=0.6),
            dict(image_id=1, category_id=8, bbox=[0, 80, 10, 10], score=0.1)]
    paths = []
    for name, data in (('gt.json', gt), ('results.bbox.json', dets)):
        paths.append(str(tmp_path / name))
        json.dump(data, open(paths[-1], 'w'))
    return paths, gt, dets


def test_per_class_numbers_and_confusion(tmp_path):
    (gt_file, res_file), _, _ = _files(tmp_path)
    res = evaluate_per_class(gt_file, res_file, score_thr=0.3)
    per = res['per_class']
    assert list(per) == ['tree', 'dead tree', 'shrub']  # category-id order
    assert per['tree'] == dict(AP=1.0, AP50=1.0, AR=1.0, boxes=2)  # the crowd box not counted
    assert per['dead tree']['AP'] == 0.0 and per['dead tree']['boxes'] == 1
    assert per['shrub'] == dict(AP=None, AP50=None, AR=None, boxes=0)  # unvalidated
    assert set(res['pr']) == {'tree', 'dead tree'}
    assert res['pr']['tree']['precision@0.5'][0] == 1.0
    m = np.array(res['confusion'])
    assert res['confusion_labels'] == ['tree', 'dead tree', 'shrub', 'background']
    assert m[0, 0] == 2  # both trees found
    assert m[1, 0] == 1 and m[1, 3] == 1  # the dead tree taken for a tree, so missed
    assert m[3, 2] == 1  # a shrub where there is none
    assert m.sum() == 5  # the 0.1-scored prediction is below the threshold
    rows = format_table(per)
    assert rows[0].split() == ['class', 'AP', 'AP50', 'AR', 'boxes']
    assert 'unvalidated' in rows[3] and '1.000' in rows[1]
    assert osp.isfile(plot_pr_curves(res['pr'], str(tmp_path / 'pr.png')))
    assert osp.isfile(plot_confusion_matrix(m, res['confusion_labels'],
                                            str(tmp_path / 'cm.png')))


def test_mean_of_the_class_aps_is_coco_metric_map(tmp_path):
    """The per-class numbers are CocoMetric's, split by class."""
    from mmdet.evaluation import CocoMetric
    (gt_file, res_file), gt, dets = _files(tmp_path)
    per = evaluate_per_class(gt_file, res_file)['per_class']
    metric = CocoMetric(ann_file=gt_file, metric='bbox')
    metric.dataset_meta = dict(classes=tuple(c['name'] for c in CATS))
    for img in gt['images']:
        ds = [d for d in dets if d['image_id'] == img['id']]
        label = {c['id']: i for i, c in enumerate(CATS)}
        metric.process({}, [dict(img_id=img['id'], ori_shape=(100, 100), pred_instances=dict(
            bboxes=torch.tensor([[x, y, x + w, y + h] for x, y, w, h in
                                 (d['bbox'] for d in ds)], dtype=torch.float32),
            scores=torch.tensor([d['score'] for d in ds]),
            labels=torch.tensor([label[d['category_id']] for d in ds])))])
    out = metric.evaluate(len(gt['images']))
    validated = [r for r in per.values() if r['AP'] is not None]
    assert np.mean([r['AP'] for r in validated]) == pytest.approx(out['coco/bbox_mAP'],
                                                                  abs=1e-3)
    assert np.mean([r['AP50'] for r in validated]) == pytest.approx(
        out['coco/bbox_mAP_50'], abs=1e-3)


def test_no_prediction_at_all(tmp_path):
    (gt_file, _), _, _ = _files(tmp_path)
    res = evaluate_per_class(gt_file, str(tmp_path / 'none.bbox.json'))
    assert res['per_class']['tree'] == dict(AP=0.0, AP50=0.0, AR=0.0, boxes=2)
    assert np.array(res['confusion'])[:, -1].tolist() == [2, 1, 0, 0]
