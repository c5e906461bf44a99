"""The test-time forward of a Faster R-CNN (mmdet's ``TwoStageDetector`` with ``RPNHead``
and ``StandardRoIHead``) written for export: a batch of images, plain tensors in and out.

    input (N, 3, H, W): the images as the config's test pipeline and data preprocessor give
        them (resized, normalised, padded to one size as ``DetDataPreprocessor`` pads a
        batch)
    dets (N, K, 5): x1, y1, x2, y2, score in the input's pixels, highest score first
    labels (N, K): class indices (0 .. num_classes - 1)

K is ``test_cfg.rcnn.max_per_img``: an image with fewer detections is padded with rows of
dets 0 (score 0) and label -1, as mmdeploy's end2end files pad a batch (its
``select_nms_index``: dets 0, labels -1; it also appends one zero row labelled 0, which
is left out here). The steps are those of mmdet 3's ``predict`` on each image, with the
same modules and weights (backbone, neck, RPN convs, RoI extractor's settings, shared
head, box head, box coder): RPN scores and boxes per level, the ``nms_pre`` best of each
level, boxes decoded and clipped to the input, boxes of ``min_bbox_size`` or less
dropped, NMS within each level, ``max_per_img`` proposals; RoIAlign per level (levels
mapped as ``SingleRoIExtractor.map_roi_levels``), shared head, box head, softmax,
class-wise boxes decoded and clipped, scores above ``score_thr``, NMS within each class,
``max_per_img`` detections. Entries an image does not have (fewer anchors than
``nms_pre``, fewer proposals than ``max_per_img``, boxes dropped) are carried as
padding scored -1 that NMS leaves out, so that every shape is fixed by the input's.
RoIAlign and NMS are those of :mod:`.ops` (mmcv kernels in PyTorch, ONNX ``RoiAlign`` and
batched ``NonMaxSuppression`` in the file).

The layout has no input for the images' sizes: each image's ``img_shape``, to which
mmdet clips the boxes, is read from the input (:func:`image_sizes`: the padding that
``DetDataPreprocessor`` adds at the bottom and right is exactly 0 after normalising). An
image whose own last rows or columns are exactly its mean in every channel (a border of
that colour) is clipped as if they were padding. Boxes stay in the input's frame
(:class:`~mmresnet.deploy.runtime.DeployedDetector` maps them back to the image's pixels,
as ``rescale=True`` does).
"""
import contextlib
import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops import batched_nms, best_selected, gather_rows, roi_align


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
    if not model.test_cfg['rpn'].get('max_per_img', -1) > 0:
        raise UnsupportedModelError('test_cfg.rpn.max_per_img must be > 0 (the proposals '
                                    'each image keeps), got '
                                    f"{model.test_cfg['rpn'].get('max_per_img')!r}")
    for stage in ('rpn', 'rcnn'):
        nms = model.test_cfg[stage].get('nms', {})
        if nms.get('type', 'nms') != 'nms':
            raise UnsupportedModelError(
                f"test_cfg.{stage}.nms type {nms.get('type')!r}: only 'nms' has an ONNX "
                'operator (NonMaxSuppression)')


def _clip(boxes, height, width):
    """Boxes (N, M, 4) clipped to [0, width] x [0, height] of each image (N,) (traced
    sizes stay dynamic)."""
    limits = torch.stack([width, height, width, height], dim=1)[:, None].to(boxes)
    return torch.max(torch.min(boxes, limits), torch.zeros_like(limits))


def image_sizes(input):
    """Each image's height and width (N,) in a batch padded at the bottom and right
    with zeros (``DetDataPreprocessor`` pads after normalising, ``pad_value`` 0): the
    last row and column with a value that is not 0, + 1 (the whole input where an
    image is all 0). mmdet clips boxes to this ``img_shape``, not to the batch's."""
    # the width (height) reduced before the channels: 1.3 ms against 3.5 ms for the
    # channels first on ONNX Runtime, one thread, 3 x 800 x 800 (2026-12-06)
    magnitude = input.abs()
    sizes = []
    for axis, full in ((3, input.shape[2]), (2, input.shape[3])):
        lines = (magnitude.amax(axis).amax(1) > 0).to(input.dtype)  # (N, H) rows, (N, W)
        last = (lines * torch.arange(1, full + 1, device=input.device).to(lines)).amax(1)
        sizes.append(torch.where(last > 0, last, torch.full_like(last, 1.0) * full))
    return sizes


@contextlib.contextmanager
def global_pool(bbox_head, size):
    """The bbox head's ``avg_pool`` (mmdet's ``BBoxHead(with_avg_pool=True)``, the C4 head)
    as a global average pool while it pools each RoI's whole ``size`` (its window is the
    feature: the same mean), so the file has GlobalAveragePool, not AveragePool: OpenVINO
    pools an int8 file's RoI features as they are where AveragePool first converted them
    to float in another layout (1.3 of 31 ms, the demo detector on AVX2 kernels,
    2026-12-06). Anything else is left as it is."""
    from torch.nn.modules.utils import _pair
    pool = getattr(bbox_head, 'avg_pool', None) if getattr(
        bbox_head, 'with_avg_pool', False) else None
    if not (type(pool) is nn.AvgPool2d and _pair(pool.kernel_size) == tuple(size)
            and _pair(pool.stride) == tuple(size) and _pair(pool.padding) == (0, 0)):
        yield
        return
    bbox_head.avg_pool = nn.AdaptiveAvgPool2d(1)
    try:
        yield
    finally:
        bbox_head.avg_pool = pool


class DetectorForExport(nn.Module):
    """A built mmdet Faster R-CNN's test-time forward on a preprocessed batch, as plain
    tensors: ``forward(input (N, 3, H, W)) -> (dets (N, K, 5), labels (N, K))``.

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
        """Each image's ``max_per_img`` best proposals after NMS: boxes (N, P, 4) and
        which are real (N, P) (an image with fewer is padded)."""
        head, cfg = self.model.rpn_head, self.rpn_cfg
        cls_scores, bbox_preds = head(feats)
        nms_pre = cfg.get('nms_pre', -1)
        boxes, scores, levels = [], [], []
        for level, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            n = cls.shape[0]
            cls = cls.permute(0, 2, 3, 1).reshape(n, -1, head.cls_out_channels)
            score = cls.sigmoid()[..., 0] if head.use_sigmoid_cls else cls.softmax(-1)[..., 0]
            reg = reg.permute(0, 2, 3, 1).reshape(n, -1, 4)
            anchors = self._anchors(level, feats[level])[None].expand(n, -1, -1)
            if nms_pre > 0:
                # the nms_pre best of each image (all when fewer): padded with nms_pre
                # entries scored -1, which stay out of NMS (no data-dependent k in the graph)
                pad = torch.full_like(score[:, :1], -1.0).expand(-1, nms_pre)
                score, index = torch.cat([score, pad], dim=1).topk(nms_pre, dim=1)
                reg, anchors = gather_rows(reg, index), gather_rows(anchors, index)
            decoded = head.bbox_coder.decode(anchors.reshape(-1, 4), reg.reshape(-1, 4))
            boxes.append(_clip(decoded.reshape(n, -1, 4), height, width))
            scores.append(score)
            levels.append(torch.full_like(score[0], level, dtype=torch.long))
        boxes, scores, levels = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(levels)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            wh = boxes[..., 2:] - boxes[..., :2]
            valid = (wh[..., 0] > min_size) & (wh[..., 1] > min_size)
            scores = torch.where(valid, scores, torch.full_like(scores, -1.0))
        count = cfg['max_per_img']
        selected = batched_nms(boxes, scores, levels, cfg['nms']['iou_threshold'], count)
        index, valid = best_selected(scores, selected, count)
        return gather_rows(boxes, index), valid

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

    def detections(self, feats, proposals, valid, height, width):
        """``dets`` (N, K, 5) and ``labels`` (N, K) of each image, K = ``max_per_img``
        (padding: dets 0, label -1)."""
        roi_head, cfg = self.model.roi_head, self.rcnn_cfg
        bbox_head = roi_head.bbox_head
        n, count = proposals.shape[0], proposals.shape[1]
        image = torch.arange(n, device=proposals.device).to(proposals)
        rois = torch.cat([image[:, None, None].expand(-1, count, 1), proposals], dim=2)
        x = self.roi_features(feats, rois.reshape(-1, 5))
        if roi_head.with_shared_head:
            x = roi_head.shared_head(x)
        with global_pool(bbox_head, x.shape[-2:]):
            cls_score, bbox_pred = bbox_head(x)
        scores = F.softmax(cls_score, dim=-1)[:, :-1]  # (N * P, C): background dropped
        num_classes = scores.shape[1]
        proposals = proposals.reshape(-1, 4)
        if bbox_head.reg_class_agnostic:
            boxes = bbox_head.bbox_coder.decode(proposals, bbox_pred.reshape(-1, 4))
            boxes = boxes[:, None].expand(-1, num_classes, 4)
        else:
            boxes = bbox_head.bbox_coder.decode(
                proposals.repeat_interleave(num_classes, dim=0), bbox_pred.reshape(-1, 4))
        boxes = _clip(boxes.reshape(n, -1, 4), height, width)  # (N, P * C, 4)
        scores = scores.reshape(n, -1)
        keep = (scores > cfg['score_thr']) & valid.repeat_interleave(num_classes, dim=1)
        scores = torch.where(keep, scores, torch.full_like(scores, -1.0))
        labels = torch.arange(num_classes, device=scores.device).repeat(count)  # (P * C)
        total = cfg.get('max_per_img', -1)
        total = total if total > 0 else count * num_classes
        selected = batched_nms(boxes, scores, labels, cfg['nms']['iou_threshold'], total)
        index, found = best_selected(scores, selected, total)
        dets = gather_rows(torch.cat([boxes, scores[..., None]], dim=2), index)
        labels = gather_rows(labels[None, :, None].expand(n, -1, 1), index)[..., 0]
        dets = torch.where(found[..., None], dets, torch.zeros_like(dets))
        return dets, torch.where(found, labels, torch.full_like(labels, -1))

    def forward(self, input):
        height, width = image_sizes(input)  # traced: dynamic sizes stay dynamic
        feats = self.model.extract_feat(input)
        proposals, valid = self.proposals(feats, height, width)
        return self.detections(feats, proposals, valid, height, width)
