"""tools/demo.py --data on a 3-image COCO export (gapped ids, a placeholder category, names
with spaces): the whole pipeline, tools/infer.py on its detector, and the config route of
docs/demo.md, its commands run as written. (--from-scratch: tests/tools/test_demo.py runs it
on the embedded data; the iteration-based schedule it scales:
tests/planning/test_schedule.py.)"""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from ..datasets.user_folder_exports import coco_export

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENV = dict(os.environ, OMP_NUM_THREADS='2')
CLASSES = ['traffic light', 'potted plant']


def _run(cmd, **kwargs):
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=ENV, **kwargs)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_demo_data_runs_the_pipeline_on_a_coco_export(tmp_path):
    data = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    work = tmp_path / 'work'
    out = _run([sys.executable, 'tools/demo.py', '--data', data, '--work-dir', str(work),
                '--budget-min', '60'])
    # the plan, printed before training: classes, sizes and why, iterations, minutes
    plan = out[:out.index('=== demo stage 1')]
    assert "classes      ['traffic light', 'potted plant']" in plan
    assert "category id 0 '_background_' dropped" in out and "'unused class' dropped" in out
    assert 'best possible recall' in plan and 'input 320 px' in plan
    assert re.search(r'detector +\d+ iterations of 2 images', plan)
    assert re.search(r'expected +[\d.]+ min', plan)
    # the precision this CPU decides (automatic unless the caller set the switch), in the
    # plan and in the training log, in the same words
    from mmresnet.engine.precision import decide_precision
    decided = decide_precision('cpu', 'bf16').describe()
    assert f'training in {decided}' in plan
    assert f'AutocastOptimWrapper: training in {decided}' in out
    assert 'eta:' in out  # MMEngine's ETA lines during training

    summary = json.loads((work / 'summary.json').read_text())
    for key in ('bbox_mAP', 'bbox_mAP_50', 'tta', 'single_view', 'stages',
                'backbone_checkpoint', 'classifier_checkpoint', 'detector_checkpoint',
                'predictions', 'config', 'pretrain_config', 'curves'):
        assert key in summary, key
    assert summary['classes'] == CLASSES
    assert summary['data']['layout'] == 'coco'
    assert summary['data']['sizing']['input_size'] == 320
    assert summary['data']['plan']['det_iters'] >= 20
    assert summary['config'] == str(work / 'configs' / 'detector.py')
    assert len(os.listdir(summary['predictions'])) == 1
    # the classifier learned background + both classes
    pre_cfg = (work / 'configs' / 'pretrain.py').read_text()
    assert 'num_classes=3' in pre_cfg
    det_cfg = (work / 'configs' / 'detector.py').read_text()
    assert "type='AtomicCheckpointHook'" in det_cfg and 'by_epoch=False' in det_cfg

    # tools/infer.py on the trained detector: the class names of the boxes
    infer = _run([sys.executable, 'tools/infer.py', summary['config'],
                  summary['detector_checkpoint'], osp.join(data, 'JPEGImages', 'a.jpg'),
                  '--out-dir', str(tmp_path / 'infer'), '--score-thr', '0.0'])
    assert re.search(r"\d+ '(traffic light|potted plant)'", infer), infer[-2000:]
    pred = json.loads((tmp_path / 'infer' / 'preds' / 'a.json').read_text())
    assert set(pred['label_names']) <= set(CLASSES) and pred['label_names']


def _documented_commands():
    text = open(osp.join(ROOT, 'docs', 'demo.md')).read()
    block = text.split('<!-- config route: run as written by tests/tools/test_demo_own_data.py'
                       ' -->', 1)[1]
    block = block.split('```bash', 1)[1].split('```', 1)[0]
    return [ln.strip() for ln in block.strip().splitlines() if ln.strip()
            and not ln.strip().startswith('#')]


def test_documented_config_route_runs_as_written(tmp_path):
    commands = _documented_commands()
    assert commands[0].startswith('python tools/demo.py --data data/mine')
    data = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    work = str(tmp_path / 'work')
    for cmd in commands:
        cmd = cmd.replace('data/mine', data).replace('work_dirs/mine', work)
        cmd = re.sub(r'^python ', f'{sys.executable} ', cmd)
        _run(['bash', '-c', cmd])
    assert osp.isfile(osp.join(work, 'plan.json'))
    assert osp.isfile(osp.join(work, 'pretrain', 'backbone.pth'))
    shown = [f for _, _, fs in os.walk(work) for f in fs if f == 'c.jpg']
    assert shown, 'tools/test.py --show-dir drew no prediction'


def test_demo_data_refuses_a_broken_folder_by_name(tmp_path):
    data = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    os.remove(osp.join(data, 'JPEGImages', 'b.jpg'))
    proc = subprocess.run([sys.executable, 'tools/demo.py', '--data', data, '--work-dir',
                           str(tmp_path / 'w')], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=ENV)
    assert proc.returncode == 2  # bad input, said without a traceback
    assert "image file 'JPEGImages/b.jpg' not found" in proc.stderr
    assert 'what to do: correct the annotation or image files' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'w' / 'pretrain').exists()  # checked before any training


@pytest.mark.parametrize('flag', ['--train-ann', '--skip-invalid'])
def test_own_data_flags_need_data(flag):
    proc = subprocess.run([sys.executable, 'tools/demo.py', flag] + (
        ['x'] if flag == '--train-ann' else []), cwd=ROOT, capture_output=True, text=True,
        timeout=120, env=ENV)
    assert proc.returncode == 2 and 'needs --data DIR' in proc.stderr
