# The pytorch-style twin of faster-rcnn_paper-r50-caffe-fpn_4e_voc07.py, for torchvision
# ResNet-50 weights. It differs only in: style='pytorch' (stride on a bottleneck's 3x3,
# torchvision's) in the backbone; torchvision's RGB normalisation (images are decoded BGR by
# OpenCV, bgr_to_rgb flips them); the checkpoint, made by
#   python tools/convert/torchvision2paper.py resnet50-0676ba61.pth \
#       checkpoints/torchvision_resnet50_backbone.pth --form backbone
# (timm weights: tools/convert/timm2paper.py, same arguments). Frozen BN and frozen_stages=1
# as in the caffe twin (mmdet's pytorch-style configs train the BN affine:
# model.backbone.norm_cfg.requires_grad=True).
_base_ = './faster-rcnn_paper-r50-caffe-fpn_4e_voc07.py'
backbone_checkpoint = 'checkpoints/torchvision_resnet50_backbone.pth'
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(style='pytorch', init_cfg=dict(checkpoint=backbone_checkpoint)))
