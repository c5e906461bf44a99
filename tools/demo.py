"""The main job on a CPU: train a PaperResNet Faster R-CNN on the embedded photographs,
evaluate its box mAP, and draw its predictions.

    python tools/demo.py [--config configs/demo/faster-rcnn_paper-r18-c4_demo.py]
                         [--work-dir work_dirs/demo] [--cfg-options k=v ...]

Training and testing are tools/train.py's and tools/test.py's own steps (same flags, same
config handling), run one after the other. A smoke run of the whole pipeline (a few minutes
from scratch on 29 aerial tiles), not a paper number.
"""
import argparse
import importlib.util
import os.path as osp
import sys
import time

TOOLS = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(TOOLS))

from mmengine.config import DictAction  # noqa: E402

from mmresnet.engine.launch import (build_runner, enable_test_outputs,  # noqa: E402
                                    load_config)

DEMO_CONFIG = 'configs/demo/faster-rcnn_paper-r18-c4_demo.py'


def _tool(name):
    """tools/<name>.py as a module (by path: ``test`` would be Python's own package)."""
    spec = importlib.util.spec_from_file_location(f'mmresnet_tool_{name}',
                                                  osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG, help='detection config')
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='logs, checkpoint and drawn predictions go here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys for both steps, "key=value"')
    return parser.parse_args(argv)


def _options(cfg_options):
    return ['--cfg-options'] + [f'{k}={v}' for k, v in cfg_options.items()] \
        if cfg_options else []


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    start = time.time()

    # 1. tools/train.py CONFIG --work-dir WORK_DIR
    cfg = load_config(_tool('train').parse_args(
        [args.config, '--work-dir', work_dir] + _options(args.cfg_options)))
    # Evaluated once, in step 2, where the predictions are also drawn.
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    runner = build_runner(cfg)
    runner.train()
    with open(osp.join(work_dir, 'last_checkpoint')) as f:  # written by the checkpoint hook
        checkpoint = f.read().strip()
    train_time = time.time() - start

    # 2. tools/test.py CONFIG CHECKPOINT --work-dir WORK_DIR --show-dir WORK_DIR/predictions
    show_dir = osp.join(work_dir, 'predictions')
    cfg = load_config(_tool('test').parse_args(
        [args.config, checkpoint, '--work-dir', work_dir] + _options(args.cfg_options)))
    cfg.load_from = checkpoint
    enable_test_outputs(cfg, show_dir=show_dir)  # absolute: not under the timestamp dir
    metrics = build_runner(cfg).test()
    total = time.time() - start

    print('\n=== PaperResNet Faster R-CNN demo (a smoke run, not a paper number) ===')
    print(f'config       {args.config}')
    print(f'box mAP      {metrics.get("coco/bbox_mAP", float("nan")):.3f} (COCO mAP@[.5:.95])'
          f'   mAP@.5 {metrics.get("coco/bbox_mAP_50", float("nan")):.3f}')
    print(f'time         train {train_time / 60:.1f} min, total {total / 60:.1f} min')
    print(f'checkpoint   {checkpoint}')
    print(f'predictions  {show_dir}/ (validation images with predicted boxes drawn)')
    print(f'logs         {work_dir}/')
    return metrics


if __name__ == '__main__':
    main()
