"""Evaluate a checkpoint with MMEngine's Runner (classification or detection).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                         [--show-dir DIR] [--show [--wait-time 2]] [--tta]
                         [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmresnet  # noqa: E402,F401
from mmresnet.utils import TEST_PROTOCOLS  # noqa: E402
from mmresnet.apis.runner import (add_common_args, apply_test_protocol,  # noqa: E402
                                    build_runner, enable_test_outputs, enable_tta,
                                    load_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    parser.add_argument('--show-dir', help='write images with predictions drawn, under '
                        'work_dir/timestamp/SHOW_DIR (detectors)')
    parser.add_argument('--show', action='store_true',
                        help='show each image with its predictions in a window (detectors)')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each image is shown with --show (default: 2)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_model and "
                        'tta_pipeline (detectors, as mmdet)')
    parser.add_argument('--protocol', choices=TEST_PROTOCOLS,
                        help='classification test protocol (default: the config\'s)')
    return parser.parse_args(argv)


def prepare_config(args):
    """The config of the test run that ``args`` asks for (nothing is built)."""
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    enable_test_outputs(cfg, out=args.out, show_dir=args.show_dir, show=args.show,
                        wait_time=args.wait_time)
    if args.protocol is not None:
        apply_test_protocol(cfg, args.protocol)
    if args.tta:
        enable_tta(cfg)
    return cfg


def main(argv=None):
    build_runner(prepare_config(parse_args(argv))).test()


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
