"""The demo's plan on a data set (``tools/demo.py``): the data read and checked
(:mod:`mmresnet.datasets.user_folder`), the C4 detector sized to its boxes
(:mod:`mmresnet.planning.sizing`), the speed measured here (:mod:`mmresnet.planning.probe`),
a schedule fitted to the time budget (:mod:`mmresnet.planning.schedule`), and the three
configs (pretraining, detector, from-scratch detector) written to ``WORK_DIR/configs/``
(:mod:`mmresnet.planning.configs`), complete files that ``tools/train.py`` /
``tools/test.py`` run as they are. The plan is printed before training, with the expected
minutes (:func:`describe_plan`).
"""
import math
import os
import os.path as osp
import time

from ..engine.machine import describe_machine, machine_facts
from .configs import detector_overrides, pretrain_overrides, write_config
from .probe import measure_speed
from .schedule import MAX_PRETRAIN_BOXES, fit_schedule, iteration_schedule, wanted_schedule
from .sizing import size_detector


def _data_info(data):
    """What the plan says of the data: folder, layout, split, counts, notes."""
    return dict(root=data.root, layout=data.layout, split=data.split_source,
                val_is_train=data.val_is_train, unvalidated=list(data.unvalidated),
                counts=data.counts(), notes=data.notes, machine=machine_facts())


def plan_own_data(data_dir, work_dir, pretrain_config, det_config, scratch_config,
                  budget_min, train_ann=None, val_ann=None, on_invalid='error', log=print,
                  speed=None, val_fraction=None, train_on_all=False):
    """Read and check ``data_dir``, size the detector, fit the schedule to ``budget_min``
    and write the configs; returns a dict with everything chosen (the ``data`` entry of
    summary.json) and the config paths.

    ``speed`` (measured seconds, see :func:`measure_speed`) skips the measurement;
    ``val_fraction`` and ``train_on_all``: the split where the data set has none
    (:func:`mmresnet.datasets.user_folder.read_detection_folder`).
    """
    from mmengine.config import Config

    from ..datasets import read_detection_folder
    data = read_detection_folder(data_dir, train_ann, val_ann, on_invalid=on_invalid,
                                 val_fraction=val_fraction, train_on_all=train_on_all)
    classes = data.classes
    data_dir_out = osp.join(work_dir, 'data')
    files = data.write(data_dir_out, max_pretrain_boxes=MAX_PRETRAIN_BOXES)
    sizing = size_detector(data.boxes('train'), data.box_images('train'))
    wanted = wanted_schedule(data)
    backbone = osp.join(work_dir, 'pretrain', 'backbone.pth')

    pre_cfg = Config.fromfile(pretrain_config)
    pretrain_overrides(pre_cfg, data, files, sizing, wanted, classes)  # for the measurement
    det_cfg = Config.fromfile(det_config)
    detector_overrides(det_cfg, data, files, sizing, backbone, classes)
    if speed is None:
        speed = measure_speed(pre_cfg, det_cfg, sizing, data.image_sizes('train'), log=log)
    plan = fit_schedule(wanted, speed, budget_min * 60)
    pretrain_overrides(pre_cfg, data, files, sizing, plan, classes)
    configs = dict(pretrain=osp.join(work_dir, 'configs', 'pretrain.py'),
                   detector=osp.join(work_dir, 'configs', 'detector.py'),
                   scratch=osp.join(work_dir, 'configs', 'detector_scratch.py'))
    os.makedirs(osp.dirname(configs['pretrain']), exist_ok=True)
    iteration_schedule(det_cfg, plan['det_iters'], plan['val_interval'])
    scratch_cfg = Config.fromfile(scratch_config)
    detector_overrides(scratch_cfg, data, files, sizing, backbone, classes)
    iteration_schedule(scratch_cfg, plan['det_iters'], plan['val_interval'])
    sources = dict(pretrain=pretrain_config, detector=det_config, scratch=scratch_config)
    for name, cfg in (('pretrain', pre_cfg), ('detector', det_cfg), ('scratch', scratch_cfg)):
        write_config(cfg, configs[name],
                     f'Written by tools/demo.py --data {data.root} on '
                     f'{time.strftime("%Y-%m-%d")}: {sources[name]} pointed at that data '
                     f'(classes {list(classes)}), sized and scheduled for it; the choices '
                     f'and why: {osp.join(work_dir, "plan.json")}. Run it with '
                     'tools/train.py.')
    info = dict(_data_info(data), files=files, sizing=sizing,
                speed={k: (round(v, 4) if isinstance(v, float) else v)
                       for k, v in speed.items()},
                plan=plan, configs=configs)
    return info


def plan_embedded(pretrain_cfg, det_cfg, budget_min, log=print, speed=None):
    """The plan of the hand-set demo configs (the embedded tiles): their own schedule,
    shortened to ``budget_min`` only where the measured speed says it would not fit, and
    what the sizing rule chooses on their data (it gives the configs' sizes).

    Returns:
        dict: as :func:`plan_own_data`'s, with ``det_epochs`` the epochs to train.
    """
    from ..datasets import read_coco_folder
    ds = det_cfg.train_dataloader.dataset
    root = osp.abspath(ds.data_root)
    val_ds = det_cfg.val_dataloader.dataset
    data = read_coco_folder(root, ds.ann_file, val_ds.ann_file)
    sizing = size_detector(data.boxes('train'), data.box_images('train'))
    wanted = wanted_schedule(data)
    epochs = det_cfg.train_cfg.max_epochs
    wanted.update(pretrain_iters=pretrain_cfg.train_cfg.max_iters,
                  pretrain_batch=pretrain_cfg.train_dataloader.batch_size,
                  det_iters=epochs * wanted['det_iters_per_epoch'])
    scale = next((s['scale'] for s in det_cfg.train_dataloader.dataset.pipeline
                  if s.get('type') == 'Resize'), None)
    own = dict(input_size=int(max(scale)) if scale else sizing['input_size'],
               crop_size=int(pretrain_cfg.train_dataloader.dataset.crop_size))
    if speed is None:
        speed = measure_speed(pretrain_cfg, det_cfg, own, data.image_sizes('train'), log=log)
    plan = fit_schedule(wanted, speed, budget_min * 60)
    plan['det_epochs'] = max(1, min(epochs, plan['det_iters'] // wanted['det_iters_per_epoch']))
    plan['wanted_det_epochs'] = epochs
    plan['val_interval'] = det_cfg.train_cfg.val_interval
    plan['validations'] = math.ceil(plan['det_epochs'] / plan['val_interval'])
    plan['val_unit'] = 'epochs'
    return dict(_data_info(data), sizing=sizing,
                config_sizes=dict(
                    own, anchor_scales=list(det_cfg.model.rpn_head.anchor_generator.scales),
                    anchor_ratios=list(det_cfg.model.rpn_head.anchor_generator.ratios),
                    roi_size=det_cfg.model.roi_head.bbox_roi_extractor.roi_layer.output_size),
                speed={k: (round(v, 4) if isinstance(v, float) else v)
                       for k, v in speed.items()},
                plan=plan, configs={})


def describe_plan(info, log=print):
    """Print what was read, chosen and why, and the plan."""
    c, s, p = info['counts'], info['sizing'], info['plan']
    log(f'\n=== data: {info["root"]} ({info["layout"]}) ===')
    log(f'classes      {list(info["counts"]["train"]["per_class"])}')
    for split in ('train', 'val'):
        log(f'{split:<12} {c[split]["images"]} images, {c[split]["boxes"]} boxes '
            f'{c[split]["per_class"]}')
    log(f'split        {info["split"]}')
    if info.get('val_is_train'):
        log('validation   THE TRAINING IMAGES (--train-on-all): the figures below measure '
            'the fit to them, not results on new images')
    if info.get('unvalidated'):
        log(f'unvalidated  {info["unvalidated"]}: in the training images only; they train, '
            'their results are not measured')
    for note in info['notes']:
        if not note.startswith(('split:', 'unvalidated')):
            log(f'note         {note}')
    log('=== sizes (mmresnet.planning.sizing) ===')
    for line in s['why']:
        log(f'  {line}')
    if info.get('machine'):
        log('=== machine (mmresnet.engine.machine) ===')
        for line in describe_machine(info['machine']):
            log(line)
    log(f'=== plan (budget {p["budget_s"] / 60:.1f} min) ===')
    log(f'pretraining  {p["pretrain_iters"]} iterations of {p["pretrain_batch"]} crops of '
        f'{s["crop_size"]} px')
    log(f'detector     {p["det_iters"]} iterations of {p["det_batch"]} images '
        f'({p["det_epochs"]} epochs of {p["det_iters_per_epoch"]}), {p["validations"]} '
        f'validations (every {p["val_interval"]} {p.get("val_unit", "iterations")})'
        + (f'; cut to the budget (all {p["wanted_det_iters"]} would take about '
           f'{p["full_s"] / 60:.0f} min: --budget-min {math.ceil(p["full_s"] / 60)})'
           if p['cut_by_budget'] else ''))
    speed = info.get('speed', {})
    log(f'expected     {p["expected_s"] / 60:.1f} min (seconds per iteration measured here'
        + (f', training in {speed["precision"]}' if speed.get('precision') else '') + ')')
    log(f'configs      {", ".join(info["configs"].values())}')


__all__ = ['plan_own_data', 'plan_embedded', 'describe_plan']
