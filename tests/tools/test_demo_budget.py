"""The demo with a speed probe 20x too fast (as after a probe in a quiet moment before a busy
one): the budget hooks measure the real speed while training and say so in one line with
both speeds, in the log, summary.json, plan.json and report.html. On a sliver of the
embedded data (32 px crops, 128 px tiles), in the process, the probe's figures divided by
20."""
import html
import json
import os.path as osp

import pytest

pytestmark = pytest.mark.e2e  # runs the demo's training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN = {'train_cfg.max_iters': 12, 'train_dataloader.batch_size': 8,
            'train_dataloader.dataset.crop_size': 32,
            'train_dataloader.dataset.crops_per_box': 1,
            'train_dataloader.dataset.pipeline.0.size': 32,
            'train_dataloader.dataset.pipeline.0.padding': 4}
# 4 epochs of the 14 iterations the training tiles give: the plan's 56 iterations
DETECT = {'train_cfg.max_epochs': 4, 'train_cfg.val_interval': 2,
          'train_dataloader.dataset.indices': 6, 'train_dataloader.num_workers': 0,
          'train_dataloader.persistent_workers': False,
          'train_dataloader.dataset.pipeline.2.scale': (128, 128)}
for _part in ('val', 'test'):
    DETECT.update({f'{_part}_dataloader.dataset.indices': 2,
                   f'{_part}_dataloader.num_workers': 0,
                   f'{_part}_dataloader.persistent_workers': False,
                   f'{_part}_dataloader.dataset.pipeline.1.scale': (128, 128)})
FACTOR = 20


def _demo_with_probe(change, tmp_path, monkeypatch, capfd):
    """(work dir, summary, printed text) of the demo on the sliver with a 1-minute budget,
    the speed probe's figures passed through ``change``."""
    import mmresnet.planning.plan as plan_module
    from mmresnet.apis.demo import run_demo
    measure = plan_module.measure_speed
    monkeypatch.setattr(plan_module, 'measure_speed',
                        lambda *args, **kwargs: change(measure(*args, **kwargs)))
    monkeypatch.chdir(ROOT)
    work = tmp_path / 'demo'
    summary = run_demo(str(work), budget_min=1.0, tta=False, pretrain_cfg_options=PRETRAIN,
                       cfg_options=DETECT)
    out = capfd.readouterr()
    return work, summary, out.out + out.err


def test_a_probe_20x_too_fast_is_said_with_both_speeds(tmp_path, monkeypatch, capfd):
    probed = {}

    def too_fast(speed):
        probed.update(speed)
        return {k: v / FACTOR if k.endswith('_s') else v for k, v in speed.items()}

    work, summary, log = _demo_with_probe(too_fast, tmp_path, monkeypatch, capfd)

    budget = summary['budget']
    assert set(budget) == {'pretraining', 'detector'}, budget
    det = budget['detector']
    # the plan keeps the probe's seconds to 4 decimals
    assert det['planned_s'] == pytest.approx(probed['det_s'] / FACTOR, rel=1e-3, abs=6e-5)
    assert det['slowdown'] > 5, det  # the probe's 20x, whatever the load does besides
    assert det['unit'] == 'iterations' and 1 <= det['length'] <= det['wanted'] == 56, det
    note = det['notice']
    assert note and 'x slower' in note and 's by the speed probe' in note, det
    assert f'{det["planned_s"]:.3f} s by the speed probe' in note
    # the one line, in each place the issue names
    assert 'budget: ' in log and 's per detector iteration measured in training' in log
    assert note in summary['data']['plan']['speed_notes']
    assert note in json.loads((work / 'plan.json').read_text())['plan']['speed_notes']
    assert note in json.loads((work / 'summary.json').read_text())['data']['plan'][
        'speed_notes']
    assert html.escape(note) in (work / 'report.html').read_text()
    assert f'budget       {note}' in log  # the printed summary


def test_a_probe_far_too_slow_starts_the_least_and_grows_by_the_measured_speed(
        tmp_path, monkeypatch, capfd):
    """The probe in a busy moment reads seconds where the run takes a fraction of one: the
    plan cannot hold the least detector run in the budget at that speed; the demo starts it
    anyway, says so in the plan's line (printed, plan.json, summary.json, report.html), and
    the budget hooks grow both stages back to what the data asked for."""

    work, summary, log = _demo_with_probe(
        lambda speed: dict(speed, pretrain_s=5.0, det_s=30.0, infer_s=5.0), tmp_path,
        monkeypatch, capfd)
    plan = summary['data']['plan']
    note = next(n for n in plan['speed_notes'] if n.startswith('--budget-min 1 holds'))
    assert "at the speed probe's 30.00 s each" in note and 'started with' in note, note
    assert f'budget       {note}' in log  # printed with the plan
    assert note in json.loads((work / 'plan.json').read_text())['plan']['speed_notes']
    assert html.escape(note) in (work / 'report.html').read_text()
    det = summary['budget']['detector']
    assert plan['det_iters'] < plan['wanted_det_iters'], plan  # the plan started short
    assert det['length'] > plan['det_iters'], det  # and training grew it by what it measured
    assert det['slowdown'] < 0.5, det  # far faster than the probe said
    print(f"planned {plan['det_iters']} -> trained {det['length']} of "
          f"{plan['wanted_det_iters']} detector iterations; stages "
          f"{sum(s['seconds'] for s in summary['stages']):.0f} s of a 60 s budget")
