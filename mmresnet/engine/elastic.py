"""Elastic runs: what every start of the workers resumes from, the collective timeout, the
world size each checkpoint was trained at, and the one message of a run whose restarts ran
out.

``tools/dist_train.sh`` in its elastic mode (``NNODES=MIN:MAX RDZV_ENDPOINT=HOST:PORT``)
starts torchrun's elastic agents (c10d rendezvous, ``--max-restarts``) and sets
``MMRESNET_ELASTIC=1`` for the workers. torchrun stops and starts every worker again after a
failure; each start (``TORCHELASTIC_RESTART_COUNT`` = 0, 1, ...) continues from
``WORK_DIR/last_checkpoint`` where there is one, or starts fresh
(:func:`decide_elastic_start`, said at the top of the log). The resume itself is
MMEngine's, made exact by :class:`~mmresnet.engine.preemption.PreemptionHook` (data order,
RNG, schedulers, the loop position).
"""
import contextlib
import datetime
import math
import os
import os.path as osp
import socket

from mmdet.registry import HOOKS
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from ..utils import check_choice
from ..utils.errors import ConfigError

ELASTIC_ENV = 'MMRESNET_ELASTIC'
# Seconds a collective waits for the other ranks before it fails (gloo and NCCL alike):
# env_cfg.dist_cfg.timeout of the config, or this. torch's own defaults are 30 min (gloo)
# and 10 min (NCCL); 30 min leaves room for a long validation or save on rank 0 while the
# other ranks wait at the next collective.
DEFAULT_COLLECTIVE_TIMEOUT_S = 1800


def is_elastic():
    """True in a worker started by tools/dist_train.sh's elastic mode."""
    return os.environ.get(ELASTIC_ENV, '') == '1'


def elastic_start_info(env=None):
    """Which start of the workers this is, as torchrun tells the worker."""
    env = os.environ if env is None else env

    def num(key, default):
        try:
            return int(env.get(key, default))
        except ValueError:
            return default
    return dict(restart=num('TORCHELASTIC_RESTART_COUNT', 0),
                max_restarts=num('TORCHELASTIC_MAX_RESTARTS', 0),
                run_id=env.get('TORCHELASTIC_RUN_ID', ''), node=num('GROUP_RANK', 0),
                nodes=num('GROUP_WORLD_SIZE', 1), world_size=num('WORLD_SIZE', 1),
                host=socket.gethostname())


def read_last_checkpoint(work_dir):
    """The checkpoint ``WORK_DIR/last_checkpoint`` names, or None (no such file, or empty).

    A local path that names no file is an error naming both: resuming from it would fail
    on every rank and restart, and starting fresh would overwrite a run."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = f.read().strip()
    if not path:
        return None
    if '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(
            f'{marker} names {path}, which does not exist: restore the checkpoint, or write '
            'the path of another checkpoint of this run into last_checkpoint (deleting '
            'last_checkpoint starts the run fresh)')
    return path


def decide_elastic_start(cfg, env=None):
    """Set ``cfg.resume`` / ``cfg.load_from`` for this start of an elastic run and return
    the line the log opens with.

    Every start and restart continues from ``WORK_DIR/last_checkpoint`` where there is one;
    a checkpoint named with ``--resume CKPT`` (or ``load_from``) is used only while the run
    has written none; otherwise the run starts fresh."""
    info = elastic_start_info(env)
    # TORCHELASTIC_RESTART_COUNT counts this node's failures only: a restart for another
    # node's failure or a membership change is not counted here
    start = (f"elastic start of run {info['run_id'] or '?'}: node {info['node']} of "
             f"{info['nodes']} ({info['host']}), world size {info['world_size']}, this "
             f"node's restarts {info['restart']} of at most {info['max_restarts']}")
    last = read_last_checkpoint(cfg.work_dir)
    if last is not None:
        cfg.resume, cfg.load_from = True, last
        return f'{start}: resuming from {last} ({cfg.work_dir}/last_checkpoint)'
    if cfg.get('resume') and cfg.get('load_from'):
        return f'{start}: no checkpoint in {cfg.work_dir} yet; resuming from {cfg.load_from}'
    cfg.resume = False
    how = (f'loading weights from {cfg.load_from}' if cfg.get('load_from') else
           'starting fresh')
    return f'{start}: no checkpoint in {cfg.work_dir} yet; {how}'


def collective_timeout(cfg):
    """``env_cfg.dist_cfg.timeout`` in seconds (set to the default where absent), checked.
    MMEngine's ``init_dist`` reads the same key on GPUs; the CPU group takes it from here."""
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    timeout = dist_cfg.setdefault('timeout', DEFAULT_COLLECTIVE_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigError(f'env_cfg.dist_cfg.timeout must be a number of seconds > 0 (the '
                          f'collective timeout; default {DEFAULT_COLLECTIVE_TIMEOUT_S}), got '
                          f'{timeout!r}')
    return datetime.timedelta(seconds=timeout)


# What a resume at another world size does with the learning rate (ElasticHook's
# on_world_size_change); the per-rank batch and the iteration count are kept either way.
WORLD_SIZE_POLICIES = ('scale_lr', 'keep_lr')


def world_size_change(old, new, per_rank_batch, samples_seen, policy='scale_lr'):
    """What a run resumed at world size ``new`` from a checkpoint trained at ``old`` does:
    the one place of the rule. Returns ``(lr_factor, skip_batches, text)``.

    - batch: the per-rank batch is kept (a rank's memory need does not change; gradient
      accumulation would change what an iteration is, and the schedules count
      iterations), so the global batch becomes ``new * per_rank_batch``;
    - learning rate: ``'scale_lr'`` multiplies it by ``new / old`` (the linear scaling rule
      of ``auto_scale_lr``: the same lr per sample), ``'keep_lr'`` keeps it;
    - sampler: the data position is kept in samples: each rank skips
      ``ceil(samples_seen / (new * per_rank_batch))`` batches of its new shard of the same
      seeded order, so no sample of the interrupted pass is skipped and fewer than one
      global batch (``new * per_rank_batch``) of it is seen twice;
    - schedule: the iteration (and epoch) count goes on; lr steps, warm-up and
      checkpoints stay at their iterations.
    """
    check_choice('on_world_size_change', policy, WORLD_SIZE_POLICIES)
    skip = math.ceil(samples_seen / (new * per_rank_batch))
    if old == new:
        return 1.0, skip, f'world size {old} -> {new}: unchanged'
    factor = new / old if policy == 'scale_lr' else 1.0
    lr = (f'lr x {factor:g} (on_world_size_change=\'scale_lr\': the same lr per sample, '
          'as auto_scale_lr)' if policy == 'scale_lr' else
          "lr kept (on_world_size_change='keep_lr')")
    return factor, skip, (
        f'world size {old} -> {new}: global batch {old * per_rank_batch} -> '
        f'{new * per_rank_batch} (per-rank batch {per_rank_batch} kept); {lr}; sampler: '
        f'{samples_seen} samples of the interrupted pass were trained, each rank skips '
        f'{skip} batches of its new shard (at most {new * per_rank_batch * skip - samples_seen}'
        ' samples seen twice, none skipped); schedule: the iteration count goes on')


class _AdvanceInstead:
    """The train loop's data iterator, whose first ``pretend`` draws (IterBasedTrainLoop's
    "advance the dataloader by the iterations done") draw ``actual`` batches instead."""

    def __init__(self, iterator, pretend, actual):
        self.iterator, self.pretend, self.actual = iterator, pretend, actual

    def __next__(self):
        if self.pretend > 0:
            self.pretend -= 1
            for _ in range(self.actual):
                next(self.iterator)
            self.actual = 0
            return None
        return next(self.iterator)

    def __iter__(self):
        return self

    def __getattr__(self, name):
        if 'iterator' not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__['iterator'], name)


def _per_rank_batch(runner):
    loader = runner.train_loop.dataloader
    return (getattr(loader, 'batch_size', None)
            or getattr(getattr(loader, 'batch_sampler', None), 'batch_size', None) or 1)


@HOOKS.register_module()
class ElasticHook(Hook):
    """Each checkpoint says the world size, per-rank batch and data position it was trained
    at; a run resumed at another world size adapts by :func:`world_size_change` and says
    so (old and new world size) at every resume.

    Args:
        on_world_size_change (str): ``'scale_lr'`` (default) or ``'keep_lr'``.
    """
    priority = 'NORMAL'  # after_load_checkpoint before PreemptionHook's (LOWEST)

    def __init__(self, on_world_size_change='scale_lr'):
        self.policy = check_choice('on_world_size_change', on_world_size_change,
                                   WORLD_SIZE_POLICIES)
        self._origin = (0, 0)  # (iteration, samples of the current pass) counted from
        self._advance, self._lr_factor = None, 1.0

    def _samples_seen(self, runner, done):
        iteration, samples = self._origin
        return samples + (done - iteration) * _per_rank_batch(runner) * get_dist_info()[1]

    def before_save_checkpoint(self, runner, checkpoint):
        meta = checkpoint.setdefault('meta', {})
        done = meta.get('iter', runner.iter)
        epoch_end = (isinstance(runner.train_loop, EpochBasedTrainLoop)
                     and meta.get('epoch') != runner.epoch)  # an epoch's own checkpoint
        meta.update(world_size=get_dist_info()[1], per_rank_batch=_per_rank_batch(runner),
                    samples_seen=0 if epoch_end else self._samples_seen(runner, done))

    def after_load_checkpoint(self, runner, checkpoint):
        meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
        if 'iter' not in meta or not getattr(runner, '_resume', True):  # weights only
            return
        new, batch = get_dist_info()[1], _per_rank_batch(runner)
        by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
        old = meta.get('world_size')
        if old is None:  # a checkpoint written without this hook
            print_log(f'the checkpoint does not say its world size: taken as this run\'s '
                      f'({new})', logger='current')
            old = new
        seen = meta.get('samples_seen')
        if seen is None:
            seen = ((meta.get('iter_in_epoch') or 0) if by_epoch else meta['iter']) * \
                meta.get('per_rank_batch', batch) * old
        factor, skip, text = world_size_change(old, new, batch, seen, self.policy)
        print_log(text, logger='current')
        self._origin = (meta['iter'], seen)
        if old == new:
            return
        self._lr_factor = factor  # applied after the optimizer's state is loaded
        if by_epoch:  # PreemptionHook skips this many batches of the resumed epoch
            meta['iter_in_epoch'] = skip
        else:
            self._advance = (meta['iter'], skip)
        self._origin = (meta['iter'], skip * batch * new)

    def _scale_lr(self, runner, factor):
        if factor == 1.0:
            return
        wrappers = getattr(runner.optim_wrapper, 'values', lambda: [runner.optim_wrapper])()
        for wrapper in wrappers:
            for group in wrapper.optimizer.param_groups:
                for key in ('lr', 'initial_lr'):
                    if key in group:
                        group[key] *= factor
        schedulers = runner.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for v in schedulers.values() for s in v]
        for s in schedulers:
            if getattr(s, 'param_name', None) == 'lr':
                s.base_values = [v * factor for v in s.base_values]
                s._last_value = [g['lr'] for g in s.optimizer.param_groups]

    def before_train(self, runner):
        self._scale_lr(runner, self._lr_factor)
        self._lr_factor = 1.0
        if self._advance is not None and not isinstance(runner.train_loop,
                                                        EpochBasedTrainLoop):
            loop = runner.train_loop
            loop.dataloader_iterator = _AdvanceInstead(loop.dataloader_iterator,
                                                       *self._advance)
        self._advance = None

    def before_train_epoch(self, runner):
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            if self._origin[0] != runner.iter:  # not the resumed epoch: a new pass
                self._origin = (runner.iter, 0)


# How long the ranks of a timed-out collective wait for each other's word before naming the
# silent ones: a tenth of the collective timeout, between 5 and 60 s.
def silent_rank_window(timeout_s):
    return min(60.0, max(5.0, 0.1 * timeout_s))


class CollectiveTimeoutError(RuntimeError):
    """A collective (all-reduce, barrier, broadcast) waited the collective timeout for a
    rank that never came; the message names the ranks that did not answer."""


def _is_collective_timeout(exc):
    text = f'{type(exc).__name__}: {exc}'.lower()
    return isinstance(exc, RuntimeError) and ('timed out' in text or 'timeout' in text)


def _silent_ranks(store, rank, world_size, window_s, key='mmresnet/collective_timeout'):
    """Each rank that met the timeout says so in the run's store and waits up to
    ``window_s`` for the others; the ranks not heard from are returned."""
    keys = [f'{key}/{r}' for r in range(world_size)]
    store.add(keys[rank], 1)
    with contextlib.suppress(Exception):  # the wait's own timeout: some never answer
        store.wait(keys, datetime.timedelta(seconds=window_s))
    # add(key, 0) reads a counter (0 where nobody wrote it) on every torch since 2.0
    return [r for r in range(world_size) if store.add(keys[r], 0) == 0]


@contextlib.contextmanager
def naming_silent_ranks(cfg):
    """Around a distributed run of ``cfg`` (``tools/train.py``): when a collective fails on
    its timeout (``env_cfg.dist_cfg.timeout``), every rank that met it names the ranks that
    did not answer within :func:`silent_rank_window` (asked through the process group's
    store, which serves while a rank hangs) and raises :class:`CollectiveTimeoutError` with them, this rank and the
    timeout; torchrun's agents then restart the group (or name the rank when the restarts
    run out). Outside a process group of two or more ranks it does nothing."""
    timeout_s = ((cfg.get('env_cfg') or {}).get('dist_cfg') or {}).get(
        'timeout', DEFAULT_COLLECTIVE_TIMEOUT_S)
    try:
        yield
    except Exception as exc:
        import torch.distributed as dist
        if not (_is_collective_timeout(exc) and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1):
            raise
        from torch.distributed.distributed_c10d import _get_default_store
        rank, world_size = dist.get_rank(), dist.get_world_size()
        window = silent_rank_window(timeout_s)
        try:
            silent = _silent_ranks(_get_default_store(), rank, world_size, window)
            who = (f'rank(s) {", ".join(map(str, silent))} did not answer' if silent else
                   'every rank answered afterwards (a slow rank, not a hung one)')
        except Exception as probe:  # the store itself gone: say the timeout without names
            who = f'the store did not answer ({probe}), so the silent ranks are unknown'
        raise CollectiveTimeoutError(
            f'a collective on rank {rank} of {world_size} ({socket.gethostname()}) waited '
            f'the collective timeout ({timeout_s:g} s, env_cfg.dist_cfg.timeout) and failed; '
            f'then waited {window:.0f} s for word from every rank: {who}. Look at those '
            'ranks\' logs (a hung data loader, a deadlock, a rank that took another branch); '
            'the elastic agents restart the group from the last checkpoint.') from exc


def _failure_cause(failure):
    if failure.exitcode < 0:
        name = failure.signal_name()
        why = (' (killed from outside, or by the kernel when out of memory)'
               if name == 'SIGKILL' else '')
        return f'signal {name}{why}'
    message = failure.message
    if isinstance(message, dict):
        message = message.get('message', '')
    if not message or 'To enable traceback' in str(message):
        message = 'no error recorded; see the rank\'s log above'
    return f'exit code {failure.exitcode}: {str(message).strip().splitlines()[-1]}'


def restarts_exhausted_message(error, work_dir, max_restarts, command):
    """The one message of an elastic run whose restarts ran out (``error``: torchrun's
    ``ChildFailedError`` on this node): the failed rank and node, the cause, and the
    checkpoint the next start resumes from."""
    rank, failure = error.get_first_failure()
    try:
        last = read_last_checkpoint(work_dir)
    except FileNotFoundError as exc:
        last = f'none usable ({exc})'
    resume = (f'{last} ({work_dir}/last_checkpoint)' if last else
              f'none: {work_dir} has no last_checkpoint, the next start begins fresh')
    return (f'[dist_train] training failed after {max_restarts} restart(s): rank {rank} '
            f'(local rank {failure.local_rank}, pid {failure.pid}) on node '
            f'{socket.gethostname()} ended with {_failure_cause(failure)}. Checkpoint to '
            f'resume from: {resume}. Run the same command again to continue: {command}')


__all__ = ['ElasticHook', 'WORLD_SIZE_POLICIES', 'world_size_change', 'ELASTIC_ENV', 'DEFAULT_COLLECTIVE_TIMEOUT_S', 'is_elastic', 'elastic_start_info',
           'read_last_checkpoint', 'decide_elastic_start', 'collective_timeout',
           'restarts_exhausted_message', 'naming_silent_ranks',
           'CollectiveTimeoutError', 'silent_rank_window']
