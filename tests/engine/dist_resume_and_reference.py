"""Run by torchrun (tests/engine/test_preemption.py): in each rank's process, tools/train.py
CONFIG --resume in RUN_DIR, then the uninterrupted run of CONFIG in REF_DIR: one start-up of
the two processes for both runs.

    python -m torch.distributed.run --nproc_per_node=2 dist_resume_and_reference.py \\
        CONFIG RUN_DIR REF_DIR
"""
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tests', 'tools'))
from tool_loader import load_tool  # noqa: E402

config, run_dir, ref_dir = sys.argv[1:4]
train = load_tool('train')
from mmresnet.apis.cli import destroy_process_group  # noqa: E402

# experiment_name: each run its own message hub and logger (the default, the start time,
# would be shared by two runs started in the same second)
try:
    train.main([config, '--work-dir', run_dir, '--resume', '--launcher', 'pytorch',
                '--cfg-options', 'experiment_name=resumed'])
    train.main([config, '--work-dir', ref_dir, '--launcher', 'pytorch',
                '--cfg-options', 'experiment_name=uninterrupted'])
finally:  # as run_tool does for the tools: left to the interpreter's shutdown, gloo's
    destroy_process_group()  # threads abort the process now and then (exit -6)
