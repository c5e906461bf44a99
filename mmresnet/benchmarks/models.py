"""Speed of PaperResNet against references on the same work, in one process.

Classifier: PaperResNet-N vs mmdet's ``ResNet`` (and torchvision's ``resnetN`` where
installed), each as the backbone of the same :class:`PaperResNetClassifier` (global pool +
fc), so only the backbone differs. Detector: a Faster R-CNN config of ours vs mmdet's stock
R-101 config, both built from their config files.

Measured: images/s of a training step (``model.train_step`` with MMEngine's optim wrapper:
forward, loss, backward, SGD update) and of inference, on synthetic data already on the
device (the model step only, no data loading). Every model gets ``warmup`` untimed steps,
then ``repeats`` timed rounds of ``iters`` steps; the rounds of all models are interleaved
(every other round in reverse order), so a load change on a shared machine hits all of
them; the median round is reported (:mod:`.harness`). The seeded models, the random
batches and the steps are the demo's speed probe's (:mod:`mmresnet.planning.probe`).
Speed is printed, never asserted.
"""
import copy
import os.path as osp
import sys

import torch
import torch.nn as nn

from ..config import build_model, prepare_config
from ..engine.speed_switches import apply_switches, check_dtype
from ..planning.probe import make_infer_step, make_train_step, random_detection_batch
from ..utils import check_choices, check_counts
from .harness import (CLOCKS, BenchmarkSkipped, Entry, environment, resolve_device,
                      time_entries, write_report)

MODES = ('train', 'infer')
CLS_REFERENCES = ('mmdet', 'torchvision')
STOCK_DETECTOR = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py'


# -- classifier --------------------------------------------------------------------------
class _TorchvisionTrunk(nn.Module):
    """torchvision's ResNet without avgpool/fc, returning ``(C5,)`` like a backbone."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.feat_dim = net.fc.in_features
        del net.fc, net.avgpool

    def forward(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        return (n.layer4(n.layer3(n.layer2(n.layer1(x)))), )


def _classifier(backbone, num_classes):
    from ..models.classifiers import PaperResNetClassifier
    return PaperResNetClassifier(backbone, num_classes)


# --dcn: mmdet's deformable 3x3 convs in conv3_x..conv5_x (its dconv-c3-c5 configs).
DCN_TYPES = ('DCN', 'DCNv2')
DCN_STAGES = (False, True, True, True)


def classifier_models(depth, style, num_classes, references, arch='imagenet', dcn=None):
    """``[(name, build_fn, is_ours)]``: ours and the references that exist here. ``dcn``
    ('DCN' | 'DCNv2'): the same deformable convs in ours and mmdet's."""
    from ..models.backbones import PAPER_CHOICES
    if arch == 'cifar':  # Section 4.2 nets (option A); no reference library builds them
        if references:
            print(f'no reference has the CIFAR 6n+2 nets: timing PaperResNet alone '
                  f'(references {list(references)} skipped)')
        return [(f'PaperResNet-{depth} (cifar)', lambda: _classifier(
            dict(type='PaperResNet', depth=depth, arch='cifar', **PAPER_CHOICES),
            num_classes), True)]
    if arch != 'imagenet':
        raise ValueError(f'unknown arch {arch!r}; allowed values: imagenet, cifar')
    common = dict(depth=depth, style=style, out_indices=(3, ), norm_eval=False,
                  frozen_stages=-1)
    if dcn is not None:
        check_choices('dcn', [dcn], DCN_TYPES)
        common.update(dcn=dict(type=dcn, deform_groups=1), stage_with_dcn=DCN_STAGES)
        references = [r for r in references if r == 'mmdet']  # torchvision has no DCN
    models = [(f'PaperResNet-{depth}', lambda: _classifier(
        dict(type='PaperResNet', shortcut='B', zero_init_residual=False, **common),
        num_classes), True)]
    for ref in references:
        if ref not in CLS_REFERENCES:
            raise ValueError(f'unknown reference {ref!r}; allowed values: {CLS_REFERENCES}')
        if ref == 'mmdet':
            models.append((f'mmdet ResNet-{depth}', lambda: _classifier(
                dict(type='mmdet.ResNet', **common), num_classes), False))
        elif ref == 'torchvision':
            try:
                import torchvision
            except ImportError:
                print('torchvision is not installed: skipping the torchvision reference')
                continue
            if style != 'pytorch':
                print(f'torchvision has only style="pytorch": skipping it for style={style!r}')
                continue
            models.append((f'torchvision resnet{depth}', lambda: _classifier(
                _TorchvisionTrunk(getattr(torchvision.models, f'resnet{depth}')()),
                num_classes), False))
    return models


def classifier_entries(depth=50, style='pytorch', batch=2, size=64, num_classes=1000,
                       device='cpu', dtype='fp32', channels_last=False, compile_cfg=None,
                       fold_bn=True, modes=MODES, references=CLS_REFERENCES,
                       arch='imagenet', dcn=None):
    from mmengine.structures import BaseDataElement
    x = torch.rand(batch, 3, size, size, device=device) * 255
    labels = torch.randint(0, num_classes, (batch, ), device=device)
    data = dict(inputs=x, data_samples=[BaseDataElement(gt_label=label) for label in labels])
    entries = []
    for name, build, ours in classifier_models(depth, style, num_classes, references,
                                               arch, dcn):
        for mode in modes:
            for label, model, switches in _variants(name, build, ours, mode, device,
                                                    channels_last, fold_bn):
                if mode == 'train':
                    step = make_train_step(model, data, dtype, compile_cfg)
                else:
                    inputs = model.data_preprocessor(data)['inputs']
                    step = make_infer_step(
                        lambda m=model, x=inputs: m(x, mode='tensor'), dtype, device,
                        compile_cfg, model)
                entries.append(Entry(label, mode, step, batch, switches,
                                     type(getattr(model, 'backbone', model)).__name__))
    return entries


def _variants(name, build, ours, mode, device, channels_last, fold_bn):
    """``(label, model, switches)`` to time: every model with the generic switches, and
    ours once more with BN folding, so that the architecture and the switch are both
    visible. A folding variant that folds nothing (all BN train) is left out.
    ``channels_last='both'``: ours is timed in NCHW and, as ``NAME +channels_last``, in
    NHWC, in the same rounds (the references in NCHW)."""
    layouts = [(False, ''), (True, ' +channels_last')] if channels_last == 'both' and ours \
        else [(channels_last is True, '')]
    folds = [(False, '')] + ([(True, ' +fold')] if ours and fold_bn else [])
    for fold, fold_tag in folds:
        for last, last_tag in layouts:
            model = build().to(device)
            switches = apply_switches(model, mode, last, fold)
            if fold and switches[0].endswith(' x0'):
                continue
            yield name + fold_tag + last_tag, model, switches


# -- detector ----------------------------------------------------------------------------
def load_detector_config(path, cfg_options=None):
    if path.startswith('mmdet::'):  # a config shipped inside the installed mmdet
        import mmdet
        path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', path[7:])
    try:
        return prepare_config(path, 'benchmark', cfg_options=cfg_options)
    except FileNotFoundError as exc:
        raise BenchmarkSkipped(f'detector {exc}') from exc


def build_detector(cfg, weights=None, seed=0, log=print):
    """The detector of ``cfg`` with seeded random weights (nothing is downloaded).

    At inference random weights decide how many proposals and boxes survive NMS, i.e. how
    much work the heads do. ``weights`` (the reference model's state dict) are loaded when
    they have the same parameter and buffer names and shapes (PaperResNet keeps mmdet
    ResNet's; our C4 head keeps mmdet's ResLayer's): with the same architecture and
    preprocessing (the backbone-swapped comparison) both then do exactly the same work.
    """
    model = build_model(cfg, seed=seed)
    if weights is not None:
        own = model.state_dict()
        if weights.keys() == own.keys() and all(weights[k].shape == own[k].shape
                                                for k in own):
            model.load_state_dict(weights)
            log('same weights as the reference (same parameter layout)')
        else:
            log('the reference has another layout: random weights differ, and so may the '
                'number of proposals/boxes at inference (training work is fixed by the '
                'samplers)')
    return model


def detector_entries(config=None, ref_config=STOCK_DETECTOR, cfg_options=None, batch=1,
                     height=128, width=128, device='cpu', dtype='fp32', channels_last=False,
                     compile_cfg=None, fold_bn=True, modes=MODES, log=print):
    """Ours (``config``) and the stock reference (``ref_config``); a missing config is
    skipped with a message. ``config=None`` means the stock config with its backbone
    replaced by PaperResNet of the same depth and options (the FPN comparison)."""
    pairs = []
    try:
        if ref_config in (None, 'none'):
            raise BenchmarkSkipped('none asked for')
        ref_cfg = load_detector_config(ref_config, cfg_options)
        pairs.append((f'stock mmdet ({osp.basename(ref_config)})', ref_cfg, False))
    except BenchmarkSkipped as exc:
        log(f'skipping the reference detector: {exc}')
        ref_cfg = None
    if config is None:
        if ref_cfg is None:
            raise BenchmarkSkipped('neither --config nor the reference config is available')
        ours_cfg = copy.deepcopy(ref_cfg)  # Config.copy() shares the nested dicts
        ours_cfg.model.backbone = dict(ref_cfg.model.backbone, type='PaperResNet',
                                       shortcut='B')
        for key in ('init_cfg', 'num_stages', 'deep_stem', 'avg_down', 'dcn',
                    'stage_with_dcn', 'plugins'):
            ours_cfg.model.backbone.pop(key, None)
        pairs.insert(0, ('PaperResNet (stock config, backbone swapped)', ours_cfg, True))
    else:  # raises BenchmarkSkipped naming the file when it is missing
        pairs.insert(0, (f'PaperResNet ({osp.basename(config)})',
                         load_detector_config(config, cfg_options), True))
    # labels every compared detector has (the stock COCO configs: 80 classes)
    classes = [cfg.model.get('roi_head', {}).get('bbox_head', {}).get('num_classes', 80)
               for _, cfg, _ in pairs]
    data = random_detection_batch(batch, height, width, device, num_classes=min(classes))
    # the reference's seeded weights, built once, for ours to start from
    ref_weights = build_detector(ref_cfg).state_dict() if ref_cfg is not None else None
    entries = []
    for name, cfg, ours in pairs:
        share = ref_weights if ours else None
        for mode in modes:
            for label, model, switches in _variants(
                    name, lambda: build_detector(cfg, share, log=log), ours, mode, device,
                    channels_last, fold_bn):
                if mode == 'train':
                    step = make_train_step(model, data, dtype, compile_cfg)
                else:
                    batch_data = model.data_preprocessor(data, False)
                    step = make_infer_step(  # NMS, dynamic RoI counts: not compiled
                        lambda m=model, d=batch_data: m.predict(d['inputs'],
                                                                d['data_samples']),
                        dtype, device, None, model)
                entries.append(Entry(label, mode, step, batch, switches,
                                     type(getattr(model, 'backbone', model)).__name__))
    return entries


# -- report ------------------------------------------------------------------------------
def ratios(results):
    """Ours / each reference, per mode: > 1 means ours is faster."""
    out = []
    for mode in MODES:
        rows = [r for r in results if r['mode'] == mode and r['img_per_s']]
        ours = [r for r in rows if r['ours']]
        for o in ours:
            for ref in (r for r in rows if not r['ours']):
                out.append(dict(mode=mode, ours=o['name'], reference=ref['name'],
                                ratio=o['img_per_s'] / ref['img_per_s']))
        for o in ours:  # a switch against the same model without it (same rounds)
            for base in (b for b in ours if o['name'].startswith(b['name'] + ' +')):
                out.append(dict(mode=mode, ours=o['name'], reference=base['name'],
                                ratio=o['img_per_s'] / base['img_per_s']))
    return out


def format_table(report):
    s = report['settings']
    env = report['env']
    kernels = f", torch kernels {env['cpu_capability']}" if env.get('cpu_capability') else ''
    lines = [f"device {env['device']} ({env['device_name']}{kernels}), torch {env['torch']}, "
             f"threads {env['threads']}, {s.get('precision', s['dtype'])}, batch {s['batch']}, "
             f"input {s['input_size']}, compile {bool(s['compile'])}, "
             f"channels_last {s['channels_last']}, {s['repeats']} rounds x {s['iters']} "
             f"steps after {s['warmup']} warm-up, median"
             + (', img/s per CPU-second (--clock cpu)' if s.get('clock') == 'cpu' else ''),
             "| model | backbone | mode | img/s (median) | peak mem (MiB) | switches |",
             '|---|---|---|---|---|---|']
    for r in report['results']:
        lines.append(f"| {r['name']} | {r['backbone']} | {r['mode']} | {r['img_per_s']:.3g} | "
                     f"{r['peak_mem_mb']:.0f} | {', '.join(r['switches']) or '-'} |")
    for q in report['ratios']:
        lines.append(f"ratio [{q['mode']}] {q['ours']} / {q['reference']}: {q['ratio']:.3f}")
    for r in report['results']:
        if s['model'] == 'classifier' and s['arch'] == 'cifar' and r['mode'] == 'train':
            # Section 4.2: 64k iterations of mini-batch 128
            lines.append(f"{r['name']}: the paper's 64k iterations at batch {s['batch']} "
                         f"would take {64000 * s['batch'] / r['img_per_s'] / 60:.1f} min "
                         'at this speed (model step only)')
    if report['settings']['device'] == 'cpu':
        lines.append('peak mem on cpu: the whole process\'s max RSS (not per model)')
    return '\n'.join(lines)


def run_benchmark(model='classifier', depth=50, arch='imagenet', style='pytorch', batch=2,
                  size=(64, 64),
                  num_classes=1000, device='auto', dtype='fp32', channels_last=False,
                  compile=False, fold_bn=True, modes=MODES, references=CLS_REFERENCES,
                  config=None, ref_config=STOCK_DETECTOR, cfg_options=None, warmup=2,
                  iters=3, repeats=3, out=None, log=print, dcn=None, clock='wall'):
    """Build, time and report; returns the report dict (also written to ``out`` as JSON).

    Args:
        model (str): 'classifier' or 'detector'.
        size (tuple[int, int]): Input height and width.
        compile (bool | dict): ``torch.compile`` options, as MMEngine's ``compile`` key.
        Others: see ``tools/benchmark.py --help``.
    """
    if model not in ('classifier', 'detector'):
        raise ValueError(f'unknown model {model!r}; allowed values: classifier, detector')
    check_choices('mode', modes, MODES)
    check_counts(batch=batch, iters=iters, repeats=repeats)
    check_counts(0, warmup=warmup)
    check_choices('clock', [clock], CLOCKS)
    device = resolve_device(device)
    if clock == 'cpu' and device != 'cpu':
        raise ValueError(f"clock='cpu' times the host process; it needs device cpu, got "
                         f'{device!r}')
    precision = check_dtype(dtype, device)  # bf16 asked on a CPU without it: float32
    asked, dtype = dtype, precision.name
    compile_cfg = (dict() if compile is True else compile) or None
    height, width = size
    report = dict(env=environment(device), settings=dict(
        model=model, depth=depth, arch=arch, style=style, batch=batch, input_size=[height, width],
        dtype=dtype, dtype_asked=asked, precision=precision.describe(), device=device,
        channels_last=channels_last, compile=compile_cfg or False,
        fold_bn=fold_bn, dcn=dcn, clock=clock, modes=list(modes), warmup=warmup,
        iters=iters, repeats=repeats,
        config=config, ref_config=ref_config if model == 'detector' else None,
        cfg_options=cfg_options, command=' '.join(sys.argv)))
    try:
        if model == 'classifier':
            if height != width:
                raise ValueError('the classifier benchmark uses square inputs')
            entries = classifier_entries(depth, style, batch, height, num_classes, device,
                                         dtype, channels_last, compile_cfg, fold_bn, modes,
                                         references, arch, dcn)
        else:
            entries = detector_entries(config, ref_config, cfg_options, batch, height,
                                       width, device, dtype, channels_last, compile_cfg,
                                       fold_bn, modes, log)
    except BenchmarkSkipped as exc:
        log(f'benchmark skipped: {exc}')
        report.update(skipped=str(exc), results=[], ratios=[])
    else:
        ours = {e.name for e in entries if e.name.startswith('PaperResNet')}
        time_entries(entries, device, warmup, iters, repeats, log, clock)
        report['results'] = [dict(e.as_dict(), ours=e.name in ours) for e in entries]
        report['ratios'] = ratios(report['results'])
        report['peak_mem_kind'] = (
            'torch.cuda.max_memory_allocated (all models built are resident); step_mem_mb: '
            'the peak above what was allocated before the round' if device == 'cuda' else
            'process max RSS (all models together)')
        log(format_table(report))
    write_report(report, out, log)
    return report
