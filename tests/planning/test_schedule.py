"""The schedule of tools/demo.py --data: from the data size, within the time budget; a
config's loop set to a length in its own unit (epochs or iterations)."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmresnet.datasets import DetectionFolder
from mmresnet.planning.schedule import (budget_hooks, fit_schedule, iteration_schedule,
                                        loop_length, pretrain_batch, scale_schedule,
                                        wanted_schedule)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SPEED = dict(pretrain_s=0.06, det_s=0.2, infer_s=0.1)  # about this machine's, 2 cores


def _data(n_train, n_val, boxes_per_image=5):
    def images(n, tag):
        return [dict(file_name=f'{tag}{i}.jpg', width=400, height=300,
                     boxes=np.tile([10.0, 10, 60, 60], (boxes_per_image, 1)),
                     labels=np.zeros(boxes_per_image, int),
                     ignore=np.zeros(boxes_per_image, bool)) for i in range(n)]
    return DetectionFolder('/data', 'coco', ['thing'], dict(train=images(n_train, 't'),
                                                             val=images(n_val, 'v')), '', [])


def test_three_images_train_130_epochs_well_within_the_budget():
    wanted = wanted_schedule(_data(2, 1))
    assert wanted['det_iters'] == 130 and wanted['det_iters_per_epoch'] == 1
    assert wanted['pretrain_iters'] == 100  # the floor: 8 passes over 80 crops is 40
    assert wanted['pretrain_batch'] == 32
    plan = fit_schedule(wanted, SPEED, 8 * 60)
    assert plan['det_iters'] == 130 and not plan['cut_by_budget']
    assert plan['validations'] == 10 and plan['val_interval'] == 13
    assert plan['expected_s'] < 2 * 60


def test_three_thousand_images_are_cut_to_the_budget_with_validations_spread():
    wanted = wanted_schedule(_data(2400, 600))
    assert wanted['det_iters'] == 20000  # 130 epochs would be 156,000
    assert wanted['pretrain_iters'] == 600  # 6,000 boxes cropped: 48,000 crops
    plan = fit_schedule(wanted, SPEED, 8 * 60)
    assert plan['cut_by_budget'] and 100 <= plan['det_iters'] < 20000
    assert plan['expected_s'] <= 8 * 60 + 1
    assert 1 <= plan['validations'] and plan['val_interval'] * plan['validations'] >= \
        plan['det_iters']
    # a longer budget buys iterations, not overtime
    longer = fit_schedule(wanted, SPEED, 60 * 60)
    assert longer['det_iters'] > 10 * plan['det_iters'] and longer['expected_s'] <= 3600 + 1


def test_embedded_size_wants_the_demo_schedule():
    wanted = wanted_schedule(_data(28, 9, boxes_per_image=21))  # 588 boxes, the tiles' 587
    assert wanted['pretrain_iters'] == 600 and wanted['pretrain_batch'] == 64
    assert wanted['det_iters'] == 130 * 14


def test_a_budget_too_small_is_refused_with_what_it_needs():
    with pytest.raises(ValueError, match=r'--budget-min 0.5 cannot hold 20 detector '
                       r'iterations .* give at least [\d.]+'):
        fit_schedule(wanted_schedule(_data(200, 50)), dict(SPEED, det_s=2.0), 30)


def test_pretrain_batch_fits_the_crops():
    assert pretrain_batch(4696) == 64 and pretrain_batch(40) == 16 and pretrain_batch(3) == 2


def test_scale_schedule_stretches_an_iteration_schedule():
    """--from-scratch on --data configs: the written iteration schedule stretched to the
    budget, validations, lr step and checkpoint at the same fractions."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo',
                                   'faster-rcnn_paper-r18-c4_scratch_demo.py'))
    iteration_schedule(cfg, 100, 10)
    assert loop_length(cfg) == 100
    scale_schedule(cfg, 250)
    assert loop_length(cfg) == 250
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=250, val_interval=25)
    assert cfg.param_scheduler[1].milestones == [200] and cfg.param_scheduler[1].end == 250
    assert cfg.default_hooks.checkpoint.interval == 250
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'


def test_scale_schedule_shortens_an_epoch_schedule_at_the_same_fractions():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_paper-r18-c4_demo.py'))
    old = loop_length(cfg)
    assert old == cfg.train_cfg.max_epochs and old >= 10
    val, steps = cfg.train_cfg.val_interval, [
        (s.get('end'), list(s.get('milestones', []))) for s in cfg.param_scheduler
        if s.get('by_epoch', True)]
    half = old // 2
    scale_schedule(cfg, half)
    assert loop_length(cfg) == half and cfg.default_hooks.checkpoint.interval == half
    assert cfg.train_cfg.val_interval == max(1, round(val * half / old))
    for sched, (_, milestones) in zip([s for s in cfg.param_scheduler
                                       if s.get('by_epoch', True)], steps, strict=True):
        assert sched['end'] == half
        assert sched.get('milestones', []) == [max(1, round(m * half / old))
                                               for m in milestones]


def test_budget_hooks_end_each_stage_within_the_budget():
    """The hooks of a cut plan: pretraining by its share, the detector by the budget's end
    less the test; each may grow back to what the data asked for."""
    plan = fit_schedule(wanted_schedule(_data(2400, 600)), SPEED, 10 * 60)
    pre, det = budget_hooks(plan, SPEED, start=1000.0)
    assert pre['type'] == det['type'] == 'BudgetHook'
    assert 0 < pre['seconds'] < det['deadline'] - 1000 < 10 * 60  # pretraining: its share
    assert pre['seconds'] == pytest.approx(max(plan['pretrain_iters'] * SPEED['pretrain_s'],
                                               0.15 * 10 * 60))
    assert (det['planned_s'], pre['planned_s']) == (SPEED['det_s'], SPEED['pretrain_s'])
    assert det['planned_length'] == plan['det_iters'] < det['wanted'] == plan['wanted_det_iters']
    assert det['reserve_s'] == pytest.approx(4 * 600 * SPEED['infer_s'])
    # the embedded road counts the detector in epochs
    plan.update(val_unit='epochs', det_epochs=6, wanted_det_epochs=130)
    assert budget_hooks(plan, SPEED, 0.0)[1]['planned_length'] == 6
    assert budget_hooks(plan, SPEED, 0.0)[1]['wanted'] == 130
