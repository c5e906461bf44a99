"""The demo's speed probe: seconds per training iteration of the pretraining classifier
and the detector, and per test image, measured on this machine before training (a few
steps of each model, seeded random weights, random data of the chosen sizes), so that the
schedule fits the time budget (:func:`mmresnet.planning.schedule.fit_schedule`).

Its pieces (a random detection batch, a training step and an inference step as the Runner
runs them), with the seeded models of :func:`mmresnet.config.build_model`, are what the
timing harnesses of :mod:`mmresnet.benchmarks` build on.
"""
import contextlib
import time

import numpy as np
import torch

from ..config import build_model
from ..engine.precision import TEST_PRECISION
from ..engine.speed_switches import DTYPES, apply_switches, check_dtype

# The training loop's time per iteration over the bare step's (data, hooks, logging).
LOOP_OVERHEAD = 1.15


def random_detection_batch(batch, height, width, device, boxes_per_image=4, num_classes=80):
    """A seeded batch as a detector's data loader gives it: uint8 images of ``height`` x
    ``width`` and ``boxes_per_image`` random boxes of ``num_classes`` labels each."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(0)
    samples = []
    for i in range(batch):
        xy = torch.rand(boxes_per_image, 2, generator=g) * torch.tensor([width, height]) * 0.6
        wh = (torch.rand(boxes_per_image, 2, generator=g) * 0.3 + 0.1) * torch.tensor(
            [width, height])
        s = DetDataSample(metainfo=dict(
            img_id=i, img_shape=(height, width), ori_shape=(height, width),
            pad_shape=(height, width), batch_input_shape=(height, width),
            scale_factor=(1.0, 1.0), flip=False))
        s.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1).to(device),
            labels=torch.randint(0, num_classes, (boxes_per_image, ), generator=g).to(device))
        samples.append(s)
    inputs = [torch.randint(0, 256, (3, height, width), generator=g, dtype=torch.uint8)
              .to(device) for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def _optim_wrapper(model, dtype):
    """The optim wrapper a config would build: bf16 -> ``AutocastOptimWrapper`` (the fast
    configs'), fp16 -> MMEngine's ``AmpOptimWrapper`` (refused on CPUs by the checks)."""
    from mmengine.optim import AmpOptimWrapper, OptimWrapper

    from ..engine.autocast import AutocastOptimWrapper
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=1e-4, momentum=0.9, weight_decay=1e-4)
    if DTYPES[dtype] is None:
        return OptimWrapper(optimizer)
    if DTYPES[dtype] is torch.bfloat16:
        return AutocastOptimWrapper(optimizer=optimizer)
    return AmpOptimWrapper(optimizer=optimizer, dtype=DTYPES[dtype])


def make_train_step(model, data, dtype, compile_cfg):
    """``model.train_step`` (what the Runner calls), compiled as MMEngine's
    ``compile=`` config key does it."""
    wrapper = _optim_wrapper(model, dtype)
    train_step = model.train_step
    if compile_cfg:
        train_step = torch.compile(train_step, **compile_cfg)

    def step():
        train_step(data, wrapper)
    return step


def make_infer_step(fn, dtype, device, compile_cfg, model=None):
    """``fn`` without gradients, in ``dtype``'s autocast (:data:`DTYPES`), compiled as
    MMEngine's ``compile=`` config key does it. Under bf16, ``model``'s detector parts
    that need float32 (NMS, RoIAlign) run outside autocast, as in training."""
    if compile_cfg:
        fn = torch.compile(fn, **compile_cfg)
    context = contextlib.nullcontext()
    if DTYPES[dtype] is not None:
        context = torch.autocast(device, dtype=DTYPES[dtype])
        if model is not None:
            from ..engine.autocast import apply_float32_islands
            apply_float32_islands(model, device)

    def step():
        with torch.no_grad(), context:
            fn()
    return step


def seconds_per_call(step, warmup, iters):
    """Seconds per call: the median of the fastest half of ``iters`` timed calls after
    ``warmup`` (a busy machine's spikes left out), times ``LOOP_OVERHEAD``."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    fastest = sorted(times)[:max(1, iters // 2)]
    return LOOP_OVERHEAD * float(np.median(fastest))


def _switches(cfg, device='cpu'):
    """The speed switches a config turns on, as they run here: its precision
    (:func:`~mmresnet.engine.speed_switches.check_dtype`: bf16 only where the device
    computes it natively) and channels_last."""
    wanted = 'bf16' if cfg.optim_wrapper.get('type') == 'AutocastOptimWrapper' else 'fp32'
    channels_last = any(h.get('type') == 'SpeedUpHook' and h.get('channels_last')
                        for h in cfg.get('custom_hooks', []))
    return check_dtype(wanted, device), channels_last


def measure_speed(pre_cfg, det_cfg, sizing, image_wh, warmup=2, iters=6, log=print):
    """Seconds per training iteration of both models and per test image of the detector,
    on random data of the chosen sizes (seeded random weights; nothing is loaded), each in
    the precision that will run: training as the configs' optim wrappers decide it,
    testing in float32 (:data:`~mmresnet.engine.precision.TEST_PRECISION`)."""
    mw, mh = np.median(np.asarray(image_wh, np.float64).reshape(-1, 2), 0)
    scale = sizing['input_size'] / max(mw, mh)  # the longer side to the input size
    w, h = (max(32, int(round(v * scale))) for v in (mw, mh))
    num_classes = det_cfg.model.roi_head.bbox_head.num_classes
    precision, channels_last = _switches(det_cfg)
    det = build_model(det_cfg, seed=0)
    apply_switches(det, 'train', channels_last, False)
    det_batch = int(det_cfg.train_dataloader.batch_size)  # the config's, as it will train
    data = random_detection_batch(det_batch, h, w, 'cpu', num_classes=num_classes)
    det_s = seconds_per_call(make_train_step(det, data, precision.name, None), warmup,
                             iters)
    det.eval()
    one = random_detection_batch(1, h, w, 'cpu', num_classes=num_classes)
    infer_s = seconds_per_call(make_infer_step(lambda: det.test_step(one), 'fp32', 'cpu',
                                               None), 1, iters)
    cls = build_model(pre_cfg, seed=0).train()
    batch, crop = pre_cfg.train_dataloader.batch_size, sizing['crop_size']
    g = torch.Generator().manual_seed(0)
    cdata = dict(inputs=torch.randint(0, 256, (batch, 3, crop, crop), dtype=torch.uint8,
                                      generator=g),
                 data_samples=torch.randint(0, int(pre_cfg.model.num_classes), (batch, ),
                                            generator=g))
    pre_precision, _ = _switches(pre_cfg)
    pre_s = seconds_per_call(make_train_step(cls, cdata, pre_precision.name, None), warmup,
                             iters)
    layout = ', channels_last' if channels_last else ''
    speed = dict(pretrain_s=pre_s, det_s=det_s, infer_s=infer_s,
                 det_input=[w, h], dtype=precision.name, channels_last=channels_last,
                 precision=precision.describe(), test_precision=TEST_PRECISION)
    log(f'measured here: pretraining {pre_s:.3f} s/iteration (batch {batch}, {crop} px, '
        f'{pre_precision.name}{layout}), detector {det_s:.3f} s/iteration (batch '
        f'{det_batch}, {w}x{h}, {precision.name}{layout}), {infer_s:.3f} s per test image '
        f'(fp32{layout})')
    return speed


__all__ = ['random_detection_batch', 'make_train_step',
           'make_infer_step', 'seconds_per_call', 'measure_speed']
