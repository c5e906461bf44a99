"""torchrun's elastic agent with one message when the restarts run out (tools/dist_train.sh's
elastic mode starts it; its arguments are torchrun's).

    python tools/elastic_run.py --nnodes=1:2 --nproc_per_node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:PORT --rdzv-id=ID --max-restarts=3 tools/train.py CONFIG ...
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmresnet.apis.launch import run_elastic  # noqa: E402

if __name__ == '__main__':
    from mmresnet.apis.cli import run_tool
    sys.exit(run_tool(run_elastic, sys.argv[1:]))
