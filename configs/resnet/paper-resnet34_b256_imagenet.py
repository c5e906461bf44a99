# ResNet-34 option B, ImageNet, Table 3.
_base_ = [
    '../_base_/models/paper_resnet_imagenet.py', '../_base_/datasets/imagenet.py',
    '../_base_/schedules/imagenet_bs256_plateau.py', '../_base_/cls_runtime_epoch.py'
]
model = dict(backbone=dict(depth=34, shortcut='B', plain=False))
