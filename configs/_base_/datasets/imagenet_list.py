# ImageNet from annotation lists ("relative/path.JPEG label" per line), same recipe.
_base_ = ['./imagenet.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ImageListDataset', data_root='data/imagenet',
    ann_file='data/imagenet/meta/train.txt', data_prefix=dict(img_path='data/imagenet/train'),
    pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='ImageListDataset', data_root='data/imagenet',
    ann_file='data/imagenet/meta/val.txt', data_prefix=dict(img_path='data/imagenet/val'),
    test_mode=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
