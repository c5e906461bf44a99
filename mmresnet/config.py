"""The one way in for a config and the one model builder, for every tool and module.

:func:`prepare_config` turns a config file (or object) into the config a run uses:
training and testing (``tools/train.py``, ``tools/test.py``, the demo), inference
(``tools/infer.py``), export (``tools/deployment/pytorch2onnx.py``), the analyses and the
benchmarks. :func:`build_model` builds a config's model with its weights and its scope;
:func:`use_scope` is the one place that sets MMEngine's default scope.

What each ``mode`` adds to reading the file (:func:`mmresnet.resources.read_config`: found
in the clone or the installed package, ``data_root`` localized) and merging the options
(a dict, ``key.path: value``, merged as given: nothing is turned back into text and parsed
again, so ``'potted plant, indoor'`` stays one string):

========================  ===============================================================
``train``, ``test``       the launcher (gloo without CUDA, the collective timeout), the
                          work dir (given, the config's, or ``./work_dirs/NAME``), the
                          visualizer's ``vis_backends``, ``compile`` where it can run
``infer``                 a ``test_dataloader`` is needed; no logging backends; one view
``export``, ``analysis``, one view: a config dumped by a test-time augmentation run
``benchmark``             turned back into its single-view form (:func:`single_view`)
``plan``                  nothing more (the demo's planner, which points the config at
                          the data before it merges the user's options and writes the
                          file that the stages then prepare for ``train`` and ``test``)
========================  ===============================================================

Every mode needs a ``model`` and checks the types of the keys a run reads
(:func:`check_config_types`). Environment variables are the launcher's: ``torchrun``
(``tools/dist_train.sh``) sets ``LOCAL_RANK`` for each worker, which MMEngine reads when it
opens the process group and wraps the model; Slurm's and MPI's ranks MMEngine reads itself.
"""
import copy
import os.path as osp
from numbers import Real

from .engine.elastic import collective_timeout
from .engine.machine import decide_compile
from .resources import merge_cfg_options, read_config
from .utils import check_choice
from .utils.errors import ConfigError

MODES = ('train', 'test', 'infer', 'export', 'analysis', 'benchmark', 'plan')
RUN_MODES = ('train', 'test')  # what a Runner runs
#: Modes that run the bare model, one view of each image (:func:`single_view`).
SINGLE_VIEW_MODES = ('infer', 'export', 'analysis', 'benchmark')
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def prepare_config(config, mode, work_dir=None, cfg_options=None, launcher='none'):
    """The config of a ``mode`` run (see the module's table).

    Args:
        config (str | Config): Config file (a relative path missing here is taken from
            the clone or the installed package) or a config object (copied, not changed).
        mode (str): One of :data:`MODES`.
        work_dir (str, optional): Where logs and checkpoints go.
        cfg_options (dict, optional): ``key.path: value`` overrides, merged as given.
        launcher (str): One of :data:`LAUNCHERS`; other than 'none' for train / test only.
    """
    check_choice('mode', mode, MODES)
    check_choice('launcher', launcher, LAUNCHERS)
    if launcher != 'none' and mode not in RUN_MODES:
        raise ValueError(f'launcher {launcher!r} starts {" and ".join(RUN_MODES)} runs; '
                         f'{mode} runs in this process (launcher \'none\')')
    cfg = read_config(config) if isinstance(config, str) else copy.deepcopy(config)
    name = cfg.filename or 'the config'
    if mode in RUN_MODES:
        cfg.launcher = launcher
        if launcher != 'none':
            use_gloo_without_cuda(cfg)
    if cfg_options:
        merge_cfg_options(cfg, cfg_options)
    if 'model' not in cfg:
        raise ConfigError(f"{name} has no 'model': {mode} needs a model config (a "
                          'classifier or detector)')
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif mode in RUN_MODES and cfg.get('work_dir', None) is None:
        stem = osp.splitext(osp.basename(cfg.filename or 'config'))[0]
        cfg.work_dir = osp.join('./work_dirs', stem)
    check_config_types(cfg)
    if mode in SINGLE_VIEW_MODES:
        changed = single_view(cfg)
        if changed:
            from mmengine.logging import print_log
            print_log(f'{name} is a test-time augmentation config; {mode} runs one view '
                      f'of each image: {"; ".join(changed)}', logger='current')
    if mode in RUN_MODES:
        if launcher != 'none':
            collective_timeout(cfg)  # env_cfg.dist_cfg.timeout: checked, default set
        sync_vis_backends(cfg)
        decide_compile(cfg)
    elif mode == 'infer':
        if 'test_dataloader' not in cfg:
            raise ConfigError(f"{name} has no 'test_dataloader': inference needs a "
                              'detection config (model and test_dataloader with its pipeline)')
        if isinstance(cfg.get('visualizer'), dict):
            # the inferencer writes the drawn images itself (OUT_DIR/vis); logging
            # backends have no run directory here (MMEngine would warn about each)
            cfg.visualizer.vis_backends = []
    return cfg


def innermost_dataset(dataset):
    """The dataset config that dataset wrappers (``RepeatDataset``, ...) hold, the one a
    test-time augmentation run gives its pipeline (:func:`single_view` and ``--tta``)."""
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def _is_identity(transform):
    """A transform that leaves the image as it is: a flip that never flips."""
    return transform.get('type') == 'RandomFlip' and transform.get('prob') == 0


def single_view(cfg):
    """The single-view form of a config written by a test-time augmentation run, in place.

    mmdet's test run with ``--tta`` (and ours) dumps its config with ``model`` = the
    ``tta_model`` (e.g. ``DetTTAModel``) wrapping the detector and the test pipeline's
    transforms inside a ``TestTimeAug``. The model becomes the wrapped ``module``; each
    ``TestTimeAug`` step of the test pipeline becomes, for each of its choices, the one
    that leaves the image as it is: its only transform, or a ``RandomFlip`` of
    probability 0. A step with views of another kind (several scales) is refused, naming
    them. Returns what changed (empty: the config was single-view already).
    """
    changed = []
    model = cfg.model
    if str(model.get('type', '')).endswith('TTAModel') and 'module' in model:
        cfg.model = model['module']
        changed.append(f"model: the {model['type']}'s module ({cfg.model.get('type')})")
    dataset = innermost_dataset((cfg.get('test_dataloader') or {}).get('dataset') or {})
    pipeline = dataset.get('pipeline') or []
    if not any(isinstance(t, dict) and t.get('type') == 'TestTimeAug' for t in pipeline):
        return changed
    single = []
    for step in pipeline:
        if not (isinstance(step, dict) and step.get('type') == 'TestTimeAug'):
            single.append(step)
            continue
        for choices in step['transforms']:
            kept = (choices if len(choices) == 1 else
                    [t for t in choices if _is_identity(t)][:1])
            if not kept:
                raise ConfigError(
                    f'{cfg.filename}: the test pipeline is a TestTimeAug with '
                    f'{len(choices)} views at one step '
                    f'({", ".join(str(dict(t)) for t in choices)}), none of which leaves '
                    'the image as it is; one view is run here: give the config the model '
                    'was trained with (its test pipeline has one view)')
            single.extend(kept)
    dataset['pipeline'] = single
    changed.append('test pipeline: the TestTimeAug\'s view that leaves the image as it is')
    return changed


# -- scope and model ---------------------------------------------------------------------
def use_scope(cfg=None):
    """Make the config's ``default_scope`` (else 'mmdet') MMEngine's current scope, as a
    Runner does, for what builds from registries outside one; returns its name."""
    from mmengine.registry import init_default_scope
    scope = (cfg.get('default_scope', None) if cfg is not None else None) or 'mmdet'
    init_default_scope(scope)
    return scope


def check_checkpoint(checkpoint):
    """``checkpoint`` if it is a URL (``scheme://``) or an existing file."""
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    return checkpoint


def build_model(cfg, checkpoint=None, seed=None):
    """The config's model in eval mode on the CPU, in the config's scope.

    Its weights: ``checkpoint``'s (MMEngine's ``load_checkpoint``, i.e. the project's safe
    loader, strict; ``model.dataset_meta`` from its meta); else with ``seed``, random ones
    seeded by it (``torch.manual_seed``), the backbone's ``init_cfg`` dropped and
    ``init_weights`` not run: nothing is loaded, which is what the speed probe, the
    benchmarks and the complexity count need; else the config's own init (``init_cfg``; a
    Pretrained file it names must exist).
    """
    import warnings

    import torch
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint

    import mmresnet  # noqa: F401  (registrations, safe loader)
    from .models.backbones import FrozenBNFromScratchWarning
    if checkpoint is not None:
        check_checkpoint(checkpoint)
    use_scope(cfg)
    model_cfg = copy.deepcopy(cfg.model)
    if checkpoint is None and seed is not None:
        model_cfg.get('backbone', {}).pop('init_cfg', None)
        torch.manual_seed(seed)
        with warnings.catch_warnings():  # random weights are what is timed or counted
            warnings.simplefilter('ignore', FrozenBNFromScratchWarning)
            return MODELS.build(model_cfg).eval()
    model = MODELS.build(model_cfg)
    if checkpoint is None:
        try:
            model.init_weights()
        except (FileNotFoundError, OSError) as exc:
            raise FileNotFoundError(
                f'the config\'s init needs a file that is not here ({exc}); give a '
                'CHECKPOINT, or --cfg-options to point init_cfg elsewhere') from exc
        model.dataset_meta = None
    else:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
        model.dataset_meta = (ckpt.get('meta') or {}).get('dataset_meta')
    return model.eval()


def use_gloo_without_cuda(cfg):
    """NCCL needs GPUs: on a CPU-only machine a distributed run uses gloo instead."""
    import torch
    if not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'


# -- types of the keys every run reads ---------------------------------------------------
# MMEngine reads these deep inside the Runner, where a wrong type surfaces as a bare
# traceback ('<' not supported between 'str' and 'int') minutes into a run. Checked here,
# the error names the key, the expected type and the value found.
# key path -> (allowed types, description). Only keys that exist are checked.
CHECKED_KEYS = {
    'train_cfg.max_iters': ((int, ), 'a positive int'),
    'train_cfg.max_epochs': ((int, ), 'a positive int'),
    'train_cfg.val_interval': ((int, ), 'a positive int'),
    'train_dataloader.batch_size': ((int, ), 'a positive int'),
    'val_dataloader.batch_size': ((int, ), 'a positive int'),
    'test_dataloader.batch_size': ((int, ), 'a positive int'),
    'train_dataloader.num_workers': ((int, ), 'an int >= 0'),
    'optim_wrapper.optimizer.lr': ((Real, ), 'a positive number'),
    'optim_wrapper.optimizer.momentum': ((Real, ), 'a number in [0, 1)'),
    'optim_wrapper.optimizer.weight_decay': ((Real, ), 'a number >= 0'),
    'default_hooks.checkpoint.interval': ((int, ), 'an int'),
    'randomness.seed': ((int, type(None)), 'an int or None'),
    'work_dir': ((str, ), 'a path string'),
}

_POSITIVE = {'train_cfg.max_iters', 'train_cfg.max_epochs', 'train_cfg.val_interval',
             'train_dataloader.batch_size', 'val_dataloader.batch_size',
             'test_dataloader.batch_size', 'optim_wrapper.optimizer.lr'}


def _lookup(cfg, path):
    node = cfg
    for part in path.split('.'):
        if not hasattr(node, 'get') or part not in node:
            return False, None
        node = node[part]
    return True, node


def check_config_types(cfg):
    """Raise :class:`ConfigError` naming the key for values of the wrong type."""
    for path, (types, desc) in CHECKED_KEYS.items():
        found, val = _lookup(cfg, path)
        if not found:
            continue
        if isinstance(val, bool) or not isinstance(val, types):
            raise ConfigError(f'config key {path!r} must be {desc}, got '
                              f'{type(val).__name__} {val!r}')
        if path in _POSITIVE and val <= 0:
            raise ConfigError(f'config key {path!r} must be {desc}, got {val!r}')


# -- the visualizer's backends -----------------------------------------------------------
# What configs/_base_/default_runtime.py sets (``vis_backends`` and the visualizer's copy).
DEFAULT_VIS_BACKENDS = [dict(type='LocalVisBackend')]


def sync_vis_backends(cfg):
    """Make the visualizer read the config's ``vis_backends`` variable.

    A config file's variables are resolved file by file, so a config (or ``--cfg-options
    vis_backends=...``) that overrides ``vis_backends`` leaves the runtime's
    ``visualizer.vis_backends`` as it was. Here the one that differs from the runtime's
    default wins: an overridden ``vis_backends`` goes into the visualizer, and a visualizer
    given its own backends (MMDetection's ``visualizer = dict(vis_backends=[...])``) is
    kept and copied back into ``vis_backends``. Different non-default values in both are
    an error. ``TensorboardVisBackend`` without the tensorboard package is an error naming
    the install command (MMEngine would fail later, when the Runner logs the config).
    """
    vis = cfg.get('visualizer')
    top = cfg.get('vis_backends')
    if top is not None:
        top = cfg.vis_backends = _backend_cfgs(top, 'vis_backends')
    if isinstance(vis, dict) and vis.get('vis_backends') is not None:
        vis['vis_backends'] = _backend_cfgs(vis['vis_backends'], 'visualizer.vis_backends')
    if isinstance(vis, dict) and top is not None:
        inner = vis.get('vis_backends')
        if inner is None or inner == DEFAULT_VIS_BACKENDS:
            vis['vis_backends'] = top
        elif top == DEFAULT_VIS_BACKENDS:
            cfg.vis_backends = inner
        elif inner != top:
            raise ValueError(
                f'vis_backends = {top!r} and visualizer.vis_backends = {inner!r} disagree: '
                'set one of them (the visualizer reads vis_backends)')
    backends = (vis.get('vis_backends') or []) if isinstance(vis, dict) else []
    if any(str(b.get('type', '')).split('.')[-1] == 'TensorboardVisBackend' for b in backends
           if isinstance(b, dict)):
        import importlib.util
        if importlib.util.find_spec('tensorboard') is None:
            raise ImportError('vis_backends has TensorboardVisBackend, which needs the '
                              'tensorboard package: pip install -e ".[tensorboard]" (or pip '
                              'install tensorboard)')
    return cfg


def _backend_cfgs(backends, key):
    """A list of backend configs from a config's list, whose entries ``--cfg-options`` may
    give as strings (its parser makes ``vis_backends="[dict(type='A'),B]"`` a list of
    strings): a type name ``B``, ``dict(type='A', ...)`` or ``{'type': 'A', ...}``, literal
    values only (nothing is evaluated)."""
    import ast
    if not isinstance(backends, (list, tuple)):
        backends = [backends]
    out = []
    for entry in backends:
        if isinstance(entry, str):
            text = entry.strip()
            try:
                node = ast.parse(text, mode='eval').body
                if isinstance(node, ast.Name):
                    entry = dict(type=node.id)
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                      and node.func.id == 'dict' and not node.args):
                    entry = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
                else:
                    entry = ast.literal_eval(node)
            except (SyntaxError, ValueError, TypeError):
                pass
        if not isinstance(entry, dict) or 'type' not in entry:
            raise ValueError(f'{key}: each entry must be a backend config such as '
                             f"dict(type='LocalVisBackend'), got {entry!r}")
        out.append(entry)
    return out
