"""Fig. 7: std of each 3x3 layer's response (after BN, before ReLU/addition) over a data set.

    python tools/analysis/layer_response.py --work-dirs work_dirs/fmnist_{plain,resnet}{20,56} \\
        --out fig7.png --table fig7.md [--max-images 2000] [--split test]
    python tools/analysis/layer_response.py --run CONFIG CHECKPOINT LABEL [--run ...] --out fig7.png

A work dir gives its dumped config and ``last_checkpoint``; ``--run`` names them. The data
set is the config's test (or val/train) dataloader, through the model's data preprocessor.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.analysis.layer_response import (  # noqa: E402
    config_model_and_batches, find_run, format_response_table, layer_response_stds,
    plot_layer_responses)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dirs', nargs='+', default=[], help='finished runs')
    parser.add_argument('--labels', nargs='+', help='labels for --work-dirs')
    parser.add_argument('--run', nargs=3, action='append', default=[],
                        metavar=('CONFIG', 'CHECKPOINT', 'LABEL'))
    parser.add_argument('--split', choices=('test', 'val', 'train'), default='test')
    parser.add_argument('--max-images', type=int, help='use only the first N images')
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--table', help='also write the markdown table here')
    args = parser.parse_args(argv)
    labels = args.labels or [osp.basename(osp.normpath(w)) for w in args.work_dirs]
    if len(labels) != len(args.work_dirs):
        parser.error(f'--labels has {len(labels)} entries for {len(args.work_dirs)} work dirs')
    runs = [(*find_run(w), lb) for w, lb in zip(args.work_dirs, labels)] + args.run
    if not runs:
        parser.error('give --work-dirs or --run')
    results = {}
    for config, ckpt, label in runs:
        model, batches = config_model_and_batches(config, ckpt, args.split, args.max_images,
                                                  args.batch_size)
        results[label] = layer_response_stds(model.backbone, batches)
        print(f'{label}: {len(results[label])} 3x3 layers, mean std '
              f"{sum(r['std'] for r in results[label]) / len(results[label]):.3f}")
    plot_layer_responses(results, args.out)
    table = format_response_table(results)
    if args.table:
        with open(args.table, 'w') as f:
            f.write(table + '\n')
    print(table)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
