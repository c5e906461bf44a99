"""tools/demo.py end to end on a sliver of the embedded data: pretrain, export, detect with
frozen BN, evaluate, draw, summarise."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

import mmresnet  # noqa: F401  (MMEngine's HistoryBuffer as a safe global of torch.load)

from ..analysis.browser import dump_dom, have_chromium, image_counts

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# Tiles at 256 px instead of 800 (anchors of 16-64 px for crowns of 10-45 px) and 32 px
# crops: small enough to be quick, large enough that the detector learns something in the
# 8 epochs of the training tiles (112 iterations) that the planner reads from these options;
# 50 pretraining iterations, so that the frozen BN holds statistics of some training.
PRETRAIN = ['train_cfg.max_iters=50', 'train_dataloader.batch_size=16',
            'train_dataloader.dataset.crop_size=32', 'train_dataloader.dataset.crops_per_box=1',
            'train_dataloader.dataset.pipeline.0.size=32',
            'train_dataloader.dataset.pipeline.0.padding=4']
DETECT = ['train_cfg.max_epochs=8', 'train_cfg.val_interval=8',
          'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
          'train_dataloader.dataset.pipeline.2.scale=(256,256)',
          'tta_pipeline.1.transforms.0.0.scale=(256,256)',
          'model.rpn_head.anchor_generator.scales=[1,2,4]',
          # every box scored: the COCO metric measures what little a short run finds
          'model.test_cfg.rcnn.score_thr=0.0']
for part in ('val', 'test'):
    DETECT += [f'{part}_dataloader.dataset.indices=2', f'{part}_dataloader.num_workers=0',
               f'{part}_dataloader.persistent_workers=False',
               f'{part}_dataloader.dataset.pipeline.1.scale=(256,256)']
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var')


def _bn(state, prefix=''):
    """Every BN of ``state`` under ``prefix`` (the modules with running statistics), its
    affine and statistics, keyed without the prefix."""
    mods = {k[:-len('running_mean')] for k in state
            if k.startswith(prefix) and k.endswith('.running_mean')}
    return {k[len(prefix):]: v for k, v in state.items()
            if any(k == m + key for m in mods for key in BN_KEYS)}


def _assert_box_maps(summary):
    """The COCO box mAPs were measured: finite and within [0, 1] (the demo writes NaN for
    a metric the test did not give)."""
    for key in ('bbox_mAP', 'bbox_mAP_50'):
        assert math.isfinite(summary[key]) and 0 <= summary[key] <= 1, (key, summary[key])
    assert summary['bbox_mAP'] <= summary['bbox_mAP_50']


def _untrained_maps(config, work_dir):
    """The same test (written config, 256 px, the tile and its flips, every box scored) of
    the detector with seeded random weights: the floor a trained one must beat."""
    import warnings

    from mmresnet.apis.runner import build_runner, enable_tta, testing_config
    from mmresnet.models.backbones import FrozenBNFromScratchWarning
    from mmresnet.planning.configs import pretrained_parts
    cfg = testing_config(config, None, work_dir)  # no checkpoint: the random weights
    for part in pretrained_parts(cfg):
        part.init_cfg = None
    enable_tta(cfg)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FrozenBNFromScratchWarning)
        metrics = build_runner(cfg).test()
    return {k.split('/')[-1]: float(v) for k, v in metrics.items()}


@pytest.mark.e2e
def test_demo_pretrains_exports_detects_with_frozen_bn_and_summarises(tmp_path):
    work = tmp_path / 'demo'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/demo.py'), '--work-dir', str(work),
         '--from-scratch', '--budget-min', '60',  # the plan, not this machine's speed
         '--pretrain-cfg-options', *PRETRAIN, '--cfg-options', *DETECT],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        # the float32 path, on any CPU (the own-data demo test runs the automatic one)
        env=dict(os.environ, OMP_NUM_THREADS='2', MMRESNET_CPU_BF16='0'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'box mAP' in out and 'Iter(val) [1/1]' in out and '=== pretrain' in out
    # the plan, the probe and the training log say the same precision
    assert 'training in float32 (MMRESNET_CPU_BF16=0)' in out
    assert 'AutocastOptimWrapper: training in float32 (MMRESNET_CPU_BF16=0)' in out
    assert 'detector ' in out and 'fp32, channels_last)' in out
    # the detectors are pretrained or tested from their checkpoint: no frozen-BN alarm
    assert 'FrozenBNFromScratchWarning' not in out
    # one road: the embedded tiles planned as a folder, the lengths read from the configs
    # (with the options), the sizing rule's choice, iterations throughout
    assert '=== plan (budget 60.0 min) ===' in out and 'best possible recall' in out
    assert 'pretraining  50 iterations of 16 crops' in out
    assert 'detector     112 iterations of 2 images (8.0 epochs of 14), 1 validations' in out
    summary = json.loads((work / 'summary.json').read_text())
    plan = summary['data']['plan']
    assert summary['classes'] == ['tree'] and plan['det_iters'] == 112
    assert summary['config'] == str(work / 'configs' / 'detector.py')
    _assert_box_maps(summary)
    # the trained detector finds more than one with random weights tested the same way
    # (2026-12-06, float32: 0.017 against 0.000 at IoU .5)
    untrained = _untrained_maps(summary['config'], str(tmp_path / 'untrained'))
    assert summary['bbox_mAP_50'] >= untrained['bbox_mAP_50'] + 0.005, (
        summary['bbox_mAP_50'], untrained)
    # evaluated with the tile and its flips; the single view is the last validation
    assert summary['tta'] is True and 'single view' in out
    assert set(summary['single_view']) == {'bbox_mAP', 'bbox_mAP_50'}
    names = [s['name'] for s in summary['stages']]
    assert 'pretrain' in names[0] and len(names) == 4 and 'scratch' in names[3]
    assert all(s['seconds'] >= 0 for s in summary['stages']) and summary['stages'][0]['seconds'] > 0
    assert osp.isfile(summary['backbone_checkpoint']) and osp.isfile(summary['curves'])
    assert len(os.listdir(summary['predictions'])) == 2
    # per class: the COCO numbers of the one class are the run's; the figures; the page
    tree = summary['per_class']['tree']
    assert tree['boxes'] > 0 and set(tree) == {'AP', 'AP50', 'AR', 'boxes'}
    assert tree['AP'] == pytest.approx(summary['bbox_mAP'], abs=1e-3)
    assert 'per class' in out and osp.isfile(summary['pr_curves'])
    assert osp.isfile(summary['confusion_matrix'])
    assert summary['confusion']['labels'] == ['tree', 'background']
    if have_chromium():
        loaded, total = image_counts(dump_dom(str(work / 'report.html')))
        assert loaded == total == 3 + 2  # curves, PR, confusion, the 2 validation tiles
    # the from-scratch twin: as many iterations as the budget of stages 1-3 allows
    scratch = summary['from_scratch']
    assert scratch['iterations'] >= 1 and 'epochs' not in scratch
    assert f"from scratch: {scratch['iterations']} iterations" in out
    _assert_box_maps(scratch)
    assert osp.isfile(scratch['detector_checkpoint']) and 'from scratch' in out

    # The detector started from the exported backbone, and its BN stayed frozen: the BN
    # affine and statistics of the trained detector are still the exported ones.
    from mmresnet.checkpoint import load_checkpoint_file  # the allow-list, on every torch
    exported = load_checkpoint_file(summary['backbone_checkpoint'])['state_dict']
    det = load_checkpoint_file(summary['detector_checkpoint'])['state_dict']
    bb_bn, head_bn = _bn(det, 'backbone.'), _bn(det, 'roi_head.shared_head.')
    # every BN: the stem's, the blocks', and the projection shortcuts' (option B)
    for found in (bb_bn, head_bn):
        assert any('.downsample.1.' in k for k in found) and any('.bn2.' in k for k in found)
    assert 'bn1.running_var' in bb_bn  # the stem's
    for k, v in bb_bn.items():
        assert torch.equal(v, exported[k]), k
    for k, v in head_bn.items():
        assert torch.equal(v, exported[k]), k
    # while the convolutions trained
    assert not torch.equal(det['backbone.layer3.0.conv1.weight'],
                           exported['layer3.0.conv1.weight'])


@pytest.mark.e2e
def test_an_option_with_a_space_and_a_comma_reaches_the_written_configs(tmp_path):
    """``tools/demo.py --cfg-options "note='potted plant, indoor'"`` (the plan alone): the
    value arrives in the detector configs the demo writes as one string, unchanged."""
    from mmengine.config import Config

    from .tool_loader import load_tool
    demo = load_tool('demo')
    work = tmp_path / 'plan'
    demo.main(['--work-dir', str(work), '--plan-only', '--budget-min', '12',
               '--cfg-options', "note='potted plant, indoor'", 'tag=potted plant',
               '--pretrain-cfg-options', "note='traffic light, outdoor'"])
    for name in ('detector', 'detector_scratch'):
        cfg = Config.fromfile(str(work / 'configs' / f'{name}.py'))
        assert cfg.note == 'potted plant, indoor' and cfg.tag == 'potted plant', name
    assert Config.fromfile(str(work / 'configs' / 'pretrain.py')).note == \
        'traffic light, outdoor'
