# Faster R-CNN, PaperResNet-50, the paper's C4 detector (Section 4.3: conv1..conv4_x shared,
# conv5_x per RoI);
# trained on VOC 2007+2012 trainval, tested on VOC 2007 test (11-point mAP, Table 7).
# Caffe style (stride on a bottleneck's first 1x1, as the paper's released models; BGR,
# mean subtracted, no std). Takes the PaperResNet-50 backbone checkpoint made by
#   python tools/export_backbone.py work_dirs/<imagenet run>/epoch_N.pth \
#       checkpoints/paper_resnet50_backbone.pth
# (the torchvision/timm-weights twin: the -pytorch- config of the same name). Another path:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH \
#       model.roi_head.shared_head.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/faster_rcnn_paper_r50_caffe_c4.py',
    '../_base_/datasets/voc0712_detection.py',
    '../_base_/schedules/det_voc_4e.py', '../_base_/det_runtime.py'
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
