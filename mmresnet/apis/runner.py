"""The logic behind tools/train.py and tools/test.py: config + flags -> MMEngine Runner.

The flags are mmdet's own (``--work-dir --resume --amp --auto-scale-lr --cfg-options
--launcher``), so a detection user's habits carry over. The config of every run is
prepared by :func:`mmresnet.config.prepare_config`: the tools through :func:`tool_config`,
the demo through :func:`training_config` and :func:`testing_config` (options as a dict,
merged as given).
"""
import argparse
import ast
import os

from mmengine.config import DictAction as _MMEngineDictAction

from ..config import LAUNCHERS, innermost_dataset, prepare_config
from ..engine.elastic import collective_timeout, decide_elastic_start, is_elastic
from ..engine.machine import describe_machine
from ..utils import TEST_PROTOCOLS, check_choice
from .cli import add_debug_arg


class DictAction(_MMEngineDictAction):
    """MMEngine's ``--cfg-options`` action, but spaces are kept: a value written as a
    Python literal is read as one (``"metainfo.classes=('potted plant', 'tree')"`` gives
    the two names as written, ``"note='potted plant, indoor'"`` one string), and a plain
    value without a comma is taken as written (``"note=potted plant"``); MMEngine's parser
    removes every space ('pottedplant'). Values with commas (``a=1,2``, ``a=[x,y]`` with
    bare words) are lists, and numbers, as MMEngine parses them."""

    @staticmethod
    def _parse_iterable(val):
        text = val.strip()
        if text[:1] in ('(', '[', '"', "'"):
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                pass
        elif ',' not in text:
            return _MMEngineDictAction._parse_int_float_bool(text)
        return _MMEngineDictAction._parse_iterable(val)

    def __call__(self, parser, namespace, values, option_string=None):
        bad = [kv for kv in (values or []) if '=' not in kv]
        if bad:
            parser.error(f'{option_string}: each value is key=value (e.g. '
                         f'train_cfg.max_iters=100), got {bad}')
        super().__call__(parser, namespace, values, option_string)


def add_common_args(parser):
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, "key=value" (e.g. train_cfg.max_iters=100)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (pytorch for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='accepted for torch.distributed.launch; the rank is read from '
                        'LOCAL_RANK, which the launcher sets')
    return add_debug_arg(parser)


def training_parser():
    """``tools/train.py``'s command line."""
    parser = add_common_args(argparse.ArgumentParser(description='Train a model'))
    parser.add_argument('--amp', action='store_true', help='mixed precision (float16)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by total batch / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or with no value from the latest checkpoint of work-dir')
    return parser


def add_show_args(parser, show_help):
    """``--show`` and ``--wait-time``, as mmdet's tools spell them."""
    parser.add_argument('--show', action='store_true', help=show_help)
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds each image is shown with --show (default: 2)')
    return parser


def testing_parser():
    """``tools/test.py``'s command line."""
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    add_common_args(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump raw predictions to this .pkl file')
    parser.add_argument('--show-dir', help='write images with predictions drawn, under '
                        'work_dir/timestamp/SHOW_DIR (detectors)')
    add_show_args(parser, 'show each image with its predictions in a window (detectors)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: the config's tta_model and "
                        'tta_pipeline (detectors, as mmdet)')
    parser.add_argument('--protocol', choices=TEST_PROTOCOLS,
                        help='classification test protocol (default: the config\'s)')
    return parser


def training_config(config, work_dir, cfg_options=None):
    """The config that ``tools/train.py CONFIG --work-dir WORK_DIR --cfg-options k=v ...``
    trains (``cfg_options``: a dict, merged as given)."""
    return prepare_config(config, 'train', work_dir, cfg_options)


def testing_config(config, checkpoint, work_dir, cfg_options=None):
    """The config that ``tools/test.py CONFIG CHECKPOINT --work-dir WORK_DIR --cfg-options
    k=v ...`` tests, before its output flags (``cfg_options``: a dict, merged as given)."""
    cfg = prepare_config(config, 'test', work_dir, cfg_options)
    cfg.load_from = checkpoint
    return cfg


def tool_config(args, mode):
    """The config of ``tools/train.py`` (``mode`` 'train') or ``tools/test.py`` ('test')
    ``args``: their config, ``--work-dir``, ``--cfg-options`` and ``--launcher``."""
    return prepare_config(args.config, mode, args.work_dir, args.cfg_options, args.launcher)


def enable_amp(cfg):
    """``--amp``: mmengine's AmpOptimWrapper (dynamic loss scale, float16 by default:
    mmcv's RoIAlign has no bfloat16 kernel)."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        return
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper or AmpOptimWrapper, '
                         f'got {wrapper!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_auto_scale_lr(cfg):
    if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
        raise RuntimeError('--auto-scale-lr needs "auto_scale_lr = dict(enable=..., '
                           'base_batch_size=N)" in the config')
    cfg.auto_scale_lr.enable = True


def init_cpu_process_group(cfg):
    """Open the gloo process group of a torchrun (``--launcher pytorch``) job on a machine
    without CUDA. MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` first, which a
    CPU build of torch lacks; the Runner skips ``init_dist`` when a group already exists.
    Its DDP wrapper passes ``device_ids=[LOCAL_RANK]`` (GPU only) unless the wrapper config
    sets them: ``device_ids=None`` is DDP's CPU form."""
    import torch
    import torch.distributed as dist
    if (cfg.get('launcher', 'none') == 'pytorch' and not torch.cuda.is_available()
            and dist.is_available()):
        if not dist.is_initialized():
            dist.init_process_group(backend='gloo', timeout=collective_timeout(cfg))
        if cfg.get('model_wrapper_cfg') is None:
            cfg.model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters', False))


def build_runner(cfg):
    """The MMEngine Runner of ``cfg``; its log opens with what this machine decides
    (device, bf16, threads, compile: :func:`mmresnet.engine.machine.describe_machine`) and,
    in an elastic run (tools/dist_train.sh), which start this is and what it resumes from
    (:func:`mmresnet.engine.elastic.decide_elastic_start`)."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    start = None
    if is_elastic():
        start = decide_elastic_start(cfg)
        # the world size and data position in every checkpoint, adapted at each resume
        cfg.setdefault('default_hooks', {}).setdefault('elastic', dict(type='ElasticHook'))
    if cfg.get('launcher', 'none') == 'pytorch' and 'LOCAL_RANK' not in os.environ:
        raise RuntimeError('--launcher pytorch runs in the workers of torchrun (bash '
                           'tools/dist_train.sh CONFIG N), which sets LOCAL_RANK for MMEngine; '
                           'it is not set in this process')
    init_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.logger.info('machine (mmresnet.engine.machine):\n'
                       + '\n'.join(describe_machine()))
    if start:
        runner.logger.info(start)
    return runner


def enable_test_outputs(cfg, out=None, show_dir=None, show=False, wait_time=2):
    """``--out``: add mmengine's DumpResults metric; ``--show-dir`` / ``--show``: turn on
    the visualization hook (mmdet's DetVisualizationHook) to draw predictions into
    ``work_dir/timestamp/SHOW_DIR`` / show them in a window for ``wait_time`` seconds each
    (``draw=True, show=True, wait_time``, as mmdet's tools/test.py). Returns ``cfg``."""
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl or .pickle file, got {out!r}')
        evaluator = cfg.test_evaluator
        metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = metrics + [dict(type='DumpResults', out_file_path=out)]
    if show_dir is not None or show:
        hooks = cfg.get('default_hooks', {})
        if 'visualization' not in hooks:
            flags = ' and '.join(f for f, on in (('--show', show),
                                                  ('--show-dir', show_dir is not None)) if on)
            raise RuntimeError(f'{flags} needs a "visualization" hook in default_hooks (a '
                               'detection config has one: DetVisualizationHook); this '
                               'config has none (a classification config draws nothing)')
        hooks['visualization']['draw'] = True
        if show:
            hooks['visualization']['show'] = True
            hooks['visualization']['wait_time'] = wait_time
        if show_dir is not None:
            hooks['visualization']['test_out_dir'] = show_dir
    return cfg


def enable_tta(cfg):
    """``--tta``: mmdet's test-time augmentation, as its tools/test.py does it: the config's
    ``tta_model`` (e.g. ``DetTTAModel``, which maps each view's boxes back and merges them
    with NMS) wraps the model and ``tta_pipeline`` (a ``TestTimeAug``) replaces the test
    pipeline. Returns ``cfg``."""
    from mmengine.config import ConfigDict
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing:
        raise ValueError(f'--tta needs {" and ".join(missing)} in the config (mmdet\'s '
                         "layout: tta_model=dict(type='DetTTAModel', tta_cfg=...), "
                         "tta_pipeline=[..., dict(type='TestTimeAug', transforms=...)]); "
                         f'{cfg.filename or "the config"} has no {missing[0]}')
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    innermost_dataset(cfg.test_dataloader.dataset).pipeline = cfg.tta_pipeline
    return cfg


def prepare_test_config(args):
    """The config of the test run that ``tools/test.py``'s ``args`` ask for (nothing is
    built)."""
    cfg = tool_config(args, 'test')
    cfg.load_from = args.checkpoint
    enable_test_outputs(cfg, out=args.out, show_dir=args.show_dir, show=args.show,
                        wait_time=args.wait_time)
    if args.protocol is not None:
        apply_test_protocol(cfg, args.protocol)
    if args.tta:
        enable_tta(cfg)
    return cfg


def apply_test_protocol(cfg, protocol):
    """``--protocol``: the classifier's test protocol (Section 3.4) and its pipeline.

    'single' (one view), 'ten_crop' (4 corners + centre and flips, averaged) or
    'multi_scale' (fully convolutional, averaged over ``model.test_cfg.scales``; batch 1,
    since images keep their own size). The dataset config supplies ``test_pipelines``.
    """
    check_choice('protocol', protocol, TEST_PROTOCOLS)
    pipelines = cfg.get('test_pipelines', {})
    if protocol not in pipelines:
        raise ValueError(f'--protocol {protocol} needs test_pipelines[{protocol!r}] in the '
                         f'config; it has {sorted(pipelines)}')
    cfg.model.setdefault('test_cfg', {})['protocol'] = protocol
    cfg.test_dataloader.dataset.pipeline = pipelines[protocol]
    if protocol == 'multi_scale':
        cfg.test_dataloader.batch_size = 1
