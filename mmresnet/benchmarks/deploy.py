"""CPU inference of a PaperResNet classifier: the project's PyTorch paths against the
exported file on ONNX Runtime and OpenVINO, interleaved in one run
(``tools/benchmark.py --deploy``).

Entries, per batch size, all on the same seeded weights and the same work (the
classifier's softmax scores of a preprocessed batch):

- ``torch fp32``: the model as trained, eval mode;
- ``torch bf16+CL``: bf16 autocast and channels_last (the training configs' switches);
- ``torch fold+bf16+CL``: the same with every BN folded into its conv;
- ``torch fold+CL fp32``: folded, channels_last, fp32;
- ``torch compile``: ``torch.compile`` (inductor, weights frozen: ``freezing=True``) of
  the folded channels_last model under bf16 autocast, measured (``--no-compile`` skips it);
- ``onnxruntime fp32``, ``openvino fp32``, ``openvino bf16`` (where the CPU computes bf16,
  as :func:`~mmresnet.engine.precision.decide_precision` decides; elsewhere OpenVINO would
  run the hint in f32): the file written by the project's export
  (:func:`mmresnet.deploy.export.write_onnx`), run by each library's own API with nothing
  but the thread count set (OpenVINO's bf16 through
  ``INFERENCE_PRECISION_HINT``);
- ``project openvino bf16``: the same file through the project's backend
  (:func:`mmresnet.deploy.runtime.make_backend`, what ``--backend openvino`` runs);
- ``onnxruntime int8``, ``openvino int8``: the int8 files of
  :func:`mmresnet.deploy.quantize.quantize_file` for each runtime (ONNX Runtime's static
  QDQ, NNCF), calibrated on a few seeded inputs (speed does not depend on the
  calibration); left out where ``nncf`` is not installed (OpenVINO's) or ``int8=False``;
- ``torch pt2e int8``: torchao's PT2E int8 of the model
  (:func:`mmresnet.deploy.pt2e.quantize_pt2e`), calibrated the same way, compiled as
  ``torch compile`` is (PyTorch's path on a CPU without native bf16, where its float one is
  slower than ONNX Runtime's; "fastest PyTorch path" takes it in, "fastest float PyTorch
  path" does not); left out where torchao's quantizer does not import, with
  ``int8=False`` or ``compile=False``.

Rounds of all entries interleave (:func:`~.harness.time_entries`); the median round is
reported, and the ratios the deployment targets are stated in as the median of the
per-round ratios. Speed is printed, never
asserted.
"""
import contextlib
import copy
import os.path as osp
import statistics
import tempfile

import torch

from ..config import build_model, prepare_config
from ..engine.frozen_bn import fold_bn_into_conv
from ..engine.precision import decide_precision
from ..deploy.common import compile_frozen
from ..engine.speed_switches import to_channels_last
from .harness import Entry, environment, time_entries, write_report
from .models import classifier_models


def _torch_step(module, x, bf16=False, compiled=False):
    fn = compile_frozen(module) if compiled else module
    context = (torch.autocast('cpu', dtype=torch.bfloat16) if bf16
               else contextlib.nullcontext())

    def step():
        with torch.inference_mode(), context:
            fn(x)
    return step


def _build(depth, num_classes, seed):
    """PaperResNet-``depth`` as ``--model classifier`` times it (:func:`classifier_models`),
    seeded, in its export form."""
    from ..deploy.export import ClassifierForExport
    (_, build, _), = classifier_models(depth, 'pytorch', num_classes, references=[])
    torch.manual_seed(seed)
    model = build()
    model.init_weights()
    return ClassifierForExport(model.eval()).eval()


def _calibration(x):
    """What every int8 entry is calibrated on: the batch ``x`` and a seeded random one
    (speed does not depend on the calibration)."""
    return [x, torch.randn(x.shape, generator=torch.Generator().manual_seed(1))]


def _int8_files(path, x, log, runtimes=('onnxruntime', 'openvino')):
    """``{runtime: int8 file}`` of the float file ``path`` (a static batch), calibrated on
    :func:`_calibration`; a runtime whose quantizer is not installed is left out, said in
    the log."""
    from ..deploy.quantize import int8_path, quantize_file
    calib = [c.numpy() for c in _calibration(x)]
    files = {}
    for runtime in runtimes:
        out = int8_path(path).replace('.int8.', f'.int8-{runtime}.')
        try:
            quantize_file(path, out, calib, runtime, statement='2 seeded random batches',
                          log=log)
        except ImportError as exc:
            log(f'{runtime} int8 left out: {exc}')
            continue
        files[runtime] = out
    return files


def _pt2e_step(reference, x, log):
    """``[('torch pt2e int8', step)]``: torchao's PT2E int8, calibrated as the int8 files
    are, compiled as the other compiled entry is; ``[]`` where torchao's quantizer does not
    import here, said in the log."""
    from ..deploy import pt2e
    if not pt2e.available():
        log('torch pt2e int8 left out: torchao (its PT2E quantizer) does not import here')
        return []
    int8 = pt2e.quantize_pt2e(reference, x, _calibration(x))
    return [('torch pt2e int8', _torch_step(int8, x, compiled=True))]


def _torch_steps(reference, x, bf16, compile):
    """The PyTorch entries of one batch: as trained, and with bf16, BN folding,
    channels_last and ``torch.compile`` where they apply, each on its own copy of the
    same weights."""
    def variant(fold, channels_last):
        m = copy.deepcopy(reference)  # the same weights, switched on its own copy
        if fold:
            fold_bn_into_conv(m)
        if channels_last:
            to_channels_last(m.model)
            return m, x.contiguous(memory_format=torch.channels_last)
        return m, x

    m, xi = variant(False, False)
    steps = [('torch fp32', _torch_step(m, xi))]
    if bf16:
        m, xi = variant(False, True)
        steps.append(('torch bf16+CL', _torch_step(m, xi, bf16=True)))
        m, xi = variant(True, True)
        steps.append(('torch fold+bf16+CL', _torch_step(m, xi, bf16=True)))
    m, xi = variant(True, True)
    steps.append(('torch fold+CL fp32', _torch_step(m, xi)))
    if compile:
        m, xi = variant(True, True)
        steps.append((f'torch compile fold+{"bf16+" if bf16 else ""}CL',
                      _torch_step(m, xi, bf16=bf16, compiled=True)))
    return steps


def deploy_entries(depth=50, batches=(1, 8), size=224, num_classes=1000, threads=None,
                   compile=True, seed=0, work_dir=None, int8=True, log=print):
    """``(entries, files)``: the timed entries of every batch size and the ONNX files
    written (one per batch size, static shapes as a deployment would fix them)."""
    from ..deploy.common import require
    from ..deploy.export import write_onnx
    from ..deploy.runtime import make_backend
    ort = require('onnxruntime', 'the deployment benchmark')
    ov = require('openvino', 'the deployment benchmark')
    threads = threads or torch.get_num_threads()
    work_dir = work_dir or tempfile.mkdtemp(prefix='mmresnet_deploy_bench_')
    reference = _build(depth, num_classes, seed)
    precision = decide_precision('cpu', 'bf16')
    bf16 = precision.autocast
    if not bf16:  # OpenVINO would run its bf16 hint in f32 here
        log(f'PyTorch and OpenVINO bf16 entries left out: training and the project run '
            f'{precision.describe()}')
    entries, files = [], []
    for batch in batches:
        # batch 1 steps run several images so that every round lasts about as long
        reps = max(1, max(batches) // batch)
        x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))
        path = osp.join(work_dir, f'paper_resnet{depth}_b{batch}_{size}.onnx')
        write_onnx(reference, x, path, 'classifier')
        files.append(path)
        log(f'wrote {path}')
        xn = x.numpy()
        steps = _torch_steps(reference, x, bf16, compile)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        # idle ORT threads spin-wait by default, taking the cores from the entries timed
        # after it in the same process: off, as for a service sharing its CPU
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        steps.append(('onnxruntime fp32', lambda s=session, xn=xn: s.run(None, {'input': xn})))
        core = ov.Core()
        for precision, hint in (('fp32', 'f32'), ('bf16', 'bf16'))[:2 if bf16 else 1]:
            compiled = core.compile_model(path, 'CPU', {
                'INFERENCE_PRECISION_HINT': hint, 'INFERENCE_NUM_THREADS': threads})
            request = compiled.create_infer_request()
            steps.append((f'openvino {precision}',
                          lambda r=request, xn=xn: r.infer({0: xn})))
        project = make_backend(path, 'openvino', precision='bf16', threads=threads)
        steps.append((f'project openvino {project.precision}',
                      lambda p=project, xn=xn: p(xn)))
        for runtime, file in (_int8_files(path, x, log) if int8 else {}).items():
            files.append(file)
            run = make_backend(file, runtime, 'int8', threads)
            steps.append((f'{runtime} int8', lambda r=run, xn=xn: r(xn)))
        if int8 and compile:
            steps += _pt2e_step(reference, x, log)
        for name, step in steps:
            def repeated(step=step, reps=reps):
                for _ in range(reps):
                    step()
            entries.append(Entry(f'{name} [b{batch}]', 'infer', repeated, batch * reps,
                                 [f'batch {batch}']))
    return entries, files


def detector_deploy_entries(config, checkpoint, onnx_file, image, threads=None,
                            cfg_options=None):
    """One image through the config's test pipeline, detected end to end (preprocessor,
    network, boxes mapped back) by mmdet's ``test_step`` on PyTorch (as trained, and with
    BN folded + channels_last) and by :class:`~mmresnet.deploy.runtime.DeployedDetector`
    on the exported file (ONNX Runtime fp32, OpenVINO fp32, and bf16 where native) and, where
    ``pytorch2onnx.py --int8`` wrote ``NAME.int8.onnx`` beside it, on that file with
    both runtimes."""
    from ..deploy.common import test_batch
    from ..deploy.runtime import DeployedDetector, make_backend
    cfg = prepare_config(config, 'benchmark', cfg_options=cfg_options)
    model = build_model(cfg, checkpoint)  # (registers the pipeline's transforms)
    batch = test_batch(cfg.test_dataloader.dataset.pipeline, image)
    folded = copy.deepcopy(model)
    fold_bn_into_conv(folded)
    to_channels_last(folded)
    steps = [(name, lambda m=m: m.test_step(batch))
             for name, m in (('torch fp32', model), ('torch fold+CL fp32', folded))]
    from ..deploy.quantize import int8_path
    runs = [('onnxruntime fp32', onnx_file, 'onnxruntime', 'fp32'),
            ('openvino fp32', onnx_file, 'openvino', 'fp32')]
    if decide_precision('cpu', 'bf16').autocast:  # bf16 where the CPU computes it
        runs.append(('openvino bf16', onnx_file, 'openvino', 'bf16'))
    if osp.isfile(int8_path(onnx_file)):  # pytorch2onnx.py --int8: on both runtimes
        runs += [(f'{b} int8', int8_path(onnx_file), b, 'int8')
                 for b in ('onnxruntime', 'openvino')]
    for name, file, backend, precision in runs:
        deployed = DeployedDetector(make_backend(file, backend, precision, threads),
                                    cfg.model.data_preprocessor)
        steps.append((name, lambda d=deployed: d.test_step(batch)))

    def entry(name, step):
        def run():
            with torch.inference_mode():
                step()
        return Entry(f'{name} [b1]', 'infer', run, 1, ['detector'])
    return [entry(name, step) for name, step in steps]


# (ours, reference, target, what) per batch; 'best torch' / 'best float torch': the fastest
# PyTorch entry, int8 (PT2E) included / float only; 'best project': the fastest of the
# float PyTorch entries and the project's openvino backend (the deployment targets: best
# torch >= 1.0x ORT fp32, best project >= 0.95x OpenVINO bf16). The PyTorch path on a CPU
# without native bf16 is PT2E int8: its float path is not as fast as ORT's there
# (docs/deploy.md).
TARGETS = [
    ('best torch', 'onnxruntime fp32', 1.0, 'fastest PyTorch path (int8 included) / ORT fp32'),
    ('best float torch', 'onnxruntime fp32', None, 'fastest float PyTorch path / ORT fp32'),
    ('torch fp32', 'onnxruntime fp32', None, 'PyTorch fp32 / ORT fp32'),
    ('torch fold+CL fp32', 'onnxruntime fp32', None, 'PyTorch folded fp32 / ORT fp32'),
    ('best float torch', 'openvino bf16', None, 'fastest float PyTorch path / OpenVINO bf16'),
    ('best project', 'openvino bf16', 0.95, 'fastest project backend / OpenVINO bf16'),
    ('best project', 'openvino fp32', None, 'fastest project backend / OpenVINO fp32'),
    ('openvino int8', 'openvino fp32', 1.5, 'OpenVINO int8 / fp32 (the target of AVX2 CPUs)'),
    ('openvino int8', 'openvino bf16', 1.2,
     'OpenVINO int8 / bf16 (the target of avx512_bf16 CPUs)'),
    ('onnxruntime int8', 'onnxruntime fp32', None, 'ONNX Runtime int8 / fp32'),
    ('torch pt2e int8', 'openvino int8', None, 'PyTorch PT2E int8 / OpenVINO int8'),
    ('torch pt2e int8', 'best float torch', None, 'PyTorch PT2E int8 / fastest float PyTorch'),
]


def deploy_ratios(results, batches):
    """Per batch, each TARGETS row: the median over rounds of the round's ratio (the two
    entries of a round ran back to back, so a load change on a shared CPU hits both)."""
    speeds = {r['name']: r['img_per_s'] for r in results}
    rounds = {r['name']: r['img_per_s_rounds'] for r in results}
    out = []
    for batch in batches:
        row = {n.rsplit(' [b', 1)[0]: v for n, v in speeds.items()
               if n.endswith(f'[b{batch}]') and v}
        torch_all = [n for n in row if n.startswith('torch ')]
        torch_best = max(torch_all, key=row.get, default=None)
        float_best = max((n for n in torch_all if not n.endswith(' int8')), key=row.get,
                         default=None)
        project_best = max([n for n in (float_best, 'project openvino bf16',
                                        'project openvino fp32') if n in row],
                           key=row.get, default=None)
        aliases = {'best torch': torch_best, 'best float torch': float_best,
                   'best project': project_best}
        for ours, ref, target, what in TARGETS:
            name, ref = aliases.get(ours, ours), aliases.get(ref, ref)
            if name in row and ref in row:
                per_round = [a / b for a, b in zip(rounds[f'{name} [b{batch}]'],
                                                   rounds[f'{ref} [b{batch}]'])]
                out.append(dict(batch=batch, what=what, ours=name, reference=ref,
                                ratio=statistics.median(per_round),
                                ratio_of_medians=row[name] / row[ref], target=target))
    return out


def run_deploy_benchmark(depth=50, batches=(1, 8), size=224, num_classes=1000,
                         threads=None, compile=True, warmup=2, iters=3, repeats=5,
                         out=None, log=print, command='', detector=None):
    """Build, time (interleaved) and report; returns the report (JSON at ``out``).
    ``detector``: ``dict(config, checkpoint, onnx_file, image)`` times a detector
    (:func:`detector_deploy_entries`, batch 1) instead of the classifier."""
    if threads:
        torch.set_num_threads(threads)
    if detector:
        entries, files = detector_deploy_entries(threads=threads, **detector), []
        batches = (1, )
    else:
        entries, files = deploy_entries(depth, batches, size, num_classes, threads,
                                        compile, log=log)
    time_entries(entries, 'cpu', warmup, iters, repeats, log)
    results = [e.as_dict() for e in entries]
    report = dict(env=environment('cpu'), settings=dict(
        precision=decide_precision('cpu', 'bf16').describe(),
        depth=depth, batches=list(batches), size=size, num_classes=num_classes,
        detector=detector,
        threads=torch.get_num_threads(), warmup=warmup, iters=iters, repeats=repeats,
        command=command), results=results, ratios=deploy_ratios(results, batches),
        files=files)
    if detector:  # the targets are the classifier's (but int8 >= 1.5x OpenVINO fp32);
        # every runtime entry is the project's
        report['ratios'] = [dict(q, target=q['target'] if q['what'].startswith(
            'OpenVINO int8 / fp32') else None) for q in report['ratios']
            if not q['what'].startswith('fastest project')]
    import onnxruntime
    import openvino
    report['env'].update(onnxruntime=onnxruntime.__version__,
                         openvino=openvino.__version__)
    log(format_deploy_table(report))
    write_report(report, out, log)
    return report


def format_deploy_table(report):
    s, env = report['settings'], report['env']
    what = (f"detector {s['detector']['config']} on {s['detector']['image']}"
            if s.get('detector') else f"PaperResNet-{s['depth']} classifier, {s['size']} px")
    lines = [f"{what}, cpu "
             f"({env['device_name']}), {s['threads']} threads, torch {env['torch']}, "
             f"onnxruntime {env.get('onnxruntime')}, openvino {env.get('openvino')}; "
             f"{s['repeats']} interleaved rounds x {s['iters']} steps, median img/s",
             '| entry | ' + ' | '.join(f'batch {b}' for b in s['batches']) + ' |',
             '|---|' + '---|' * len(s['batches'])]
    names = list(dict.fromkeys(r['name'].rsplit(' [b', 1)[0] for r in report['results']))
    by_name = {r['name']: r['img_per_s'] for r in report['results']}
    for name in names:
        cells = [by_name.get(f'{name} [b{b}]') for b in s['batches']]
        lines.append(f'| {name} | ' + ' | '.join('-' if c is None else f'{c:.1f}'
                                                  for c in cells) + ' |')
    for q in report['ratios']:
        target = '' if q['target'] is None else (
            f" (target >= {q['target']:g}: {'holds' if q['ratio'] >= q['target'] else 'MISSED'})")
        lines.append(f"batch {q['batch']}: {q['what']} = {q['ratio']:.2f} ({q['ours']}; median "
                     'of the per-round ratios)' + target)
    return '\n'.join(lines)


__all__ = ['deploy_entries', 'run_deploy_benchmark', 'format_deploy_table']
