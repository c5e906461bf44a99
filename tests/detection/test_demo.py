"""tools/demo.py end to end on a sliver of the embedded data: train, evaluate, draw."""
import os
import os.path as osp
import subprocess
import sys

from .helpers import ROOT


def test_demo_trains_evaluates_and_draws(tmp_path):
    work = tmp_path / 'demo'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/demo.py'), '--work-dir', str(work),
         '--cfg-options', 'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=2',
         'test_dataloader.dataset.indices=2', 'train_dataloader.num_workers=0',
         # 128 px instead of 400: the pipeline, not the learning, is under test here.
         'train_dataloader.dataset.pipeline.2.scale=(128,128)',
         'test_dataloader.dataset.pipeline.1.scale=(128,128)',
         'train_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False'],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='2'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'box mAP' in out and 'a smoke run' in out
    assert osp.isfile(work / 'epoch_1.pth')
    drawn = os.listdir(work / 'predictions')
    assert len(drawn) == 2 and all(n.endswith('.jpg') for n in drawn)
