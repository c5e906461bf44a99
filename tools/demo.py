"""The main job on a CPU, the paper's pipeline end to end on the embedded photographs:
classification pretraining, backbone export, C4 Faster R-CNN fine-tuning with BN frozen,
COCO evaluation with drawn predictions.

    python tools/demo.py [--work-dir work_dirs/demo] [--from-scratch] [--budget-min 12]
        [--data DIR [--train-ann F] [--val-ann F] [--val-fraction 0.2 | --train-on-all]
                    [--skip-invalid]] [--plan-only]
        [--pretrain-config configs/demo/paper-resnet18-w16_tree-crops_pretrain_demo.py]
        [--config configs/demo/faster-rcnn_paper-r18-c4_demo.py]
        [--pretrain-cfg-options k=v ...] [--cfg-options k=v ...] [--no-tta]

First the plan, the same for the embedded tiles and for ``--data DIR``, a COCO or VOC
folder of one's own (docs/demo.md, "Your own data"): the data checked, the classes read
from the files, the detector sized to the boxes, the schedule read from the configs and
fitted to ``--budget-min``, the three configs written complete (``--cfg-options``
included) to WORK_DIR/configs/, where ``tools/train.py`` and ``tools/test.py`` run them
as they are. Then, in this process, each stage reads its written config and builds its
Runner as those tools do (mmresnet.apis.runner):

1. pretrain  a PaperResNet classifier on crowns vs background cut from the training
             tiles (DetectionCropDataset), WORK_DIR/configs/pretrain.py;
2. export    its backbone as WORK_DIR/pretrain/backbone.pth (what
             tools/export_backbone.py writes);
3. detect    WORK_DIR/configs/detector.py with backbone and conv5_x head initialised from
             it, BN frozen (Section 4.3), validated at intervals of the run;
4. evaluate  COCO box mAP on the validation tiles with the config's test-time
             augmentation (the tile and its flips; --no-tta: the single view), ground
             truth drawn beside the predictions (as tools/test.py --tta --show-dir).
``--from-scratch`` then trains the same detector without pretraining (BN learning, He
init) for as long as stages 1-3 took together, the paper's comparison in miniature.
Results: WORK_DIR/report.html (one page: the plan, curves, per-class table, PR curves,
confusion matrix, the validation images drawn), WORK_DIR/summary.json (with ``per_class``),
WORK_DIR/curves.png, pr_curves.png, confusion_matrix.png, WORK_DIR/detect/predictions/.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmresnet.apis.cli import add_debug_arg  # noqa: E402
from mmresnet.apis.demo import (BUDGET_MIN, DEMO_CONFIG, PRETRAIN_CONFIG,  # noqa: E402
                                SCRATCH_CONFIG, run_demo)
from mmresnet.apis.runner import DictAction  # noqa: E402
from mmresnet.resources import find_resource  # noqa: E402


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
                        help='check the data, size the detector, write the configs and the '
                        'plan, and stop before training')
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
        for name in ('train_ann', 'val_ann', 'val_fraction', 'train_on_all', 'skip_invalid'):
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


def main(argv=None):
    args = vars(parse_args(argv))
    args.pop('debug')  # read by run_tool
    return run_demo(**args)


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
