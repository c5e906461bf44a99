"""Evaluate a checkpoint with MMEngine's Runner (classification or detection).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                         [--show-dir DIR] [--show [--wait-time 2]] [--tta]
                         [--cfg-options k=v ...] [--launcher pytorch]
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmresnet  # noqa: E402,F401
from mmresnet.apis.runner import (build_runner, prepare_test_config,  # noqa: E402
                                    testing_parser)


def parse_args(argv=None):
    return testing_parser().parse_args(argv)


def main(argv=None):
    build_runner(prepare_test_config(parse_args(argv))).test()


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
