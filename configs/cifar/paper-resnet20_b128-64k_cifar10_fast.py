# ResNet-20, the same recipe with the speed switches on (each changes no result beyond
# floating-point tolerance, see tests/engine):
# - the 50k training images live on the GPU and are padded, cropped and flipped there;
# - bfloat16 autocast without loss scaling (AutocastOptimWrapper: AmpOptimWrapper's bf16
#   arithmetic without its GradScaler, whose inf check waits for the GPU every step);
# - no host-device wait inside an iteration: log values read every 20 iterations
#   (LazyRuntimeInfoHook, in every config), the NaN guard every 20 and before every save;
# - torch.compile of the training step (MMEngine's `compile`), cuDNN autotuning.
# It also runs on a CPU (bf16 autocast and compile there too; slow).
_base_ = ['./paper-resnet20_b128-64k_cifar10.py']
train_cfg = dict(type='DeviceIterBasedTrainLoop')
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
default_hooks = dict(nan_guard=dict(type='StopOnNonFiniteLossHook', interval=20))
compile = True
env_cfg = dict(cudnn_benchmark=True)
