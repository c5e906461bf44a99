"""Parameters and multiply-adds: Table 1 / Table 6 reproduced, or any config's model.

    python tools/analysis/complexity.py                   # every paper net vs the paper
    python tools/analysis/complexity.py --depths 18 20    # a few of them
    python tools/analysis/complexity.py --style pytorch   # torchvision-style bottlenecks
    python tools/analysis/complexity.py --config configs/fashion_mnist/paper-resnet56_b128-64k_fashion-mnist.py
    python tools/analysis/complexity.py --config CFG --shape 3 800 1333   # any config's model
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import DictAction  # noqa: E402

from mmresnet.analysis import (PAPER_CIFAR_PARAMS, PAPER_IMAGENET_MACS,  # noqa: E402
                               config_complexity, format_rows, paper_complexity_rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--depths', type=int, nargs='+',
                        help='paper nets to count (ImageNet: 18..152, CIFAR: 6n+2)')
    parser.add_argument('--style', choices=('caffe', 'pytorch'), default='caffe',
                        help="ImageNet bottleneck style; 'caffe' is the paper's")
    parser.add_argument('--config', nargs='+',
                        help="count these configs' models instead of the paper nets")
    parser.add_argument('--shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                        help='input shape for --config (default: from the config)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys for --config, "key=value"')
    parser.add_argument('--json', help='also write the rows to this JSON file')
    args = parser.parse_args(argv)
    if args.config:
        rows = [config_complexity(c, args.shape, args.cfg_options) for c in args.config]
        for r in rows:
            if r['counted'] != 'whole model':
                print(f"{r['net']}: counted through {r['counted']} (its forward needs "
                      f"data samples)")
    else:
        depths = args.depths or list(PAPER_IMAGENET_MACS) + list(PAPER_CIFAR_PARAMS)
        rows = paper_complexity_rows([d for d in depths if d in PAPER_IMAGENET_MACS],
                                     [d for d in depths if d not in PAPER_IMAGENET_MACS],
                                     imagenet_style=args.style)
    print(format_rows(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
