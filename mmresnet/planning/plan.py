"""The demo's plan (``tools/demo.py``), one road for the embedded tiles and a folder of
one's own: the data read and checked (:mod:`mmresnet.datasets.user_folder`; without
``--data``, the folder and annotation files of the detector config's datasets), the C4
detector sized to its boxes (:mod:`mmresnet.planning.sizing`), the speed measured here
(:mod:`mmresnet.planning.probe`), the schedule fitted to the time budget
(:mod:`mmresnet.planning.schedule`), and the three configs (pretraining, detector,
from-scratch detector) written to ``WORK_DIR/configs/`` (:mod:`mmresnet.planning.configs`):
complete files, ``--cfg-options`` included, that ``tools/train.py`` / ``tools/test.py``
run as they are. The plan is printed before training, with the expected minutes
(:func:`describe_plan`).
"""
import math
import os
import os.path as osp
import time

from ..engine.machine import describe_machine, machine_facts
from ..config import prepare_config
from ..resources import merge_cfg_options
from .configs import config_sizes, detector_overrides, pretrain_overrides, write_config
from .probe import measure_speed
from .schedule import MAX_PRETRAIN_BOXES, apply_schedule, fit_schedule, wanted_schedule
from .sizing import size_detector

NAMES = ('pretrain', 'detector', 'scratch')


def _data_info(data):
    """What the plan says of the data: folder, layout, split, counts, notes."""
    return dict(root=data.root, layout=data.layout, split=data.split_source,
                val_is_train=data.val_is_train, unvalidated=list(data.unvalidated),
                counts=data.counts(), notes=data.notes, machine=machine_facts())


def _config_data(det_config, cfg_options):
    """The folder and COCO files of a detector config's training and validation datasets
    (``--cfg-options`` applied): the embedded tiles in the demo config."""
    cfg = prepare_config(det_config, 'plan', cfg_options=cfg_options)
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    return train.data_root, train.ann_file, val.ann_file


def _configs(sources, data, files, sizing, backbone, options):
    """The three configs read, pointed at the data and its sizes, then ``options``
    (``--pretrain-cfg-options``, ``--cfg-options``: they win over both) merged in."""
    cfgs = {name: prepare_config(sources[name], 'plan') for name in NAMES}
    pretrain_overrides(cfgs['pretrain'], data, files, sizing, data.classes)
    for name in NAMES[1:]:
        detector_overrides(cfgs[name], data, files, sizing, backbone, data.classes)
    for name in NAMES:
        merge_cfg_options(cfgs[name], options[name] or {})
    return cfgs


def plan_demo(data_dir, work_dir, pretrain_config, det_config, scratch_config,
              budget_min, train_ann=None, val_ann=None, on_invalid='error', log=print,
              speed=None, val_fraction=None, train_on_all=False, pretrain_cfg_options=None,
              cfg_options=None):
    """Read and check ``data_dir`` (None: the detector config's data, the embedded tiles),
    size the detector, fit the schedule to ``budget_min`` and write the configs; returns a
    dict with everything chosen (the ``data`` entry of summary.json) and the config paths.

    ``speed`` (measured seconds, see :func:`measure_speed`) skips the measurement;
    ``val_fraction`` and ``train_on_all``: the split where the data set has none
    (:func:`mmresnet.datasets.user_folder.read_detection_folder`); the options: as
    ``tools/train.py --cfg-options`` (a dict), for the pretraining and both detectors.
    """
    from ..datasets import read_detection_folder
    source = f'--data {data_dir}'
    if data_dir is None:
        data_dir, train_ann, val_ann = _config_data(det_config, cfg_options)
        source = f'without --data (the data of {det_config})'
    data = read_detection_folder(data_dir, train_ann, val_ann, on_invalid=on_invalid,
                                 val_fraction=val_fraction, train_on_all=train_on_all)
    files = data.write(osp.join(work_dir, 'data'), max_pretrain_boxes=MAX_PRETRAIN_BOXES)
    sizing = size_detector(data.boxes('train'), data.box_images('train'))
    sources = dict(zip(NAMES, (pretrain_config, det_config, scratch_config)))
    cfgs = _configs(sources, data, files, sizing,
                    osp.join(work_dir, 'pretrain', 'backbone.pth'),
                    dict(pretrain=pretrain_cfg_options, detector=cfg_options,
                         scratch=cfg_options))
    wanted = wanted_schedule(data, cfgs['pretrain'], cfgs['detector'])
    cfgs['pretrain'].train_dataloader.batch_size = wanted['pretrain_batch']  # as it will run
    if speed is None:
        speed = measure_speed(cfgs['pretrain'], cfgs['detector'],
                              config_sizes(cfgs['pretrain'], cfgs['detector']),
                              data.image_sizes('train'), log=log)
    plan = fit_schedule(wanted, speed, budget_min * 60)
    apply_schedule(cfgs['pretrain'], (cfgs['detector'], cfgs['scratch']), plan)
    configs = {name: osp.join(work_dir, 'configs', f'{file}.py') for name, file in zip(
        NAMES, ('pretrain', 'detector', 'detector_scratch'))}
    os.makedirs(osp.join(work_dir, 'configs'), exist_ok=True)
    for name in NAMES:
        write_config(cfgs[name], configs[name],
                     f'Written by tools/demo.py {source} on {time.strftime("%Y-%m-%d")}: '
                     f'{sources[name]} pointed at that data (classes {list(data.classes)}), '
                     f'sized and scheduled for it; the choices and why: '
                     f'{osp.join(work_dir, "plan.json")}. Run it with tools/train.py.')
    return dict(_data_info(data), files=files, sizing=sizing,
                speed={k: (round(v, 4) if isinstance(v, float) else v)
                       for k, v in speed.items()},
                plan=plan, configs=configs)


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
        f'validations (every {p["val_interval"]} iterations)'
        + (f'; cut to the budget (all {p["wanted_det_iters"]} would take about '
           f'{p["full_s"] / 60:.0f} min: --budget-min {math.ceil(p["full_s"] / 60)})'
           if p['cut_by_budget'] else ''))
    speed = info.get('speed', {})
    log(f'expected     {p["expected_s"] / 60:.1f} min (seconds per iteration measured here'
        + (f', training in {speed["precision"]}' if speed.get('precision') else '') + ')')
    for note in p.get('speed_notes', []):
        log(f'budget       {note}')
    log(f'configs      {", ".join(info["configs"].values())}')


__all__ = ['plan_demo', 'describe_plan']
