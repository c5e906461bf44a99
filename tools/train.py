"""Train a PaperResNet model (classifier or detector) with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmresnet  # noqa: E402,F401  (registers modules and safe checkpoint loading)
from mmresnet.apis.config_check import check_amp_device  # noqa: E402
from mmresnet.apis.runner import (add_common_args, build_runner, enable_amp,  # noqa: E402
                                    enable_auto_scale_lr, load_config)


def parse_args(argv=None):
    parser = add_common_args(argparse.ArgumentParser(description='Train a model'))
    parser.add_argument('--amp', action='store_true', help='mixed precision (float16)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or with no value from the latest checkpoint of work-dir')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    check_amp_device(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    build_runner(cfg).train()


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
