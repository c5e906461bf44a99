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

    @staticmethod
    def forward(ctx, boxes, scores, iou_threshold, max_num):
        from mmcv.ops import nms
        if boxes.shape[0] == 0:
            return boxes.new_zeros((0, ), dtype=torch.long)
        _, keep = nms(boxes, scores, iou_threshold)
        return keep[:max_num] if max_num > 0 else keep

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold, max_num):
        unsqueeze = g.op('Constant', value_t=torch.tensor([0], dtype=torch.long))
        boxes = g.op('Unsqueeze', boxes, unsqueeze)  # (1, N, 4)
        scores = g.op('Unsqueeze', g.op('Unsqueeze', scores, unsqueeze), unsqueeze)
        selected = g.op(
            'NonMaxSuppression', boxes, scores,
            g.op('Constant', value_t=torch.tensor([max_num if max_num > 0 else 2**31 - 1],
                                                  dtype=torch.long)),
            g.op('Constant', value_t=torch.tensor([iou_threshold], dtype=torch.float)))
        keep = g.op('Gather', selected, g.op('Constant', value_t=torch.tensor(2)), axis_i=1)
        return keep


def nms(boxes, scores, iou_threshold, max_num=-1):
    """Indices of the boxes kept by NMS (IoU > ``iou_threshold`` suppressed), highest
    score first, at most ``max_num`` (-1: all): mmcv's ``nms`` in PyTorch, ONNX
    ``NonMaxSuppression`` when exported."""
    return _NMS.apply(boxes, scores, float(iou_threshold), int(max_num))


def batched_nms(boxes, scores, idxs, iou_threshold, max_num=-1):
    """NMS within each group of ``idxs`` (mmcv's ``batched_nms`` without its split
    threshold): the boxes of each group are shifted apart by the largest coordinate + 1,
    one NMS over all. Returns the kept indices, highest score first."""
    # the largest coordinate + 1 (a zero appended: no error without boxes)
    top = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max() + 1
    offset = idxs.to(boxes) * top
    return nms(boxes + offset[:, None], scores, iou_threshold, max_num)
