# The demo's tree-crop classifier (stage 1 of tools/demo.py) with a test set: the crops
# of the 9 validation tiles (trees and background windows, made as the training crops
# are), single 64 px view, top-1 error. For tools/test.py on the classifier and for the
# deploy checks on real images (pytorch2onnx.py --verify-test-set [--int8]):
#   python tools/deployment/pytorch2onnx.py configs/demo/paper-resnet18-w16_tree-crops_test_demo.py \
#       work_dirs/demo/pretrain/iter_600.pth --out work_dirs/deploy/crops.onnx --dynamic \
#       --int8 --verify-test-set --test-set-backend openvino
_base_ = ['./paper-resnet18-w16_tree-crops_pretrain_demo.py']
test_dataloader = dict(
    batch_size=64, num_workers=0,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DetectionCropDataset', data_root='data/demo_detection/',
                 ann_file='annotations/instances_val.json', data_prefix=dict(img=''),
                 crop_size=64, context=1.25, neg_iou=0.5,
                 pipeline=[dict(type='PackClsInputs')]))
test_evaluator = dict(type='TopKError', topk=(1, ))
test_cfg = dict(type='TestLoop')
