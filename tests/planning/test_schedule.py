"""The schedule of tools/demo.py, the embedded tiles and a folder alike: read from the
demo configs and the data size, fitted to the time budget; every loop iteration-based, its
schedulers found by their fields, never by their place in the list."""
import copy
import os.path as osp
import re

import numpy as np
import pytest
from mmengine.config import Config

from mmresnet.datasets import DetectionFolder
from mmresnet.planning.schedule import (budget_hooks, config_iters, fit_schedule,
                                        pretrain_batch, scale_schedule, scratch_iters,
                                        set_iterations, wanted_schedule)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo')
SPEED = dict(pretrain_s=0.06, det_s=0.2, infer_s=0.1)  # about this machine's, 2 cores


def _cfgs():
    return (Config.fromfile(osp.join(DEMO, 'paper-resnet18-w16_tree-crops_pretrain_demo.py')),
            Config.fromfile(osp.join(DEMO, 'faster-rcnn_paper-r18-c4_demo.py')))


def _data(n_train, n_val, boxes_per_image=5):
    def images(n, tag):
        return [dict(file_name=f'{tag}{i}.jpg', width=400, height=300,
                     boxes=np.tile([10.0, 10, 60, 60], (boxes_per_image, 1)),
                     labels=np.zeros(boxes_per_image, int),
                     ignore=np.zeros(boxes_per_image, bool)) for i in range(n)]
    return DetectionFolder('/data', 'coco', ['thing'], dict(train=images(n_train, 't'),
                                                             val=images(n_val, 'v')), '', [])


def _wanted(data):
    return wanted_schedule(data, *_cfgs())


def test_three_images_train_the_config_epochs_well_within_the_budget():
    pre, det = _cfgs()
    wanted = _wanted(_data(2, 1))
    assert wanted['det_iters'] == det.train_cfg.max_epochs == 130  # 1 iteration an epoch
    assert wanted['det_iters_per_epoch'] == 1
    assert wanted['pretrain_iters'] == 100  # the floor: 8 passes over 80 crops is 40
    assert wanted['pretrain_batch'] == 32
    # the config's validations: every 10 of 130 epochs
    assert wanted['validations'] == 13
    plan = fit_schedule(wanted, SPEED, 8 * 60)
    assert plan['det_iters'] == 130 and not plan['cut_by_budget']
    assert plan['validations'] == 13 and plan['val_interval'] == 10
    assert plan['expected_s'] < 2 * 60


def test_the_lengths_come_from_the_configs():
    """The configs say what a full run is: their epochs, batch, longest pretraining and
    validation interval move the plan, no copy of them in the planner."""
    pre, det = _cfgs()
    det.train_cfg.update(max_epochs=20, val_interval=5)
    det.train_dataloader.batch_size = 4
    pre.train_cfg.max_iters = 300
    pre.train_dataloader.batch_size = 16
    wanted = wanted_schedule(_data(28, 9, boxes_per_image=21), pre, det)
    assert wanted['det_iters_per_epoch'] == 7 and wanted['det_iters'] == 20 * 7
    assert wanted['validations'] == 4 and wanted['det_batch'] == 4
    assert wanted['pretrain_iters'] == 300 and wanted['pretrain_batch'] == 16


def test_three_thousand_images_are_cut_to_the_budget_with_validations_spread():
    wanted = _wanted(_data(2400, 600))
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


def test_the_expected_time_counts_the_validations_the_loop_runs():
    """The printed minutes are the schedule's: the validations counted are those of the
    loop (every val_interval iterations and at the end)."""
    plan = fit_schedule(_wanted(_data(28, 9, boxes_per_image=21)), SPEED, 60 * 60)
    assert plan['det_iters'] == 1820 and plan['val_interval'] == 140
    assert plan['validations'] == 13
    n_val = 9
    expected = (25 + 600 * SPEED['pretrain_s'] + 1820 * SPEED['det_s']
                + 13 * n_val * SPEED['infer_s'] + 4 * n_val * SPEED['infer_s'])
    assert plan['expected_s'] == pytest.approx(expected, abs=0.1)


def test_embedded_size_wants_the_demo_schedule():
    wanted = _wanted(_data(28, 9, boxes_per_image=21))  # 588 boxes, the tiles' 587
    assert wanted['pretrain_iters'] == 600 and wanted['pretrain_batch'] == 64
    assert wanted['det_iters'] == 130 * 14


def test_a_budget_too_small_at_the_probes_speed_starts_with_the_least_and_says_so():
    wanted = _wanted(_data(200, 50))
    plan = fit_schedule(wanted, dict(SPEED, det_s=2.0), 30)
    assert plan['det_iters'] == 20 and plan['validations'] == 1 and plan['cut_by_budget']
    assert plan['wanted_det_iters'] == wanted['det_iters'] > 20  # the hooks may grow to it
    [note] = plan['speed_notes']
    assert re.fullmatch(r'--budget-min 0.5 holds fewer than 20 detector iterations at the '
                        r'speed probe\'s 2.00 s each \(.* s per test image; 20 would take '
                        r'[\d.]+ min\): started with 20, lengthened or cut by the speed '
                        r'measured while training', note), note
    need = float(re.search(r'20 would take ([\d.]+) min', note).group(1))
    assert need > 0.5 and need * 60 >= plan['expected_s'] - 6  # rounded up to 0.1 min
    assert fit_schedule(wanted, SPEED, 3600)['speed_notes'] == []  # a budget that holds


def test_a_config_without_a_length_is_named():
    _, det = _cfgs()
    det.train_cfg = dict(type='EpochBasedTrainLoop')
    with pytest.raises(ValueError, match='faster-rcnn_paper-r18-c4_demo.py: train_cfg has '
                       'neither max_iters nor max_epochs'):
        config_iters(det, 14)


def test_pretrain_batch_fits_the_crops():
    assert pretrain_batch(4696) == 64 and pretrain_batch(40) == 16 and pretrain_batch(3) == 2
    assert pretrain_batch(4696, most=32) == 32


def test_the_epoch_config_becomes_iterations_at_the_same_fractions():
    """The demo detector config (130 epochs, warm-up 30 iterations, lr step at epoch 104,
    validation every 10 epochs) as iterations of 14 an epoch."""
    _, det = _cfgs()
    set_iterations(det, 1820, 140, iters_per_epoch=14)
    assert det.train_cfg == dict(type='IterBasedTrainLoop', max_iters=1820, val_interval=140)
    warm = next(s for s in det.param_scheduler if s.type == 'LinearLR')
    step = next(s for s in det.param_scheduler if s.type == 'MultiStepLR')
    assert (warm.end, warm.by_epoch) == (30, False)
    assert step.milestones == [104 * 14] and step.end == 1820 and step.by_epoch is False
    assert det.default_hooks.checkpoint.interval == 1820
    assert det.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert det.train_dataloader.sampler.type == 'InfiniteSampler'
    assert det.log_processor.by_epoch is False
    # a budget's half: every position at half
    _, det = _cfgs()
    set_iterations(det, 910, 70, iters_per_epoch=14)
    warm = next(s for s in det.param_scheduler if s.type == 'LinearLR')
    step = next(s for s in det.param_scheduler if s.type == 'MultiStepLR')
    assert warm.end == 15 and step.milestones == [728] and step.end == 910


def test_the_pretraining_keeps_its_loop_and_scales_its_steps():
    pre, _ = _cfgs()
    set_iterations(pre, 100)
    assert pre.train_cfg == dict(type='DeviceIterBasedTrainLoop', max_iters=100,
                                 val_interval=101)
    step = next(s for s in pre.param_scheduler if s.type == 'MultiStepLR')
    warm = next(s for s in pre.param_scheduler if s.type == 'LinearLR')
    assert step.milestones == [67, 87] and warm.end == 8  # 400 and 520 of 600, 50 of 600
    assert pre.default_hooks.logger.interval == 10
    assert pre.default_hooks.nan_guard.interval == 10


@pytest.mark.parametrize('which', ['detector', 'pretrain'])
def test_a_reordered_config_changes_the_same_entries(which):
    """The schedulers are found by their fields: the same config with its
    ``param_scheduler`` list reversed gets the same entries, in its own order."""
    pre, det = _cfgs()
    cfg = det if which == 'detector' else pre
    reordered = copy.deepcopy(cfg)
    reordered.param_scheduler = list(reversed(reordered.param_scheduler))
    for c in (cfg, reordered):
        set_iterations(c, 700, 70, iters_per_epoch=14)
    assert list(reversed(reordered.param_scheduler)) == cfg.param_scheduler
    assert reordered.param_scheduler[0].type == 'MultiStepLR'


def test_scale_schedule_stretches_an_iteration_schedule():
    """--from-scratch: the written iteration schedule stretched to the budget, validations,
    lr step and checkpoint at the same fractions."""
    cfg = Config.fromfile(osp.join(DEMO, 'faster-rcnn_paper-r18-c4_scratch_demo.py'))
    set_iterations(cfg, 100, 10, iters_per_epoch=1)
    assert config_iters(cfg, 1) == 100
    scale_schedule(cfg, 250)
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=250, val_interval=25)
    step = next(s for s in cfg.param_scheduler if s.type == 'MultiStepLR')
    assert step.milestones == [int(round(104 / 130 * 250))] and step.end == 250
    assert cfg.default_hooks.checkpoint.interval == 250


def test_scratch_iters_are_the_pretrained_road_s_seconds():
    assert scratch_iters(1820, 500.0, 600.0) == 2184
    assert scratch_iters(10, 100.0, 1.0) == 1


def test_budget_hooks_end_each_stage_within_the_budget():
    """The hooks of a cut plan: pretraining by its share, the detector by the budget's end
    less the test; each may grow back to what the data asked for."""
    plan = fit_schedule(_wanted(_data(2400, 600)), SPEED, 10 * 60)
    pre, det = budget_hooks(plan, SPEED, start=1000.0)
    assert pre['type'] == det['type'] == 'BudgetHook'
    assert 0 < pre['seconds'] < det['deadline'] - 1000 < 10 * 60  # pretraining: its share
    assert pre['seconds'] == pytest.approx(max(plan['pretrain_iters'] * SPEED['pretrain_s'],
                                               0.15 * 10 * 60))
    assert (det['planned_s'], pre['planned_s']) == (SPEED['det_s'], SPEED['pretrain_s'])
    assert det['planned_length'] == plan['det_iters'] < det['wanted'] == plan['wanted_det_iters']
    assert det['reserve_s'] == pytest.approx(4 * 600 * SPEED['infer_s'])
