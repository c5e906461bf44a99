"""Evaluate a checkpoint with MMEngine's Runner (classification or detection).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                         [--show-dir DIR] [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmresnet  # noqa: E402,F401
from mmresnet.engine.launch import (add_common_args, apply_test_protocol,  # noqa: E402
                                    build_runner, enable_test_outputs, load_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    parser.add_argument('--show-dir', help='write images with predictions drawn, under '
                        'work_dir/timestamp/SHOW_DIR (detectors)')
    parser.add_argument('--protocol', choices=('single', 'ten_crop', 'multi_scale'),
                        help='classification test protocol (default: the config\'s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    enable_test_outputs(cfg, out=args.out, show_dir=args.show_dir)
    if args.protocol is not None:
        apply_test_protocol(cfg, args.protocol)
    build_runner(cfg).test()


if __name__ == '__main__':
    main()
