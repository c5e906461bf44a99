"""Time whole training iterations of a config (data, model, optimizer, hooks) per loop.

    # CIFAR ResNet-20: MMEngine's DataLoader loop vs the data set on the device, and the
    # time the paper's 64k iterations would take with each
    python tools/benchmark_train.py configs/cifar/paper-resnet20_b128-64k_cifar10_fast.py

Uses a synthetic CIFAR-shaped data set of 50k images unless --real-data. Logic:
mmresnet.engine.loop_bench.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

import mmresnet  # noqa: E402,F401
from mmresnet.engine.loop_bench import LOOPS, run_loop_benchmark  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Benchmark training loops of a config')
    p.add_argument('config')
    p.add_argument('--loops', nargs='+', choices=LOOPS, default=list(LOOPS))
    p.add_argument('--iters', type=int, default=200, help='timed iterations')
    p.add_argument('--warmup', type=int, default=20, help='untimed first iterations')
    p.add_argument('--real-data', action='store_true',
                   help="train on the config's data set instead of synthetic images")
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--out', help='JSON output path')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    run_loop_benchmark(a.config, a.loops, a.iters, a.warmup, a.cfg_options,
                       synthetic=not a.real_data, out=a.out)


if __name__ == '__main__':
    main()
