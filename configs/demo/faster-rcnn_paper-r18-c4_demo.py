# Stages 2-3 of the CPU demo (tools/demo.py): the paper's C4 Faster R-CNN (Section 4.3,
# Appendix A) fine-tuned from the stage-1 classification pretraining
# (paper-resnet18-w16_tree-crops_pretrain_demo.py, exported by the backbone export of
# tools/export_backbone.py). Both the backbone (conv1..conv4_x) and the per-RoI head
# (conv5_x) load the exported checkpoint; BN is frozen as in Section 4.3 (statistics and
# affine from pretraining, norm_eval, requires_grad=False). tools/demo.py points
# CHECKPOINT at WORK_DIR/pretrain/backbone.pth; by hand:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH \
#       model.roi_head.shared_head.init_cfg.checkpoint=PATH
# Trained on the 29 training tiles, evaluated (COCO box mAP) on the 9 validation tiles.
# Scaled to the tiles' small objects (crowns 15-70 px on 400 px tiles), measured in
# docs/demo.md:
# - the tiles are resized to 800 px, as mmdet resizes COCO images to 800 px and more: the
#   stride-16 C4 map then has a cell per 8 tile pixels (a median crown covers 4-5 cells
#   instead of 2-3), anchors of 32, 64 and 128 px (16-64 tile pixels);
# - RoIAlign pools 4x4 (conv5_x makes it 2x2) instead of the paper's 14x14 (7x7): the
#   paper's size is what a 224 px ImageNet crop gives at conv4_x, this backbone learned
#   on 64 px crops, 4x4 at conv4_x, so that the head sees RoIs at the scale it learned;
# - channels_last (SpeedUpHook) next to bf16 autocast.
_base_ = [
    '../_base_/models/faster_rcnn_paper_r50_caffe_c4.py',
    '../_base_/datasets/demo_detection.py', '../_base_/det_runtime.py'
]
checkpoint = 'work_dirs/demo/pretrain/backbone.pth'
model = dict(
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1,
                  init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    rpn_head=dict(
        in_channels=64, feat_channels=64,
        # Crowns are 15-70 px wide on these 400 px tiles: anchors of 16, 32 and 64 px.
        # 32, 64, 128 px on the 800 px input: 16-64 px crowns of the 400 px tiles
        anchor_generator=dict(scales=[2, 4, 8])),
    roi_head=dict(
        shared_head=dict(depth=18, base_channels=16,
                         init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                                       prefix='layer4.')),
        bbox_roi_extractor=dict(roi_layer=dict(output_size=4), out_channels=64),
        bbox_head=dict(in_channels=128, roi_feat_size=2, num_classes=1)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=2000, max_per_img=500),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=2000, max_per_img=300)))

# The tiles at twice their size (800 px), flipped in both axes and across the diagonal
# (seen from above, a tree is a tree upside down too).
scale = (800, 800)
train_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# 130 epochs of 14 iterations (2 images each): about 7 minutes on 2 cores (bf16,
# channels_last), validations included. tools/demo.py reads its schedule from here (the
# epochs, batch, validation interval, warm-up and lr step; mmresnet.planning.schedule) and
# trains it as iterations: 1,820 on the embedded tiles, as many epochs of another folder.
max_epochs = 130
val_interval = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[int(max_epochs * 0.8)], gamma=0.1)
]
# bf16 autocast where the CPU has it (backbone and conv5_x head; RPN, RoIAlign and the box
# head stay float32); float32, said in the log, where it does not.
optim_wrapper = dict(
    type='AutocastOptimWrapper', dtype='bfloat16',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=10, norm_type=2))
# NHWC convolutions (the RoIAlign input is turned back to NCHW, as its kernel needs);
# freeze_bn=False: on this CPU the frozen-BN affine is slower than eval-mode BN.
custom_hooks = [dict(type='SpeedUpHook', freeze_bn=False, channels_last=True,
                     fold_bn_test=False)]
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
                     # drawn predictions: ground truth beside the boxes scored >= 0.5
                     visualization=dict(score_thr=0.5))
log_processor = dict(window_size=5)
randomness = dict(seed=0)
# Test-time augmentation (tools/test.py --tta; tools/demo.py's evaluation): the tile and
# its three flips, the boxes mapped back and merged by NMS at the test IoU (mmdet's
# DetTTAModel).
tta_model = dict(type='DetTTAModel',
                 tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
tta_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=scale, keep_ratio=True)],
        [dict(type='RandomFlip', prob=1.0, direction=d)
         for d in ('horizontal', 'vertical', 'diagonal')]
        + [dict(type='RandomFlip', prob=0.0)],
        [dict(type='LoadAnnotations', with_bbox=True)],
        [dict(type='PackDetInputs',
              meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                         'flip', 'flip_direction'))]])
]
