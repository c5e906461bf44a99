"""The main job on a CPU, the paper's pipeline end to end on the embedded photographs:
classification pretraining, backbone export, C4 Faster R-CNN fine-tuning with BN frozen,
COCO evaluation with drawn predictions.

    python tools/demo.py [--work-dir work_dirs/demo] [--from-scratch] [--budget-min 12]
        [--data DIR [--train-ann F] [--val-ann F] [--val-fraction 0.2 | --train-on-all]
                    [--skip-invalid] [--plan-only]]
        [--pretrain-config configs/demo/paper-resnet18-w16_tree-crops_pretrain_demo.py]
        [--config configs/demo/faster-rcnn_paper-r18-c4_demo.py]
        [--pretrain-cfg-options k=v ...] [--cfg-options k=v ...] [--no-tta]

``--data DIR``: the same pipeline on a COCO or VOC folder of one's own (docs/demo.md, "Your
own data"): the data checked, classes read from the files, the detector sized to the boxes,
the schedule fitted to ``--budget-min``, the configs written to WORK_DIR/configs/.

1. pretrain  tools/train.py PRETRAIN_CONFIG: a PaperResNet classifier on crowns vs
             background cut from the training tiles (DetectionCropDataset);
2. export    tools/export_backbone.py: its backbone as WORK_DIR/pretrain/backbone.pth;
3. detect    tools/train.py CONFIG with backbone and conv5_x head initialised from it,
             BN frozen (Section 4.3), validated every few epochs;
4. evaluate  tools/test.py CONFIG CHECKPOINT --tta --show-dir: COCO box mAP on the
             validation tiles with the config's test-time augmentation (the tile and its
             flips; --no-tta: the single view), ground truth drawn beside the predictions.
``--from-scratch`` then trains the same detector without pretraining (BN learning, He
init) for as long as stages 1-3 took together, the paper's comparison in miniature.
Results: WORK_DIR/report.html (one page: the plan, curves, per-class table, PR curves,
confusion matrix, the validation images drawn), WORK_DIR/summary.json (with ``per_class``),
WORK_DIR/curves.png, pr_curves.png, confusion_matrix.png, WORK_DIR/detect/predictions/.
"""
import argparse
import copy
import importlib.util
import json
import os
import os.path as osp
import sys
import time

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))

from mmresnet.apis.cli import add_debug_arg  # noqa: E402
from mmresnet.apis.runner import DictAction  # noqa: E402
from mmresnet.resources import find_resource  # noqa: E402

from mmresnet.analysis.report import write_report  # noqa: E402
from mmresnet.convert.export import export_backbone  # noqa: E402
from mmresnet.evaluation.per_class import format_table  # noqa: E402
from mmresnet.apis.own_data import (describe_plan, plan_embedded,  # noqa: E402
                                     plan_own_data)
from mmresnet.apis.runner import (build_runner, enable_test_outputs,  # noqa: E402
                                    enable_tta, load_config)

PRETRAIN_CONFIG = 'configs/demo/paper-resnet18-w16_tree-crops_pretrain_demo.py'
DEMO_CONFIG = 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'
SCRATCH_CONFIG = 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py'
# Minutes for the stages: the embedded tiles' full schedule (130 epochs) fits on 2 cores
# (7.1 min on 2026-12-02 morning, 10.6 expected on a 1.35x slower afternoon); a smaller
# budget shortens the detector's schedule (docs/demo.md, "The schedule and the budget").
BUDGET_MIN = 12.0


def _tool(name):
    """tools/<name>.py as a module (by path: ``test`` would be Python's own package)."""
    spec = importlib.util.spec_from_file_location(f'mmresnet_tool_{name}',
                                                  osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--pretrain-config', default=PRETRAIN_CONFIG,
                        help='classification pretraining config (stage 1)')
    parser.add_argument('--config', default=DEMO_CONFIG, help='detection config (stage 3)')
    parser.add_argument('--scratch-config', default=SCRATCH_CONFIG,
                        help='detection config of the from-scratch comparison')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='every stage writes under it; summary.json at its top')
    parser.add_argument('--from-scratch', action='store_true',
                        help='also train the detector from scratch in the same time budget')
    parser.add_argument('--no-tta', dest='tta', action='store_false',
                        help='evaluate the single view only (default: with the config\'s '
                        'test-time augmentation, where it has one)')
    parser.add_argument('--data', metavar='DIR',
                        help='a COCO (annotations/*.json) or VOC (Annotations/, JPEGImages/) '
                        'data folder instead of the embedded tiles')
    parser.add_argument('--train-ann', help='with --data: the COCO training file, relative to '
                        'DIR or DIR/annotations (default: train.json or instances_train.json)')
    parser.add_argument('--val-ann', help='with --data: the COCO validation file (default: '
                        'val.json or instances_val.json; none: a deterministic split)')
    parser.add_argument('--val-fraction', type=float,
                        help='with --data, where the data set has no split: the share of '
                        'images to validate on (default: 0.2); the split is class-aware: '
                        'every class in two or more images keeps one in training and one '
                        'in validation')
    parser.add_argument('--train-on-all', action='store_true',
                        help='with --data: train on every image and validate on the same '
                        'ones (a tiny set; the figures then measure the fit, not results on '
                        'new images)')
    parser.add_argument('--skip-invalid', action='store_true',
                        help='with --data: drop bad boxes and images (counted in the log) '
                        'instead of stopping with the list of problems')
    parser.add_argument('--plan-only', action='store_true',
                        help='with --data: check the data, size the detector, write the '
                        'configs and the plan, and stop before training')
    parser.add_argument('--budget-min', type=float, default=BUDGET_MIN,
                        help='minutes for all stages (default: %(default)s); the detector '
                        'trains for fewer iterations where its schedule would not fit')
    parser.add_argument('--pretrain-cfg-options', nargs='+', action=DictAction, default={},
                        help='override pretraining config keys, "key=value"')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override detection config keys (both detectors), "key=value"')
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    if not args.data:
        for name in ('train_ann', 'val_ann', 'val_fraction', 'train_on_all', 'skip_invalid',
                     'plan_only'):
            if getattr(args, name) not in (None, False):
                parser.error(f'--{name.replace("_", "-")} needs --data DIR')
    if args.val_fraction is not None and not 0 < args.val_fraction < 1:
        parser.error(f'--val-fraction must be between 0 and 1 (exclusive), got '
                     f'{args.val_fraction:g}; to validate on the training images use '
                     '--train-on-all')
    if args.val_fraction is not None and args.train_on_all:
        parser.error('--val-fraction and --train-on-all exclude each other')
    if not args.budget_min > 0:
        parser.error(f'--budget-min must be > 0, got {args.budget_min}')
    for name in ('pretrain_config', 'config', 'scratch_config'):  # clone or installed package
        setattr(args, name, find_resource(getattr(args, name)))
    return args


def _options(cfg_options):
    return ['--cfg-options'] + [f'{k}={v}' for k, v in cfg_options.items()] \
        if cfg_options else []


def _train_cfg(config, work_dir, cfg_options):
    return load_config(_tool('train').parse_args(
        [config, '--work-dir', work_dir] + _options(cfg_options)))


def _last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:  # written by the checkpoint hook
        return f.read().strip()


def pretrain(args, work_dir):
    """Stage 1: train the classifier; returns its last checkpoint."""
    runner = build_runner(_train_cfg(args.pretrain_config, work_dir,
                                     args.pretrain_cfg_options))
    runner.train()
    return _last_checkpoint(work_dir)


def set_pretrained(cfg, checkpoint):
    """Point the backbone's and the C4 head's ``Pretrained`` init at ``checkpoint``."""
    targets = [cfg.model.backbone]
    head = cfg.model.get('roi_head', {}).get('shared_head')
    if head is not None:
        targets.append(head)
    for part in targets:
        init = part.get('init_cfg')
        if not isinstance(init, dict) or init.get('type') != 'Pretrained':
            raise ValueError(f'{part.get("type")}: the detection config must load the '
                             "exported backbone with init_cfg=dict(type='Pretrained', "
                             f'checkpoint=...), got init_cfg={init!r}')
        init['checkpoint'] = checkpoint


def _own_visualizer(cfg, tag):
    """A visualizer of this run's own: MMEngine keeps one instance per name, so a second
    runner in the process with the configs' name 'visualizer' would log into the first
    one's work dir."""
    if cfg.get('visualizer') is not None:
        cfg.visualizer.name = f'{cfg.visualizer.get("name", "visualizer")}_{tag}'


MAP_KEYS = ('coco/bbox_mAP', 'coco/bbox_mAP_50')


def detect(config, work_dir, cfg_options, checkpoint=None, length=None, tta=True):
    """Stages 3-4: train the detector, then test it with predictions drawn, with the
    config's test-time augmentation when ``tta`` and the config has one.

    Returns:
        tuple: (test metrics, detector checkpoint, predictions folder, training seconds,
        epochs or iterations trained (``length``: the same unit, the config's loop's), the
        last validation's metrics: the single view of the same weights).
    """
    start = time.time()
    cfg = _train_cfg(config, work_dir, cfg_options)
    _own_visualizer(cfg, f'{osp.basename(work_dir)}_train')
    if checkpoint is not None:
        set_pretrained(cfg, checkpoint)
    if length is not None:
        scale_schedule(cfg, length)
    epochs = schedule_length(cfg)
    runner = build_runner(cfg)
    runner.train()  # the loop validates after the last epoch too
    hub = runner.message_hub  # MMEngine's RuntimeInfoHook keeps each val metric there
    single = {k: float(hub.get_scalar(f'val/{k}').current()) for k in MAP_KEYS
              if f'val/{k}' in hub.log_scalars}
    det_checkpoint = _last_checkpoint(work_dir)
    seconds = time.time() - start

    show_dir = osp.join(work_dir, 'predictions')
    cfg = load_config(_tool('test').parse_args(
        [config, det_checkpoint, '--work-dir', work_dir] + _options(cfg_options)))
    cfg.load_from = det_checkpoint
    _own_visualizer(cfg, f'{osp.basename(work_dir)}_test')
    for part in (cfg.model.backbone, cfg.model.get('roi_head', {}).get('shared_head')):
        if part is not None:  # weights come from the detector checkpoint
            part.init_cfg = None
    tta = tta and 'tta_model' in cfg
    if tta:
        enable_tta(cfg)
    enable_test_outputs(cfg, show_dir=show_dir)
    files = test_result_files(cfg, work_dir)
    metrics = build_runner(cfg).test()
    metrics.update(tta=tta, **files)
    return metrics, det_checkpoint, show_dir, seconds, epochs, single


def test_result_files(cfg, work_dir):
    """Have the test's CocoMetric write its predictions (``WORK_DIR/results.bbox.json``);
    returns where they and the ground truth are, and the score threshold of the drawing."""
    ev = cfg.get('test_evaluator')
    if not isinstance(ev, dict) or ev.get('type') != 'CocoMetric':
        return {}
    ev.outfile_prefix = osp.join(work_dir, 'results')
    vis = cfg.get('default_hooks', {}).get('visualization', {})
    return dict(gt_file=ev.ann_file, results_file=f'{ev.outfile_prefix}.bbox.json',
                score_thr=float(vis.get('score_thr', 0.3)))


def per_class_results(metrics, work_dir):
    """summary.json's ``per_class`` and the figures: the COCO numbers per class on the
    validation images, a PR curve per class, the confusion matrix."""
    from mmresnet.evaluation.per_class import (evaluate_per_class, plot_confusion_matrix,
                                               plot_pr_curves)
    if 'results_file' not in metrics:
        return {}
    res = evaluate_per_class(metrics['gt_file'], metrics['results_file'],
                             score_thr=metrics['score_thr'])
    return dict(
        per_class=res['per_class'],
        pr_curves=plot_pr_curves(res['pr'], osp.join(work_dir, 'pr_curves.png')),
        confusion_matrix=plot_confusion_matrix(
            res['confusion'], res['confusion_labels'],
            osp.join(work_dir, 'confusion_matrix.png'), res['score_thr']),
        confusion=dict(matrix=res['confusion'], labels=res['confusion_labels'],
                       score_thr=res['score_thr'], iou_thr=0.5))


def schedule_length(cfg):
    """(length, unit) of a config's training loop: max_epochs or max_iters."""
    if 'max_epochs' in cfg.train_cfg:
        return cfg.train_cfg.max_epochs
    return cfg.train_cfg.max_iters


def scale_schedule(cfg, length):
    """Train for ``length`` epochs (epoch-based configs) or iterations (iteration-based),
    with the validations, the lr steps and the checkpoint at the same fractions of the run
    as in the config."""
    if 'max_epochs' not in cfg.train_cfg:
        from mmresnet.apis.own_data import iteration_schedule
        old = cfg.train_cfg.max_iters
        iteration_schedule(cfg, length, max(1, round(cfg.train_cfg.get('val_interval', old)
                                                     * length / old)))
        return
    max_epochs = length
    old = cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max(1, round(cfg.train_cfg.get('val_interval', old)
                                              * max_epochs / old))
    for sched in cfg.param_scheduler:
        if sched.get('by_epoch', True):
            sched['end'] = max_epochs
            if 'milestones' in sched:
                sched['milestones'] = [max(1, round(m * max_epochs / old))
                                       for m in sched['milestones']]
    cfg.default_hooks.checkpoint.interval = max_epochs


def plot_detection_curves(run_dirs, out):
    """Training loss against iteration and validation box mAP against epoch, one line per
    run, from MMEngine's scalars.json (tools/analysis/plot_curves.py --kind det)."""
    from mmresnet.analysis.curves import plot_detection_curves as plot
    from mmresnet.analysis.curves import read_detection_curves
    return plot({label: read_detection_curves(run_dir) for label, run_dir in run_dirs.items()},
                out)


def _maps(metrics):
    return {k.split('/')[-1]: v for k, v in metrics.items()}


def _mkdir(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    return path


def _short(classes, most=3):
    names = ', '.join(repr(c) for c in classes[:most])
    return names + (f' and {len(classes) - most} more' if len(classes) > most else '')


def _map_line(metrics):
    return (f'box mAP {metrics.get("coco/bbox_mAP", float("nan")):.3f} (COCO '
            f'mAP@[.5:.95])   mAP@.5 {metrics.get("coco/bbox_mAP_50", float("nan")):.3f}')


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    pre_dir, det_dir = osp.join(work_dir, 'pretrain'), osp.join(work_dir, 'detect')
    stages = []

    def stage(name, fn, *fn_args, **fn_kwargs):
        print(f'\n=== demo stage {len(stages) + 1}: {name} ===', flush=True)
        start = time.time()
        result = fn(*fn_args, **fn_kwargs)
        stages.append(dict(name=name, seconds=round(time.time() - start, 1)))
        print(f'=== {name}: {stages[-1]["seconds"]:.0f} s ===', flush=True)
        return result

    if args.data:
        info = plan_own_data(args.data, work_dir, args.pretrain_config, args.config,
                             args.scratch_config, args.budget_min, train_ann=args.train_ann,
                             val_ann=args.val_ann,
                             on_invalid='skip' if args.skip_invalid else 'error',
                             val_fraction=args.val_fraction, train_on_all=args.train_on_all)
        args.pretrain_config = info['configs']['pretrain']
        args.config, args.scratch_config = info['configs']['detector'], info['configs']['scratch']
        length = None
    else:  # the hand-set configs, shortened only where the budget says so
        det_cfg = _train_cfg(args.config, det_dir, args.cfg_options)
        info = plan_embedded(_train_cfg(args.pretrain_config, pre_dir,
                                        args.pretrain_cfg_options), det_cfg, args.budget_min)
        epochs = info['plan']['det_epochs']
        length = epochs if epochs < det_cfg.train_cfg.max_epochs else None
    describe_plan(info)
    classes = list(info['counts']['train']['per_class'])
    with open(_mkdir(osp.join(work_dir, 'plan.json')), 'w') as f:
        json.dump(info, f, indent=2, ensure_ascii=False)
    if args.plan_only:
        print(f'plan         {osp.join(work_dir, "plan.json")} (--plan-only: nothing trained)')
        return info

    cls_checkpoint = stage(f'pretrain (classification, {_short(classes)} vs background)',
                           pretrain, args, pre_dir)
    backbone = osp.join(pre_dir, 'backbone.pth')
    stage('export backbone', export_backbone, cls_checkpoint, backbone)
    metrics, det_checkpoint, show_dir, det_seconds, det_length, single = stage(
        'detect (C4 Faster R-CNN from the pretrained backbone, frozen BN) + evaluate',
        detect, args.config, det_dir, args.cfg_options, checkpoint=backbone, length=length,
        tta=args.tta)

    summary = dict(
        bbox_mAP=float(metrics.get('coco/bbox_mAP', float('nan'))),
        bbox_mAP_50=float(metrics.get('coco/bbox_mAP_50', float('nan'))),
        tta=metrics['tta'], single_view=_maps(single),
        stages=copy.deepcopy(stages), backbone_checkpoint=backbone,
        classifier_checkpoint=cls_checkpoint, detector_checkpoint=det_checkpoint,
        predictions=show_dir, config=args.config, pretrain_config=args.pretrain_config,
        classes=classes, data=info)
    runs = {'pretrained': det_dir}
    if args.from_scratch:
        # the same budget: stages 1-3 (pretraining, export, detector training)
        budget = sum(s['seconds'] for s in stages[:2]) + det_seconds
        epochs = max(1, round(det_length * budget / det_seconds))
        unit = 'iteration' if args.data else 'epoch'
        print(f'from scratch: {epochs} {unit}s (the {budget:.0f} s of stages 1-3 at the '
              f'pretrained detector\'s {det_seconds / det_length:.2f} s/{unit})')
        scratch_dir = osp.join(work_dir, 'scratch')
        s_metrics, s_ckpt, s_show, s_seconds, _, s_single = stage(
            'from scratch (same detector, He init, BN learning, same time budget)', detect,
            args.scratch_config, scratch_dir, args.cfg_options, length=epochs,
            tta=args.tta)
        summary['from_scratch'] = dict(
            bbox_mAP=float(s_metrics.get('coco/bbox_mAP', float('nan'))),
            bbox_mAP_50=float(s_metrics.get('coco/bbox_mAP_50', float('nan'))),
            tta=s_metrics['tta'], single_view=_maps(s_single),
            epochs=epochs, unit=unit, train_seconds=round(s_seconds, 1),
            budget_seconds=round(budget, 1),
            detector_checkpoint=s_ckpt, predictions=s_show, config=args.scratch_config)
        summary['stages'] = copy.deepcopy(stages)
        runs['from scratch'] = scratch_dir
    curves = plot_detection_curves(runs, osp.join(work_dir, 'curves.png'))
    summary['curves'] = curves
    summary.update(per_class_results(metrics, work_dir))
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    report = write_report(work_dir, summary)

    total = sum(s['seconds'] for s in stages)
    print('\n=== PaperResNet demo: pretrain -> export -> C4 Faster R-CNN (frozen BN) ===')
    for i, s in enumerate(stages, 1):
        print(f'stage {i}      {s["name"]}: {s["seconds"]:.0f} s')
    views = 'the image and its flips' if metrics['tta'] else 'single view'
    print(f'{_map_line(metrics)}   (validation images, pretrained, {views})')
    if metrics['tta'] and single:
        print(f'single view  {_map_line(single)}   (the last validation, same weights)')
    if args.from_scratch:
        print(f'from scratch {_map_line(s_metrics)}   (same time budget, {views})')
    print(f'classes      {classes}')
    if summary.get('per_class'):
        print('per class    (COCO, validation images)')
        for row in format_table(summary['per_class']):
            print(f'  {row}')
    if info.get('val_is_train'):
        print('NOTE         validated on the training images (--train-on-all): the figures '
              'measure the fit, not results on new images')
    print(f'time         total {total / 60:.1f} min (planned '
          f'{info["plan"]["expected_s"] / 60:.1f} min, budget {args.budget_min:g} min)')
    print(f'backbone     {backbone}')
    print(f'detector     {det_checkpoint}')
    print(f'predictions  {show_dir}/ (ground truth left, predictions scored >= the '
          'visualization score_thr right)')
    print(f'curves       {curves}')
    print(f'summary      {osp.join(work_dir, "summary.json")}')
    print(f'report       {report}')
    return summary


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
