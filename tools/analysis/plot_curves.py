"""Training / test error against iterations from work dirs' logs (Fig. 4 / Fig. 6 style).

    python tools/analysis/plot_curves.py work_dirs/fmnist_plain{20,32,44,56} --out plain.png
    python tools/analysis/plot_curves.py WD1 WD2 --labels ResNet-20 ResNet-56 --out res.png \\
        [--train-key error --test-key error/top1] [--ylim 0 20] [--smooth 5] [--summary t.md]

Each work dir's newest <timestamp>/vis_data/scalars.json is read. Dashed thin lines are
training error (the classifier's logged ``error``: one batch per logger interval, so
``--smooth N`` averages N logged points), bold
lines test error (``error/top1`` of TopKError).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.analysis.curves import (DEFAULT_TEST_KEY, DEFAULT_TRAIN_KEY,  # noqa: E402
                                      format_summary, plot_curves, read_curves)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dirs', nargs='+', help='work dirs (or scalars.json files)')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--labels', nargs='+', help='one legend label per work dir')
    parser.add_argument('--train-key', default=DEFAULT_TRAIN_KEY)
    parser.add_argument('--test-key', default=DEFAULT_TEST_KEY)
    parser.add_argument('--title')
    parser.add_argument('--ylim', type=float, nargs=2, metavar=('LOW', 'HIGH'))
    parser.add_argument('--smooth', type=int, default=1,
                        help='moving average over N logged training points (the training '
                             'error is logged as one batch per logger interval)')
    parser.add_argument('--summary', help='also write a markdown table of final errors')
    args = parser.parse_args(argv)
    labels = args.labels or [osp.basename(osp.normpath(w)) for w in args.work_dirs]
    if len(labels) != len(args.work_dirs):
        parser.error(f'--labels has {len(labels)} entries for {len(args.work_dirs)} work dirs')
    runs = {lb: read_curves(w, args.train_key, args.test_key)
            for lb, w in zip(labels, args.work_dirs)}
    plot_curves(runs, args.out, title=args.title, ylim=args.ylim, smooth_train=args.smooth)
    table = format_summary(runs)
    print(table)
    print(f'wrote {args.out}')
    if args.summary:
        with open(args.summary, 'w') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
