"""Results per class of a detection test: COCO AP, AP50, AR and the box count per class,
precision-recall curves per class and a confusion matrix.

    from mmresnet.evaluation.per_class import evaluate_per_class
    res = evaluate_per_class('work_dirs/mine/data/val.json',
                             'work_dirs/mine/detect/results.bbox.json')
    res['per_class']   # {'tree': {'AP': 0.19, 'AP50': 0.55, 'AR': 0.31, 'boxes': 390}}

The inputs are the ground truth (a COCO file) and the predictions as mmdet's
``CocoMetric(outfile_prefix=...)`` writes them (``<prefix>.bbox.json``). The COCO numbers
come from pycocotools' ``COCOeval`` (through mmdet's wrapper), set up as ``CocoMetric``
sets it (``maxDets`` 100, 300, 1000; AP over the last, the mean of the per-class APs is
CocoMetric's ``bbox_mAP``), read per category from its ``precision`` and ``recall``
arrays (AR: at 100 detections, CocoMetric's ``AR@100``), on every image of the ground
truth, as CocoMetric evaluates (an image without predictions has its boxes missed).

The confusion matrix counts with mmdet's own ``analyze_per_img_dets``
(``tools/analysis_tools/confusion_matrix.py`` of the installed mmdet, its ``.mim``
folder): a prediction scored ``>= score_thr`` overlapping a ground-truth box by IoU ``>=
0.5`` counts in that box's row; unmatched predictions in the 'background' row, missed
boxes in the 'background' column. The plot is drawn here (mmdet's
``plot_confusion_matrix`` sizes its figure by the class count: unreadable below ten).
A class without a validation box has ``None`` for AP, AP50 and AR ("unvalidated").
"""
import importlib.util
import json
import os.path as osp

import numpy as np

MAX_DETS = (100, 300, 1000)  # mmdet CocoMetric's proposal_nums
SCORE_THR = 0.3  # mmdet's confusion_matrix.py default, and the demo's drawing threshold


def _load(path):
    with open(path) as f:
        return json.load(f)


def _coco_eval(gt, dets):
    """pycocotools' COCOeval on dicts, as mmdet's CocoMetric configures it."""
    from mmdet.datasets.api_wrappers import COCO, COCOeval
    coco_gt = COCO()
    coco_gt.dataset = gt
    coco_gt.createIndex()
    coco_dt = coco_gt.loadRes(dets)
    ev = COCOeval(coco_gt, coco_dt, 'bbox')
    ev.params.maxDets = list(MAX_DETS)
    ev.evaluate()
    ev.accumulate()
    return ev


def _mean_valid(a):
    a = a[a > -1]
    return float(np.mean(a)) if a.size else None


def evaluate_per_class(gt_file, results_file, score_thr=SCORE_THR, quiet=True):
    """Per-class COCO results, PR curves and the confusion matrix of one test.

    Args:
        gt_file (str): COCO ground truth of the tested images.
        results_file (str): The predictions, COCO results format.
        score_thr (float): Lowest score counted in the confusion matrix.
        quiet (bool): Keep pycocotools' printing out of the log.

    Returns:
        dict: ``per_class`` ({name: {AP, AP50, AR, boxes}}), ``classes``, ``pr``
        ({name: {'recall': [...], 'precision@0.5': [...], 'precision@0.75': [...]}}),
        ``confusion`` ((K + 1) x (K + 1) counts, rows ground truth, columns predictions,
        the last 'background'), ``confusion_labels``, ``score_thr``.
    """
    import contextlib
    import io
    gt = _load(gt_file)
    dets = _load(results_file) if osp.isfile(results_file) else []
    cats = sorted(gt['categories'], key=lambda c: c['id'])
    classes = [c['name'] for c in cats]
    boxes = {c['id']: 0 for c in cats}
    for a in gt['annotations']:
        if not a.get('iscrowd', 0) and a['category_id'] in boxes:
            boxes[a['category_id']] += 1
    per_class, pr = {}, {}
    ev = None
    if dets:
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            ev = _coco_eval(gt, dets)
    for k, cat in enumerate(cats):
        row = dict(AP=None, AP50=None, AR=None, boxes=boxes[cat['id']])
        if boxes[cat['id']]:
            if ev is None:
                row.update(AP=0.0, AP50=0.0, AR=0.0)
            else:
                k_ev = ev.params.catIds.index(cat['id'])
                precision, recall = ev.eval['precision'], ev.eval['recall']
                row.update(AP=_mean_valid(precision[:, :, k_ev, 0, -1]),
                           AP50=_mean_valid(precision[0, :, k_ev, 0, -1]),
                           AR=_mean_valid(recall[:, k_ev, 0, 0]))
                row = {key: (0.0 if v is None and key != 'boxes' else v)
                       for key, v in row.items()}
                pr[cat['name']] = {
                    'recall': [float(r) for r in ev.params.recThrs],
                    'precision@0.5': [max(0.0, float(p)) for p in precision[0, :, k_ev, 0, -1]],
                    'precision@0.75': [max(0.0, float(p))
                                       for p in precision[5, :, k_ev, 0, -1]]}
        per_class[cat['name']] = {key: (round(v, 4) if isinstance(v, float) else v)
                                  for key, v in row.items()}
    matrix = confusion_matrix(gt, dets, [c['id'] for c in cats], score_thr)
    return dict(per_class=per_class, classes=classes, pr=pr, confusion=matrix.tolist(),
                confusion_labels=classes + ['background'], score_thr=score_thr)


def _mmdet_confusion_tool():
    """mmdet's tools/analysis_tools/confusion_matrix.py as shipped in the installed
    package (``mmdet/.mim``), or None where this mmdet has none."""
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'analysis_tools',
                    'confusion_matrix.py')
    if not osp.isfile(path):
        return None
    spec = importlib.util.spec_from_file_location('mmdet_confusion_matrix_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def confusion_matrix(gt, dets, cat_ids, score_thr=SCORE_THR, iou_thr=0.5):
    """(K + 1) x (K + 1) counts with mmdet's ``analyze_per_img_dets`` (rows: ground
    truth, columns: predictions; the last row and column: background). Crowd boxes
    (``iscrowd``) are left out, as COCO's evaluation leaves them unmatched."""
    import torch
    tool = _mmdet_confusion_tool()
    if tool is None:
        raise RuntimeError('the installed mmdet has no .mim/tools/analysis_tools/'
                           'confusion_matrix.py')
    label = {c: i for i, c in enumerate(cat_ids)}
    matrix = np.zeros((len(cat_ids) + 1, len(cat_ids) + 1))
    gts, preds = {}, {}
    for a in gt['annotations']:
        if not a.get('iscrowd', 0) and a['category_id'] in label:
            x, y, w, h = a['bbox']
            gts.setdefault(a['image_id'], []).append(
                dict(bbox=[x, y, x + w, y + h], bbox_label=label[a['category_id']]))
    for d in dets:
        if d['category_id'] in label:
            preds.setdefault(d['image_id'], []).append(d)
    for img in gt['images']:
        ds = preds.get(img['id'], [])
        result = dict(
            bboxes=torch.tensor([[d['bbox'][0], d['bbox'][1], d['bbox'][0] + d['bbox'][2],
                                  d['bbox'][1] + d['bbox'][3]] for d in ds],
                                dtype=torch.float32).reshape(-1, 4),
            scores=torch.tensor([d['score'] for d in ds], dtype=torch.float32),
            labels=torch.tensor([label[d['category_id']] for d in ds], dtype=torch.long))
        img_gts = gts.get(img['id'], [])
        if not img_gts:  # mmdet's bbox_overlaps wants a (0, 4) array, not an empty list
            for lab, score in zip(result['labels'].tolist(), result['scores'].tolist()):
                if score >= score_thr:
                    matrix[-1, lab] += 1
            continue
        tool.analyze_per_img_dets(matrix, img_gts, result, score_thr, iou_thr)
    return matrix


def format_table(per_class):
    """The per-class results as text rows (a header first)."""
    width = max([5] + [len(n) for n in per_class])
    rows = [f'{"class":<{width}}  {"AP":>6} {"AP50":>6} {"AR":>6} {"boxes":>6}']
    for name, r in per_class.items():
        cells = ' '.join('     -' if r[k] is None else f'{r[k]:6.3f}' for k in
                         ('AP', 'AP50', 'AR'))
        rows.append(f'{name:<{width}}  {cells} {r["boxes"]:6d}'
                    + ('  (unvalidated: no box in the validation images)'
                       if r['AP'] is None else ''))
    return rows


def plot_pr_curves(pr, out, max_panels=24):
    """One panel per class: precision against recall at IoU 0.5 and 0.75 (COCOeval's 101
    recall points)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(pr)[:max_panels]
    n = max(1, len(names))
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), dpi=100,
                             squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis('off')
    for ax, name in zip(axes.ravel(), names):
        c = pr[name]
        for key, style in (('precision@0.5', '-'), ('precision@0.75', '--')):
            ax.plot(c['recall'], c[key], style, lw=1.6, label=f'IoU {key.split("@")[1]}')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('recall', fontsize=8)
        ax.set_ylabel('precision', fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if not names:
        axes[0, 0].text(0.5, 0.5, 'no class with validation boxes', ha='center')
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_confusion_matrix(matrix, labels, out, score_thr=SCORE_THR):
    """The matrix as counts, coloured by the share of each ground-truth row."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    m = np.asarray(matrix, dtype=float)
    share = m / np.maximum(m.sum(1, keepdims=True), 1)
    n = len(labels)
    side = max(3.5, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(side + 1, side), dpi=100)
    im = ax.imshow(share, cmap='Blues', vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label='share of the row')
    ax.set_xticks(range(n), labels, rotation=45, ha='right', fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel(f'prediction (score >= {score_thr:g})')
    ax.set_ylabel('ground truth')
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f'{int(m[i, j])}', ha='center', va='center', fontsize=8,
                        color='white' if share[i, j] > 0.5 else 'black')
    ax.set_title('confusion matrix (IoU >= 0.5)', fontsize=9)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


__all__ = ['evaluate_per_class', 'confusion_matrix', 'format_table', 'plot_pr_curves',
           'plot_confusion_matrix']
