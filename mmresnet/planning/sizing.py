"""The C4 Faster R-CNN sized to a data set's boxes: input scale, anchors, RoI grid and
pretraining crops, with the anchors' best possible recall.

The rule (docs/demo.md, "Your own data"), for the paper's C4 detector (one stride-16 map,
conv5_x on each RoI):

1. **Input scale.** Images are resized (aspect kept) to a longer side ``L``. The boxes'
   5th percentile of ``sqrt(w * h)`` should span two cells of the stride-16 map, 32 px, the
   smallest anchor: ``L = 32 / p5(sqrt(w * h) / image longer side)``, rounded up to a
   multiple of 32 and kept within [320, 1333] (mmdet's COCO scale is 1333 x 800).
2. **Anchor scales.** Octaves of the stride (16 * 2^k px) from the one nearest the boxes'
   5th percentile of ``sqrt(w * h)`` at that scale to the one nearest their 95th.
3. **Anchor ratios** (h / w). Powers of two from the one nearest the boxes' 5th percentile
   of h / w to the one nearest their 95th, and at least 0.5, 1 and 2 (mmdet's).
4. **Best possible recall** (YOLOv5's AutoAnchor check): the share of training boxes whose
   best IoU with an anchor of the same centre is >= 0.5. Below 0.98, the scale or ratio that
   raises it most is added (an octave from 16 to 1024 px, or a power of two from 1/16 to
   16), until it is reached or no addition helps (at most 6 scales, 7 ratios).
5. **RoI grid and pretraining crops.** RoIAlign pools ``R x R`` cells, ``R`` the median
   box's size in stride-16 cells rounded down to an even number (conv5_x halves it), within
   [2, 14] (14: the paper's, for 224 px ImageNet crops). The backbone pretrains on crops of
   ``16 * R`` px, so that conv5_x sees RoIs at the scale it learned (``context`` 1.25: the
   window is 1.25 times the box).

On the embedded tree-crown tiles (400 px, crowns of 15-70 px) the rule gives the
hand-tuned, measured choice: 800 px, anchors 32/64/128 px, ratios 0.5/1/2, RoIAlign 4x4,
64 px crops.
"""
import math

import numpy as np

STRIDE = 16
MIN_SIDE_CELLS = 2
SCALE_LIMITS = (320, 1333)
ROI_LIMITS = (2, 14)
BPR_IOU = 0.5
BPR_TARGET = 0.98
MAX_SCALES, MAX_RATIOS = 6, 7
SCALE_OCTAVES = range(0, 7)  # anchors of 16 px (one stride) to 1024 px
RATIO_POWERS = range(-4, 5)
CONTEXT = 1.25


def aligned_iou(wh, anchors):
    """IoU of boxes (N, 2: w, h) with anchors (M, 2) of the same centre: (N, M)."""
    wh, anchors = np.asarray(wh, np.float64), np.asarray(anchors, np.float64)
    inter = (np.minimum(wh[:, None, 0], anchors[None, :, 0])
             * np.minimum(wh[:, None, 1], anchors[None, :, 1]))
    union = wh[:, None].prod(-1) + anchors[None].prod(-1) - inter
    return inter / np.maximum(union, 1e-12)


def anchor_shapes(scales, ratios, stride=STRIDE):
    """(M, 2) anchor widths and heights, as mmdet's AnchorGenerator makes them
    (``h / w = ratio``, area ``(stride * scale)^2``)."""
    out = []
    for r in ratios:
        for s in scales:
            side = stride * s
            out.append((side / math.sqrt(r), side * math.sqrt(r)))
    return np.array(out)


def best_possible_recall(wh, scales, ratios, iou=BPR_IOU, stride=STRIDE):
    """Share of boxes (N, 2) with an anchor of IoU >= ``iou`` at their centre."""
    if not len(wh):
        return 0.0
    return float((aligned_iou(wh, anchor_shapes(scales, ratios, stride)).max(1) >= iou
                  ).mean())


def _nearest_power(x):
    return int(round(math.log2(x)))


def _refit(wh, scales, ratios, log):
    """Add the octave (16 px to 1024 px) or the ratio (a power of two within [1/16, 16])
    that raises the recall most, while it is short of the target and one helps."""
    bpr = best_possible_recall(wh, scales, ratios)
    while bpr < BPR_TARGET:
        options = []
        if len(scales) < MAX_SCALES:
            options += [('scale', sorted(scales + [2.0 ** k])) for k in SCALE_OCTAVES
                        if 2.0 ** k not in scales]
        if len(ratios) < MAX_RATIOS:
            options += [('ratio', sorted(ratios + [2.0 ** k])) for k in RATIO_POWERS
                        if 2.0 ** k not in ratios]
        scored = [(best_possible_recall(wh, v if k == 'scale' else scales,
                                        v if k == 'ratio' else ratios), k, v)
                  for k, v in options]
        if not scored:
            break
        new, kind, values = max(scored, key=lambda t: t[0])
        if new <= bpr + 1e-9:
            break
        log.append(f'best possible recall {bpr:.4f} < {BPR_TARGET}: added the {kind} '
                   f'{sorted(set(values) - set(scales if kind == "scale" else ratios))[0]:g}'
                   f' -> {kind}s {[float(v) for v in values]} ({new:.4f})')
        if kind == 'scale':
            scales = values
        else:
            ratios = values
        bpr = new
    return scales, ratios, bpr


def size_detector(boxes, image_wh):
    """Choose the C4 detector's sizes for a data set.

    Args:
        boxes (np.ndarray): (N, 4) training boxes x1, y1, x2, y2 in image pixels.
        image_wh (np.ndarray): (N, 2) width and height of each box's image.

    Returns:
        dict: ``input_size`` (the longer side), ``anchor_scales`` (in strides),
        ``anchor_ratios``, ``roi_size``, ``crop_size``, ``context``, ``bpr`` (best possible
        recall of the anchors at IoU >= 0.5), the percentiles used (``stats``) and ``why``
        (one line per choice).
    """
    boxes, image_wh = np.asarray(boxes, np.float64), np.asarray(image_wh, np.float64)
    if len(boxes) == 0:
        raise ValueError('size_detector: no training box')
    wh = boxes[:, 2:] - boxes[:, :2]
    side = np.sqrt(wh.prod(1))
    longer = image_wh.max(1)
    why = []

    rel5 = np.percentile(side / longer, 5)
    want = STRIDE * MIN_SIDE_CELLS / rel5
    size = int(min(max(32 * math.ceil(want / 32), SCALE_LIMITS[0]), SCALE_LIMITS[1]))
    why.append(f'input {size} px (longer side): 5th-percentile box sqrt(w*h) is '
               f'{rel5:.3f} of its image\'s longer side; {STRIDE * MIN_SIDE_CELLS} px (two '
               f'stride-{STRIDE} cells) wants {want:.0f} px, rounded up to a multiple of 32'
               + (f', kept within {list(SCALE_LIMITS)}' if size != 32 * math.ceil(want / 32)
                  else ''))
    factor = size / longer
    wh_in = wh * factor[:, None]
    side_in = side * factor
    p5, p50, p95 = np.percentile(side_in, [5, 50, 95])
    k_lo, k_hi = (max(0, _nearest_power(p / STRIDE)) for p in (p5, p95))
    scales = [2.0 ** k for k in range(k_lo, max(k_lo, k_hi) + 1)]
    why.append(f'anchor scales {[int(s) for s in scales]} '
               f'({[int(STRIDE * s) for s in scales]} px): octaves '
               f'nearest the 5th and 95th percentile box sqrt(w*h), {p5:.0f} and {p95:.0f} '
               'px at the input scale')
    aspect = wh[:, 1] / np.maximum(wh[:, 0], 1e-9)
    a5, a95 = np.percentile(aspect, [5, 95])
    r_lo, r_hi = min(-1, _nearest_power(a5)), max(1, _nearest_power(a95))
    ratios = [2.0 ** k for k in range(r_lo, r_hi + 1)]
    why.append(f'anchor ratios (h/w) {ratios}: powers of two nearest the 5th and 95th '
               f'percentile aspect, {a5:.2f} and {a95:.2f}, and at least 0.5, 1, 2')
    bpr0 = best_possible_recall(wh_in, scales, ratios)
    scales, ratios, bpr = _refit(wh_in, scales, ratios, why)
    why.append(f'best possible recall {bpr:.3f}: share of the {len(wh)} training boxes '
               f'with an anchor of IoU >= {BPR_IOU} at their centre')
    if bpr < 0.9:
        why.append(f'WARNING: {1 - bpr:.0%} of the training boxes find no anchor; boxes below '
                   f'about {STRIDE / math.sqrt(2):.0f} px at the input scale are too small for '
                   f'the stride-{STRIDE} C4 map: cut the images into tiles (as the embedded '
                   'tiles were cut from larger photographs), or use the FPN configs')
    roi = int(min(max(2 * math.floor(p50 / (2 * STRIDE)), ROI_LIMITS[0]), ROI_LIMITS[1]))
    why.append(f'RoIAlign {roi}x{roi} (conv5_x makes it {roi // 2}x{roi // 2}): the median '
               f'box, {p50:.0f} px, is {p50 / STRIDE:.1f} stride-{STRIDE} cells, rounded down '
               f'to an even number within {list(ROI_LIMITS)}; pretraining crops of '
               f'{STRIDE * roi} px ({CONTEXT}x the box) give conv4_x maps of that size')
    return dict(input_size=size, anchor_scales=[float(s) for s in scales],
                anchor_ratios=[float(r) for r in ratios], roi_size=roi,
                crop_size=STRIDE * roi, context=CONTEXT, bpr=round(bpr, 4),
                bpr_before_refit=round(bpr0, 4),
                stats=_stats(side, longer, (p5, p50, p95), (a5, a95)), why=why)


def _stats(side, longer, at_input, aspect):
    """The percentiles :func:`size_detector` chose by, for the plan."""
    return dict(boxes=int(len(side)),
                side_px=[round(float(v), 1) for v in np.percentile(side, [5, 50, 95])],
                side_px_at_input=[round(float(v), 1) for v in at_input],
                aspect=[round(float(v), 2) for v in aspect],
                image_longer_side=[float(longer.min()), float(np.median(longer)),
                                   float(longer.max())])


__all__ = ['size_detector', 'best_possible_recall', 'aligned_iou', 'anchor_shapes']
