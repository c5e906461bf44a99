# As faster-rcnn_paper-r50-caffe-fpn_4e_voc07.py, with PaperResNet-101
# (Table 1: 3, 4, 23, 3 bottleneck blocks), caffe style. Takes the PaperResNet-101 backbone
# checkpoint made by
#   python tools/export_backbone.py work_dirs/<imagenet run>/epoch_N.pth \
#       checkpoints/paper_resnet101_backbone.pth
_base_ = './faster-rcnn_paper-r50-caffe-fpn_4e_voc07.py'
backbone_checkpoint = 'checkpoints/paper_resnet101_backbone.pth'
model = dict(
    backbone=dict(depth=101, init_cfg=dict(checkpoint=backbone_checkpoint)))
