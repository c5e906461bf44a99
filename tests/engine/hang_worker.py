"""Run by torchrun (tests/engine/test_elastic.py): three gloo ranks with a 2 s collective
timeout; rank 1 sleeps instead of joining the all-reduce. Each rank prints one line,
``RESULT <rank> <exception class or finished> <message>``.

    python -m torch.distributed.run --nproc_per_node=3 hang_worker.py
"""
import datetime
import os
import os.path as osp
import sys
import time

import torch
import torch.distributed as dist
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmresnet.engine.elastic import naming_silent_ranks  # noqa: E402

HUNG_RANK = 1
rank = int(os.environ['RANK'])
# the group forms with time to spare (three processes importing torch on two loaded cores
# arrive seconds apart: a 2 s rendezvous failed there); the collective gets the 2 s
dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=120))
group = dist.new_group(timeout=datetime.timedelta(seconds=2))
cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='gloo', timeout=2))))
try:
    with naming_silent_ranks(cfg):
        if rank == HUNG_RANK:
            time.sleep(30)  # hung past the timeout and the window
        dist.all_reduce(torch.ones(1), group=group)
    result = ('finished', '')
except Exception as exc:  # what each rank raised, for the test to read
    result = (type(exc).__name__, str(exc).replace('\n', ' '))
print(f'RESULT {rank} {result[0]} {result[1]}', flush=True)
sys.exit(0 if result[0] == 'finished' else 1)
