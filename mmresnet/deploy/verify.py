"""The exported file checked against PyTorch: a classifier's scores, a detector's boxes on
one image (matched both ways by label and IoU) and on the config's test set (with the test
evaluator's metrics of both)."""
import numpy as np
import torch
from mmdet.evaluation.functional import bbox_overlaps

from .common import ExportError, instances_as_numpy, test_batch
from ..models.classifiers import PaperResNetClassifier as ClassifierModels
from ..utils import UsageError
from .runtime import DeployedDetector, make_backend

#: Largest ONNX Runtime - PyTorch difference accepted (classifier scores; detector box
#: coordinates are matched by IoU, scores by this much).
CLS_TOLERANCE = 1e-3


def verify_classifier(module, path, example, tolerance=CLS_TOLERANCE,
                      backend='onnxruntime', precision='fp32'):
    """The file's ``scores`` (ONNX Runtime by default) against PyTorch's on ``example``;
    ``tolerance`` None: reported only (an int8 file)."""
    with torch.no_grad():
        ref = module(example).numpy()
    got = make_backend(path, backend, precision)(example.numpy())[0]
    diff = float(np.abs(got - ref).max())
    same = float((got.argmax(1) == ref.argmax(1)).mean())
    result = dict(max_abs_diff=diff, tolerance=tolerance, same_top1=same,
                  summary=f'max |{backend} {precision} - PyTorch| of the scores {diff:.3g} '
                          + (f'(tolerance {tolerance:g})' if tolerance is not None else
                             f'(reported; top-1 the same for {same:.0%} of the inputs)'))
    if tolerance is not None and not diff < tolerance:
        raise ExportError(f'{path}: {backend} and PyTorch disagree: {result["summary"]}')
    return result


def verify_detector(cfg, model, path, image, score_thr=0.3, iou=0.9, min_matched=0.95,
                    backend='onnxruntime', precision='fp32'):
    """mmdet's own ``predict`` (PyTorch) and the exported file (ONNX Runtime by default)
    on the image through the test pipeline: the boxes scored >= ``score_thr`` of each
    must be found in the other (same label, IoU >= ``iou``) for >= ``min_matched`` of
    them (None: reported only, as for an int8 file)."""
    batch = test_batch(cfg.test_dataloader.dataset.pipeline, image)
    deployed = DeployedDetector(make_backend(path, backend, precision),
                                cfg.model.data_preprocessor)
    with torch.no_grad():
        ref, got = (instances_as_numpy(m.test_step(batch)[0].pred_instances)
                    for m in (model, deployed))
    match = match_detections(ref, got, score_thr, iou)
    match['summary'] = (f"{match['matched']}/{match['total']} boxes >= {score_thr:g} "
                        f'matched at IoU >= {iou:g} (both ways), max score difference '
                        f"{match['max_score_diff']:.3g}")
    if (min_matched is not None and match['total']
            and match['matched'] / match['total'] < min_matched):
        raise ExportError(f'{path}: {backend} and PyTorch disagree on {image}: '
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


def test_loader(cfg, batch_size=None):
    """The config's test dataloader (``batch_size``: another batch size); a config
    without a test set is named."""
    from mmengine.runner import Runner
    for key in ('test_dataloader', 'test_evaluator'):
        if not cfg.get(key):
            raise ValueError(f'{cfg.filename}: the test set check (--verify-test-set) needs '
                             f'the config\'s {key}, which it does not have')
    if batch_size is not None and batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    loader_cfg = dict(cfg.test_dataloader)
    if batch_size:
        loader_cfg['batch_size'] = batch_size
    loader_cfg['dataset'] = dict(loader_cfg['dataset'])
    return Runner.build_dataloader(loader_cfg)


def verify_dataset(cfg, model, path, backend='onnxruntime', precision='fp32',
                   score_thr=0.3, iou=0.9, max_images=None, int8_file=None,
                   int8_backend=None, batch_size=None, pytorch_int8=None, log=print):
    """PyTorch (the model's ``test_step``), the exported file and, with ``int8_file``, its
    int8 form on the config's test set, each through the test evaluator (e.g. COCO mAP,
    top-k error) built from the same config: the figures side by side. Detectors: the
    boxes of each file matched to PyTorch's as in :func:`verify_detector`, per image.
    The batches are the config's test dataloader's (``batch_size``: another size), padded
    to one size by the data preprocessor for PyTorch and the file alike; a file of a
    fixed batch of 1 runs them image by image.

    ``pytorch_int8`` (a classifier's :class:`~.pt2e.Pt2eBackend`): PyTorch's own int8
    beside them.

    Returns:
        dict: ``images``, ``pytorch`` and ``deployed`` (the metrics), with ``int8_file``
        ``int8`` too, with ``pytorch_int8`` ``pytorch_int8``; detectors: ``matched``,
        ``total``, ``max_score_diff`` (the float
        file) and ``int8_match`` (the int8 file).
    """
    from mmengine.evaluator import Evaluator

    from .runtime import DeployedClassifier
    loader = test_loader(cfg, batch_size)
    detector = not isinstance(model, ClassifierModels)
    deployed = DeployedDetector if detector else DeployedClassifier
    runs = dict(pytorch=model, deployed=deployed(make_backend(path, backend, precision),
                                                 cfg.model.data_preprocessor))
    names = dict(pytorch='PyTorch', deployed=f'{backend} {precision}')
    if int8_file:
        int8_backend = int8_backend or backend
        runs['int8'] = deployed(make_backend(int8_file, int8_backend, 'int8'),
                                cfg.model.data_preprocessor)
        names['int8'] = f'{int8_backend} int8'
    if pytorch_int8 is not None:
        if detector:
            raise UsageError('PyTorch int8 (PT2E) is evaluated for classifiers; a '
                             'detector\'s int8 is the file of --int8')
        runs['pytorch_int8'] = deployed(pytorch_int8, cfg.model.data_preprocessor)
        names['pytorch_int8'] = 'PyTorch int8 (PT2E)'
    evaluators = {k: Evaluator(cfg.test_evaluator) for k in runs}
    for e in evaluators.values():
        e.dataset_meta = loader.dataset.metainfo
    matches = {k: dict(matched=0, total=0, max_score_diff=0.0) for k in runs if k != 'pytorch'}
    images = 0
    with torch.no_grad():
        for batch in loader:
            preds = {}
            for key, run in runs.items():  # each evaluated before the next writes its
                out = run.test_step(batch)  # predictions into the batch's samples
                evaluators[key].process(out, batch)
                if detector:
                    preds[key] = [instances_as_numpy(o.pred_instances) for o in out]
                images += len(out) if key == 'pytorch' else 0
            for key in matches if detector else ():
                for r, g in zip(preds['pytorch'], preds[key]):
                    m = match_detections(r, g, score_thr, iou)
                    for k in ('matched', 'total'):
                        matches[key][k] += m[k]
                    matches[key]['max_score_diff'] = max(matches[key]['max_score_diff'],
                                                         m['max_score_diff'])
            if max_images and images >= max_images:
                break
    size = len(loader.dataset) if not max_images else images
    result = dict(images=images, **{k: e.evaluate(size) for k, e in evaluators.items()})
    if detector:
        result.update(matches['deployed'])
        if 'int8' in matches:
            result['int8_match'] = matches['int8']
    log(f'{images} test images, the test evaluator\'s metrics side by side:')
    for key, name in names.items():
        line = f'  {name:<20} {result[key]}'
        if key in matches and detector:
            m = matches[key]
            line += (f"; {m['matched']}/{m['total']} boxes >= {score_thr:g} matched to "
                     f"PyTorch's at IoU >= {iou:g}, max score difference "
                     f"{m['max_score_diff']:.3g}")
        log(line)
    return result
