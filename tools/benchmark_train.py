"""Time whole training iterations of a config (data, model, optimizer, hooks) per loop.

    # CIFAR ResNet-20: MMEngine's DataLoader loop vs the data set on the device, and the
    # time the paper's 64k iterations would take with each
    python tools/benchmark_train.py configs/cifar/paper-resnet20_b128-64k_cifar10_fast.py

    # ImageNet format: the real pipeline (JPEG files, workers) against the same model fed
    # decoded, augmented synthetic crops: the input pipeline keeps up when the ratio is ~1
    python tools/benchmark_train.py configs/resnet/paper-resnet50_b256_imagenet.py \
        --loops IterBasedTrainLoop --data synthetic real --cfg-options \
        train_dataloader.dataset.type=ImageListDataset \
        train_dataloader.dataset.data_root=work_dirs/pipeline_bench/jpegs256 \
        train_dataloader.dataset.ann_file=train.txt

Default data: synthetic (CIFAR-like configs: 50k random images, pipeline kept). Logic:
mmresnet.benchmarks.loop.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmresnet.apis.runner import DictAction  # noqa: E402

import mmresnet  # noqa: E402,F401
from mmresnet.benchmarks.loop import DATA, LOOPS, run_loop_benchmark  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Benchmark training loops of a config')
    p.add_argument('config')
    p.add_argument('--loops', nargs='+', choices=LOOPS, default=list(LOOPS))
    p.add_argument('--iters', type=int, default=200, help='timed iterations')
    p.add_argument('--warmup', type=int, default=20, help='untimed first iterations')
    p.add_argument('--data', nargs='+', choices=DATA, default=['synthetic'],
                   help="synthetic images and/or the config's own data set (both: the "
                   'ratio real / synthetic says whether the input pipeline keeps up)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    p.add_argument('--out', help='JSON output path')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    run_loop_benchmark(a.config, a.loops, a.iters, a.warmup, a.cfg_options, data=a.data,
                       out=a.out)


if __name__ == '__main__':
    main()
