"""Training log values without a host-device synchronisation per iteration.

On a GPU, every ``tensor.item()`` makes the Python process wait until the GPU has finished
all the work queued so far, so the host cannot queue the next iteration while the GPU
runs this one: the time of an iteration becomes host time + GPU time instead of the larger
of the two. A stock MMEngine iteration waits three times: ``RuntimeInfoHook`` reads every
log value (``loss``, ``error``) with ``.item()``, a NaN guard reads the loss, and
``AmpOptimWrapper``'s ``GradScaler`` reads its inf/NaN flag before every optimizer step
(the bf16 wrapper without that wait: :mod:`mmresnet.engine.autocast`).
For small nets (the CIFAR ResNets: a 2.8 ms budget per iteration for the 3-minute
ResNet-20 target) these waits are a large share of the iteration.

- :class:`LazyRuntimeInfoHook`: MMEngine's ``RuntimeInfoHook`` that keeps the training
  log values on the device and moves them to the message hub in one transfer when they are
  read: on the logger's iterations, before a checkpoint is saved, at the end of an epoch
  and of training. The message hub ends with exactly the values the stock hook gives.
- :class:`AppendHistoryBuffer`: MMEngine's ``HistoryBuffer`` appends with ``np.append``, a
  copy of the whole history per value: with 5 values per iteration that is 0.36 ms per
  iteration after 64k iterations on a 2-core CPU, 12 ms after ImageNet's 600k
  (``tools/benchmark_history.py``).
  This one appends in amortised O(1), gives the same statistics and pickles as a plain
  ``HistoryBuffer``; :class:`LazyRuntimeInfoHook` puts it in the message hub.
- :func:`read_scalars`: one transfer for many scalar tensors (also used by
  :class:`~mmresnet.engine.hooks.StopOnNonFiniteLossHook` with ``interval > 1``).
"""
import copyreg

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import LoggerHook, RuntimeInfoHook
from mmengine.logging import HistoryBuffer
from mmengine.utils import apply_to

from ..utils import check_counts


def read_scalars(records):
    """Python values of a list of ``{key: scalar}`` dicts, one transfer per dtype.

    Tensors (one element each, any device) become what ``tensor.item()`` gives; other
    values pass unchanged. Order and keys are kept.
    """
    by_dtype = {}
    for i, rec in enumerate(records):
        for key, val in rec.items():
            if isinstance(val, torch.Tensor):
                if val.numel() != 1:
                    raise ValueError(f'log value {key!r} must be a scalar, got a tensor of '
                                     f'shape {tuple(val.shape)}')
                by_dtype.setdefault((val.dtype, val.device), []).append((i, key, val))
    out = [dict(rec) for rec in records]
    for entries in by_dtype.values():
        values = torch.stack([v.detach().reshape(()) for _, _, v in entries]).tolist()
        for (i, key, _), value in zip(entries, values):
            out[i][key] = value
    return out


class _Appendable:
    """A 1-D array that grows in amortised O(1) and keeps only its last ``max_length``
    values, as ``np.append`` + truncation would (numpy's type promotion included)."""

    def __init__(self, values, max_length):
        self.buf = np.array(values)
        self.start, self.end, self.max_length = 0, len(self.buf), max_length

    @property
    def view(self):
        return self.buf[self.start:self.end]

    def append(self, value):
        value = np.ravel(value)
        dtype = np.result_type(self.buf.dtype, value.dtype)
        if self.end == len(self.buf) or dtype != self.buf.dtype:
            live = self.view
            new = np.empty(max(2 * len(live) + 1, 64), dtype)
            new[:len(live)] = live
            self.buf, self.start, self.end = new, 0, len(live)
        self.buf[self.end] = value[0]
        self.end += 1
        self.start = max(self.start, self.end - self.max_length)


class AppendHistoryBuffer(HistoryBuffer):
    """``HistoryBuffer`` whose ``update`` is amortised O(1) instead of a copy of the whole
    history; same values, dtypes and statistics. It pickles (checkpoints, deep copies) as
    a plain ``HistoryBuffer`` with the same state, so checkpoints stay loadable by MMEngine
    alone."""

    @classmethod
    def of(cls, buffer):
        """An ``AppendHistoryBuffer`` holding ``buffer``'s history."""
        logs, counts = buffer.data
        return cls(logs, counts, buffer.max_length)

    @property
    def _log_history(self):
        return self._logs.view

    @_log_history.setter
    def _log_history(self, values):
        self._logs = _Appendable(values, self.max_length)

    @property
    def _count_history(self):
        return self._counts.view

    @_count_history.setter
    def _count_history(self, values):
        self._counts = _Appendable(values, self.max_length)

    def update(self, log_val, count=1):
        if not isinstance(log_val, (int, float)) or not isinstance(count, (int, float)):
            raise TypeError(f'log_val must be int or float but got {type(log_val)}, count '
                            f'must be int but got {type(count)}')
        self._logs.append(log_val)
        self._counts.append(count)

    @property
    def __class__(self):
        # pickle takes an object's class from __class__: a plain HistoryBuffer
        return HistoryBuffer

    def __reduce_ex__(self, protocol):
        # what a plain HistoryBuffer reduces to (its __getstate__ is its __dict__ plus the
        # statistics methods), so the bytes are the same
        state = dict(max_length=self.max_length, _log_history=self._log_history.copy(),
                     _count_history=self._count_history.copy(),
                     statistics_methods=self._statistics_methods)
        return copyreg.__newobj__, (HistoryBuffer, ), state, None, None


@HOOKS.register_module()
class LazyRuntimeInfoHook(RuntimeInfoHook):
    """``RuntimeInfoHook`` that reads the training log values only when they are used.

    The values of each iteration (the model's ``log_vars``) stay on the device; they go
    to the message hub, in iteration order and in one transfer, at the iterations where
    the ``LoggerHook`` logs (its ``interval``), at the end of an epoch and of training,
    before every checkpoint is saved and before validation, and at the latest every
    ``max_pending`` iterations. A config swaps it for the stock hook::

        default_hooks = dict(runtime_info=dict(type='LazyRuntimeInfoHook'))

    A hook that reads ``train/<key>`` from the message hub in every iteration would see
    the values only at those points; none of MMEngine's or this project's does.

    Args:
        max_pending (int): Flush at least this often. Default: 1000.
    """

    def __init__(self, max_pending=1000):
        check_counts(max_pending=max_pending)
        self.max_pending = max_pending
        self._pending = []
        self._log_interval = None

    def before_train(self, runner):
        super().before_train(runner)
        self._pending = []
        self._use_append_buffers(runner)
        loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
        self._log_interval = min((h.interval for h in loggers), default=None)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if outputs:
            self._pending.append({k: v.detach() if isinstance(v, torch.Tensor) else v
                                  for k, v in outputs.items()})
        n = self._log_interval
        if (len(self._pending) >= self.max_pending or self.is_last_train_iter(runner)
                or self.end_of_epoch(runner.train_dataloader, batch_idx)
                or (n and (self.every_n_inner_iters(batch_idx, n)
                           or self.every_n_train_iters(runner, n)))):
            self.flush(runner)

    def flush(self, runner):
        """Move every pending value to the message hub (one transfer per dtype)."""
        pending, self._pending = self._pending, []
        for rec in read_scalars(pending):
            for key, value in rec.items():
                runner.message_hub.update_scalar(f'train/{key}', value)
        self._use_append_buffers(runner)

    @staticmethod
    def _use_append_buffers(runner):
        # new keys (the timer's, the lr, resumed ones) arrive as plain HistoryBuffers
        scalars = runner.message_hub.log_scalars
        for key, buf in list(scalars.items()):
            if type(buf) is HistoryBuffer:
                scalars[key] = AppendHistoryBuffer.of(buf)

    def before_save_checkpoint(self, runner, checkpoint):
        # the checkpoint's message hub state is taken before this call: add what is pending
        if self._pending:
            self.flush(runner)
            checkpoint['message_hub'] = apply_to(runner.message_hub.state_dict(),
                                                 lambda x: hasattr(x, 'cpu'),
                                                 lambda x: x.cpu())

    def after_train_epoch(self, runner):
        self.flush(runner)

    def before_val(self, runner):
        self.flush(runner)
        super().before_val(runner)

    def after_train(self, runner):
        self.flush(runner)
        super().after_train(runner)


__all__ = ['read_scalars', 'AppendHistoryBuffer', 'LazyRuntimeInfoHook']
