"""Training / test curves from work dirs' logs: classification error against iterations
(Fig. 4 / Fig. 6 style), or a detector's training loss and validation mAP.

    python tools/analysis/plot_curves.py work_dirs/fmnist_plain{20,32,44,56} --out plain.png
    python tools/analysis/plot_curves.py WD1 WD2 --labels ResNet-20 ResNet-56 --out res.png \\
        [--train-key error --test-key error/top1] [--ylim 0 20] [--smooth 5] [--summary t.md]
    python tools/analysis/plot_curves.py work_dirs/demo/detect --out det.png [--kind det]

Each work dir's newest <timestamp>/vis_data/scalars.json is read; --kind (default: auto,
from the log's keys) says whether it is a classification or a detection log.
Classification (cls): dashed thin lines are training error (the classifier's logged
``error``: one batch per logger interval, so ``--smooth N`` averages N logged points), bold
lines test error (``error/top1`` of TopKError). Detection (det): training ``loss`` (the
summed loss) against iteration on the left, validation box mAP (``coco/bbox_mAP`` and
``coco/bbox_mAP_50``, or ``pascal_voc/mAP``) against epoch on the right; --test-key picks
one validation key, --ylim the mAP axis (default 0 1).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.analysis.curves import (DEFAULT_TEST_KEY, DEFAULT_TRAIN_KEY,  # noqa: E402
                                      DET_TEST_KEYS, DET_TRAIN_KEY, format_summary,
                                      log_kind, plot_runs, read_run)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dirs', nargs='+', help='work dirs (or scalars.json files)')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--labels', nargs='+', help='one legend label per work dir')
    parser.add_argument('--kind', choices=('auto', 'cls', 'det'), default='auto',
                        help='classification or detection logs (default: auto, from the '
                             "first run's keys)")
    parser.add_argument('--train-key', help=f'training curve (default: {DEFAULT_TRAIN_KEY} '
                        f'for cls, {DET_TRAIN_KEY} for det)')
    parser.add_argument('--test-key', help=f'test curve (default: {DEFAULT_TEST_KEY} for '
                        f'cls; for det those of {", ".join(DET_TEST_KEYS)} in the log)')
    parser.add_argument('--title')
    parser.add_argument('--ylim', type=float, nargs=2, metavar=('LOW', 'HIGH'))
    parser.add_argument('--smooth', type=int, default=1,
                        help='moving average over N logged training points (the training '
                             'error is logged as one batch per logger interval)')
    parser.add_argument('--summary', help='also write a markdown table of final errors '
                        '(detection: final loss and mAP)')
    args = parser.parse_args(argv)
    labels = args.labels or [osp.basename(osp.normpath(w)) for w in args.work_dirs]
    if len(labels) != len(args.work_dirs):
        parser.error(f'--labels has {len(labels)} entries for {len(args.work_dirs)} work dirs')
    kind = log_kind(args.work_dirs[0]) if args.kind == 'auto' else args.kind
    runs = {lb: read_run(w, kind, args.train_key, args.test_key)
            for lb, w in zip(labels, args.work_dirs)}
    if args.kind == 'auto':
        other = [w for w in args.work_dirs[1:] if log_kind(w) != kind]
        if other:
            parser.error(f'{args.work_dirs[0]} is a {kind} log but {other[0]} is not: plot '
                         'them separately, or give --kind')
    plot_runs(runs, args.out, title=args.title, ylim=args.ylim, smooth_train=args.smooth)
    table = format_summary(runs)
    print(table)
    print(f'wrote {args.out}')
    if args.summary:
        with open(args.summary, 'w') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
