"""The test-time forward of a Faster R-CNN (mmdet's ``TwoStageDetector`` with ``RPNHead``
and ``StandardRoIHead``) written for export: one image, plain tensors in and out.

    input (1, 3, H, W): the image as the config's test pipeline and data preprocessor give
        it (resized, normalised, padded)
    dets (1, N, 5): x1, y1, x2, y2, score in the input's pixels, highest score first
    labels (1, N): class indices (0 .. num_classes - 1)

(mmdeploy's "end2end" layout). The steps are those of mmdet 3's ``predict`` with the same
modules and weights (backbone, neck, RPN convs, RoI extractor's settings, shared head, box
head, box coder): RPN scores and boxes per level, the ``nms_pre`` best of each level, boxes
decoded and clipped to the input, boxes of ``min_bbox_size`` or less dropped, NMS within
each level, ``max_per_img`` proposals; RoIAlign per level (levels mapped as
``SingleRoIExtractor.map_roi_levels``), shared head, box head, softmax, class-wise boxes
decoded and clipped, scores above ``score_thr``, NMS within each class, ``max_per_img``
detections. RoIAlign and NMS are :mod:`.ops`' (mmcv kernels in PyTorch, ONNX ``RoiAlign``
and ``NonMaxSuppression`` in the file).

What differs from mmdet's own ``predict``, by design of the layout: boxes are clipped to
the input (``batch_input_shape``) rather than to the unpadded ``img_shape`` (the same when
the pipeline pads nothing, as the demo's 800 px tiles), and stay in the input's frame
(:class:`~mmresnet.deploy.runtime.DeployedDetector` maps them back to the image, as
``rescale=True`` does).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import batched_nms, roi_align


class UnsupportedModelError(ValueError):
    """A part of the model has no export-friendly forward here."""


def _type(module):
    return type(module).__name__


def check_detector(model):
    """Raise :class:`UnsupportedModelError` naming the first part of ``model`` that
    :class:`DetectorForExport` does not reproduce."""
    from mmcv.ops import RoIAlign
    from mmdet.models.detectors import TwoStageDetector
    from mmdet.models.dense_heads import RPNHead
    from mmdet.models.roi_heads import StandardRoIHead
    from mmdet.models.roi_heads.bbox_heads import BBoxHead
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    checks = [
        ('detector', model, TwoStageDetector),
        ('rpn_head', getattr(model, 'rpn_head', None), RPNHead),
        ('rpn_head.prior_generator', getattr(model.rpn_head, 'prior_generator', None),
         AnchorGenerator),
        ('rpn_head.bbox_coder', getattr(model.rpn_head, 'bbox_coder', None),
         DeltaXYWHBBoxCoder),
        ('roi_head', getattr(model, 'roi_head', None), StandardRoIHead)]
    for name, module, kind in checks:
        if not isinstance(module, kind):
            raise UnsupportedModelError(
                f'{name} is {_type(module)}: the export covers Faster R-CNN (TwoStageDetector '
                'with RPNHead, AnchorGenerator, DeltaXYWHBBoxCoder and StandardRoIHead)')
    roi_head = model.roi_head
    if roi_head.with_mask:
        raise UnsupportedModelError('roi_head has a mask head: only boxes are exported')
    checks = [('roi_head.bbox_roi_extractor', roi_head.bbox_roi_extractor, SingleRoIExtractor),
              ('roi_head.bbox_head', roi_head.bbox_head, BBoxHead),
              ('roi_head.bbox_head.bbox_coder', roi_head.bbox_head.bbox_coder,
               DeltaXYWHBBoxCoder)]
    for name, module, kind in checks:
        if not isinstance(module, kind):
            raise UnsupportedModelError(f'{name} is {_type(module)}, not {kind.__name__}')
    for layer in roi_head.bbox_roi_extractor.roi_layers:
        if not isinstance(layer, RoIAlign) or layer.pool_mode != 'avg' or \
                layer.use_torchvision:
            raise UnsupportedModelError(
                f'RoI layer {layer!r}: the export writes ONNX RoiAlign, which matches mmcv\'s '
                "RoIAlign with pool_mode='avg' (RoIPool and max pooling are not exported)")
    if model.rpn_head.use_sigmoid_cls is False and model.rpn_head.cls_out_channels != 2:
        raise UnsupportedModelError('rpn_head: softmax scores with more than one class')
    if roi_head.bbox_head.custom_cls_channels:
        raise UnsupportedModelError('bbox_head: custom class channels (e.g. sigmoid scores)')
    for stage in ('rpn', 'rcnn'):
        nms = model.test_cfg[stage].get('nms', {})
        if nms.get('type', 'nms') != 'nms':
            raise UnsupportedModelError(
                f"test_cfg.{stage}.nms type {nms.get('type')!r}: only 'nms' has an ONNX "
                'operator (NonMaxSuppression)')


def _clip(boxes, height, width):
    """Boxes (..., 4) clipped to [0, width] x [0, height] (traced sizes stay dynamic)."""
    limits = torch.stack([width, height, width, height]).to(boxes)
    return torch.max(torch.min(boxes, limits), torch.zeros_like(limits))


class DetectorForExport(nn.Module):
    """A built mmdet Faster R-CNN's test-time forward on one preprocessed image, as plain
    tensors: ``forward(input) -> (dets (1, N, 5), labels (1, N))``.

    The modules are the detector's own (weights shared, nothing copied); the test settings
    come from ``model.test_cfg``.
    """

    def __init__(self, model):
        super().__init__()
        check_detector(model)
        self.model = model
        self.rpn_cfg = model.test_cfg['rpn']
        self.rcnn_cfg = model.test_cfg['rcnn']

    # -- RPN ----------------------------------------------------------------------------
    def _anchors(self, level, feat):
        gen = self.model.rpn_head.prior_generator
        base = gen.base_anchors[level].to(feat)
        stride_w, stride_h = gen.strides[level]
        shift_x = torch.arange(feat.shape[-1], device=feat.device).to(feat) * stride_w
        shift_y = torch.arange(feat.shape[-2], device=feat.device).to(feat) * stride_h
        xx = shift_x[None, :] + shift_y[:, None] * 0  # (H, W)
        yy = shift_y[:, None] + shift_x[None, :] * 0
        shifts = torch.stack([xx, yy, xx, yy], dim=-1)  # (H, W, 4)
        return (shifts[:, :, None, :] + base[None, None]).reshape(-1, 4)  # (H*W*A, 4)

    def proposals(self, feats, height, width):
        head, cfg = self.model.rpn_head, self.rpn_cfg
        cls_scores, bbox_preds = head(feats)
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores, levels = [], [], []
        for level, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            cls = cls[0].permute(1, 2, 0).reshape(-1, head.cls_out_channels)
            score = cls.sigmoid()[:, 0] if head.use_sigmoid_cls else cls.softmax(-1)[:, 0]
            reg = reg[0].permute(1, 2, 0).reshape(-1, 4)
            anchors = self._anchors(level, feats[level])
            if nms_pre > 0:
                # the nms_pre best (all when fewer): padded with nms_pre entries scored
                # -1, dropped again after the top-k (no data-dependent k in the graph)
                score = torch.cat([score, score.new_full((nms_pre, ), -1.0)])
                score, index = score.topk(nms_pre)
                valid = (score > -0.5).nonzero()[:, 0]
                score, index = score[valid], index[valid]
                reg = torch.cat([reg, reg.new_zeros(nms_pre, 4)])[index]
                anchors = torch.cat([anchors, anchors.new_zeros(nms_pre, 4)])[index]
            boxes.append(_clip(head.bbox_coder.decode(anchors, reg), height, width))
            scores.append(score)
            levels.append(torch.full_like(score, level, dtype=torch.long))
        boxes, scores, levels = torch.cat(boxes), torch.cat(scores), torch.cat(levels)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            wh = boxes[:, 2:] - boxes[:, :2]
            valid = ((wh[:, 0] > min_size) & (wh[:, 1] > min_size)).nonzero()[:, 0]
            boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        keep = batched_nms(boxes, scores, levels, cfg['nms']['iou_threshold'],
                           cfg.get('max_per_img', -1))
        return boxes[keep]

    # -- RoI head ----------------------------------------------------------------------
    def roi_features(self, feats, rois):
        extractor = self.model.roi_head.bbox_roi_extractor
        feats = feats[:extractor.num_inputs]
        if len(feats) > 1:
            levels = extractor.map_roi_levels(rois, len(feats))
        pooled = None
        for i, layer in enumerate(extractor.roi_layers[:len(feats)]):
            out = roi_align(feats[i], rois, layer.output_size[0], layer.spatial_scale,
                            layer.sampling_ratio, layer.aligned)
            if len(feats) == 1:
                return out
            # every RoI pooled on every level, each keeps its own level's (RoIAlign pools
            # each RoI on its own: the values are those of pooling the level's RoIs only)
            pooled = out if pooled is None else torch.where(
                (levels == i)[:, None, None, None], out, pooled)
        return pooled

    def detections(self, feats, proposals, height, width):
        roi_head, cfg = self.model.roi_head, self.rcnn_cfg
        bbox_head = roi_head.bbox_head
        rois = torch.cat([proposals.new_zeros(proposals.shape[0], 1), proposals], dim=1)
        x = self.roi_features(feats, rois)
        if roi_head.with_shared_head:
            x = roi_head.shared_head(x)
        cls_score, bbox_pred = bbox_head(x)
        scores = F.softmax(cls_score, dim=-1)[:, :-1]  # (K, C): background dropped
        num_classes = scores.shape[1]
        if bbox_head.reg_class_agnostic:
            boxes = bbox_head.bbox_coder.decode(proposals, bbox_pred.reshape(-1, 4))
            boxes = boxes[:, None].expand(-1, num_classes, 4)
        else:
            boxes = bbox_head.bbox_coder.decode(
                proposals.repeat_interleave(num_classes, dim=0), bbox_pred.reshape(-1, 4))
            boxes = boxes.reshape(-1, num_classes, 4)
        boxes = _clip(boxes, height, width).reshape(-1, 4)
        labels = torch.arange(num_classes, device=scores.device)[None].expand_as(scores)
        scores, labels = scores.reshape(-1), labels.reshape(-1)
        valid = (scores > cfg['score_thr']).nonzero()[:, 0]
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = batched_nms(boxes, scores, labels, cfg['nms']['iou_threshold'],
                           cfg.get('max_per_img', -1))
        dets = torch.cat([boxes[keep], scores[keep, None]], dim=1)
        return dets[None], labels[keep][None]

    def forward(self, input):
        shape = torch._shape_as_tensor(input)  # traced: dynamic sizes stay dynamic
        height, width = shape[2], shape[3]
        feats = self.model.extract_feat(input)
        proposals = self.proposals(feats, height, width)
        return self.detections(feats, proposals, height, width)
