# The whole ResNet-110 CIFAR schedule (64k iterations at batch 128, 32 validations) with the
# speed switches on, on synthetic CIFAR-shaped data (50k/5k seeded random images): a timing
# run for machines without CIFAR-10 (its errors mean nothing).
_base_ = ['../cifar/paper-resnet110_b128-64k_cifar10_fast.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='SyntheticClsDataset', num_samples=50000, seed=0,
    pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='SyntheticClsDataset', num_samples=5000, seed=1, test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
