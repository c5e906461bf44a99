"""Export a classifier or Faster R-CNN config (and checkpoint) to ONNX, checked against
PyTorch by ONNX Runtime.

    python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --out FILE.onnx
        [--verify] [--verify-test-set [--test-set-backend openvino [--precision bf16]]]
        [--image IMG] [--opset 17] [--dynamic]
        [--shape N C H W]
        [--cfg-options k=v ...]

Without CHECKPOINT the config's own init is used. Classifiers: ``input`` (N, 3, H, W) ->
``scores``; detectors: ``input`` (1, 3, H, W) -> ``dets`` (1, N, 5), ``labels`` (1, N).
``--verify`` runs ONNX Runtime and PyTorch on the same input (IMG through the config's
test pipeline, or a random tensor / random image) and exits 1 naming the largest
difference when they disagree. Layouts and tolerances: docs/deploy.md. The logic is in
:mod:`mmresnet.deploy.export`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmresnet.apis.cli import add_debug_arg, run_tool  # noqa: E402
from mmresnet.apis.runner import DictAction  # noqa: E402
from mmresnet.deploy.export import DEFAULT_OPSET, ExportError, export_onnx  # noqa: E402
from mmresnet.utils import DEPLOY_BACKENDS, DEPLOY_PRECISIONS  # noqa: E402


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
                        help='detectors: also run both on the config\'s test set: boxes '
                        'matched and the test evaluator\'s metrics (e.g. COCO mAP) of each')
    parser.add_argument('--test-set-backend', choices=DEPLOY_BACKENDS[1:],
                        default='onnxruntime', help='the runtime of --verify-test-set')
    parser.add_argument('--precision', choices=DEPLOY_PRECISIONS, default='fp32',
                        help='--verify-test-set with openvino: its inference precision')
    parser.add_argument('--image', help='an image through the config\'s test pipeline: '
                        'the trace input and the --verify input')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help='ONNX opset (default %(default)s; detectors need >= 16)')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic height and width (and batch for classifiers)')
    parser.add_argument('--shape', type=int, nargs=4, metavar=('N', 'C', 'H', 'W'),
                        help='classifier input without --image (default: 1 3 and the '
                        'test crop)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, "key=value"')
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end in .onnx, got {args.out}')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        return export_onnx(args.config, args.checkpoint, args.out, verify=args.verify,
                           image=args.image, opset=args.opset, dynamic=args.dynamic,
                           cfg_options=args.cfg_options, shape=args.shape,
                           verify_test_set=args.verify_test_set,
                           test_set_backend=args.test_set_backend, precision=args.precision)
    except ExportError as exc:
        print(f'verification FAILED: {exc}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    run_tool(main)
