"""Detect objects in images with a trained detector (MMDetection's DetInferencer).

    python tools/infer.py CONFIG CHECKPOINT IMAGE [IMAGE|FOLDER ...] [--out-dir outputs]
        [--score-thr 0.3] [--device cpu] [--batch-size 1] [--show [--wait-time 2]]
        [--palette none] [--backend pytorch|onnxruntime|openvino [--precision bf16|int8]]
        [--cfg-options k=v ...]

Writes OUT_DIR/vis/<image> (the predictions scored >= --score-thr drawn) and
OUT_DIR/preds/<image stem>.json (every prediction: labels, label_names, scores, bboxes in
pixels), and prints the files written with the class names of the boxes drawn. The
checkpoint loads through the project's safe loader.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmresnet  # noqa: E402,F401  (registers PaperResNet; safe checkpoint loading)
from mmresnet.apis.runner import DictAction, add_show_args  # noqa: E402
from mmresnet.utils import DEPLOY_BACKENDS, DEPLOY_PRECISIONS  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='detection config file')
    parser.add_argument('checkpoint', help='detector checkpoint (tools/train.py output), '
                        'or its .onnx export with --backend onnxruntime|openvino')
    parser.add_argument('images', nargs='+', metavar='IMAGE',
                        help='image files and/or folders of images')
    parser.add_argument('--out-dir', default='outputs',
                        help='writes OUT_DIR/vis/ and OUT_DIR/preds/ (default: outputs)')
    parser.add_argument('--score-thr', '--pred-score-thr', type=float, default=0.3,
                        dest='score_thr', help='lowest score drawn (default: 0.3); the '
                        'json files hold every prediction')
    parser.add_argument('--device', help='cpu, cuda, cuda:1, ... (default: cuda if '
                        'available, else cpu)')
    parser.add_argument('--batch-size', type=int, default=1)
    add_show_args(parser, 'also show each drawn image in a window')
    parser.add_argument('--palette', default='none',
                        help="box colours: 'none' (the config's dataset palette), "
                             "'random', 'coco', 'voc', ...")
    parser.add_argument('--backend', choices=DEPLOY_BACKENDS,
                        default='pytorch', help='pytorch (CHECKPOINT a .pth) or the '
                        '.onnx file of tools/deployment/pytorch2onnx.py on ONNX Runtime or '
                        'OpenVINO (CPU); same outputs (docs/deploy.md)')
    parser.add_argument('--precision', choices=DEPLOY_PRECISIONS, default='fp32',
                        help='bf16: OpenVINO\'s inference precision hint (--backend '
                        'openvino only); int8: CHECKPOINT the NAME.int8.onnx of '
                        'pytorch2onnx.py --int8 (onnxruntime or openvino)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, "key=value"')
    args = parser.parse_args(argv)
    if not args.out_dir:
        parser.error('--out-dir must not be empty')
    return args


def main(argv=None):
    from mmresnet.apis.inference import run_inference
    args = parse_args(argv)
    written = run_inference(args.config, args.checkpoint, args.images, out_dir=args.out_dir,
                            score_thr=args.score_thr, device=args.device,
                            batch_size=args.batch_size, cfg_options=args.cfg_options,
                            show=args.show, wait_time=args.wait_time, palette=args.palette,
                            backend=args.backend, precision=args.precision)
    for vis, pred, p in zip(written['vis'], written['preds'], written['predictions']):
        kept = [n for n, s in zip(p['label_names'], p.get('scores', [])) if s >= args.score_thr]
        names = ', '.join(f'{kept.count(n)} {n!r}' for n in dict.fromkeys(kept))
        print(f'{vis}  ({len(kept)} boxes >= {args.score_thr:g} drawn'
              + (f': {names}' if names else '') + f')\n{pred}  '
              f'({len(p.get("scores", []))} predictions)')
    print(f'wrote {len(written["vis"])} drawn images to {osp.join(args.out_dir, "vis")} and '
          f'{len(written["preds"])} prediction files to {osp.join(args.out_dir, "preds")}')
    return written


if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    run_tool(main)
