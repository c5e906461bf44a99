"""Export a classifier or Faster R-CNN config (and checkpoint) to ONNX, checked against
PyTorch by ONNX Runtime.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out FILE.onnx
        [--verify] [--verify-test-set [--test-set-backend openvino [--precision bf16]]
                                      [--batch-size N] [--pytorch-int8]]
        [--int8 [openvino|onnxruntime] [--calib 300]]
        [--image IMG] [--opset 17] [--dynamic]
        [--shape N C H W]
        [--cfg-options k=v ...]

Without CHECKPOINT the config's own init is used. Classifiers: ``input`` (N, 3, H, W) ->
``scores``; detectors: ``input`` (N, 3, H, W) -> ``dets`` (N, K, 5), ``labels`` (N, K), K
detections an image padded with dets 0 and label -1 (``--dynamic``: N, H and W free).
``--verify`` runs ONNX Runtime and PyTorch on the same input (IMG through the config's
test pipeline, or a random tensor / random image) and exits 1 naming the largest
difference when they disagree. ``--int8`` also writes FILE.int8.onnx, post-training int8
for OpenVINO (NNCF, the default) or ONNX Runtime (its static QDQ quantizer), calibrated on
--calib images of the config's training set; ``--verify-test-set`` then gives the test
evaluator's figures of PyTorch, the float file and the int8 file side by side (and, with
``--pytorch-int8``, a classifier in PyTorch's own int8: torchao PT2E). Layouts,
tolerances and the layers kept in float: docs/deploy.md. The logic is in
:mod:`mmresnet.deploy.export` and :mod:`mmresnet.deploy.quantize`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.apis.cli import add_debug_arg, run_tool  # noqa: E402
from mmresnet.apis.runner import DictAction  # noqa: E402
from mmresnet.deploy.export import DEFAULT_OPSET, ExportError, export_onnx  # noqa: E402
from mmresnet.deploy.quantize import DEFAULT_CALIB, INT8_TOOLS  # noqa: E402
from mmresnet.utils import DEPLOY_BACKENDS, DEPLOY_PRECISIONS  # noqa: E402

FLOAT_PRECISIONS = tuple(p for p in DEPLOY_PRECISIONS if p != 'int8')
INT8_RUNTIMES = tuple(INT8_TOOLS)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='classifier or Faster R-CNN config file')
    parser.add_argument('checkpoint', nargs='?',
                        help='checkpoint (default: the config\'s own init)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--verify', action='store_true',
                        help='compare ONNX Runtime with PyTorch on the same input')
    parser.add_argument('--verify-test-set', action='store_true',
                        help='also run PyTorch, the file (and the int8 file) on the config\'s '
                        'test set: the test evaluator\'s metrics (COCO mAP, top-k error) '
                        'side by side; detectors: boxes matched per image')
    parser.add_argument('--test-set-backend', choices=DEPLOY_BACKENDS[1:],
                        default='onnxruntime', help='the runtime of --verify-test-set')
    parser.add_argument('--precision', choices=FLOAT_PRECISIONS, default='fp32',
                        help='--verify-test-set with openvino: its inference precision '
                        '(the int8 file is evaluated beside it with --int8)')
    parser.add_argument('--batch-size', type=int,
                        help='--verify-test-set: images a batch (default: the config\'s '
                        'test_dataloader.batch_size; a file without --dynamic runs them '
                        'one by one)')
    parser.add_argument('--int8', nargs='?', const='openvino', choices=INT8_RUNTIMES,
                        help='also write FILE.int8.onnx: post-training int8 for openvino '
                        '(NNCF; the default) or onnxruntime (static QDQ)')
    parser.add_argument('--pytorch-int8', action='store_true',
                        help='--verify-test-set, a classifier: also evaluate PyTorch\'s own '
                        'int8 (torchao PT2E, calibrated on the --calib images; the PyTorch '
                        'deploy path of CPUs without native bf16)')
    parser.add_argument('--calib', type=int, default=DEFAULT_CALIB,
                        help='--int8 / --pytorch-int8: training images to calibrate on, '
                        'evenly spaced over the training set (default %(default)s, or all '
                        'when fewer)')
    parser.add_argument('--image', help='an image through the config\'s test pipeline: '
                        'the trace input and the --verify input')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help='ONNX opset (default %(default)s; detectors need >= 16)')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch, height and width')
    parser.add_argument('--shape', type=int, nargs=4, metavar=('N', 'C', 'H', 'W'),
                        help='classifier input without --image (default: 1 3 and the '
                        'test crop)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, "key=value"')
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end in .onnx, got {args.out}')
    if args.calib < 1:
        parser.error(f'--calib must be >= 1 image, got {args.calib}')
    check_flags(parser, args, argv if argv is not None else sys.argv[1:])
    return args


def check_flags(parser, args, argv):
    """A flag that does not apply to the other flags given is an error naming why."""
    given = {a.split('=')[0] for a in argv if a.startswith('--')}
    for flag in ('--test-set-backend', '--precision', '--batch-size', '--pytorch-int8'):
        if flag in given and not args.verify_test_set:
            parser.error(f'{flag} applies to --verify-test-set (the test set\'s run), '
                         'which is not given')
    if args.precision == 'bf16' and args.test_set_backend != 'openvino':
        parser.error('--precision bf16 is OpenVINO\'s inference precision hint: it needs '
                     f'--test-set-backend openvino, got {args.test_set_backend}')
    if '--calib' in given and not (args.int8 or args.pytorch_int8):
        parser.error('--calib applies to --int8 and --pytorch-int8 (their calibration '
                     'images), neither of which is given')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')


def main(argv=None):
    args = parse_args(argv)
    try:
        return export_onnx(args.config, args.checkpoint, args.out, verify=args.verify,
                           image=args.image, opset=args.opset, dynamic=args.dynamic,
                           cfg_options=args.cfg_options, shape=args.shape,
                           verify_test_set=args.verify_test_set,
                           test_set_backend=args.test_set_backend, precision=args.precision,
                           int8=args.int8, calib=args.calib, batch_size=args.batch_size,
                           pytorch_int8=args.pytorch_int8)
    except ExportError as exc:
        print(f'verification FAILED: {exc}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    run_tool(main)
