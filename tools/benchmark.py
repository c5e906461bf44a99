"""Time PaperResNet against mmdet's ResNet / torchvision / mmdet's stock Faster R-CNN.

    # classifier: PaperResNet-50 vs mmdet ResNet-50 (and torchvision where installed)
    python tools/benchmark.py --model classifier --depth 50 --batch 256 --size 224 \
        --dtype bf16 --channels-last --compile --out work_dirs/bench/cls.json
    # the same with mmdet's deformable convs in conv3_x..conv5_x (DCN or DCNv2), both nets
    python tools/benchmark.py --model classifier --depth 50 --batch 8 --size 224 --dcn DCN
    # CIFAR ResNet-110, batch 128: prints the time the paper's 64k iterations would take
    python tools/benchmark.py --arch cifar --depth 110 --batch 128 --size 32 --num-classes 10
    # detector: ours (a config) vs mmdet's stock faster-rcnn_r101_fpn_1x_coco.py
    python tools/benchmark.py --model detector --config CONFIG --batch 8 --size 800 1216 \
        --dtype fp16 --channels-last
    # one switch against no switch, same rounds: the demo detector, NCHW vs channels_last
    python tools/benchmark.py --model detector --config configs/demo/CONFIG --ref-config none \
        --batch 2 --size 800 --dtype bf16 --compare-channels-last --modes train

    # deployment: ours (fp32, bf16 + channels_last, folded BN, torch.compile) against the
    # exported file on ONNX Runtime and OpenVINO (fp32, bf16 hint), batches 1 and 8, one run
    python tools/benchmark.py --deploy --depth 50 --batches 1 8 --size 224 --threads 1 \
        --compile --warmup 1 --iters 1 --repeats 7 --out work_dirs/bench/deploy.json
    # the same for a detector and its export, end to end on one image
    python tools/benchmark.py --deploy --config configs/demo/faster-rcnn_paper-r18-c4_demo.py \
        --checkpoint CKPT --onnx FILE.onnx --image IMG --threads 1

Prints a table (median images/s of training steps and inference, peak memory, ratios)
and writes it as JSON. The logic is in :mod:`mmresnet.benchmarks.models` and, for ``--deploy``,
:mod:`mmresnet.benchmarks.deploy` (needs the deploy extra: onnxruntime, openvino).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmresnet.apis.runner import DictAction  # noqa: E402

import mmresnet  # noqa: E402,F401  (registers PaperResNet and the speed switches)
from mmresnet.benchmarks.harness import CLOCKS  # noqa: E402
from mmresnet.benchmarks.models import (CLS_REFERENCES, DCN_TYPES, MODES,  # noqa: E402
                                       STOCK_DETECTOR, run_benchmark)
from mmresnet.engine.speed_switches import DTYPES  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Benchmark PaperResNet against references')
    p.add_argument('--model', choices=('classifier', 'detector'), default='classifier')
    p.add_argument('--depth', type=int, default=50,
                   help='classifier depth: Table 1 (imagenet) or 6n+2 (cifar)')
    p.add_argument('--arch', choices=('imagenet', 'cifar'), default='imagenet',
                   help='cifar: the Section 4.2 nets, timed alone (no reference has them)')
    p.add_argument('--style', choices=('pytorch', 'caffe'), default='pytorch',
                   help='stride placement, the same for every classifier compared')
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--size', type=int, nargs='+', default=[64],
                   help='input size: S (square) or H W')
    p.add_argument('--num-classes', type=int, default=1000)
    p.add_argument('--device', default='auto', help='auto | cpu | cuda')
    p.add_argument('--dtype', choices=tuple(DTYPES), default='fp32',
                   help='fp32, or AMP autocast in bf16 / fp16 (fp16: cuda only); bf16 runs '
                   'as training would (float32 on a CPU without native bf16 unless '
                   'MMRESNET_CPU_BF16=1), the table says which')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--compare-channels-last', action='store_true',
                   help='time ours both in NCHW and channels_last, in the same rounds')
    p.add_argument('--compile', action='store_true', help='torch.compile the train step '
                   'and the classifier forward (as MMEngine\'s compile=True)')
    p.add_argument('--no-fold-bn', dest='fold_bn', action='store_false',
                   help='do not add the BN-folding variant of ours')
    p.add_argument('--dcn', choices=DCN_TYPES, help="classifier: mmdet's deformable 3x3 "
                   'convs in conv3_x..conv5_x, in ours and in mmdet\'s ResNet alike')
    p.add_argument('--clock', choices=CLOCKS, default='wall',
                   help='cpu: time the process CPU time (device cpu), less disturbed by other '
                   'jobs on a shared machine than the wall clock')
    p.add_argument('--modes', nargs='+', choices=MODES, default=list(MODES))
    p.add_argument('--references', nargs='*', choices=CLS_REFERENCES,
                   default=list(CLS_REFERENCES))
    p.add_argument('--config', help='our detector config (default: the stock config with '
                   'its backbone replaced by PaperResNet)')
    p.add_argument('--ref-config', default=STOCK_DETECTOR,
                   help='reference detector config; none: time ours alone')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='overrides for both detector configs, e.g. '
                   'model.test_cfg.rpn.max_per_img=100')
    p.add_argument('--deploy', action='store_true',
                   help='classifier inference: PyTorch paths vs the exported file on '
                   'ONNX Runtime and OpenVINO (--depth, --batches, --size, --threads)')
    p.add_argument('--checkpoint', help='--deploy --config: the detector checkpoint')
    p.add_argument('--onnx', help='--deploy --config: its export (pytorch2onnx.py)')
    p.add_argument('--image', help='--deploy --config: the image detected')
    p.add_argument('--batches', type=int, nargs='+', default=[1, 8],
                   help='--deploy: the batch sizes, timed in the same rounds')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--iters', type=int, default=3, help='steps per timed round')
    p.add_argument('--repeats', type=int, default=3, help='timed rounds (median reported)')
    p.add_argument('--threads', type=int, help='torch.set_num_threads (cpu)')
    p.add_argument('--out', help='JSON output path')
    args = p.parse_args(argv)
    if len(args.size) not in (1, 2):
        p.error(f'--size takes S or H W, got {args.size}')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.deploy:
        from mmresnet.benchmarks.deploy import run_deploy_benchmark
        detector = None
        if args.config:
            if not (args.checkpoint and args.onnx and args.image):
                raise SystemExit('--deploy --config needs --checkpoint, --onnx and --image')
            detector = dict(config=args.config, checkpoint=args.checkpoint,
                            onnx_file=args.onnx, image=args.image,
                            cfg_options=args.cfg_options)
        return run_deploy_benchmark(detector=detector,
            depth=args.depth, batches=args.batches, size=args.size[0],
            num_classes=args.num_classes, threads=args.threads, compile=args.compile,
            warmup=args.warmup, iters=args.iters, repeats=args.repeats, out=args.out,
            command=' '.join(sys.argv))
    size = tuple(args.size) * (2 // len(args.size))
    run_benchmark(
        model=args.model, depth=args.depth, arch=args.arch, style=args.style,
        batch=args.batch, size=size,
        num_classes=args.num_classes, device=args.device, dtype=args.dtype,
        channels_last='both' if args.compare_channels_last else args.channels_last,
        compile=args.compile, fold_bn=args.fold_bn,
        modes=args.modes, references=args.references, config=args.config,
        ref_config=args.ref_config, cfg_options=args.cfg_options, warmup=args.warmup,
        iters=args.iters, repeats=args.repeats, out=args.out, dcn=args.dcn,
        clock=args.clock)


if __name__ == '__main__':
    main()
