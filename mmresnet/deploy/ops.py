"""RoIAlign and NMS that trace to standard ONNX operators.

PyTorch runs mmcv's compiled kernels (the ones the detector's own test path runs); the
ONNX exporter (``torch.onnx.export(..., dynamo=False)``, the TorchScript exporter of
torch >= 1.x) writes ``RoiAlign`` (opset 16: ``coordinate_transformation_mode``
``half_pixel`` for mmcv's ``aligned=True``, ``output_half_pixel`` for ``aligned=False``)
and ``NonMaxSuppression`` (opset 10+), so the file runs on ONNX Runtime, OpenVINO and
any other runtime without a custom-op library.
"""
import torch

#: RoiAlign's coordinate_transformation_mode needs opset 16.
MIN_OPSET = 16


class _RoIAlign(torch.autograd.Function):

    @staticmethod
    def forward(ctx, feat, rois, output_size, spatial_scale, sampling_ratio, aligned):
        from mmcv.ops import roi_align
        return roi_align(feat.contiguous(), rois, (output_size, output_size), spatial_scale,
                         sampling_ratio, 'avg', aligned)

    @staticmethod
    def symbolic(g, feat, rois, output_size, spatial_scale, sampling_ratio, aligned):
        index = g.op('Constant', value_t=torch.tensor([0], dtype=torch.long))
        batch = g.op('Squeeze', g.op('Gather', rois, index, axis_i=1),
                     g.op('Constant', value_t=torch.tensor([1], dtype=torch.long)))
        batch = g.op('Cast', batch, to_i=7)  # INT64
        boxes = g.op('Slice', rois, g.op('Constant', value_t=torch.tensor([1])),
                     g.op('Constant', value_t=torch.tensor([5])),
                     g.op('Constant', value_t=torch.tensor([1])))
        return g.op('RoiAlign', feat, boxes, batch,
                    coordinate_transformation_mode_s='half_pixel' if aligned
                    else 'output_half_pixel',
                    mode_s='avg', output_height_i=output_size, output_width_i=output_size,
                    sampling_ratio_i=sampling_ratio, spatial_scale_f=spatial_scale)


def roi_align(feat, rois, output_size, spatial_scale, sampling_ratio=0, aligned=True):
    """mmcv's ``roi_align`` (average pooling) on ``rois`` (K, 5: batch index, x1, y1, x2,
    y2); ONNX ``RoiAlign`` when exported. ``output_size``: an int (square)."""
    return _RoIAlign.apply(feat, rois, int(output_size), float(spatial_scale),
                           int(sampling_ratio), bool(aligned))


class _NMS(torch.autograd.Function):
    """NMS on each image of a batch: ``boxes`` (N, M, 4), ``scores`` (N, M); entries
    scored ``floor`` or less take no part. Returns ``selected`` (S, 3): image, 0, box
    (ONNX ``NonMaxSuppression``'s layout), each image's boxes highest score first."""

    @staticmethod
    def forward(ctx, boxes, scores, iou_threshold, max_num, floor):
        from mmcv.ops import nms
        selected = []
        for image, (b, s) in enumerate(zip(boxes, scores)):
            index = (s > floor).nonzero()[:, 0]
            if not len(index):
                continue
            _, keep = nms(b[index], s[index], iou_threshold)
            keep = index[keep[:max_num] if max_num > 0 else keep]
            selected.append(torch.stack([torch.full_like(keep, image),
                                         torch.zeros_like(keep), keep], dim=1))
        return torch.cat(selected) if selected else boxes.new_zeros((0, 3),
                                                                   dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold, max_num, floor):
        unsqueeze = g.op('Constant', value_t=torch.tensor([1], dtype=torch.long))
        return g.op(
            'NonMaxSuppression', boxes, g.op('Unsqueeze', scores, unsqueeze),  # (N, 1, M)
            g.op('Constant', value_t=torch.tensor([max_num if max_num > 0 else 2**31 - 1],
                                                  dtype=torch.long)),
            g.op('Constant', value_t=torch.tensor([iou_threshold], dtype=torch.float)),
            g.op('Constant', value_t=torch.tensor([floor], dtype=torch.float)))


def nms(boxes, scores, iou_threshold, max_num=-1, floor=-0.5):
    """NMS on each image: ``boxes`` (N, M, 4), ``scores`` (N, M), IoU > ``iou_threshold``
    suppressed, at most ``max_num`` boxes an image (-1: all), entries scored ``floor`` or
    less (padding) left out. Returns ``selected`` (S, 3): image, 0, box index. mmcv's
    ``nms`` per image in PyTorch, ONNX ``NonMaxSuppression`` (batched, its
    ``score_threshold`` = ``floor``) when exported."""
    return _NMS.apply(boxes, scores, float(iou_threshold), int(max_num), float(floor))


def batched_nms(boxes, scores, idxs, iou_threshold, max_num=-1, floor=-0.5):
    """NMS within each group of ``idxs`` (M,) on each image (mmcv's ``batched_nms``
    without its split threshold): the boxes of each group are shifted apart by the
    largest coordinate + 1, one NMS over all. ``boxes`` (N, M, 4), ``scores`` (N, M).
    Returns :func:`nms`'s ``selected`` (S, 3)."""
    # the largest coordinate + 1 (a zero appended: no error without boxes)
    top = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max() + 1
    offset = idxs.to(boxes) * top
    return nms(boxes + offset[:, None], scores, iou_threshold, max_num, floor)


def best_selected(scores, selected, count):
    """The ``count`` best entries of each image among those NMS ``selected`` (S, 3):
    ``(index (N, count), valid (N, count))``, highest score first; an image with fewer
    is padded with invalid entries (index M, past the end of ``scores`` (N, M))."""
    pad = torch.full_like(scores[:, :1], -1.0).expand(-1, count)
    dense = torch.cat([torch.full_like(scores, -1.0), pad], dim=1)
    image, box = selected[:, 0], selected[:, 2]
    dense[image, box] = scores[image, box]
    top, index = dense.topk(count, dim=1)
    return index, top > -0.5


def gather_rows(values, index):
    """``values`` (N, M, D) at ``index`` (N, K) per image, with zeros for an index of M
    or more (:func:`best_selected`'s padding): (N, K, D)."""
    pad = torch.zeros_like(values[:, :1]).expand(-1, index.shape[1], -1)
    values = torch.cat([values, pad], dim=1)
    return values.gather(1, index[..., None].expand(-1, -1, values.shape[2]))
