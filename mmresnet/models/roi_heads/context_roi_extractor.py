"""RoI features with context: the RoIs are enlarged around their centres before pooling.

The demo's backbone learns on crops that are a box plus a margin (``DetectionCropDataset``,
``context`` x the box): a head whose RoIs carry the same margin sees each proposal the way
the classifier saw each crop. mmdet's ``SingleRoIExtractor`` takes a ``roi_scale_factor``
in ``forward`` only (no RoI head passes one) and skips it for a single feature map, the C4
case; here it is a config argument and applies to every level count.
"""
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS


@MODELS.register_module()
class ContextRoIExtractor(SingleRoIExtractor):
    """``SingleRoIExtractor`` whose RoIs are scaled by ``context`` about their centres
    (width and height alike) before RoIAlign / RoIPool. Box targets and predictions keep
    the original RoIs: only the pooled window grows.

    Args:
        context (float): Pooled window / RoI side (>= 1; 1 is ``SingleRoIExtractor``).
            Default: 1.0.
        **kwargs: ``SingleRoIExtractor``'s (roi_layer, out_channels, featmap_strides, ...).
    """

    def __init__(self, context=1.0, **kwargs):
        if isinstance(context, bool) or not isinstance(context, (int, float)) or context < 1:
            raise ValueError(f'ContextRoIExtractor: context must be a number >= 1, got '
                             f'{context!r}')
        super().__init__(**kwargs)
        self.context = float(context)

    def forward(self, feats, rois, roi_scale_factor=None):
        scale = self.context * (1.0 if roi_scale_factor is None else roi_scale_factor)
        if scale != 1.0:
            rois = self.roi_rescale(rois, scale)
        return super().forward(feats, rois)


__all__ = ['ContextRoIExtractor']
