"""tools/benchmark.py runs on CPU with tiny settings and writes valid JSON. Speed is printed,
never asserted: these tests check what was measured, not how fast."""
import copy
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmresnet.benchmarks.models import run_benchmark

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
C4_CONFIG = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
TINY = dict(batch=2, warmup=1, iters=1, repeats=2, device='cpu', log=lambda *a: None)
# mmdet's stock R-101 FPN config cut to R-18 (the neck follows) and few proposals: the same
# code paths in seconds. Both detectors get the same overrides.
TINY_DET = {'model.backbone.depth': 18, 'model.neck.in_channels': [64, 128, 256, 512],
            'model.train_cfg.rpn_proposal.max_per_img': 32,
            'model.train_cfg.rcnn.sampler.num': 64, 'model.test_cfg.rpn.max_per_img': 32}


def check_report(report, expected):
    assert report['env']['torch'] == torch.__version__
    assert report['env']['device'] == 'cpu'
    assert {(r['name'], r['mode']) for r in report['results']} == expected
    for r in report['results']:
        assert len(r['img_per_s_rounds']) == report['settings']['repeats']
        assert r['img_per_s'] > 0 and r['peak_mem_mb'] > 0
    # one ratio per (ours, reference) pair and mode, each our speed over the reference's
    by_name = {(r['name'], r['mode']): r['img_per_s'] for r in report['results']}
    assert report['ratios']
    for q in report['ratios']:
        assert q['ratio'] == pytest.approx(by_name[q['ours'], q['mode']] /
                                           by_name[q['reference'], q['mode']])


@pytest.mark.e2e
def test_classifier_cli_writes_json(tmp_path):
    out = tmp_path / 'cls.json'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'benchmark.py'), '--model', 'classifier',
         '--depth', '18', '--batch', '2', '--size', '32', '--warmup', '0', '--iters', '1',
         '--repeats', '2', '--device', 'cpu', '--threads', '1', '--out', str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    # classifier training has no frozen BN: no '+fold' training row
    check_report(report, {('PaperResNet-18', 'train'), ('PaperResNet-18', 'infer'),
                          ('PaperResNet-18 +fold', 'infer'), ('mmdet ResNet-18', 'train'),
                          ('mmdet ResNet-18', 'infer')})
    assert report['settings']['input_size'] == [32, 32]
    assert '| PaperResNet-18 | PaperResNet | infer |' in proc.stdout  # the printed table
    assert '| mmdet ResNet-18 | ResNet | infer |' in proc.stdout
    assert 'ratio [infer] PaperResNet-18 / mmdet ResNet-18' in proc.stdout


@pytest.mark.precision
def test_classifier_switches_bf16_channels_last(tmp_path, cpu_bf16):
    from mmresnet.engine.precision import decide_precision
    report = run_benchmark(model='classifier', depth=18, size=(32, 32), dtype='bf16',
                           channels_last=True, modes=('infer', ), references=['mmdet'],
                           out=str(tmp_path / 'b.json'), **TINY)
    settings = json.loads((tmp_path / 'b.json').read_text())['settings']
    # bf16 asked: what training would run here is what is timed, and said
    decided = decide_precision('cpu', 'bf16')
    assert settings['dtype'] == decided.name and settings['dtype_asked'] == 'bf16'
    assert settings['precision'] == decided.describe()
    assert settings['dtype'] == ('fp32' if cpu_bf16 == '0' else
                                 'bf16' if cpu_bf16 == '1' else settings['dtype'])
    rows = {r['name']: r for r in report['results']}
    assert set(rows) == {'PaperResNet-18', 'PaperResNet-18 +fold', 'mmdet ResNet-18'}
    assert rows['PaperResNet-18 +fold']['switches'] == ['BN->conv x20', 'channels_last']


def test_dcn_in_ours_and_mmdets_alike(tmp_path):
    from mmcv.ops import DeformConv2dPack

    from mmresnet.benchmarks.models import classifier_models
    models = classifier_models(50, 'pytorch', 10, ['mmdet', 'torchvision'], dcn='DCN')
    assert [name for name, _, _ in models] == ['PaperResNet-50', 'mmdet ResNet-50']
    for _, build, _ in models:
        backbone = build().backbone
        assert isinstance(backbone.layer2[0].conv2, DeformConv2dPack)
        assert not isinstance(backbone.layer1[0].conv2, DeformConv2dPack)
    report = run_benchmark(model='classifier', depth=50, size=(96, 96), dcn='DCN',
                           modes=('infer', ), references=['mmdet'], fold_bn=False,
                           clock='cpu', out=str(tmp_path / 'dcn.json'), **TINY)
    assert report['settings']['dcn'] == 'DCN' and report['settings']['clock'] == 'cpu'
    assert len(report['ratios']) == 1
    assert all(v > 0 for r in report['results'] for v in r['img_per_s_rounds'])
    with pytest.raises(ValueError, match="unknown dcn 'DCNv3'.*'DCNv2'"):
        classifier_models(50, 'pytorch', 10, ['mmdet'], dcn='DCNv3')


def test_cifar_net_timed_alone_with_the_schedule_projection():
    messages = []
    report = run_benchmark(model='classifier', arch='cifar', depth=8, size=(16, 16),
                           num_classes=10, references=['mmdet'],
                           **dict(TINY, log=messages.append))
    assert {(r['name'], r['mode']) for r in report['results']} == {
        ('PaperResNet-8 (cifar)', 'train'), ('PaperResNet-8 (cifar)', 'infer'),
        ('PaperResNet-8 (cifar) +fold', 'infer')}
    # no reference to compare with: only the switch against the same net without it
    assert [(q['ours'], q['reference']) for q in report['ratios']] == [
        ('PaperResNet-8 (cifar) +fold', 'PaperResNet-8 (cifar)')]
    assert any("the paper's 64k iterations at batch 2 would take" in m for m in messages)


def test_detector_vs_stock_config(tmp_path):
    report = run_benchmark(model='detector', size=(64, 64), cfg_options=TINY_DET,
                           out=str(tmp_path / 'det.json'),
                           **dict(TINY, batch=1, warmup=0, repeats=1))
    ours = 'PaperResNet (stock config, backbone swapped)'
    stock = 'stock mmdet (faster-rcnn_r101_fpn_1x_coco.py)'
    check_report(report, {(n, m) for n in (ours, ours + ' +fold', stock)
                          for m in ('train', 'infer')})
    fold = {r['mode']: r['switches'] for r in report['results'] if r['name'].endswith('fold')}
    # stock frozen_stages=1: the BN of the stem and of conv2_x (2 basic blocks x 2) are
    # frozen in training; at inference every BN folds (stem + 8 blocks x 2 + 3 projections)
    assert fold == {'train': ['frozen BN->affine x5'], 'infer': ['BN->conv x20']}
    # the reference really is mmdet's ResNet (a shallow config copy once swapped both)
    assert {r['name']: r['backbone'] for r in report['results']} == {
        ours: 'PaperResNet', ours + ' +fold': 'PaperResNet', stock: 'ResNet'}
    assert json.loads((tmp_path / 'det.json').read_text())['results']


def test_one_switch_against_none_in_the_same_rounds_without_a_reference():
    # the demo's one-class C4 detector: the synthetic labels stay within its classes
    messages = []
    report = run_benchmark(model='detector', config=C4_CONFIG, ref_config='none',
                           size=(64, 64), channels_last='both', fold_bn=False,
                           modes=('train', ), **dict(TINY, batch=1, log=messages.append))
    name = 'PaperResNet (faster-rcnn_paper-r18-c4_scratch_demo.py)'
    check_report(report, {(name, 'train'), (name + ' +channels_last', 'train')})
    assert [(q['ours'], q['reference']) for q in report['ratios']] == [
        (name + ' +channels_last', name)]
    rows = {r['name']: r['switches'] for r in report['results']}
    assert rows == {name: [], name + ' +channels_last': ['channels_last']}
    assert any('skipping the reference detector' in m for m in messages)


def test_swapped_detector_gets_the_stock_weights_and_does_the_same_work():
    # Random weights decide how many proposals survive NMS: ours gets the stock model's
    # (seeded) weights, so both detect the same boxes, i.e. do the same inference work.
    from mmresnet.benchmarks.models import (STOCK_DETECTOR, build_detector,
                                           load_detector_config)
    from mmresnet.planning.probe import random_detection_batch
    ref_cfg = load_detector_config(STOCK_DETECTOR, TINY_DET)
    ref_cfg.model.test_cfg.rcnn.score_thr = 0.0  # random class scores are ~1/81
    ours_cfg = copy.deepcopy(ref_cfg)
    ours_cfg.model.backbone = dict(ref_cfg.model.backbone, type='PaperResNet', shortcut='B')
    for key in ('init_cfg', 'num_stages'):
        ours_cfg.model.backbone.pop(key, None)
    messages = []
    ref = build_detector(ref_cfg).eval()
    ours = build_detector(ours_cfg, weights=ref.state_dict(), log=messages.append).eval()
    assert type(ours.backbone).__name__ == 'PaperResNet' != type(ref.backbone).__name__
    assert messages == ['same weights as the reference (same parameter layout)']
    data = ref.data_preprocessor(random_detection_batch(1, 96, 96, 'cpu'), False)
    with torch.no_grad():
        a, b = (m.predict(data['inputs'], data['data_samples'])[0].pred_instances
                for m in (ours, ref))
    assert len(b.bboxes) > 0
    torch.testing.assert_close(a.bboxes, b.bboxes, rtol=1e-4, atol=1e-3)
    assert torch.equal(a.labels, b.labels)
    # another layout (the C4 config) keeps its own weights and says so
    build_detector(load_detector_config(C4_CONFIG), weights=ref.state_dict(),
                   log=messages.append)
    assert 'another layout' in messages[-1]


@pytest.mark.precision
def test_detector_inference_in_bf16_keeps_nms_and_roialign_in_float32(cpu_bf16):
    # inference alone (no training step before it): the float32 islands are in place
    # wherever bf16 runs, so mmcv's NMS and RoIAlign get float32 boxes and features
    report = run_benchmark(model='detector', config=C4_CONFIG, ref_config='none',
                           size=(64, 64), dtype='bf16', fold_bn=False, modes=('infer', ),
                           **dict(TINY, batch=1, warmup=0, repeats=1))
    assert [r['mode'] for r in report['results']] == ['infer']
    assert report['results'][0]['img_per_s'] > 0


def test_missing_detector_config_is_skipped_with_a_message(tmp_path):
    messages = []
    report = run_benchmark(model='detector', config=str(tmp_path / 'nope.py'),
                           out=str(tmp_path / 'skip.json'),
                           **dict(TINY, log=messages.append))
    assert 'nope.py' in report['skipped'] and report['results'] == []
    assert any('detector config file not found' in m and 'nope.py' in m for m in messages)
    assert json.loads((tmp_path / 'skip.json').read_text())['skipped'] == report['skipped']


@pytest.mark.parametrize('kwargs, match', [
    (dict(dtype='fp16'), 'fp16 .* needs device cuda'),
    (dict(dtype='int8'), "allowed values: \\('fp32', 'bf16', 'fp16'\\)"),
    (dict(model='segmentor'), 'allowed values: classifier, detector'),
    (dict(modes=('train', 'export')), "unknown mode 'export'"),
    (dict(iters=0), 'iters must be a positive int'),
    (dict(clock='gpu'), "unknown clock 'gpu'; allowed values: \\('wall', 'cpu'\\)"),
])
def test_bad_settings_raise(kwargs, match):
    args = dict(TINY, **kwargs)
    with pytest.raises(ValueError, match=match):
        run_benchmark(**args)
