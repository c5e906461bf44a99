"""The logic behind tools/train.py and tools/test.py: config + flags -> MMEngine Runner.

The flags are mmdet's own (``--work-dir --resume --amp --auto-scale-lr --cfg-options
--launcher``), so a detection user's habits carry over.
"""
import os
import os.path as osp

from mmengine.config import Config, DictAction

from .config_check import check_config_types

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_common_args(parser):
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, "key=value" (e.g. train_cfg.max_iters=100)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (pytorch for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def load_config(args):
    """Read the config, apply ``--cfg-options``, resolve the work dir, set the launcher."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.launcher != 'none':
        use_gloo_without_cuda(cfg)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_config_types(cfg)
    return cfg


def use_gloo_without_cuda(cfg):
    """NCCL needs GPUs: on a CPU-only machine a distributed run uses gloo instead."""
    import torch
    if not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'


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
            dist.init_process_group(backend='gloo')
        if cfg.get('model_wrapper_cfg') is None:
            cfg.model_wrapper_cfg = dict(
                type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters', False))


def build_runner(cfg):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    init_cpu_process_group(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def enable_test_outputs(cfg, out=None, show_dir=None):
    """``--out``: add mmengine's DumpResults metric; ``--show-dir``: turn on the
    visualization hook (mmdet's DetVisualizationHook) to draw predictions."""
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl or .pickle file, got {out!r}')
        evaluator = cfg.test_evaluator
        metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = metrics + [dict(type='DumpResults', out_file_path=out)]
    if show_dir is not None:
        hooks = cfg.get('default_hooks', {})
        if 'visualization' not in hooks:
            raise RuntimeError('--show-dir needs a "visualization" hook in default_hooks '
                               '(a detection config has one)')
        hooks['visualization']['draw'] = True
        hooks['visualization']['test_out_dir'] = show_dir


def apply_test_protocol(cfg, protocol):
    """``--protocol``: the classifier's test protocol (Section 3.4) and its pipeline.

    'single' (one view), 'ten_crop' (4 corners + centre and flips, averaged) or
    'multi_scale' (fully convolutional, averaged over ``model.test_cfg.scales``; batch 1,
    since images keep their own size). The dataset config supplies ``test_pipelines``.
    """
    from ..models.classifiers import PROTOCOLS
    if protocol not in PROTOCOLS:
        raise ValueError(f'unknown protocol {protocol!r}; allowed values: {PROTOCOLS}')
    pipelines = cfg.get('test_pipelines', {})
    if protocol not in pipelines:
        raise ValueError(f'--protocol {protocol} needs test_pipelines[{protocol!r}] in the '
                         f'config; it has {sorted(pipelines)}')
    cfg.model.setdefault('test_cfg', {})['protocol'] = protocol
    cfg.test_dataloader.dataset.pipeline = pipelines[protocol]
    if protocol == 'multi_scale':
        cfg.test_dataloader.batch_size = 1
