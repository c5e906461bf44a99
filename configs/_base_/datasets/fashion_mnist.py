# Fashion-MNIST (Xiao et al. 2017, MIT licence), real 28x28 grey images available offline:
# `apt-get install dataset-fashion-mnist` (IDX files in /usr/share/datasets/fashion-mnist).
# The CIFAR recipe unchanged in spirit: pad 4, random 28 crop, flip; 60k train, 10k test
# (Fashion-MNIST has no official val split: the test set is used for validation curves).
dataset_type = 'FashionMNISTDataset'
data_root = '/usr/share/datasets/fashion-mnist'
train_pipeline = [
    dict(type='RandomCropPad', size=28, padding=4),
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='PackClsInputs')]
test_pipelines = dict(single=test_pipeline)
train_dataloader = dict(
    batch_size=128, num_workers=2, persistent_workers=True,
    # stacked in the workers: one shared-memory tensor per batch, not one per image
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=500, num_workers=2, persistent_workers=True,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TopKError', topk=(1, 5))
test_evaluator = val_evaluator
