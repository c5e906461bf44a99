"""A tiny MMEngine model and dataset for engine tests (no image pipeline needed).

Registered (as ``EngineTestToyModel`` / ``EngineTestToyData``) so that a config run through
``tools/train.py`` in a subprocess can use them with ``custom_imports=['toy']``.
"""
import time
import uuid

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmdet.registry import DATASETS, MODELS
from torch.utils.data import Dataset


@MODELS.register_module('EngineTestToyModel', force=True)
class ToyModel(BaseModel):

    def __init__(self, nan_at_iter=None, sleep=0.0):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.nan_at_iter = nan_at_iter
        self.sleep = sleep
        self.calls = 0

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode != 'loss':
            return out
        self.calls += 1
        time.sleep(self.sleep)  # lets a test kill the process mid-run
        loss = ((out - labels)**2).mean()
        if self.nan_at_iter is not None and self.calls >= self.nan_at_iter:
            loss = loss * float('nan')
        return dict(loss=loss)


@DATASETS.register_module('EngineTestToyData', force=True)
class ToyData(Dataset):

    def __len__(self):
        return 32

    def __getitem__(self, i):
        x = torch.rand(2, generator=torch.Generator().manual_seed(i))
        return dict(inputs=x, labels=x.sum(0, keepdim=True))


def toy_runner(work_dir, max_iters=6, interval=2, max_keep_ckpts=1, nan_at_iter=None,
               guard_interval=1, lr=0.1):
    import mmresnet  # noqa: F401  (registers the hooks)
    from mmengine.runner import Runner
    return Runner(
        model=ToyModel(nan_at_iter),
        work_dir=str(work_dir),
        # its own message hub (the default name is the second the run started)
        experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=ToyData(), batch_size=4, collate_fn=dict(
            type='default_collate'), sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='AtomicCheckpointHook', interval=interval, by_epoch=False,
                            max_keep_ckpts=max_keep_ckpts),
            nan_guard=dict(type='StopOnNonFiniteLossHook', interval=guard_interval),
            logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmdet', randomness=dict(seed=0))
