# Faster R-CNN, PaperResNet-50, the paper's C4 detector (Section 4.3: conv1..conv4_x shared,
# conv5_x per RoI);
# trained on COCO 2017 train, evaluated on val2017 (mAP@[.5,.95] and mAP@.5, Table 8).
# Backbone from a PaperResNet-50 classification checkpoint (tools/export_backbone.py):
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH \
#       model.roi_head.shared_head.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/faster_rcnn_paper_r50_c4.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/det_1x.py', '../_base_/det_runtime.py'
]
