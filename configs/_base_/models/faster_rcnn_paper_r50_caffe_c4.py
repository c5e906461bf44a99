# Faster R-CNN, the paper's C4 design (He et al. 2015, Section 4.3 and Appendix A):
# conv1..conv4_x of a PaperResNet are the shared full-image feature map (stride 16, like
# VGG-16's conv5), RPN and RoI pooling run on it, conv5_x runs per RoI as the shared head
# (PaperResLayer, same stage code and options as the backbone), then global average pooling
# and the box classifier / regressor (BBoxHead with_avg_pool).
# BN is frozen from pre-training (norm_eval, requires_grad=False) and conv1 + conv2_x are
# fixed (frozen_stages=1), as in the paper's released Caffe detector.
# Both the backbone and the head load the PaperResNet classification checkpoint exported by
# tools/export_backbone.py (a path, never a download); the head takes its layer4.* keys.
# Caffe style (stride on a bottleneck's first 1x1, the paper's); the -pytorch- configs in
# configs/faster_rcnn/ override style, normalisation and checkpoint for torchvision weights.
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='FasterRCNN',
    # Same normalisation as the classifier that produced the checkpoint: BGR images
    # (OpenCV), per-pixel ImageNet mean subtracted, no std division (Section 3.4).
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False, pad_size_divisor=32),
    backbone=dict(
        type='PaperResNet', depth=50, arch='imagenet', style='caffe', num_stages=3,
        strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2, ), frozen_stages=1,
        # He init without zero-init where init_cfg=None (the paper's; from scratch only)
        norm_cfg=norm_cfg, norm_eval=True, zero_init_residual=False,
        init_cfg=dict(type='Pretrained',
                      checkpoint='checkpoints/paper_resnet50_backbone.pth')),
    rpn_head=dict(
        type='RPNHead', in_channels=1024, feat_channels=1024,
        anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        shared_head=dict(
            type='PaperResLayer', depth=50, stage=3, stride=2, style='caffe',
            norm_cfg=norm_cfg, norm_eval=True,
            init_cfg=dict(type='Pretrained',
                          checkpoint='checkpoints/paper_resnet50_backbone.pth',
                          prefix='layer4.')),
        # The paper pools 14x14 RoIs with RoI pooling (conv5_1's stride 2 makes them 7x7);
        # RoIAlign is the modern equivalent and has a CPU kernel. For the strict paper layer
        # use dict(type='RoIPool', output_size=14) (CUDA only in mmcv).
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=1024, featmap_strides=[16]),
        bbox_head=dict(
            type='BBoxHead', with_avg_pool=True, roi_feat_size=7, in_channels=2048,
            num_classes=80,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=12000, max_per_img=2000,
                          nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1, debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                  max_per_img=100)))
