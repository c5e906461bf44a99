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
        anchor_generator=dict(scales=[1, 2, 4])),
    roi_head=dict(
        shared_head=dict(depth=18, base_channels=16,
                         init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                                       prefix='layer4.')),
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=128, num_classes=1)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=2000, max_per_img=500),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=2000, max_per_img=300)))

# 100 epochs of 14 iterations (2 images each): about 7 minutes on 2 cores in bf16.
max_epochs = 100
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
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
                     # drawn predictions: ground truth beside the boxes scored >= 0.5
                     visualization=dict(score_thr=0.5))
log_processor = dict(window_size=5)
randomness = dict(seed=0)
