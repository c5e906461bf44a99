"""``DeviceIterBasedTrainLoop``: MMEngine's iteration loop fed from a data set held on the
training device (:class:`~mmresnet.datasets.device_data.DeviceTensorLoader`).

One config line switches a CIFAR recipe to it; the data set, batch size, shuffling and the
augmentation are read from the unchanged ``train_dataloader``::

    train_cfg = dict(type='DeviceIterBasedTrainLoop', max_iters=64000, val_interval=2000)

Validation and testing keep their DataLoaders. Resuming seeks the stream to the checkpoint's
iteration at once (the stock loop draws and drops every batch already trained on).
"""
import torch
from mmdet.registry import DATASETS, LOOPS
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from ..datasets.device_data import DeviceTensorLoader
from .autocast import model_device


def build_device_loader(dataloader_cfg, device, seed=0):
    """A :class:`DeviceTensorLoader` from a ``train_dataloader`` config dict."""
    cfg = dict(dataloader_cfg)
    if 'dataset' not in cfg or 'batch_size' not in cfg:
        raise ValueError('device data: train_dataloader needs "dataset" and "batch_size", '
                         f'got keys {sorted(cfg)}')
    if not isinstance(cfg['dataset'], dict):
        raise TypeError('device data: train_dataloader.dataset must be a config dict, got '
                        f'{type(cfg["dataset"]).__name__}')
    pipeline = cfg['dataset'].get('pipeline', [])
    dataset = DATASETS.build(cfg['dataset'])
    sampler = cfg.get('sampler') or {}
    shuffle = sampler.get('shuffle', True) if isinstance(sampler, dict) else True
    rank, world_size = get_dist_info()
    return DeviceTensorLoader(dataset, cfg['batch_size'], device, pipeline=pipeline,
                              shuffle=shuffle, seed=seed or 0, rank=rank,
                              world_size=world_size)


@LOOPS.register_module()
class DeviceIterBasedTrainLoop(IterBasedTrainLoop):
    """:class:`mmengine.runner.IterBasedTrainLoop` with the training data on the device.

    Args:
        runner (Runner): The runner.
        dataloader (dict): The ``train_dataloader`` config (an array data set whose pipeline
            uses only ``RandomCropPad``, a horizontal ``RandomFlip`` and ``PackClsInputs``).
        max_iters (int): Total iterations.
        device (str, optional): Where the data live. Default: the model's device.
        **kwargs: ``val_begin``, ``val_interval``, ``dynamic_intervals`` as in MMEngine.
    """

    def __init__(self, runner, dataloader, max_iters, device=None, **kwargs):
        if not isinstance(dataloader, dict):
            raise TypeError('DeviceIterBasedTrainLoop builds its own loader: pass the '
                            f'train_dataloader config dict, got {type(dataloader).__name__}')
        device = torch.device(device) if device else model_device(runner.model)
        loader = build_device_loader(dataloader, device, seed=runner.seed)
        num_classes = getattr(getattr(runner.model, 'module', runner.model), 'num_classes',
                              None)
        if isinstance(num_classes, int):  # once, before training (no read in the loop)
            from ..models.utils import check_labels
            check_labels(loader.labels.cpu(), num_classes, 'DeviceIterBasedTrainLoop')
        print_log(f'DeviceIterBasedTrainLoop: {len(loader.images)} images '
                  f'({loader.images.numel() / 2**20:.1f} MiB) on {device}, '
                  f'{loader.per_epoch} per epoch on each of {loader.world_size} rank(s); pad '
                  f'{loader.padding}, crop {loader.size}, flip p={loader.flip_prob}',
                  logger='current')
        super().__init__(runner, loader, max_iters, **kwargs)

    def run(self):
        """As MMEngine's, but resuming seeks the data stream instead of replaying it."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            print_log(f'Device data: continuing the stream at iteration {self._iter}',
                      logger='current')
        self.dataloader.seek(self._iter)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(self.dataloader))
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0
                         or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model


__all__ = ['DeviceIterBasedTrainLoop', 'build_device_loader']
