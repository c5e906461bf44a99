"""How fast the ImageNet-format input pipeline feeds the model, per decoder.

Three measurements on the same JPEG files (a real ImageNet-style folder, or generated
ImageNet-shaped JPEGs), each printed, never asserted:

1. per stage, one process: read the bytes, decode (every decoder available here: mmcv's
   'cv2', 'pillow', 'turbojpeg', and torchvision's CPU decoder where installed), then the
   paper's augmentation (Section 3.4: short side in [256, 480], random 224 crop, flip,
   PCA lighting, packing), in ms per image;
2. end to end: the training DataLoader of ``configs/_base_/datasets/imagenet.py``
   (``ImageListDataset`` + the same pipeline + MMEngine's collate) with N workers, in
   images per second, for each decoder;
3. optionally the GPU decoder (torchvision ``decode_jpeg(device='cuda')``, nvJPEG), batched.

The end-to-end figure is compared with ``target`` (e.g. the model-step images/s that
``tools/benchmark.py`` printed for the same device): the pipeline keeps up when it is higher.
"""
import os
import os.path as osp
import statistics
import time

import cv2
import mmcv
import numpy as np
import torch

from ..datasets.transforms import ensure_decoder
from ..utils import check_choices, check_counts
from .harness import environment, interleaved_medians, write_report

TRAIN_PIPELINE = [
    dict(type='ResizeShortSide', size=(256, 480)),
    dict(type='RandomCropPad', size=224),
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PCALighting', std=0.1),
    dict(type='PackClsInputs'),
]
# ImageNet's training images are mostly 500 px on the long side (mean about 400 x 350).
COLLATES = ('default_collate', 'pseudo_collate')
IMAGENET_SHAPES = ((375, 500), (333, 500), (500, 375), (500, 500), (281, 500), (500, 333))


def make_jpegs(root, num, seed=0, quality=90):
    """Write ``num`` ImageNet-shaped JPEGs with photo-like content (smooth structure plus
    texture; 68 KB mean measured at the default quality) and a list file ``train.txt``.

    Returns:
        list[str]: The image paths.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'img'), exist_ok=True)
    paths, lines = [], []
    for i in range(num):
        h, w = IMAGENET_SHAPES[i % len(IMAGENET_SHAPES)]
        base = rng.integers(0, 256, (6, 8, 3)).astype(np.uint8)
        img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.int16)
        img += rng.normal(0, 12, (h, w, 3)).astype(np.int16)
        path = osp.join(root, 'img', f'{i:06d}.jpg')
        cv2.imwrite(path, np.clip(img, 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, quality])
        paths.append(path)
        lines.append(f'img/{i:06d}.jpg {i % 1000}')
    with open(osp.join(root, 'train.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return paths


def available_decoders():
    """Decoders usable here: mmcv backends, and torchvision's where it imports."""
    out = ['cv2', 'pillow']
    try:
        ensure_decoder('turbojpeg')
        out.append('turbojpeg')
    except ValueError:  # PyTurboJPEG missing, or no libjpeg-turbo it accepts
        pass
    try:
        from torchvision.io import decode_jpeg  # noqa: F401
        out.append('torchvision')
    except Exception:  # torchvision is optional and often broken beside a CPU torch
        pass
    return out


def _decoder(name):
    if name == 'torchvision':
        from torchvision.io import decode_jpeg

        def decode(data):
            t = decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8))
            return t.permute(1, 2, 0).numpy()[..., ::-1]  # HWC, BGR like the others
        return decode
    ensure_decoder(name)
    return lambda data: mmcv.imfrombytes(data, backend=name)


def _ms_per_image(fn, items):
    start = time.perf_counter()
    for it in items:
        fn(it)
    return (time.perf_counter() - start) * 1000 / len(items)


def stage_times(paths, decoders, repeats=3):
    """ms per image of reading, of each decoder, and of the augmentation (one process,
    one OpenCV thread), medians of interleaved rounds."""
    from mmcv.transforms import Compose

    from ..config import use_scope
    use_scope()
    cv2.setNumThreads(1)
    datas = [open(p, 'rb').read() for p in paths]
    decoded = [mmcv.imfrombytes(d) for d in datas]
    aug, resize = Compose(TRAIN_PIPELINE), Compose(TRAIN_PIPELINE[:1])
    jobs = dict(read=lambda: _ms_per_image(lambda p: open(p, 'rb').read(), paths))
    for name in decoders:
        jobs[f'decode_{name}'] = (lambda dec: lambda: _ms_per_image(dec, datas))(
            _decoder(name))
    jobs['augment'] = lambda: _ms_per_image(
        lambda img: aug(dict(img=img, gt_label=0, img_shape=img.shape[:2])), decoded)
    jobs['augment_resize_only'] = lambda: _ms_per_image(
        lambda img: resize(dict(img=img, img_shape=img.shape[:2])), decoded)
    out = interleaved_medians(jobs, repeats)
    out['mean_file_kb'] = sum(map(len, datas)) / len(datas) / 1024
    return out


def loader_throughput(root, decoder, workers, batch, batches, warmup=2,
                      collate='default_collate'):
    """Images/s of the ImageNet training DataLoader (list file under ``root``), up to one
    stacked batch tensor in the main process (with ``pseudo_collate`` the stacking the data
    preprocessor would do is timed too)."""
    from mmengine.runner import Runner

    from ..config import use_scope
    use_scope()
    cfg = dict(
        batch_size=batch, num_workers=workers, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True), collate_fn=dict(type=collate),
        dataset=dict(type='ImageListDataset', data_root=root, ann_file='train.txt',
                     pipeline=[dict(type='LoadImage', backend=decoder)] + TRAIN_PIPELINE))
    loader = Runner.build_dataloader(cfg, seed=0)
    it = iter(loader)
    for _ in range(warmup):
        next(it)
    start = time.perf_counter()
    for _ in range(batches):
        inputs = next(it)['inputs']
        if isinstance(inputs, list):
            torch.stack(inputs)
    dt = time.perf_counter() - start
    del it
    return batch * batches / dt


def gpu_decode_throughput(paths, batch=128, repeats=3):
    """Images/s of torchvision's batched nvJPEG decoding on CUDA, or None."""
    try:
        from torchvision.io import decode_jpeg
    except Exception:  # torchvision is optional
        return None
    if not torch.cuda.is_available():
        return None
    datas = [torch.frombuffer(bytearray(open(p, 'rb').read()), dtype=torch.uint8)
             for p in paths[:batch]]
    decode_jpeg(datas, device='cuda')
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        decode_jpeg(datas, device='cuda')
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return len(datas) / statistics.median(times)


def run_pipeline_benchmark(data_root=None, num_images=256, workers=(1, ), batch=64,
                           batches=4, decoders=None, repeats=3, target=None, out=None,
                           loader_repeats=1, collates=('default_collate', ), log=print):
    """Measure and report; returns the report (also written to ``out`` as JSON).

    Args:
        data_root (str, optional): A folder with ``train.txt`` (``path label`` lines), e.g.
            made by :func:`make_jpegs`; None: generate ``num_images`` under
            ``work_dirs/pipeline_bench``.
        workers (Sequence[int]): DataLoader worker counts to measure.
        decoders (Sequence[str], optional): Default: all available.
        target (float, optional): Images/s the model consumes (the figure to keep up with).
        repeats / loader_repeats (int): Interleaved rounds of the stage timings / of each
            DataLoader measurement (median reported).
        collates (Sequence[str]): MMEngine collate functions to compare: 'default_collate'
            (the configs': stacked in the workers) and/or 'pseudo_collate' (MMEngine's
            default: a list of images, stacked by the data preprocessor).
    """
    avail = available_decoders()
    decoders = list(decoders or avail)
    check_choices('collate', collates, COLLATES)
    for d in decoders:
        if d not in avail:
            raise ValueError(f'decoder {d!r} is not available here; available: {avail}')
    check_counts(batch=batch, batches=batches, repeats=repeats, num_images=num_images,
                 loader_repeats=loader_repeats)
    if data_root is None:
        data_root = osp.join('work_dirs', 'pipeline_bench', f'jpegs{num_images}')
        if not osp.exists(osp.join(data_root, 'train.txt')):
            make_jpegs(data_root, num_images)
    with open(osp.join(data_root, 'train.txt')) as f:
        paths = [osp.join(data_root, line.split()[0]) for line in f if line.strip()]
    sample = paths[:min(len(paths), 64)]
    report = dict(env=environment('cpu'), settings=dict(
        data_root=data_root, images=len(paths), workers=list(workers), batch=batch,
        batches=batches, decoders=decoders, target=target, repeats=repeats,
        loader_repeats=loader_repeats, collates=list(collates)))
    report['stages_ms'] = stage_times(sample, decoders, repeats)
    loader_decoders = [d for d in decoders if d != 'torchvision']  # not an mmcv backend
    jobs = {(d, w, c): (lambda d, w, c: lambda: loader_throughput(
        data_root, d, w, batch, batches, collate=c))(d, w, c)
        for d in loader_decoders for w in workers for c in collates}
    speeds = interleaved_medians(jobs, loader_repeats)
    report['loader'] = [dict(decoder=d, workers=w, collate=c, img_per_s=v)
                        for (d, w, c), v in speeds.items()]
    report['gpu_decode_img_per_s'] = gpu_decode_throughput(paths)
    log(format_pipeline_report(report))
    write_report(report, out, log)
    return report


def format_pipeline_report(report):
    env, st, s = report['env'], report['stages_ms'], report['settings']
    lines = [f"input pipeline: {s['images']} JPEGs ({st['mean_file_kb']:.0f} KB mean) under "
             f"{s['data_root']}; host {env['device_name']}, {env['host_cpus']} cpus, "
             f"torch {env['torch']}, {env['date']}",
             '| stage (one process) | ms / image | images/s per core |', '|---|---|---|']
    for key, ms in st.items():
        if key != 'mean_file_kb':
            lines.append(f'| {key} | {ms:.2f} | {1000 / ms:.0f} |')
    decs = [k[len('decode_'):] for k in st if k.startswith('decode_')]
    best = min(decs, key=lambda d: st[f'decode_{d}'])
    per_core = 1000 / (st['read'] + st[f'decode_{best}'] + st['augment'])
    lines.append(f'fastest decoder here: {best}; read + decode + augment = '
                 f'{per_core:.0f} images/s per core')
    lines += ['| decoder | workers | collate | DataLoader images/s |', '|---|---|---|---|']
    for r in report['loader']:
        lines.append(f"| {r['decoder']} | {r['workers']} | {r['collate']} | "
                     f"{r['img_per_s']:.0f} |")
    if report.get('gpu_decode_img_per_s'):
        lines.append(f"nvJPEG (torchvision, cuda, batched): "
                     f"{report['gpu_decode_img_per_s']:.0f} images/s")
    if s.get('target'):
        cores = s['target'] / per_core
        lines.append(f"target {s['target']:.0f} images/s needs about {cores:.1f} cores of "
                     f'read + {best} decode + augment')
        for r in report['loader']:
            lines.append(f"  {r['decoder']} x {r['workers']} workers ({r['collate']}): "
                         f"{r['img_per_s'] / s['target']:.2f} of the target")
    return '\n'.join(lines)


__all__ = ['make_jpegs', 'available_decoders', 'stage_times', 'loader_throughput',
           'gpu_decode_throughput', 'run_pipeline_benchmark', 'format_pipeline_report']
