# Table 1 nets: 7x7/2 stem, 3x3/2 max pool, four stages, global average pool, 1000-way fc.
# Caffe style (stride on the first 1x1 of a bottleneck), the paper's models; option B.
# Images are decoded by OpenCV (BGR): the mean is the ImageNet per-channel mean in BGR.
# The paper's choices, written out where mmdet's ResNet defaults differ (docs/backbones.md,
# "Defaults"): He init with every BN scale 1 (Section 3.4, no zero-init of the residual
# branches) and BN that learns its statistics.
model = dict(
    type='PaperResNetClassifier',
    backbone=dict(type='PaperResNet', depth=50, arch='imagenet', shortcut='B',
                  style='caffe', zero_init_residual=False, norm_eval=False),
    num_classes=1000,
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[103.53, 116.28, 123.675]),
    test_cfg=dict(protocol='single', scales=(224, 256, 384, 480, 640)))
