# Faster R-CNN, PaperResNet-50, the FPN variant (all four stages into a feature pyramid);
# trained on COCO 2017 train, evaluated on val2017 (mAP@[.5,.95] and mAP@.5, Table 8).
# Backbone from a PaperResNet-50 classification checkpoint (tools/export_backbone.py):
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/faster_rcnn_paper_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/det_1x.py', '../_base_/det_runtime.py'
]
