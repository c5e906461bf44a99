"""Log values read without host-device waits: the same logs, checkpoints and guard."""
import copy
import json
import os.path as osp
import pickle

import numpy as np

import pytest
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmresnet.checkpoint import load_checkpoint_file
from mmresnet.engine import (AppendHistoryBuffer, DivergenceError, LazyRuntimeInfoHook,
                             read_scalars)
from .test_device_loop import make_cfg, train
from .toy import toy_runner

# What makes the host wait for a CUDA device (each copies a value to the host).
HOST_READS = ('item', 'tolist', 'numpy', 'cpu', '__bool__', '__int__', '__float__')


def test_read_scalars_equals_item():
    records = [dict(loss=torch.tensor(0.1234567), n=torch.tensor(7), lr=0.1),
               dict(loss=torch.tensor([2.5]), half=torch.tensor(1.0 / 3, dtype=torch.bfloat16)),
               dict()]
    got = read_scalars(records)
    want = [{k: v.item() if isinstance(v, torch.Tensor) else v for k, v in r.items()}
            for r in records]
    assert got == want
    assert [list(r) for r in got] == [list(r) for r in records]
    assert type(got[0]['n']) is int and type(got[0]['loss']) is float
    with pytest.raises(ValueError, match="'acc' must be a scalar.*shape \\(2,\\)"):
        read_scalars([dict(acc=torch.zeros(2))])


def test_append_buffer_equals_history_buffer():
    rng = np.random.default_rng(0)
    for max_length, first in ((7, 3), (1000000, 0.5), (3, 1)):
        ref, buf = HistoryBuffer([first], [1], max_length), AppendHistoryBuffer([first], [1],
                                                                                max_length)
        for i in range(300):
            # ints then floats (numpy's promotion of the int history), counts of 1 and 2
            value = int(rng.integers(100)) if i < 20 else float(rng.random())
            ref.update(value, 1 + i % 2)
            buf.update(value, 1 + i % 2)
            for a, b in zip(ref.data, buf.data, strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b), i
            assert buf.mean(5) == ref.mean(5) and buf.statistics('max', 9) == ref.max(9)
        for proto in (2, 4, 5):
            assert pickle.dumps(buf, proto) == pickle.dumps(ref, proto)
        assert type(copy.deepcopy(buf)) is HistoryBuffer
    with pytest.raises(TypeError, match='log_val must be int or float'):
        buf.update(torch.tensor(1.0))


def _hub_history(runner_or_hub, key):
    hub = getattr(runner_or_hub, 'message_hub', runner_or_hub)
    return hub.log_scalars[key].data[0].tolist()


def _logged(work_dir, key='loss'):
    (run, ) = [d for d in work_dir.iterdir() if d.is_dir()]
    with open(run / 'vis_data' / 'scalars.json') as f:
        rows = [json.loads(line) for line in f]
    return [(r['iter'], r[key]) for r in rows if key in r]


def fast_cfg(work_dir, lazy, max_iters=10, log_interval=4, ckpt_interval=3, guard=1):
    cfg = make_cfg(work_dir, 'DeviceIterBasedTrainLoop', max_iters=max_iters,
                   ckpt_interval=ckpt_interval)
    cfg.default_hooks.logger.interval = log_interval
    cfg.log_processor.window_size = log_interval
    cfg.default_hooks.nan_guard.interval = guard
    cfg.default_hooks.checkpoint.max_keep_ckpts = 10
    cfg.default_hooks.runtime_info = dict(
        type='LazyRuntimeInfoHook' if lazy else 'RuntimeInfoHook')
    return cfg


def test_lazy_hook_gives_the_stock_logs_and_checkpoints(tmp_path):
    # checkpoints every 3 iterations, logs every 4: the checkpoints at 3, 6 and 9 fall
    # between flushes and must still carry every value so far
    stock = train(fast_cfg(tmp_path / 'stock', lazy=False))
    lazy = train(fast_cfg(tmp_path / 'lazy', lazy=True))
    assert isinstance(lazy.hooks[0], LazyRuntimeInfoHook)
    assert {type(b) for b in lazy.message_hub.log_scalars.values()} == {AppendHistoryBuffer}
    for key in ('train/loss', 'train/error'):
        want = _hub_history(stock, key)
        assert len(want) == 10
        assert _hub_history(lazy, key) == want
        for it in (3, 6, 9):
            hubs = [load_checkpoint_file(str(tmp_path / run / f'iter_{it}.pth'))['message_hub']
                    for run in ('stock', 'lazy')]
            got = [h['log_scalars'][key].data[0].tolist() for h in hubs]
            assert got[1] == got[0] == want[:it]
    # what the logger wrote (the window means at 4 and 8)
    assert _logged(tmp_path / 'lazy') == _logged(tmp_path / 'stock')
    assert [i for i, _ in _logged(tmp_path / 'lazy')] == [4, 8]


def test_lazy_hook_resumes_with_the_whole_history(tmp_path):
    # stop at 5 (checkpoint at 5, between the flushes at 4 and 8), resume to 10
    full = train(fast_cfg(tmp_path / 'full', lazy=True))
    train(fast_cfg(tmp_path / 'part', lazy=True, max_iters=5, ckpt_interval=5))
    resumed = train(fast_cfg(tmp_path / 'part', lazy=True, ckpt_interval=5), resume=True)
    assert resumed.iter == 10
    assert {type(b) for b in resumed.message_hub.log_scalars.values()} == {AppendHistoryBuffer}
    for key in ('train/loss', 'train/error'):
        assert _hub_history(resumed, key) == _hub_history(full, key)


class _CountReads(Hook):
    """Records, after every iteration, how many host reads the counter has seen."""
    priority = 'LOWEST'

    def __init__(self, counter):
        self.counter, self.marks = counter, []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.marks.append(self.counter['n'])


def reads_per_iteration(cfg, monkeypatch):
    counter = dict(n=0)
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            counter['n'] += 1
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, counted)
    recorder = _CountReads(counter)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.register_hook(recorder)
    first = None

    class _Start(Hook):
        priority = 'HIGHEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            nonlocal first
            if first is None:
                first = counter['n']
    runner.register_hook(_Start())
    runner.train()
    monkeypatch.undo()
    marks = [first] + recorder.marks
    return [b - a for a, b in zip(marks, marks[1:])]


def test_no_host_reads_between_logging_iterations(tmp_path, monkeypatch):
    # the fast configs' set: data on the device, lazy logs, guard every 4 iterations,
    # bf16 autocast without loss scaling; logs every 4, no checkpoint in the run
    cfg = fast_cfg(tmp_path / 'fast', lazy=True, max_iters=8, ckpt_interval=100, guard=4)
    cfg.optim_wrapper.type = 'AutocastOptimWrapper'
    reads = reads_per_iteration(cfg, monkeypatch)
    assert len(reads) == 8
    assert [i + 1 for i, n in enumerate(reads) if n] == [4, 8], reads
    # the stock hooks read the loss in every iteration (so the count above can fail)
    stock = reads_per_iteration(
        fast_cfg(tmp_path / 'stock', lazy=False, max_iters=4, ckpt_interval=100, guard=1),
        monkeypatch)
    # loss, error (log); loss and the finite-weights check (guard) in every iteration
    assert all(n >= 4 for n in stock), stock


def test_guard_with_interval_names_the_first_bad_iteration(tmp_path):
    # NaN from iteration 5, read every 4 iterations: found at the read at 8, named 5
    runner = toy_runner(tmp_path, max_iters=10, interval=100, nan_at_iter=5, guard_interval=4)
    with pytest.raises(DivergenceError, match='diverged at iteration 5 .*loss=nan'):
        runner.train()
    assert runner.iter == 7  # the 8th iteration ran, the 9th did not


def test_guard_with_interval_reads_before_every_save(tmp_path):
    # checkpoints every 3 iterations, guard every 100: the save at 6 reads the losses of
    # 4-6 first and refuses; the last good checkpoint stays the one at 3
    runner = toy_runner(tmp_path, max_iters=10, interval=3, nan_at_iter=5, guard_interval=100)
    with pytest.raises(DivergenceError, match='iteration 5 .*iter_3.pth'):
        runner.train()
    assert not osp.exists(tmp_path / 'iter_6.pth')
    with open(tmp_path / 'last_checkpoint') as f:
        assert load_checkpoint_file(f.read())['meta']['iter'] == 3


def test_lazy_hook_refuses_a_bad_max_pending():
    with pytest.raises(ValueError, match='max_pending must be a positive int'):
        HOOKS.build(dict(type='LazyRuntimeInfoHook', max_pending=0))
