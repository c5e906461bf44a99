"""The demo pipeline on a user's data set (``tools/demo.py --data DIR``): the data read and
checked (:mod:`mmresnet.datasets.user_folder`), the C4 detector sized to its boxes
(:mod:`mmresnet.analysis.sizing`), a schedule fitted to a time budget, and the three configs
(pretraining, detector, from-scratch detector) written to ``WORK_DIR/configs/``, complete
files that ``tools/train.py`` / ``tools/test.py`` run as they are.

The schedule (printed before training, with the expected minutes):

- pretraining: about 8 passes over the crops (``8 * crops / batch`` iterations, to the
  nearest 50, within [100, 600]; 600 on the embedded tiles, as the hand-set demo), batch
  64 or fewer where there are fewer crops;
- detector: 130 epochs of the training images at 2 images per iteration (the embedded
  demo's, where 29 tiles took 7 minutes), at most 20,000 iterations; fewer where the budget
  says so. Ten validations spread over the run (fewer where they would take more than a
  sixth of the budget), the learning rate stepped down at 80 %;
- the budget: seconds per iteration measured on this machine before training (a few
  training steps of each model on random data of the chosen sizes), times the iterations,
  plus the validations, the final test with its flips and a fixed allowance for building.
"""
import math
import os
import os.path as osp
import time

import numpy as np

from ..analysis.sizing import size_detector
from .cli import UsageError

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
# The training loop's time per iteration over the bare step's (data, hooks, logging).
LOOP_OVERHEAD = 1.15
# Top-level helper variables of the demo configs, already merged into the keys MMEngine
# reads; left in a written config they would show the embedded data's values.
STALE_KEYS = ('checkpoint', 'max_epochs', 'max_iters', 'val_interval', 'scale', 'crop_size',
              'data_root', 'dataset_type', 'metainfo', 'norm_cfg', 'train_pipeline',
              'test_pipeline')  # building runners, cutting the crops, loading, drawing


def _palette(n):
    """``n`` distinct colours (golden-angle hues), RGB tuples."""
    import colorsys
    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb((0.33 + i * 0.618) % 1, 0.9,
                                                             0.85)) for i in range(n)]


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


# -- configs -------------------------------------------------------------------------------
def _set_resize(pipeline, size):
    """Every ``Resize`` of a pipeline (nested TTA lists too) to a longer side of ``size``."""
    for step in pipeline:
        if isinstance(step, (list, tuple)):
            _set_resize(step, size)
        elif isinstance(step, dict):
            if step.get('type') == 'Resize':
                step['scale'] = (size, size)
                step['keep_ratio'] = True
            if 'transforms' in step:
                _set_resize(step['transforms'], size)


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


def detector_overrides(cfg, data, files, sizing, checkpoint, classes):
    """Point a demo detection config at the data, its classes and the chosen sizes."""
    meta = dict(classes=tuple(classes), palette=_palette(len(classes)))
    for split, loader in (('train', 'train_dataloader'), ('val', 'val_dataloader'),
                          ('val', 'test_dataloader')):
        ds = cfg[loader].dataset
        ds.update(data_root=data.root, ann_file=files[split], metainfo=meta,
                  data_prefix=dict(img=''))
        _set_resize(ds.pipeline, sizing['input_size'])
    if 'tta_pipeline' in cfg:
        _set_resize(cfg.tta_pipeline, sizing['input_size'])
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = files['val']
    model = cfg.model
    model.rpn_head.anchor_generator.scales = list(sizing['anchor_scales'])
    model.rpn_head.anchor_generator.ratios = list(sizing['anchor_ratios'])
    model.roi_head.bbox_roi_extractor.roi_layer.output_size = sizing['roi_size']
    model.roi_head.bbox_head.roi_feat_size = sizing['roi_size'] // 2
    model.roi_head.bbox_head.num_classes = len(classes)
    for part in (model.backbone, model.roi_head.shared_head):
        if isinstance(part.get('init_cfg'), dict) and part.init_cfg.get('type') == 'Pretrained':
            part.init_cfg.checkpoint = checkpoint


def pretrain_overrides(cfg, data, files, sizing, plan, classes):
    """Point the demo pretraining config at the data's (thinned) training images."""
    ds = cfg.train_dataloader.dataset
    crop = sizing['crop_size']
    ds.update(data_root=data.root, ann_file=files['pretrain'], data_prefix=dict(img=''),
              crop_size=crop, context=sizing['context'])
    for step in ds.pipeline:
        if step.get('type') == 'RandomCropPad':
            step.update(size=crop, padding=max(1, crop // 8))
    cfg.train_dataloader.batch_size = plan['pretrain_batch']
    cfg.model.num_classes = len(classes) + 1
    iters = plan['pretrain_iters']
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    old = cfg.param_scheduler
    cfg.param_scheduler = [
        dict(old[0], end=int(max(1, min(50, iters // 12)))),
        dict(old[1], milestones=[int(iters * 2 / 3), int(iters * 13 / 15)])]
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = max(1, min(50, iters // 10))
    if 'nan_guard' in cfg.default_hooks:
        cfg.default_hooks.nan_guard.interval = max(1, min(50, iters // 10))
    cfg.log_processor.window_size = max(1, min(50, iters // 10))


# -- speed ---------------------------------------------------------------------------------
def _timed(step, warmup, iters):
    """Seconds per call: the median of the fastest half of ``iters`` timed calls after
    ``warmup`` (a busy machine's spikes left out), times ``LOOP_OVERHEAD``."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    fastest = sorted(times)[:max(1, iters // 2)]
    return LOOP_OVERHEAD * float(np.median(fastest))


def _switches(cfg):
    dtype = 'bf16' if cfg.optim_wrapper.get('type') == 'AutocastOptimWrapper' else 'fp32'
    channels_last = any(h.get('type') == 'SpeedUpHook' and h.get('channels_last')
                        for h in cfg.get('custom_hooks', []))
    return dtype, channels_last


def measure_speed(pre_cfg, det_cfg, sizing, image_wh, warmup=2, iters=6, log=print):
    """Seconds per training iteration of both models and per test image of the detector,
    on random data of the chosen sizes (seeded random weights; nothing is loaded)."""
    import torch

    from ..benchmarks.models import (apply_switches, build_detector, check_dtype,
                                     detector_data, make_infer_step, make_train_step)
    mw, mh = np.median(np.asarray(image_wh, np.float64).reshape(-1, 2), 0)
    scale = sizing['input_size'] / max(mw, mh)  # the longer side to the input size
    w, h = (max(32, int(round(v * scale))) for v in (mw, mh))
    num_classes = det_cfg.model.roi_head.bbox_head.num_classes
    dtype, channels_last = _switches(det_cfg)
    dtype = dtype if check_dtype(dtype, 'cpu') is None else 'fp32'
    det = build_detector(det_cfg, log=lambda *_: None)
    apply_switches(det, 'train', channels_last, False)
    data = detector_data(DET_BATCH, h, w, 'cpu', num_classes=num_classes)
    det_s = _timed(make_train_step(det, data, dtype, None), warmup, iters)
    det.eval()
    one = detector_data(1, h, w, 'cpu', num_classes=num_classes)
    infer_s = _timed(make_infer_step(lambda: det.test_step(one), dtype, 'cpu', None), 1,
                     iters)
    cls = build_detector(pre_cfg, log=lambda *_: None).train()  # any cfg.model, seeded
    batch, crop = pre_cfg.train_dataloader.batch_size, sizing['crop_size']
    g = torch.Generator().manual_seed(0)
    cdata = dict(inputs=torch.randint(0, 256, (batch, 3, crop, crop), dtype=torch.uint8,
                                      generator=g),
                 data_samples=torch.randint(0, int(pre_cfg.model.num_classes), (batch, ),
                                            generator=g))
    pdtype, _ = _switches(pre_cfg)
    pre_s = _timed(make_train_step(cls, cdata, pdtype if dtype == 'bf16' else 'fp32', None),
                   warmup, iters)
    speed = dict(pretrain_s=pre_s, det_s=det_s, infer_s=infer_s,
                 det_input=[w, h], dtype=dtype, channels_last=channels_last)
    log(f'measured here: pretraining {pre_s:.3f} s/iteration (batch {batch}, {crop} px), '
        f'detector {det_s:.3f} s/iteration (batch {DET_BATCH}, {w}x{h}), '
        f'{infer_s:.3f} s per test image ({dtype}{", channels_last" if channels_last else ""})')
    return speed


# -- the whole plan ------------------------------------------------------------------------
def _data_info(data):
    """What the plan says of the data: folder, layout, split, counts, notes."""
    return dict(root=data.root, layout=data.layout, split=data.split_source,
                val_is_train=data.val_is_train, unvalidated=list(data.unvalidated),
                counts=data.counts(), notes=data.notes)


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
        for key in STALE_KEYS:  # the base files' helper variables, now out of date
            cfg.pop(key, None)
        cfg.dump(configs[name])
        with open(configs[name]) as f:
            body = f.read()
        with open(configs[name], 'w') as f:
            f.write(f'# Written by tools/demo.py --data {data.root} on {time.strftime("%Y-%m-%d")}'
                    f': {sources[name]} pointed at that data (classes {list(classes)}), sized '
                    f'and scheduled for it; the choices and why: '
                    f'{osp.join(work_dir, "plan.json")}. Run it with tools/train.py.\n' + body)
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
    log('=== sizes (mmresnet.analysis.sizing) ===')
    for line in s['why']:
        log(f'  {line}')
    log(f'=== plan (budget {p["budget_s"] / 60:.1f} min) ===')
    log(f'pretraining  {p["pretrain_iters"]} iterations of {p["pretrain_batch"]} crops of '
        f'{s["crop_size"]} px')
    log(f'detector     {p["det_iters"]} iterations of {p["det_batch"]} images '
        f'({p["det_epochs"]} epochs of {p["det_iters_per_epoch"]}), {p["validations"]} '
        f'validations (every {p["val_interval"]} {p.get("val_unit", "iterations")})'
        + (f'; cut to the budget (all {p["wanted_det_iters"]} would take about '
           f'{p["full_s"] / 60:.0f} min: --budget-min {math.ceil(p["full_s"] / 60)})'
           if p['cut_by_budget'] else ''))
    log(f'expected     {p["expected_s"] / 60:.1f} min (seconds per iteration measured here)')
    log(f'configs      {", ".join(info["configs"].values())}')


__all__ = ['plan_own_data', 'iteration_schedule', 'plan_embedded', 'describe_plan',
           'wanted_schedule', 'fit_schedule',
           'measure_speed', 'detector_overrides', 'pretrain_overrides', 'pretrain_batch']
