# The fixed-step alternative to the plateau rule (as fb.resnet.torch): /10 at epochs 30 and
# 60, 90 epochs.
_base_ = ['./imagenet_bs256_plateau.py']
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60], gamma=0.1)]
train_cfg = dict(max_epochs=90)
