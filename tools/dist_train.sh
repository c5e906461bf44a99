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
#
# Elastic mode (docs/elastic.md), started once on each node; the first agent hosts the store:
#   NNODES=MIN:MAX RDZV_ENDPOINT=HOST:PORT [RDZV_ID=ID] [MAX_RESTARTS=N] \
#       bash tools/dist_train.sh CONFIG GPUS_PER_NODE [train.py args...]
# torchrun's c10d rendezvous: after a worker dies (a signal, an OOM kill, an exception) the
# agents stop and start every worker again, up to MAX_RESTARTS (default 3) times, and nodes
# may leave or join between MIN and MAX. Each start continues from WORK_DIR/last_checkpoint
# where there is one (mmresnet.engine.elastic); when the restarts run out, one message names
# the failed rank, node, cause and checkpoint (tools/elastic_run.py). RDZV_ID (default: the
# config's name) keeps two runs on one endpoint apart; RDZV_CONF goes to --rdzv-conf (e.g.
# last_call_timeout=30,keep_alive_interval=5: how long a rendezvous waits for more nodes, how
# soon a dead node is dropped); RDZV_BACKEND=etcd-v2 (with an etcd server at RDZV_ENDPOINT and
# the python-etcd package) has no node whose loss ends the run.
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

if [[ "$NNODES" == *:* || -n "$RDZV_ENDPOINT" ]]; then
    [[ "$NNODES" == *:* ]] || NNODES=$NNODES:$NNODES
    # torch >= 2.5 shares the rendezvous store with the workers, which has broken restarts
    # (pytorch/pytorch#135712): off unless asked for.
    export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=${TORCH_DISABLE_SHARE_RDZV_TCP_STORE:-1}
    RDZV_ENDPOINT=${RDZV_ENDPOINT:-$MASTER_ADDR:$PORT}
    RDZV_ID=${RDZV_ID:-$(basename "$CONFIG" .py)}
    MAX_RESTARTS=${MAX_RESTARTS:-3}
    export MMRESNET_ELASTIC=1
    export MMRESNET_LAUNCH_COMMAND="NNODES=$NNODES RDZV_ENDPOINT=$RDZV_ENDPOINT RDZV_ID=$RDZV_ID MAX_RESTARTS=$MAX_RESTARTS bash $0 $*"
    LAUNCH=("$(dirname "$0")/elastic_run.py" --nnodes=$NNODES --nproc_per_node=$GPUS
            --rdzv-backend=${RDZV_BACKEND:-c10d} --rdzv-endpoint=$RDZV_ENDPOINT
            --rdzv-id=$RDZV_ID --max-restarts=$MAX_RESTARTS
            ${RDZV_CONF:+--rdzv-conf=$RDZV_CONF})
else
    unset MMRESNET_ELASTIC
    LAUNCH=(-m torch.distributed.run --nnodes=$NNODES --node_rank=$NODE_RANK
            --master_addr=$MASTER_ADDR --nproc_per_node=$GPUS --master_port=$PORT)
fi

MMRESNET_PREEMPTED_FILE=$MARK \
PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
$PYTHON "${LAUNCH[@]}" \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3} &
TORCHRUN=$!
workers() { pgrep -P "$TORCHRUN" 2>/dev/null || ps -o pid= --ppid "$TORCHRUN"; }
# Elastic mode: the agent stops too (a preempted worker is not restarted); it sends SIGTERM
# on to the workers, which take it as the same request, and waits 30 s for their checkpoint.
agent() { [ -n "$MMRESNET_ELASTIC" ] && kill -TERM $TORCHRUN 2>/dev/null; }
trap 'kill -TERM $(workers) 2>/dev/null; agent' TERM
trap 'kill -USR1 $(workers) 2>/dev/null; agent' USR1
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
