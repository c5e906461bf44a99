"""Train a PaperResNet model (classifier or detector) with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmresnet  # noqa: E402,F401  (registers modules and safe checkpoint loading)
from mmresnet.apis.config_check import check_amp_device  # noqa: E402
from mmresnet.apis.runner import (build_runner, enable_amp,  # noqa: E402
                                    enable_auto_scale_lr, tool_config, training_parser)
from mmresnet.engine.elastic import naming_silent_ranks  # noqa: E402


def parse_args(argv=None):
    return training_parser().parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = tool_config(args, 'train')
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    check_amp_device(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    runner = build_runner(cfg)
    with naming_silent_ranks(cfg):  # a collective timeout names the ranks that hung
        runner.train()


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
