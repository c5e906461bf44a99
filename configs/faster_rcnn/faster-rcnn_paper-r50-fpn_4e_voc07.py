# Faster R-CNN, PaperResNet-50, the FPN variant (all four stages into a feature pyramid);
# trained on VOC 2007 trainval, tested on VOC 2007 test (11-point mAP).
# Backbone from a PaperResNet-50 classification checkpoint (tools/export_backbone.py):
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/faster_rcnn_paper_r50_fpn.py',
    '../_base_/datasets/voc07_detection.py',
    '../_base_/schedules/det_voc_4e.py', '../_base_/det_runtime.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
