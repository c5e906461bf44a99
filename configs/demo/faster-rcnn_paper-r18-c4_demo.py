# The CPU demo (tools/demo.py): the paper's C4 Faster R-CNN on a small PaperResNet-18
# (16 base channels instead of 64), trained for a few minutes on the embedded aerial
# tree-crown photographs. A smoke run of the whole pipeline, not a paper number.
#
# No ImageNet checkpoint ships with the project and none may be downloaded, so the network
# trains from scratch (He init, Section 3.4). Frozen BN only makes sense with pre-trained
# statistics (Section 4.3 freezes them after ImageNet), so here BN learns.
_base_ = [
    '../_base_/models/faster_rcnn_paper_r50_c4.py',
    '../_base_/datasets/demo_detection.py', '../_base_/det_runtime.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_cfg=norm_cfg,
                  norm_eval=False, init_cfg=None),
    rpn_head=dict(
        in_channels=64, feat_channels=64,
        # Crowns are 15-60 px wide on these 400 px tiles: anchors of 16, 32 and 64 px.
        anchor_generator=dict(scales=[1, 2, 4])),
    roi_head=dict(
        shared_head=dict(depth=18, base_channels=16, norm_cfg=norm_cfg, norm_eval=False,
                         init_cfg=None),
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=128, num_classes=1)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=2000, max_per_img=500),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=2000, max_per_img=300)))

max_epochs = 6
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=10),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[int(max_epochs * 0.75)], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(logger=dict(interval=4),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(window_size=4)
randomness = dict(seed=0)
