"""What a config asks of the machine, checked before the Runner is built (the types of
its keys: :func:`mmresnet.config.check_config_types`, for every run)."""


def check_amp_device(cfg, cuda_available=None):
    """MMEngine's ``AmpOptimWrapper`` (mixed precision) needs a GPU; say so before the
    Runner is built, naming the way out, instead of MMEngine's assertion minutes later."""
    if cfg.get('optim_wrapper', {}).get('type') != 'AmpOptimWrapper':
        return
    if cuda_available is None:
        import torch
        cuda_available = torch.cuda.is_available()
    if not cuda_available:
        raise RuntimeError(
            'optim_wrapper.type is AmpOptimWrapper (mixed precision, e.g. --amp or a '
            '*_fast.py config), which needs a GPU, and torch sees none. On a CPU, train the '
            'config without it (the *_fast.py configs are the GPU versions of the plain '
            'ones; their device data loop also works on a CPU with '
            '--cfg-options train_cfg.type=DeviceIterBasedTrainLoop on the plain config)')
