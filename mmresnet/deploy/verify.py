"""The exported file checked against PyTorch: a classifier's scores, a detector's boxes on
one image (matched both ways by label and IoU) and on the config's test set (with the test
evaluator's metrics of both)."""
import numpy as np
import torch
from mmdet.evaluation.functional import bbox_overlaps

from .common import ExportError, instances_as_numpy, test_batch
from .runtime import DeployedDetector, OnnxRuntimeBackend, make_backend

#: Largest ONNX Runtime - PyTorch difference accepted (classifier scores; detector box
#: coordinates are matched by IoU, scores by this much).
CLS_TOLERANCE = 1e-3


def verify_classifier(module, path, example, tolerance=CLS_TOLERANCE):
    """ONNX Runtime's ``scores`` against PyTorch's on ``example``."""
    with torch.no_grad():
        ref = module(example).numpy()
    got = OnnxRuntimeBackend(path)(example.numpy())[0]
    diff = float(np.abs(got - ref).max())
    result = dict(max_abs_diff=diff, tolerance=tolerance,
                  summary=f'max |ONNX Runtime - PyTorch| of the scores {diff:.3g} '
                          f'(tolerance {tolerance:g})')
    if not diff < tolerance:
        raise ExportError(f'{path}: ONNX Runtime and PyTorch disagree: {result["summary"]}')
    return result


def verify_detector(cfg, model, path, image, score_thr=0.3, iou=0.9, min_matched=0.95):
    """mmdet's own ``predict`` (PyTorch) and the exported file (ONNX Runtime) on the
    image through the test pipeline: the boxes scored >= ``score_thr`` of each must be
    found in the other (same label, IoU >= ``iou``) for >= ``min_matched`` of them."""
    batch = test_batch(cfg.test_dataloader.dataset.pipeline, image)
    deployed = DeployedDetector(OnnxRuntimeBackend(path), cfg.model.data_preprocessor)
    with torch.no_grad():
        ref, got = (instances_as_numpy(m.test_step(batch)[0].pred_instances)
                    for m in (model, deployed))
    match = match_detections(ref, got, score_thr, iou)
    match['summary'] = (f"{match['matched']}/{match['total']} boxes >= {score_thr:g} "
                        f'matched at IoU >= {iou:g} (both ways), max score difference '
                        f"{match['max_score_diff']:.3g}")
    if match['total'] and match['matched'] / match['total'] < min_matched:
        raise ExportError(f'{path}: ONNX Runtime and PyTorch disagree on {image}: '
                          f"{match['summary']}")
    return match


def match_detections(ref, got, score_thr=0.3, iou=0.9):
    """How many boxes scored >= ``score_thr`` in either result have a box of the same
    label with IoU >= ``iou`` among all boxes of the other (so a box near the threshold
    on one side still finds its twin); the largest score difference of the matches."""
    matched, total, score_diff = 0, 0, 0.0
    for a, b in ((ref, got), (got, ref)):
        keep = a['scores'] >= score_thr
        boxes, scores, labels = a['bboxes'][keep], a['scores'][keep], a['labels'][keep]
        total += len(boxes)
        if not len(boxes) or not len(b['bboxes']):
            continue
        ious = bbox_overlaps(boxes, b['bboxes'], eps=1e-9)
        ious[labels[:, None] != b['labels'][None]] = 0
        best = ious.argmax(1)
        ok = ious[np.arange(len(boxes)), best] >= iou
        matched += int(ok.sum())
        if ok.any():
            score_diff = max(score_diff, float(np.abs(scores[ok] - b['scores'][best[ok]]).max()))
    return dict(matched=matched, total=total, max_score_diff=score_diff)


def verify_dataset(cfg, model, path, backend='onnxruntime', precision='fp32',
                   score_thr=0.3, iou=0.9, max_images=None, log=print):
    """PyTorch (mmdet's ``test_step``) and the exported file on the config's test set:
    the boxes matched as in :func:`verify_detector`, over all images, and the test
    evaluator's metrics (e.g. COCO mAP) of each, through the same evaluator config.

    Returns:
        dict: ``matched``, ``total``, ``max_score_diff``, ``pytorch`` and ``deployed``
        (the metrics), ``images``.
    """
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner

    loader_cfg = dict(cfg.test_dataloader, batch_size=1)
    loader_cfg['dataset'] = dict(loader_cfg['dataset'])
    loader = Runner.build_dataloader(loader_cfg)
    deployed = DeployedDetector(make_backend(path, backend, precision),
                                cfg.model.data_preprocessor)
    evaluators = {k: Evaluator(cfg.test_evaluator) for k in ('pytorch', 'deployed')}
    for e in evaluators.values():
        e.dataset_meta = loader.dataset.metainfo
    matched = total = images = 0
    score_diff = 0.0
    with torch.no_grad():
        for batch in loader:
            ref = model.test_step(batch)
            got = deployed.test_step(batch)
            evaluators['pytorch'].process(ref, batch)
            evaluators['deployed'].process(got, batch)
            for r, g in zip(ref, got):
                m = match_detections(instances_as_numpy(r.pred_instances),
                                     instances_as_numpy(g.pred_instances), score_thr, iou)
                matched, total = matched + m['matched'], total + m['total']
                score_diff = max(score_diff, m['max_score_diff'])
            images += len(ref)
            if max_images and images >= max_images:
                break
    size = len(loader.dataset) if not max_images else images
    result = dict(images=images, matched=matched, total=total, max_score_diff=score_diff,
                  **{k: e.evaluate(size) for k, e in evaluators.items()})
    log(f'{images} images: {matched}/{total} boxes >= {score_thr:g} matched at IoU >= '
        f'{iou:g}, max score difference {score_diff:.3g}; metrics PyTorch '
        f'{result["pytorch"]}, {backend} {precision} {result["deployed"]}')
    return result
