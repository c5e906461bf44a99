"""The stages of ``tools/demo.py``: the paper's pipeline end to end on a CPU, on the
embedded photographs or a data folder of one's own (docs/demo.md).

First the plan (:func:`make_plan`), one road for the embedded tiles and a folder of
one's own: the data read and checked, the detector sized, the schedule fitted to the
budget, the three configs written complete to WORK_DIR/configs/ (:mod:`mmresnet.planning`).
Then, in this process, each stage reads its written config and builds its MMEngine Runner
as ``tools/train.py`` / ``tools/test.py`` do (:func:`~.runner.training_config`,
:func:`~.runner.testing_config`, :func:`~.runner.build_runner`):

1. pretrain  a PaperResNet classifier on crops cut from the training images;
2. export    its backbone as WORK_DIR/pretrain/backbone.pth;
3. detect    the C4 Faster R-CNN with backbone and conv5_x head initialised from it, BN
             frozen (Section 4.3), then tested with the config's test-time augmentation
             and the predictions drawn;
4. from scratch (optional): the same detector without pretraining, for as long as stages
             1-3 took together.
Results: summary.json (with ``per_class``), curves, PR curves, the confusion matrix and
report.html under the work dir, and a printed summary.
"""
import copy
import itertools
import json
import os.path as osp
import time
import warnings

from ..models.backbones import FrozenBNFromScratchWarning
from ..planning.configs import pretrained_parts, set_pretrained
from ..planning.plan import describe_plan, plan_demo
from ..planning.schedule import BUDGET_MIN, budget_hooks, scale_schedule, scratch_iters
from .runner import (build_runner, enable_test_outputs, enable_tta, testing_config,
                     training_config)

PRETRAIN_CONFIG = 'configs/demo/paper-resnet18-w16_tree-crops_pretrain_demo.py'
DEMO_CONFIG = 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'
SCRATCH_CONFIG = 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py'
MAP_KEYS = ('coco/bbox_mAP', 'coco/bbox_mAP_50')


def _last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:  # written by the checkpoint hook
        return f.read().strip()


def _with_budget(cfg, budget):
    """``budget`` (a BudgetHook config, or None) added to the config's custom hooks."""
    if budget is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(budget)]


def budget_record(runner):
    """What the run's BudgetHook measured and decided (:mod:`mmresnet.engine.budget`), or
    None where it had none."""
    from ..engine.budget import BudgetHook
    return next((dict(h.record) for h in runner.hooks if isinstance(h, BudgetHook)), None)


def pretrain(config, work_dir, budget=None):
    """Train the classifier of a written config (kept within ``budget``, a BudgetHook
    config, where given); returns its last checkpoint and what the budget hook measured
    (or None)."""
    cfg = training_config(config, work_dir)
    _with_budget(cfg, budget)
    runner = build_runner(cfg)
    runner.train()
    return _last_checkpoint(work_dir), budget_record(runner)


_VISUALIZER_COUNT = itertools.count()


def _own_visualizer(cfg, tag):
    """A visualizer of this run's own: MMEngine keeps one instance per name, so a second
    runner in the process with the configs' name 'visualizer' would log into the first
    one's work dir; and an instance found by its name is not made the current one, which
    the visualization hook draws with (a second demo in the process drew with the plain
    visualizer of its pretraining). Each runner's name is new in the process."""
    if cfg.get('visualizer') is not None:
        cfg.visualizer.name = (f'{cfg.visualizer.get("name", "visualizer")}_{tag}_'
                               f'{next(_VISUALIZER_COUNT)}')


def detect(config, work_dir, checkpoint=None, iters=None, tta=True, budget=None):
    """Train the detector of a written config (kept within ``budget``, a BudgetHook
    config, where given; ``iters``: another length than the config's), then test it with
    predictions drawn, with the config's test-time augmentation when ``tta`` and the
    config has one.

    Returns:
        tuple: (test metrics, detector checkpoint, predictions folder, training seconds,
        the iterations trained, the last validation's metrics: the single view of the same
        weights, what the budget hook measured or None).
    """
    start = time.time()
    cfg = training_config(config, work_dir)
    _own_visualizer(cfg, f'{osp.basename(work_dir)}_train')
    if checkpoint is not None:
        set_pretrained(cfg, checkpoint)
    if iters is not None:
        scale_schedule(cfg, iters)
    _with_budget(cfg, budget)
    runner = build_runner(cfg)
    runner.train()  # the loop validates after the last iteration too
    budget_used = budget_record(runner)
    trained = budget_used['length'] if budget_used else cfg.train_cfg.max_iters
    hub = runner.message_hub  # MMEngine's RuntimeInfoHook keeps each val metric there
    single = {k: float(hub.get_scalar(f'val/{k}').current()) for k in MAP_KEYS
              if f'val/{k}' in hub.log_scalars}
    det_checkpoint = _last_checkpoint(work_dir)
    seconds = time.time() - start

    show_dir = osp.join(work_dir, 'predictions')
    cfg = testing_config(config, det_checkpoint, work_dir)
    _own_visualizer(cfg, f'{osp.basename(work_dir)}_test')
    for part in pretrained_parts(cfg):  # weights come from the detector checkpoint
        part.init_cfg = None
    tta = tta and 'tta_model' in cfg
    if tta:
        enable_tta(cfg)
    enable_test_outputs(cfg, show_dir=show_dir)
    files = coco_result_files(cfg, work_dir)
    with warnings.catch_warnings():  # the whole detector, frozen BN too, comes from load_from
        warnings.simplefilter('ignore', FrozenBNFromScratchWarning)
        runner = build_runner(cfg)
    metrics = runner.test()
    metrics.update(tta=tta, **files)
    return metrics, det_checkpoint, show_dir, seconds, trained, single, budget_used


def coco_result_files(cfg, work_dir):
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
    from ..evaluation.per_class import (evaluate_per_class, plot_confusion_matrix,
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


def _run_curves(run_dirs, out):
    """Training loss and validation box mAP against iteration, one line per run, from
    MMEngine's scalars.json (as tools/analysis/plot_curves.py --kind det draws them)."""
    from ..analysis.curves import plot_detection_curves, read_detection_curves
    return plot_detection_curves({label: read_detection_curves(run_dir)
                                  for label, run_dir in run_dirs.items()}, out)


def _maps(metrics):
    return {k.split('/')[-1]: v for k, v in metrics.items()}


def _box_maps(metrics):
    """summary.json's ``bbox_mAP`` and ``bbox_mAP_50``: NaN where the test gave none."""
    return dict(bbox_mAP=float(metrics.get('coco/bbox_mAP', float('nan'))),
                bbox_mAP_50=float(metrics.get('coco/bbox_mAP_50', float('nan'))))


def _short(classes, most=3):
    names = ', '.join(repr(c) for c in classes[:most])
    return names + (f' and {len(classes) - most} more' if len(classes) > most else '')


def _map_line(metrics):
    maps = _box_maps(metrics)
    return (f'box mAP {maps["bbox_mAP"]:.3f} (COCO mAP@[.5:.95])   '
            f'mAP@.5 {maps["bbox_mAP_50"]:.3f}')


class _Stages:
    """Runs the numbered stages, printing their names and seconds."""

    def __init__(self):
        self.done = []

    def __call__(self, name, fn, *fn_args, **fn_kwargs):
        print(f'\n=== demo stage {len(self.done) + 1}: {name} ===', flush=True)
        start = time.time()
        result = fn(*fn_args, **fn_kwargs)
        self.done.append(dict(name=name, seconds=round(time.time() - start, 1)))
        print(f'=== {name}: {self.done[-1]["seconds"]:.0f} s ===', flush=True)
        return result


def make_plan(work_dir, data=None, pretrain_config=PRETRAIN_CONFIG, config=DEMO_CONFIG,
              scratch_config=SCRATCH_CONFIG, budget_min=BUDGET_MIN, train_ann=None,
              val_ann=None, skip_invalid=False, val_fraction=None, train_on_all=False,
              pretrain_cfg_options=None, cfg_options=None):
    """The plan (:func:`~mmresnet.planning.plan.plan_demo`: ``data`` or, where None, the
    detector config's own data), printed and written to ``WORK_DIR/plan.json``.

    Returns:
        tuple: (the plan, the three written configs to run: pretraining, detector,
        from-scratch detector).
    """
    info = plan_demo(data, work_dir, pretrain_config, config, scratch_config, budget_min,
                     train_ann=train_ann, val_ann=val_ann,
                     on_invalid='skip' if skip_invalid else 'error',
                     val_fraction=val_fraction, train_on_all=train_on_all,
                     pretrain_cfg_options=pretrain_cfg_options, cfg_options=cfg_options)
    describe_plan(info)
    with open(osp.join(work_dir, 'plan.json'), 'w') as f:
        json.dump(info, f, indent=2, ensure_ascii=False)
    c = info['configs']
    return info, (c['pretrain'], c['detector'], c['scratch'])


def _from_scratch(stage, det_iters, det_seconds, config, work_dir, tta, summary):
    """Stage 4: the from-scratch detector for the seconds of stages 1-3 (pretraining,
    export, detector training) at the pretrained detector's speed; its results go into
    ``summary['from_scratch']``. Returns its test metrics."""
    budget = sum(s['seconds'] for s in stage.done[:2]) + det_seconds
    iters = scratch_iters(det_iters, det_seconds, budget)
    print(f'from scratch: {iters} iterations (the {budget:.0f} s of stages 1-3 at the '
          f'pretrained detector\'s {det_seconds / det_iters:.2f} s/iteration)')
    metrics, ckpt, show, seconds, _, single, _ = stage(
        'from scratch (same detector, He init, BN learning, same time budget)', detect,
        config, work_dir, iters=iters, tta=tta)
    summary['from_scratch'] = dict(
        _box_maps(metrics), tta=metrics['tta'], single_view=_maps(single),
        iterations=iters, train_seconds=round(seconds, 1), budget_seconds=round(budget, 1),
        detector_checkpoint=ckpt, predictions=show, config=config)
    summary['stages'] = copy.deepcopy(stage.done)
    return metrics


def run_demo(work_dir, data=None, pretrain_config=PRETRAIN_CONFIG, config=DEMO_CONFIG,
             scratch_config=SCRATCH_CONFIG, budget_min=BUDGET_MIN, from_scratch=False,
             tta=True, plan_only=False, pretrain_cfg_options=None, cfg_options=None,
             **data_options):
    """Every stage; returns summary.json's content (the plan alone with ``plan_only``).

    ``data``: a COCO or VOC folder instead of the embedded tiles, with ``data_options``
    (``train_ann``, ``val_ann``, ``skip_invalid``, ``val_fraction``, ``train_on_all``) as
    ``tools/demo.py``'s flags of the same names.
    """
    from ..analysis.report import write_report
    from ..convert.export import export_backbone
    start = time.time()  # the budget counts from here, the plan and its probe included
    work_dir = osp.abspath(work_dir)
    pre_dir, det_dir = osp.join(work_dir, 'pretrain'), osp.join(work_dir, 'detect')
    info, (pretrain_config, config, scratch_config) = make_plan(
        work_dir, data, pretrain_config, config, scratch_config, budget_min,
        pretrain_cfg_options=pretrain_cfg_options, cfg_options=cfg_options, **data_options)
    classes = list(info['counts']['train']['per_class'])
    if plan_only:
        print(f'plan         {osp.join(work_dir, "plan.json")} (--plan-only: nothing trained)')
        return info

    plan = info['plan']
    pre_budget, det_budget = budget_hooks(plan, info['speed'], start)
    stage = _Stages()
    cls_checkpoint, pre_used = stage(
        f'pretrain (classification, {_short(classes)} vs background)', pretrain,
        pretrain_config, pre_dir, budget=pre_budget)
    backbone = osp.join(pre_dir, 'backbone.pth')
    stage('export backbone', export_backbone, cls_checkpoint, backbone)
    metrics, det_checkpoint, show_dir, det_seconds, det_length, single, det_used = stage(
        'detect (C4 Faster R-CNN from the pretrained backbone, frozen BN) + evaluate',
        detect, config, det_dir, checkpoint=backbone, tta=tta, budget=det_budget)
    # what the budget hooks measured; a line where the speed or the length moved
    budgets = {r['name']: r for r in (pre_used, det_used) if r is not None}
    plan['speed_notes'] = plan.get('speed_notes', []) + [
        r['notice'] for r in budgets.values() if r.get('notice')]
    with open(osp.join(work_dir, 'plan.json'), 'w') as f:  # the plan, with what happened
        json.dump(info, f, indent=2, ensure_ascii=False)

    summary = dict(
        _box_maps(metrics), tta=metrics['tta'], single_view=_maps(single),
        stages=copy.deepcopy(stage.done), backbone_checkpoint=backbone,
        classifier_checkpoint=cls_checkpoint, detector_checkpoint=det_checkpoint,
        predictions=show_dir, config=config, pretrain_config=pretrain_config,
        classes=classes, budget=budgets, data=info)
    runs = {'pretrained': det_dir}
    s_metrics = None
    if from_scratch:
        s_metrics = _from_scratch(stage, det_length, det_seconds, scratch_config,
                                  osp.join(work_dir, 'scratch'), tta, summary)
        runs['from scratch'] = osp.join(work_dir, 'scratch')
    summary['curves'] = _run_curves(runs, osp.join(work_dir, 'curves.png'))
    summary.update(per_class_results(metrics, work_dir))
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    report = write_report(work_dir, summary)
    print_summary(summary, metrics, single, s_metrics, budget_min, work_dir, report)
    return summary


def print_summary(summary, metrics, single, scratch_metrics, budget_min, work_dir, report):
    """The demo's last lines: stages, box mAP (and the single view, from scratch), per
    class, time against the plan, where the results are."""
    from ..evaluation.per_class import format_table
    stages, info = summary['stages'], summary['data']
    total = sum(s['seconds'] for s in stages)
    print('\n=== PaperResNet demo: pretrain -> export -> C4 Faster R-CNN (frozen BN) ===')
    for i, s in enumerate(stages, 1):
        print(f'stage {i}      {s["name"]}: {s["seconds"]:.0f} s')
    views = 'the image and its flips' if metrics['tta'] else 'single view'
    print(f'{_map_line(metrics)}   (validation images, pretrained, {views})')
    if metrics['tta'] and single:
        print(f'single view  {_map_line(single)}   (the last validation, same weights)')
    if scratch_metrics is not None:
        print(f'from scratch {_map_line(scratch_metrics)}   (same time budget, {views})')
    print(f'classes      {summary["classes"]}')
    if summary.get('per_class'):
        print('per class    (COCO, validation images)')
        for row in format_table(summary['per_class']):
            print(f'  {row}')
    if info.get('val_is_train'):
        print('NOTE         validated on the training images (--train-on-all): the figures '
              'measure the fit, not results on new images')
    extra = sum(s['seconds'] for s in stages[3:])  # from scratch: beyond the plan
    print(f'time         total {total / 60:.1f} min (planned '
          f'{info["plan"]["expected_s"] / 60:.1f} min, budget {budget_min:g} min'
          + (f'; from scratch {extra / 60:.1f} min on top' if extra else '') + ')')
    for note in info['plan'].get('speed_notes', []):
        print(f'budget       {note}')
    print(f'backbone     {summary["backbone_checkpoint"]}')
    print(f'detector     {summary["detector_checkpoint"]}')
    print(f'predictions  {summary["predictions"]}/ (ground truth left, predictions scored >= '
          'the visualization score_thr right)')
    print(f'curves       {summary["curves"]}')
    print(f'summary      {osp.join(work_dir, "summary.json")}')
    print(f'report       {report}')


__all__ = ['run_demo', 'make_plan', 'pretrain', 'detect', 'per_class_results',
           'print_summary', 'PRETRAIN_CONFIG', 'DEMO_CONFIG', 'SCRATCH_CONFIG', 'BUDGET_MIN']
