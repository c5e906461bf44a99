"""A tiny MMEngine model and dataset for engine tests (no image pipeline needed).

Registered (as ``EngineTestToyModel`` / ``EngineTestToyData``) so that a config run through
``tools/train.py`` in a subprocess can use them with ``custom_imports=['toy']``.
"""
import time
import uuid

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
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


@HOOKS.register_module('EngineTestSelfSignalHook', force=True)
class SelfSignalHook(Hook):
    """Sends ``signal`` to its own process after iteration ``at_iter`` (``when='iter'``),
    while the checkpoint of that iteration is being saved (``when='save'``) or during the
    validation after it (``when='val'``, after its first batch); ``again``:
    once more while the checkpoint the signal asked for is being saved. A signal at a known
    iteration makes preemption tests deterministic. ``rank``: only that rank's process."""
    priority = 'NORMAL'

    def __init__(self, at_iter, signal='SIGTERM', when='iter', again=False, rank=None):
        import signal as signals
        self.at_iter, self.signum = at_iter, getattr(signals, signal)
        self.when, self.again, self.rank = when, again, rank

    def _send(self):
        import os

        from mmengine.dist import get_rank
        if self.rank is None or get_rank() == self.rank:
            os.kill(os.getpid(), self.signum)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.when == 'iter' and runner.iter + 1 == self.at_iter:
            self._send()

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.when == 'val' and runner.iter == self.at_iter and batch_idx == 0:
            self._send()

    def before_save_checkpoint(self, runner, checkpoint):
        preempted = 'preempted' in checkpoint.get('meta', {})
        if self.when == 'save' and runner.iter + 1 == self.at_iter and not preempted:
            self._send()
        if self.again and preempted:
            self._send()


@HOOKS.register_module('EngineTestLossRecordHook', force=True)
class LossRecordHook(Hook):
    """Appends ``iteration loss`` (the float's repr: every digit) to ``work_dir/losses.txt``
    (rank 0; ``losses_rank{R}.txt`` for the others), and each validation's iteration and
    metrics to ``work_dir/val.txt``."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        from mmengine.dist import get_rank
        name = 'losses.txt' if get_rank() == 0 else f'losses_rank{get_rank()}.txt'
        with open(f'{runner.work_dir}/{name}', 'a') as f:
            f.write(f'{runner.iter + 1} {float(outputs["loss"])!r}\n')


    def after_val_epoch(self, runner, metrics=None):
        with open(f'{runner.work_dir}/val.txt', 'a') as f:
            f.write(f'{runner.iter} {metrics}\n')


@METRICS.register_module('EngineTestToyMetric', force=True)
class ToyMetric(BaseMetric):
    """How many samples the validation saw."""

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        return dict(samples=sum(results))


def read_losses(work_dir, rank=0):
    """``{iteration: loss}`` written by :class:`LossRecordHook` (a resumed run appends)."""
    with open(f'{work_dir}/{"losses.txt" if rank == 0 else f"losses_rank{rank}.txt"}') as f:
        return {int(i): float(v) for i, v in (line.split() for line in f)}


TRAIN_CONFIG = '''
default_scope = 'mmdet'
custom_imports = dict(imports=['mmresnet', 'toy'], allow_failed_imports=False)
model = dict(type='EngineTestToyModel')
train_dataloader = dict(dataset=dict(type='EngineTestToyData'), batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        collate_fn=dict(type='default_collate'))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_cfg = dict(by_epoch=False, max_iters={max_iters})
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', interval={interval}, by_epoch=False,
                    max_keep_ckpts=2),
    preemption=dict(type='PreemptionHook', repeat_window={window}),
    logger=dict(type='LoggerHook', interval=100))
custom_hooks = [{hooks}]
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
'''


def train_config(hooks=(), max_iters=40, interval=10, window=2.0):
    """A tools/train.py config of the toy (``custom_imports=['toy']``: PYTHONPATH must hold
    tests/engine), iteration-based, with the PreemptionHook and ``hooks`` (config strings)."""
    return TRAIN_CONFIG.format(max_iters=max_iters, interval=interval, window=window,
                               hooks=', '.join(hooks))


@HOOKS.register_module('EngineTestFaultHook', force=True)
class FaultHook(Hook):
    """A fault on one rank after iteration ``at_iter``: ``kind='kill'`` SIGKILLs the rank's
    own process once in a work dir, ``kind='raise'`` raises a RuntimeError on every start.
    ``kind='kill_node'``: SIGKILLs the rank's elastic agent and then itself, once, on the
    node whose environment has ``ENGINE_TEST_DOOMED_NODE=1`` (any rank there: ``rank``
    is not read). The wall time of the fault goes to ``work_dir/fault_at.txt`` (one line
    per fault)."""

    def __init__(self, at_iter, rank=1, kind='kill'):
        self.at_iter, self.rank, self.kind = at_iter, rank, kind

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        import os
        import signal

        from mmengine.dist import get_rank
        if runner.iter + 1 != self.at_iter:
            return
        if self.kind == 'kill_node':
            if os.environ.get('ENGINE_TEST_DOOMED_NODE') != '1':
                return
        elif get_rank() != self.rank:
            return
        record = f'{runner.work_dir}/fault_at.txt'
        if self.kind != 'raise' and os.path.exists(record):
            return
        with open(record, 'a') as f:
            f.write(f'{time.time()!r}\n')
        if self.kind == 'kill_node':
            os.kill(os.getppid(), signal.SIGKILL)  # the agent
        if self.kind in ('kill', 'kill_node'):
            os.kill(os.getpid(), signal.SIGKILL)
        with open(record) as f:
            n = len(f.readlines())
        raise RuntimeError(f'EngineTestFaultHook: fault {n} at iteration {self.at_iter}')


@HOOKS.register_module('EngineTestRestartClockHook', force=True)
class RestartClockHook(Hook):
    """Rank 0 of a resumed run writes the wall time of its first trained iteration (and
    the iteration) to ``work_dir/running_again_at.txt``."""

    def __init__(self):
        self.resumed = None

    def before_train(self, runner):
        self.resumed = runner.iter > 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        from mmengine.dist import get_rank
        if self.resumed and get_rank() == 0:
            with open(f'{runner.work_dir}/running_again_at.txt', 'a') as f:
                f.write(f'{time.time()!r} {runner.iter + 1}\n')
        self.resumed = False
