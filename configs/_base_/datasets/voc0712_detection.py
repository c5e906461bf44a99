# PASCAL VOC 07+12: train on VOC2007 trainval + VOC2012 trainval, test on VOC2007 test with
# the 11-point mAP: the setting of the paper's Table 7 (ResNet-101: 76.4 mAP).
_base_ = './voc07_detection.py'
voc12_trainval = dict(
    type={{_base_.dataset_type}}, data_root={{_base_.data_root}},
    ann_file='VOC2012/ImageSets/Main/trainval.txt',
    data_prefix=dict(sub_data_root='VOC2012/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline={{_base_.train_pipeline}}, backend_args=None)
train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            _delete_=True, type='ConcatDataset',
            # VOCDataset tags each part with its year in metainfo['dataset_type'].
            ignore_keys=['dataset_type'],
            datasets=[{{_base_.voc07_trainval}}, voc12_trainval])))
