# Section 4.2: 6n+2 layers, 3x3 stem with 16 filters, 16/32/64 filters, option A, global
# average pool, 10-way fc, softmax. Per-pixel mean subtracted (CIFAR-10 RGB means).
# The paper's choices, written out where mmdet's ResNet defaults differ (docs/backbones.md,
# "Defaults"): He init with every BN scale 1 (Section 3.4, no zero-init of the residual
# branches) and BN that learns its statistics.
model = dict(
    type='PaperResNetClassifier',
    backbone=dict(type='PaperResNet', depth=20, arch='cifar', shortcut='A', plain=False,
                  zero_init_residual=False, norm_eval=False),
    num_classes=10,
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[125.31, 122.95, 113.87],
                           input_order='rgb'),
    test_cfg=dict(protocol='single'))
