"""How long each model of ``tools/demo.py`` trains, on the embedded tiles and on a folder
of one's own alike: the one place where the demo's lengths, learning-rate steps, warm-ups,
validations and budget are decided.

A demo config says what a full run is, and only it says so (read here, one place): the
detector's epochs (passes over the training images), its batch, validation interval,
warm-up and learning-rate steps; the pretraining's longest run, its batch, warm-up and
steps. From them and the data:

- pretraining: about 8 passes over the crops (``8 * crops / batch`` iterations, to the
  nearest 50, at least 100, at most the config's ``max_iters``: 600, reached on the
  embedded tiles), the config's batch or a power of two below half the crops;
- detector: the config's epochs over the training images (130 in the demo config) at its
  batch (2), as iterations, at most 20,000; fewer where the budget says so. As many
  validations as the config's interval gives (13: every 10 of 130 epochs; fewer where they
  would take more than a sixth of the budget);
- every loop becomes iteration-based (:func:`set_iterations`): each learning-rate
  scheduler, found by its fields and never by its place in the list, and the validations
  at the same fraction of the run as in the config;
- the budget (:data:`BUDGET_MIN` minutes by default): seconds per iteration measured on
  this machine before training (:mod:`mmresnet.planning.probe`), times the iterations,
  plus the validations, the final test with its flips and a fixed allowance for building
  (:func:`fit_schedule`); kept while training by the speed measured then
  (:func:`budget_hooks`, :mod:`mmresnet.engine.budget`); the from-scratch comparison gets
  the seconds the pretrained road took (:func:`scratch_iters`).
"""
import math

from ..utils.errors import UsageError

# Minutes for the stages: the embedded tiles' full schedule (1,820 iterations: 130 epochs
# of 14) fits on 2 cores (7.1 min on 2026-12-02 morning, 10.6 expected on a 1.35x slower
# afternoon); a smaller budget shortens the detector (docs/demo.md, "The schedule and the
# budget").
BUDGET_MIN = 12.0
DET_MAX_ITERS = 20000
PRE_PASSES = 8
PRE_MIN_ITERS = 100
VAL_SHARE = 1 / 6
PRE_SHARE = 0.15
MIN_DET_ITERS = 20
CROPS_PER_BOX = 8  # DetectionCropDataset: 4 windows per box and as many backgrounds
MAX_PRETRAIN_BOXES = 6000  # 48,000 crops: more than 600 iterations of 64 can use
OVERHEAD_S = 25.0


def _round_to(x, step):
    return int(step * round(x / step))


def pretrain_batch(n_crops, most=64):
    """``most`` (the config's batch), or the largest power of two below half the crops (at
    least 2)."""
    return int(min(most, max(2, 2 ** int(math.log2(max(2, n_crops // 2))))))


def config_iters(cfg, iters_per_epoch):
    """How long the config's training loop runs, in iterations: its ``max_iters``, or its
    ``max_epochs`` times ``iters_per_epoch``."""
    loop = cfg.train_cfg
    if 'max_iters' in loop:
        return int(loop.max_iters)
    if 'max_epochs' in loop:
        return int(loop.max_epochs) * int(iters_per_epoch)
    raise UsageError(f'{cfg.filename}: train_cfg has neither max_iters nor max_epochs '
                     f'(got {dict(loop)}); the demo reads its length from them')


def config_validations(cfg):
    """How many times the config's loop validates (0 where ``val_interval`` is longer than
    the loop)."""
    loop = cfg.train_cfg
    length = loop.get('max_iters', loop.get('max_epochs'))
    interval = loop.get('val_interval', 1)
    return 0 if interval > length else math.ceil(length / interval)


def wanted_schedule(data, pre_cfg, det_cfg):
    """Iterations the data set asks for, before any budget: pretraining and detector, read
    from the configs (``pre_cfg``, ``det_cfg``: their length, batch and validations)."""
    n_boxes = len(data.boxes('train'))
    n_crops = CROPS_PER_BOX * min(n_boxes, MAX_PRETRAIN_BOXES)
    batch = pretrain_batch(n_crops, int(pre_cfg.train_dataloader.batch_size))
    most = config_iters(pre_cfg, math.ceil(n_crops / batch))
    pre = min(max(_round_to(PRE_PASSES * n_crops / batch, 50), PRE_MIN_ITERS), most)
    det_batch = int(det_cfg.train_dataloader.batch_size)
    n_train = sum(1 for img in data.splits['train'] if len(img['boxes']))
    per_epoch = math.ceil(n_train / det_batch)
    det = min(config_iters(det_cfg, per_epoch), DET_MAX_ITERS)
    return dict(pretrain_iters=pre, pretrain_batch=batch, pretrain_crops_estimate=n_crops,
                pretrain_config_iters=most, det_iters=det, det_iters_per_epoch=per_epoch,
                det_config_iters=config_iters(det_cfg, per_epoch), det_batch=det_batch,
                validations=max(1, config_validations(det_cfg)),
                n_val_images=len(data.splits['val']))


def fit_schedule(wanted, speed, budget_s):
    """The schedule within ``budget_s`` seconds given the measured ``speed``
    (``pretrain_s``, ``det_s``: seconds per training iteration; ``infer_s``: per image).

    The detector's iterations give way first; pretraining keeps at most ``PRE_SHARE`` of
    the budget, validations ``VAL_SHARE``. Where the budget cannot hold ``MIN_DET_ITERS``
    detector iterations at the probe's speed, the plan starts with that many and one line
    (``speed_notes``) says so with the minutes they would take: a probe in a busy moment
    does not stop the run, and the budget hooks (:func:`budget_hooks`) lengthen or cut it
    by the speed measured while training.
    """
    plan = dict(wanted, wanted_det_iters=wanted['det_iters'],
                wanted_pretrain_iters=wanted['pretrain_iters'])
    n_val = wanted['n_val_images']
    test_s = 4 * n_val * speed['infer_s']  # the final test: the image and three flips
    one_val = n_val * speed['infer_s']

    def cost(pre, det, n_vals):
        return (OVERHEAD_S + pre * speed['pretrain_s'] + det * speed['det_s']
                + n_vals * one_val + test_s)
    pre = min(wanted['pretrain_iters'],
              max(PRE_MIN_ITERS // 2, int(PRE_SHARE * budget_s / speed['pretrain_s'])))
    n_vals = max(1, min(wanted['validations'],
                        int(VAL_SHARE * budget_s / max(one_val, 1e-9))))
    det = min(wanted['det_iters'], int((budget_s - cost(pre, 0, n_vals)) / speed['det_s']))
    least = min(MIN_DET_ITERS, wanted['det_iters'])
    notes = []
    if det < least:
        need = cost(pre, least, 1)
        notes.append(f'--budget-min {budget_s / 60:g} holds fewer than {least} detector '
                     f'iterations at the speed probe\'s {speed["det_s"]:.2f} s each '
                     f'({speed["infer_s"]:.2f} s per test image; {least} would take '
                     f'{math.ceil(need / 6) / 10:g} min): started with {least}, lengthened '
                     'or cut by the speed measured while training')
        det, n_vals = least, 1
    n_vals = min(n_vals, det)
    interval = int(math.ceil(det / n_vals))
    n_vals = math.ceil(det / interval)  # what the loop runs: every interval and at the end
    plan.update(pretrain_iters=int(pre), det_iters=int(det), validations=int(n_vals),
                val_interval=interval,
                det_epochs=round(det / wanted['det_iters_per_epoch'], 1),
                budget_s=round(budget_s, 1),
                expected_s=round(cost(pre, det, n_vals), 1),
                cut_by_budget=bool(det < wanted['det_iters'] or pre < wanted['pretrain_iters']),
                full_s=round(cost(wanted['pretrain_iters'], wanted['det_iters'],
                                  wanted['validations']), 1),
                speed_notes=notes)
    return plan


def budget_hooks(plan, speed, start):
    """The :class:`~mmresnet.engine.budget.BudgetHook` of each stage (config dicts), so that
    the run keeps the budget by the speed it measures while training, not only by the
    probe's: pretraining takes at most its share of the budget from its own start
    (``PRE_SHARE``, or the planned iterations' time where that is more: a long probe does
    not eat it), the detector ends by the budget's end less the final test (scaled by the
    slowdown the hook measures). A loop of the planned length may grow up to what the data
    asked for (the ``wanted_*`` iterations of the plan); one of another length (set by
    hand) may only shrink. ``start``: when the budget began (``time.time()``)."""
    budget = plan['budget_s']
    n_val = plan['n_val_images']
    pre_s = max(plan['pretrain_iters'] * speed['pretrain_s'], PRE_SHARE * budget)
    pretrain = dict(type='BudgetHook', name='pretraining', planned_s=speed['pretrain_s'],
                    seconds=pre_s,
                    planned_length=int(plan['pretrain_iters']),
                    wanted=int(plan['wanted_pretrain_iters']))
    detector = dict(type='BudgetHook', name='detector', planned_s=speed['det_s'],
                    deadline=start + budget - OVERHEAD_S / 2,
                    reserve_s=4 * n_val * speed['infer_s'],  # the test: image and 3 flips
                    planned_val_s=n_val * speed['infer_s'],
                    planned_length=int(plan['det_iters']),
                    wanted=int(plan['wanted_det_iters']))
    return pretrain, detector


def _scaled(value, factor):
    return max(1, int(round(value * factor)))


def _scheduler_to_iterations(sched, iters_per_epoch, factor):
    """One learning-rate scheduler (a config dict) in iterations: its ``begin``, ``end`` and
    ``milestones`` from its own unit (epochs where ``by_epoch``) to iterations, at the same
    fraction of a run ``factor`` times as long."""
    unit = iters_per_epoch if sched.get('by_epoch', True) else 1
    for key in ('begin', 'end'):  # 0 stays 0, an open end (MMEngine's INF) stays open
        if sched.get(key) and sched[key] < 2**31:
            sched[key] = _scaled(sched[key] * unit, factor)
    if 'milestones' in sched:
        sched['milestones'] = [_scaled(m * unit, factor) for m in sched['milestones']]
    sched['by_epoch'] = False
    sched.pop('convert_to_iter_based', None)


def set_iterations(cfg, iters, val_interval=None, iters_per_epoch=1):
    """``cfg`` trained for ``iters`` iterations, its loop iteration-based (an epoch-based
    loop becomes ``IterBasedTrainLoop``, an iteration-based one keeps its type), validated
    every ``val_interval`` (None: never, as a config that validates later than it ends);
    each learning-rate scheduler (whatever its place in ``param_scheduler``), the logging
    and the checkpoint at the same fraction of the run as in the config, its epochs
    counted as ``iters_per_epoch`` iterations."""
    loop = cfg.train_cfg
    old = config_iters(cfg, iters_per_epoch)
    factor = iters / old
    kind = loop.get('type') if 'max_iters' in loop else 'IterBasedTrainLoop'
    cfg.train_cfg = dict({k: v for k, v in loop.items() if k not in (
        'max_epochs', 'max_iters', 'val_interval', 'val_begin', 'dynamic_intervals')},
        type=kind, max_iters=int(iters),
        val_interval=int(iters) + 1 if val_interval is None else int(val_interval))
    scheds = cfg.get('param_scheduler') or []
    for sched in [scheds] if isinstance(scheds, dict) else scheds:
        _scheduler_to_iterations(sched, iters_per_epoch, factor)
    every = max(1, iters // 10)  # logs: at most every tenth of the run
    hooks = cfg.default_hooks
    for name in ('logger', 'nan_guard'):
        if name in hooks and 'interval' in hooks[name]:
            hooks[name].interval = min(hooks[name].interval, every)
    hooks.checkpoint.update(by_epoch=False, interval=int(iters),
                            max_keep_ckpts=1)  # its type kept: atomic saves
    cfg.log_processor = dict(cfg.get('log_processor', {}), by_epoch=False)
    if 'window_size' in cfg.log_processor:
        cfg.log_processor['window_size'] = min(cfg.log_processor['window_size'], every)
    if cfg.train_dataloader.sampler.get('type') != 'InfiniteSampler':
        cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)


def apply_schedule(pre_cfg, det_cfgs, plan):
    """The plan written into the configs: the pretraining's batch and iterations (no
    validation), each detector's iterations and validations."""
    pre_cfg.train_dataloader.batch_size = plan['pretrain_batch']
    set_iterations(pre_cfg, plan['pretrain_iters'], None,
                   math.ceil(plan['pretrain_crops_estimate'] / plan['pretrain_batch']))
    for cfg in det_cfgs:
        set_iterations(cfg, plan['det_iters'], plan['val_interval'],
                       plan['det_iters_per_epoch'])


def scale_schedule(cfg, iters):
    """An iteration-based config (:func:`set_iterations`) stretched or shrunk to ``iters``,
    the validations at the same fraction of the run."""
    old = cfg.train_cfg.max_iters
    interval = cfg.train_cfg.get('val_interval', old)
    set_iterations(cfg, iters, None if interval > old else _scaled(interval, iters / old))


def scratch_iters(det_iters, det_seconds, budget_s):
    """The from-scratch detector's iterations: as many as the pretrained detector's speed
    (``det_iters`` in ``det_seconds``) gives in ``budget_s``, the seconds of the pretrained
    road (pretraining, export, detector training)."""
    return max(1, round(det_iters * budget_s / det_seconds))


__all__ = ['BUDGET_MIN', 'pretrain_batch', 'config_iters', 'config_validations',
           'wanted_schedule', 'fit_schedule', 'budget_hooks', 'set_iterations',
           'apply_schedule', 'scale_schedule', 'scratch_iters']
