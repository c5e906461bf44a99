"""Time the ImageNet-format input pipeline per decoder (read, decode, augment; DataLoader).

    # generated ImageNet-shaped JPEGs, 1 and 2 workers, compared with a model speed
    python tools/benchmark_pipeline.py --workers 1 2 --target 7000
    # a real ImageNet-style list (path label per line in DATA/train.txt)
    python tools/benchmark_pipeline.py --data-root DATA --workers 16 --batch 256

Prints ms per image of each stage in one process, the DataLoader's images/s, and how many
cores the target would need; writes JSON with --out. Logic: mmresnet.benchmarks.pipeline.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmresnet.benchmarks.pipeline import run_pipeline_benchmark  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Benchmark the ImageNet input pipeline')
    p.add_argument('--data-root', help='folder with train.txt (default: generate JPEGs)')
    p.add_argument('--num-images', type=int, default=256, help='JPEGs to generate')
    p.add_argument('--workers', type=int, nargs='+', default=[1])
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--batches', type=int, default=4, help='timed batches per DataLoader')
    p.add_argument('--decoders', nargs='+', help='default: every decoder available')
    p.add_argument('--repeats', type=int, default=5, help='interleaved rounds of the stages')
    p.add_argument('--loader-repeats', type=int, default=1,
                   help='interleaved rounds of each DataLoader measurement')
    p.add_argument('--collates', nargs='+', default=['default_collate'],
                   choices=('default_collate', 'pseudo_collate'))
    p.add_argument('--target', type=float, help='images/s the model trains at')
    p.add_argument('--out', help='JSON output path')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    run_pipeline_benchmark(a.data_root, a.num_images, a.workers, a.batch, a.batches,
                           a.decoders, a.repeats, a.target, a.out, a.loader_repeats,
                           a.collates)


if __name__ == '__main__':
    main()
