#!/usr/bin/env bash
# Distributed training with PyTorch DDP through torchrun (MMEngine's 'pytorch' launcher).
#   bash tools/dist_train.sh CONFIG GPUS [train.py args...]
# Multi-node: NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8
# On a machine without GPUs the processes use the gloo backend on the CPU.
#
# Preemption: SIGTERM or SIGUSR1 to this script (or to its process group, as a scheduler
# sends it) makes every rank stop after the same iteration, rank 0 save iter_N.pth and point
# last_checkpoint at it (PreemptionHook). The script then exits with 75; run it again with
# --resume to continue exactly. torchrun starts each worker in a session of its own, so a
# signal to the process group reaches torchrun alone: the script passes both signals on to
# the workers (torchrun also forwards SIGTERM, and kills the workers 30 s after it). torchrun
# itself exits 1 whatever its workers return: they say it through $MMRESNET_PREEMPTED_FILE.
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
PREEMPTED_EXIT_CODE=75

MARK=$(mktemp "${TMPDIR:-/tmp}/mmresnet-preempted.XXXXXX")
trap 'rm -f "$MARK"' EXIT
trap '' USR1  # torchrun would die of SIGUSR1: it starts ignoring it (the workers handle it)

MMRESNET_PREEMPTED_FILE=$MARK \
PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3} &
TORCHRUN=$!
workers() { pgrep -P "$TORCHRUN" 2>/dev/null || ps -o pid= --ppid "$TORCHRUN"; }
trap 'kill -TERM $(workers) 2>/dev/null' TERM
trap 'kill -USR1 $(workers) 2>/dev/null' USR1
wait $TORCHRUN
RC=$?
while kill -0 $TORCHRUN 2>/dev/null; do  # a trapped signal ended the wait, not torchrun
    wait $TORCHRUN
    RC=$?
done
if [ -s "$MARK" ]; then
    echo "[dist_train] preempted: $(head -n 1 "$MARK"); continue with: bash $0 $* --resume" >&2
    exit $PREEMPTED_EXIT_CODE
fi
exit $RC
