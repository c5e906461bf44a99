# ResNet-20, the same recipe with the speed switches on (a GPU run; each switch changes no
# result beyond floating-point tolerance, see tests/engine):
# - the 50k training images live on the GPU and are padded, cropped and flipped there;
# - bfloat16 autocast through MMEngine's AmpOptimWrapper;
# - torch.compile of the training step (MMEngine's `compile`).
# (AmpOptimWrapper needs a GPU; on a CPU train the plain config with
#  --cfg-options train_cfg.type=DeviceIterBasedTrainLoop.)
_base_ = ['./paper-resnet20_b128-64k_cifar10.py']
train_cfg = dict(type='DeviceIterBasedTrainLoop')
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
compile = True
