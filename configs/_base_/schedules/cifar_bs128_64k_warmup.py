# Section 4.2, ResNet-110 (and 1202): "we use 0.01 to warm up the training until the
# training error is below 80% (about 400 iterations), and then go back to 0.1". The rule
# itself: WarmupUntilErrorHook scales the lr by 0.1 until the training error, averaged over
# 20 iterations (and all GPUs), is below 80%. The fixed 400-iteration form of the rule is
# cifar_bs128_64k_warmup400.py.
_base_ = ['./cifar_bs128_64k.py']
custom_hooks = [dict(type='WarmupUntilErrorHook', factor=0.1, error_below=80.0, window=20)]
