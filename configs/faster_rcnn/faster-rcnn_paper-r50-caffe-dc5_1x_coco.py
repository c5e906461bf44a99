# Faster R-CNN, PaperResNet-50, DC5 (mmdet's faster-rcnn_r50-caffe-dc5: conv5_x dilated,
# stride 1, so C5 (2048 channels) is the one stride-16 map that RPN and RoIAlign run on;
# two shared fc layers per RoI); trained on COCO 2017 train, evaluated on val2017.
# Caffe style (stride on a bottleneck's first 1x1, as the paper's released models; BGR,
# mean subtracted, no std). Takes the PaperResNet-50 backbone checkpoint made by
#   python tools/export_backbone.py work_dirs/<imagenet run>/epoch_N.pth \
#       checkpoints/paper_resnet50_backbone.pth
# (the torchvision/timm-weights twin: faster-rcnn_paper-r50-pytorch-dc5_1x_coco.py). Another
# path: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/faster_rcnn_paper_r50_caffe_dc5.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/det_1x.py', '../_base_/det_runtime.py'
]
