"""Parameters and multiply-adds: Table 1 / Table 6 reproduced, or any config's model.

    python tools/analysis/complexity.py                   # every paper net vs the paper
    python tools/analysis/complexity.py --depths 18 20    # a few of them
    python tools/analysis/complexity.py --style pytorch   # torchvision-style bottlenecks
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.analysis import (PAPER_CIFAR_PARAMS, PAPER_IMAGENET_MACS,  # noqa: E402
                               format_rows, paper_complexity_rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--depths', type=int, nargs='+',
                        help='paper nets to count (ImageNet: 18..152, CIFAR: 6n+2)')
    parser.add_argument('--style', choices=('caffe', 'pytorch'), default='caffe',
                        help="ImageNet bottleneck style; 'caffe' is the paper's")
    parser.add_argument('--json', help='also write the rows to this JSON file')
    args = parser.parse_args(argv)
    if args.depths:
        imagenet = [d for d in args.depths if d in PAPER_IMAGENET_MACS]
        cifar = [d for d in args.depths if d not in PAPER_IMAGENET_MACS]
    else:
        imagenet, cifar = list(PAPER_IMAGENET_MACS), list(PAPER_CIFAR_PARAMS)
    rows = paper_complexity_rows(imagenet, cifar, imagenet_style=args.style)
    print(format_rows(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
