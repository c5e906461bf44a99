"""How long each model of the demo trains: the iterations a data set asks for, fitted to a
time budget, and a config's training loop set to a length (iterations or epochs).

- pretraining: about 8 passes over the crops (``8 * crops / batch`` iterations, to the
  nearest 50, within [100, 600]; 600 on the embedded tiles, as the hand-set demo), batch
  64 or fewer where there are fewer crops;
- detector: 130 epochs of the training images at 2 images per iteration (the embedded
  demo's, where 29 tiles took 7 minutes), at most 20,000 iterations; fewer where the budget
  says so. Ten validations spread over the run (fewer where they would take more than a
  sixth of the budget), the learning rate stepped down at 80 %;
- the budget: seconds per iteration measured on this machine before training
  (:mod:`mmresnet.planning.probe`), times the iterations, plus the validations, the final
  test with its flips and a fixed allowance for building; kept while training by the
  speed measured then (:func:`budget_hooks`, :mod:`mmresnet.engine.budget`).
"""
import math

from ..utils.errors import UsageError

DET_EPOCHS = 130
DET_MAX_ITERS = 20000
DET_BATCH = 2
PRE_PASSES = 8
PRE_LIMITS = (100, 600)
PRE_BATCH = 64
VALIDATIONS = 10
VAL_SHARE = 1 / 6
PRE_SHARE = 0.15
MIN_DET_ITERS = 20
CROPS_PER_BOX = 8  # DetectionCropDataset: 4 windows per box and as many backgrounds
MAX_PRETRAIN_BOXES = 6000  # 48,000 crops: more than 600 iterations of 64 can use
OVERHEAD_S = 25.0


def _round_to(x, step):
    return int(step * round(x / step))


def pretrain_batch(n_crops):
    """64, or the largest power of two below half the crops (at least 2)."""
    return int(min(PRE_BATCH, max(2, 2 ** int(math.log2(max(2, n_crops // 2))))))


def wanted_schedule(data):
    """Iterations the data set asks for, before any budget: pretraining and detector."""
    n_boxes = len(data.boxes('train'))
    n_pre_boxes = min(n_boxes, MAX_PRETRAIN_BOXES)
    n_crops = CROPS_PER_BOX * n_pre_boxes
    batch = pretrain_batch(n_crops)
    pre = min(max(_round_to(PRE_PASSES * n_crops / batch, 50), PRE_LIMITS[0]), PRE_LIMITS[1])
    n_train = sum(1 for img in data.splits['train'] if len(img['boxes']))
    per_epoch = math.ceil(n_train / DET_BATCH)
    det = min(DET_EPOCHS * per_epoch, DET_MAX_ITERS)
    return dict(pretrain_iters=pre, pretrain_batch=batch, pretrain_crops_estimate=n_crops,
                det_iters=det, det_iters_per_epoch=per_epoch, det_batch=DET_BATCH,
                n_val_images=len(data.splits['val']))


def fit_schedule(wanted, speed, budget_s):
    """The schedule within ``budget_s`` seconds given the measured ``speed``
    (``pretrain_s``, ``det_s``: seconds per training iteration; ``infer_s``: per image).

    The detector's iterations give way first; pretraining keeps at most ``PRE_SHARE`` of
    the budget, validations ``VAL_SHARE``. Raises UsageError (a ValueError) when the
    budget cannot hold ``MIN_DET_ITERS`` detector iterations.
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
              max(PRE_LIMITS[0] // 2, int(PRE_SHARE * budget_s / speed['pretrain_s'])))
    n_vals = max(1, min(VALIDATIONS, int(VAL_SHARE * budget_s / max(one_val, 1e-9))))
    det = min(wanted['det_iters'], int((budget_s - cost(pre, 0, n_vals)) / speed['det_s']))
    least = min(MIN_DET_ITERS, wanted['det_iters'])
    if det < least:
        need = cost(pre, least, 1)
        raise UsageError(f'--budget-min {budget_s / 60:g} cannot hold {least} detector '
                         f'iterations on this machine (measured {speed["det_s"]:.2f} s each, '
                         f'{speed["infer_s"]:.2f} s per test image); give at least '
                         f'{math.ceil(need / 6) / 10:g}')
    n_vals = min(n_vals, det)
    plan.update(pretrain_iters=int(pre), det_iters=int(det), validations=int(n_vals),
                val_interval=int(math.ceil(det / n_vals)),
                det_epochs=round(det / wanted['det_iters_per_epoch'], 1),
                budget_s=round(budget_s, 1),
                expected_s=round(cost(pre, det, n_vals), 1),
                cut_by_budget=bool(det < wanted['det_iters'] or pre < wanted['pretrain_iters']),
                full_s=round(cost(wanted['pretrain_iters'], wanted['det_iters'], VALIDATIONS), 1))
    return plan


def budget_hooks(plan, speed, start):
    """The :class:`~mmresnet.engine.budget.BudgetHook` of each stage (config dicts), so that
    the run keeps the budget by the speed it measures while training, not only by the
    probe's: pretraining takes at most its share of the budget from its own start
    (``PRE_SHARE``, or the planned iterations' time where that is more: a long probe does
    not eat it), the detector ends by the budget's end less the final test (scaled by the
    slowdown the hook measures). A loop of the planned length may grow
    up to what the data asked for (the ``wanted_*`` lengths of the plan; the detector in
    epochs where the plan's ``val_unit`` says so); one of another length (set by hand) may
    only shrink. ``start``: when the budget began (``time.time()``)."""
    budget = plan['budget_s']
    n_val = plan['n_val_images']
    pre_s = max(plan['pretrain_iters'] * speed['pretrain_s'], PRE_SHARE * budget)
    pretrain = dict(type='BudgetHook', name='pretraining', planned_s=speed['pretrain_s'],
                    seconds=pre_s,
                    planned_length=int(plan['pretrain_iters']),
                    wanted=int(plan['wanted_pretrain_iters']))
    epochs = plan.get('val_unit') == 'epochs'
    detector = dict(type='BudgetHook', name='detector', planned_s=speed['det_s'],
                    deadline=start + budget - OVERHEAD_S / 2,
                    reserve_s=4 * n_val * speed['infer_s'],  # the test: image and 3 flips
                    planned_val_s=n_val * speed['infer_s'],
                    planned_length=int(plan['det_epochs' if epochs else 'det_iters']),
                    wanted=int(plan['wanted_det_epochs' if epochs else 'wanted_det_iters']))
    return pretrain, detector


def iteration_schedule(cfg, iters, val_interval, warmup=30):
    """``cfg`` trained for ``iters`` iterations (IterBasedTrainLoop), validated every
    ``val_interval``, a linear warm-up, the lr stepped at 80 %, one checkpoint at the end."""
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=int(iters),
                         val_interval=int(val_interval))
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
             end=int(min(warmup, max(1, iters // 10)))),
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=int(iters),
             milestones=[max(1, int(0.8 * iters))], gamma=0.1)]
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=int(iters),
                                        max_keep_ckpts=1)  # its type kept: atomic saves
    cfg.log_processor = dict(cfg.get('log_processor', {}), by_epoch=False)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)


def epoch_schedule(cfg, epochs):
    """``cfg`` (an epoch-based loop) trained for ``epochs`` epochs, with the validations,
    the epoch-based lr steps and the checkpoint at the same fractions of the run as in
    the config."""
    old = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = max(1, round(cfg.train_cfg.get('val_interval', old)
                                              * epochs / old))
    for sched in cfg.param_scheduler:
        if sched.get('by_epoch', True):
            sched['end'] = epochs
            if 'milestones' in sched:
                sched['milestones'] = [max(1, round(m * epochs / old))
                                       for m in sched['milestones']]
    cfg.default_hooks.checkpoint.interval = epochs


def loop_length(cfg):
    """How long a config's training loop runs, in the loop's own unit: ``max_epochs``
    (epoch-based loop) or ``max_iters`` (iteration-based)."""
    if 'max_epochs' in cfg.train_cfg:
        return cfg.train_cfg.max_epochs
    return cfg.train_cfg.max_iters


def scale_schedule(cfg, length):
    """Train for ``length`` in the loop's own unit (:func:`loop_length`): epochs
    (:func:`epoch_schedule`) or iterations (:func:`iteration_schedule`, the validations at
    the same fraction of the run as in the config)."""
    if 'max_epochs' in cfg.train_cfg:
        epoch_schedule(cfg, length)
        return
    old = cfg.train_cfg.max_iters
    iteration_schedule(cfg, length, max(1, round(cfg.train_cfg.get('val_interval', old)
                                                 * length / old)))


__all__ = ['pretrain_batch', 'wanted_schedule', 'fit_schedule', 'budget_hooks',
           'iteration_schedule',
           'epoch_schedule', 'loop_length', 'scale_schedule']
