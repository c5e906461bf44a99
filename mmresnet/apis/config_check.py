"""Type checks of the config keys every run reads, before anything is built.

MMEngine reads these deep inside the Runner, where a wrong type surfaces as a bare
traceback (``'<' not supported between 'str' and 'int'``) minutes into a run. Checked here,
the error names the key, the expected type and the value found.
"""
from numbers import Real

from ..utils.errors import ConfigError

# key path -> (allowed types, description). Only keys that exist are checked.
CHECKED_KEYS = {
    'train_cfg.max_iters': ((int, ), 'a positive int'),
    'train_cfg.max_epochs': ((int, ), 'a positive int'),
    'train_cfg.val_interval': ((int, ), 'a positive int'),
    'train_dataloader.batch_size': ((int, ), 'a positive int'),
    'val_dataloader.batch_size': ((int, ), 'a positive int'),
    'test_dataloader.batch_size': ((int, ), 'a positive int'),
    'train_dataloader.num_workers': ((int, ), 'an int >= 0'),
    'optim_wrapper.optimizer.lr': ((Real, ), 'a positive number'),
    'optim_wrapper.optimizer.momentum': ((Real, ), 'a number in [0, 1)'),
    'optim_wrapper.optimizer.weight_decay': ((Real, ), 'a number >= 0'),
    'default_hooks.checkpoint.interval': ((int, ), 'an int'),
    'randomness.seed': ((int, type(None)), 'an int or None'),
    'work_dir': ((str, ), 'a path string'),
}

_POSITIVE = {'train_cfg.max_iters', 'train_cfg.max_epochs', 'train_cfg.val_interval',
             'train_dataloader.batch_size', 'val_dataloader.batch_size',
             'test_dataloader.batch_size', 'optim_wrapper.optimizer.lr'}


def _lookup(cfg, path):
    node = cfg
    for part in path.split('.'):
        if not hasattr(node, 'get') or part not in node:
            return False, None
        node = node[part]
    return True, node


def check_config_types(cfg):
    """Raise :class:`ConfigError` naming the key for values of the wrong type."""
    for path, (types, desc) in CHECKED_KEYS.items():
        found, val = _lookup(cfg, path)
        if not found:
            continue
        if isinstance(val, bool) or not isinstance(val, types):
            raise ConfigError(f'config key {path!r} must be {desc}, got '
                              f'{type(val).__name__} {val!r}')
        if path in _POSITIVE and val <= 0:
            raise ConfigError(f'config key {path!r} must be {desc}, got {val!r}')


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
