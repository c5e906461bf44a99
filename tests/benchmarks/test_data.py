"""tools/benchmark_pipeline.py and tools/benchmark_train.py run on CPU with tiny settings and
report what they measured. Speed is printed, never asserted."""
import json
import os
import os.path as osp
import runpy
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmresnet.datasets import LoadImage
from mmresnet.benchmarks.loop import run_loop_benchmark
from mmresnet.benchmarks.pipeline import (IMAGENET_SHAPES, available_decoders, make_jpegs,
                                            run_pipeline_benchmark)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUIET = dict(log=lambda *a: None)


@pytest.fixture(scope='module')
def jpegs(tmp_path_factory):
    root = tmp_path_factory.mktemp('jpegs')
    return str(root), make_jpegs(str(root), 8)


def test_generated_jpegs_are_imagenet_shaped(jpegs):
    root, paths = jpegs
    shapes = {cv2.imread(p).shape[:2] for p in paths}
    assert shapes <= set(IMAGENET_SHAPES) and len(shapes) >= 4
    kb = np.mean([os.path.getsize(p) for p in paths]) / 1024
    assert 30 < kb < 300, kb  # photo-like compression, not flat colour nor pure noise
    assert open(osp.join(root, 'train.txt')).read().split('\n')[1] == 'img/000001.jpg 1'


def test_decoders_agree_and_bad_backend_is_refused(jpegs):
    _, paths = jpegs
    decoded = [LoadImage(backend=b).transform(dict(img_path=paths[0]))['img']
               for b in ('cv2', 'pillow')]
    assert decoded[0].shape == decoded[1].shape
    # Both are libjpeg(-turbo) decoders; both give BGR.
    assert np.abs(decoded[0].astype(int) - decoded[1].astype(int)).mean() < 1.0
    with pytest.raises(ValueError, match="unknown decoder backend 'nvjpeg'.*cv2"):
        LoadImage(backend='nvjpeg')


def test_pillow_decode_error_names_the_file(tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not a jpeg')
    with pytest.raises(ValueError, match='cannot decode image .*bad.jpg'):
        LoadImage(backend='pillow').transform(dict(img_path=str(bad)))


def test_pipeline_benchmark_reports_every_stage_and_loader(jpegs, tmp_path):
    root, _ = jpegs
    out = tmp_path / 'pipe.json'
    report = run_pipeline_benchmark(root, workers=(0, 1), batch=4, batches=1, repeats=1,
                                    decoders=['cv2', 'pillow'], target=1000.0, out=str(out),
                                    collates=('default_collate', 'pseudo_collate'), **QUIET)
    st = report['stages_ms']
    for key in ('read', 'decode_cv2', 'decode_pillow', 'augment', 'augment_resize_only'):
        assert st[key] > 0, key
    assert {(r['decoder'], r['workers'], r['collate']) for r in report['loader']} == {
        (d, w, c) for d in ('cv2', 'pillow') for w in (0, 1)
        for c in ('default_collate', 'pseudo_collate')}
    assert all(r['img_per_s'] > 0 for r in report['loader'])
    assert json.loads(out.read_text())['settings']['target'] == 1000.0
    with pytest.raises(ValueError, match="decoder 'nvjpeg' is not available here"):
        run_pipeline_benchmark(root, decoders=['nvjpeg'], **QUIET)
    assert 'cv2' in available_decoders()
    with pytest.raises(ValueError, match="unknown collate 'stack'.*default_collate"):
        run_pipeline_benchmark(root, collates=['stack'], **QUIET)


@pytest.mark.e2e
def test_pipeline_cli(jpegs, tmp_path):
    root, _ = jpegs
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'benchmark_pipeline.py'),
                          '--data-root', root, '--workers', '0', '--batch', '2',
                          '--batches', '1', '--repeats', '1', '--decoders', 'cv2',
                          '--target', '500'], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode == 0, out.stderr[-2000:]
    assert '| decode_cv2 |' in out.stdout and 'target 500 images/s needs about' in out.stdout


TINY_LOOP = {'compile': False, 'model.backbone.depth': 8, 'train_dataloader.batch_size': 16,
             'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False}
FAST = osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10_fast.py')


def test_loop_benchmark_times_both_loops_on_the_fast_config(tmp_path):
    cfg = Config.fromfile(FAST)
    # as it is but for compile (minutes of C++ compilation on 2 cores): bf16 autocast,
    # lazy logs and the every-20 NaN guard run on a CPU too
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper' and cfg.compile is True
    assert cfg.default_hooks.runtime_info.type == 'LazyRuntimeInfoHook'
    out = tmp_path / 'loops.json'
    report = run_loop_benchmark(cfg, iters=3, warmup=1, cfg_options=TINY_LOOP, out=str(out),
                                **QUIET)
    assert [(r['loop'], r['data']) for r in report['results']] == [
        ('IterBasedTrainLoop', 'synthetic'), ('DeviceIterBasedTrainLoop', 'synthetic')]
    (q, ) = report['ratios']
    by = {r['loop']: r['it_per_s'] for r in report['results']}
    assert q['ratio'] == pytest.approx(by['DeviceIterBasedTrainLoop'] / by['IterBasedTrainLoop'])
    for r in report['results']:
        assert r['iters'] == 3 and r['it_per_s'] > 0
        assert r['img_per_s'] == pytest.approx(r['it_per_s'] * 16)
        # the paper's schedule of the config: 64k iterations
        assert r['schedule_min'] == pytest.approx(64000 / r['it_per_s'] / 60)
    assert report['settings']['schedule_iters'] == 64000
    assert json.loads(out.read_text())['results'][1]['loop'] == 'DeviceIterBasedTrainLoop'
    with pytest.raises(ValueError, match="unknown loop 'EpochBasedTrainLoop'"):
        run_loop_benchmark('x.py', loops=['EpochBasedTrainLoop'], **QUIET)
    with pytest.raises(ValueError, match="unknown data 'fake'.*synthetic"):
        run_loop_benchmark('x.py', data=['fake'], **QUIET)


def test_imagenet_config_real_pipeline_against_synthetic_crops(jpegs, tmp_path):
    # The ImageNet recipe (epoch-based, plateau LR) through the iteration loop: the JPEG
    # pipeline against the same model fed decoded, augmented 224 crops.
    root, _ = jpegs
    options = {'train_dataloader.dataset.type': 'ImageListDataset',
               'train_dataloader.dataset.data_root': root,
               'train_dataloader.dataset.ann_file': 'train.txt',
               'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
               'train_dataloader.persistent_workers': False, 'model.backbone.depth': 18}
    report = run_loop_benchmark(
        osp.join(ROOT, 'configs/resnet/paper-resnet50_b256_imagenet.py'),
        loops=['IterBasedTrainLoop'], iters=2, warmup=1, cfg_options=options,
        data=['synthetic', 'real'], **QUIET)
    assert [r['data'] for r in report['results']] == ['synthetic', 'real']
    assert report['settings']['schedule_iters'] is None  # epoch-based: no iteration count
    assert all(r['schedule_min'] is None and r['it_per_s'] > 0 for r in report['results'])
    (q, ) = report['ratios']
    assert q['what'] == 'real / synthetic data (IterBasedTrainLoop)'
    syn, real = (r['it_per_s'] for r in report['results'])
    assert q['ratio'] == pytest.approx(real / syn)


def test_synthetic_stand_ins():
    from mmresnet.benchmarks.loop import synthetic_dataset
    cfg = Config.fromfile(osp.join(ROOT, 'configs/resnet/paper-resnet50_b256_imagenet.py'))
    ds = synthetic_dataset(cfg)
    assert ds['img_shape'] == (224, 224, 3) and ds['num_classes'] == 1000
    assert ds['pipeline'] == [dict(type='PackClsInputs')]
    fast = Config.fromfile(osp.join(ROOT, 'configs/resnet/paper-resnet50_b256_imagenet_fast.py'))
    assert (fast.optim_wrapper.type, fast.optim_wrapper.dtype, fast.compile) == (
        'AutocastOptimWrapper', 'bfloat16', True)
    assert fast.optim_wrapper.optimizer == cfg.optim_wrapper.optimizer  # same recipe
    assert fast.custom_hooks == [dict(type='SpeedUpHook', channels_last=True)]
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/fashion_mnist/paper-resnet20_b128-64k_fashion-mnist.py'))
    ds = synthetic_dataset(cfg)
    assert ds['img_shape'] == (28, 28, 1) and ds['num_samples'] == 50000
    assert [t['type'] for t in ds['pipeline']] == ['RandomCropPad', 'mmcv.RandomFlip',
                                                   'PackClsInputs']


@pytest.mark.e2e
def test_gpu_benchmark_script_names_existing_configs_and_refuses_unknown_steps():
    # A typo here would waste a GPU run: every config it names must exist.
    import re

    import mmdet
    script = open(osp.join(ROOT, 'tools', 'gpu_benchmarks.sh')).read()
    ours = set(re.findall(r'(configs/[\w./{}$-]+\.py)', script))
    assert len(ours) >= 4
    for path in ours:
        for d in ('20', '110'):
            p = path.replace('${d}', d)
            assert osp.isfile(osp.join(ROOT, p)), p
    mim = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
    for path in re.findall(r'mmdet::([\w./-]+\.py)', script):
        assert osp.isfile(osp.join(mim, path)), path
    out = subprocess.run(['bash', osp.join(ROOT, 'tools', 'gpu_benchmarks.sh'), 'nope',
                          '/tmp'], capture_output=True, text=True)
    assert out.returncode == 2 and "unknown step 'nope'" in out.stderr


def test_history_benchmark_prints_both_buffers(capsys):
    main = runpy.run_path(osp.join(ROOT, 'tools', 'benchmark_history.py'))['main']
    main(['--lengths', '10', '300', '--iters', '3', '--repeats', '1'])
    rows = capsys.readouterr().out.strip().splitlines()
    assert len(rows) == 4 and 'AppendHistoryBuffer' in rows[0]
    for row, n in zip(rows[2:], (10, 300)):
        cells = [c.strip() for c in row.strip('|').split('|')]
        assert int(cells[0]) == n and float(cells[1]) > 0 and float(cells[2]) > 0
    with pytest.raises(ValueError, match='lengths must be a positive int, got 0'):
        main(['--lengths', '0', '5'])
