"""WORK_DIR/report.html opened in a real headless Chromium: it renders, every image loads
(the curves, the per-class figures, the gallery), and the page says what the run chose."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np

from mmresnet.analysis.report import write_report

from .browser import dump_dom, image_counts, screenshot


def _png(path, w=320, h=200, seed=0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(path, img)
    return path


def _run_dir(tmp_path):
    work = tmp_path / 'work dir'  # a space: links must be escaped
    shots = [_png(str(work / 'detect' / 'predictions' / f'tile #{i}.jpg'), 400, 200, i)
             for i in range(3)]
    summary = dict(
        bbox_mAP=0.183, bbox_mAP_50=0.52, tta=True,
        single_view=dict(bbox_mAP=0.17, bbox_mAP_50=0.49),
        stages=[dict(name='pretrain', seconds=61.0), dict(name='detect', seconds=300.0)],
        classes=['tree', 'dead <tree>'],
        curves=_png(str(work / 'curves.png')), pr_curves=_png(str(work / 'pr_curves.png')),
        confusion_matrix=_png(str(tmp_path / 'elsewhere' / 'confusion_matrix.png')),
        predictions=str(work / 'detect' / 'predictions'),
        per_class={'tree': dict(AP=0.2, AP50=0.55, AR=0.3, boxes=390),
                   'dead <tree>': dict(AP=None, AP50=None, AR=None, boxes=0)},
        data=dict(root='/data/mine', layout='voc', val_is_train=False,
                  split='the images split deterministically, class-aware',
                  unvalidated=['dead <tree>'], notes=['split: x', 'dropped 2 boxes'],
                  counts=dict(
                      train=dict(images=2, boxes=99, per_class={'tree': 98, 'dead <tree>': 1}),
                      val=dict(images=1, boxes=390, per_class={'tree': 390, 'dead <tree>': 0})),
                  sizing=dict(why=['input 400 px: the median box ...']),
                  plan=dict(pretrain_iters=600, det_iters=2000, det_epochs=130.0,
                            validations=10, val_interval=200, budget_s=720.0,
                            expected_s=500.0, cut_by_budget=False),
                  speed=dict(det_s=0.2)))
    return work, summary, shots


def test_report_renders_with_every_image_in_chromium(tmp_path):
    work, summary, shots = _run_dir(tmp_path)
    page = write_report(str(work), summary)
    assert page == str(work / 'report.html')
    text = open(page).read()
    assert 'http' not in text.replace('http-equiv', '')  # nothing fetched from elsewhere
    # the image outside WORK_DIR was copied in; the others are linked where they are
    assert osp.isfile(work / 'report_files' / 'confusion_matrix.png')
    dom = dump_dom(page)
    loaded, total = image_counts(dom)
    assert total == 3 + 3 and loaded == total  # curves, PR, confusion + 3 gallery images
    assert f'{total} of {total} images loaded' in dom
    assert 'dead &lt;tree&gt;' in dom and 'unvalidated' in dom.lower()
    assert '0.183' in dom and 'class-aware' in dom and 'tile #2.jpg' in dom
    png = screenshot(page, str(tmp_path / 'report.png'))
    assert cv2.imread(png).std() > 10  # something was drawn

    # a missing image is seen as missing: the check above can fail
    os.remove(shots[1])
    loaded, total = image_counts(dump_dom(page))
    assert loaded == total - 1


def test_report_says_when_validation_is_the_training_set(tmp_path):
    work, summary, _ = _run_dir(tmp_path)
    summary['data']['val_is_train'] = True
    shutil.rmtree(work / 'detect')
    text = open(write_report(str(work), summary)).read()
    assert 'Validated on the training images' in text
    assert 'no drawn predictions in this run' in text


def test_per_class_note_column_only_where_a_class_is_unvalidated():
    from mmresnet.analysis.report import _per_class
    tree = {'AP': 0.1, 'AP50': 0.2, 'AR': 0.3, 'boxes': 4}
    shrub = {'AP': None, 'AP50': None, 'AR': None, 'boxes': 0}
    validated = _per_class({'per_class': {'tree': tree}})
    assert '<th>note</th>' not in validated and validated.count('<th>') == 6
    mixed = _per_class({'per_class': {'tree': tree, 'shrub': shrub}})
    assert '<th>note</th>' in mixed and 'unvalidated' in mixed
