# As faster-rcnn_paper-r50-c4_1x_coco.py, with PaperResNet-101 (Table 1: 3, 4, 23, 3
# bottleneck blocks).
_base_ = './faster-rcnn_paper-r50-c4_1x_coco.py'
backbone_checkpoint = 'checkpoints/paper_resnet101_backbone.pth'
model = dict(
    backbone=dict(depth=101, init_cfg=dict(checkpoint=backbone_checkpoint)),
    roi_head=dict(shared_head=dict(
        depth=101, init_cfg=dict(checkpoint=backbone_checkpoint))))
