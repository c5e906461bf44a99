"""Write the backbone of a classification checkpoint as a detection-ready checkpoint.

    python tools/export_backbone.py work_dirs/cls/iter_64000.pth checkpoints/backbone.pth
    python tools/export_backbone.py work_dirs/cls/iter_64000.pth checkpoints/backbone.safetensors
    # then, in a detection config:
    #   backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint='checkpoints/backbone.pth'))
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmresnet  # noqa: E402,F401  (safe checkpoint loading)
from mmresnet.convert.cli import add_format_arg  # noqa: E402
from mmresnet.convert.export import export_backbone  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='classifier checkpoint (tools/train.py output)')
    parser.add_argument('out', help='backbone-only checkpoint to write (.pth or .safetensors)')
    parser.add_argument('--prefix', default='backbone.', help='key prefix to keep and strip')
    add_format_arg(parser)
    args = parser.parse_args(argv)
    n = export_backbone(args.checkpoint, args.out, args.prefix, args.format)
    print(f'wrote {n} backbone tensors to {args.out}')


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
