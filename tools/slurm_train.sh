#!/usr/bin/env bash
# Slurm training: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS from the environment.
#
# Time limits and preemption: Slurm sends SIGUSR1 to every task SIGNAL_SECONDS (default
# 120) before the time limit (srun --signal=USR1@120); on it, or on the SIGTERM of a
# preemption, every rank stops after the same iteration, rank 0 saves iter_N.pth and points
# WORK_DIR/last_checkpoint at it, and the tasks exit with 75 (PreemptionHook). Then:
# - inside a batch job (sbatch --requeue, with `#SBATCH --signal=USR1@120` in the script):
#   the job is requeued (scontrol requeue $SLURM_JOB_ID); the requeued job
#   (SLURM_RESTART_COUNT > 0) runs this script again, which adds --resume;
# - otherwise srun is started again with --resume (a new allocation), at most
#   MAX_RESTARTS (default 100) times.
# The script exits with 75 when it stops preempted without a restart.
#
# ELASTIC=1 (multi-node, docs/elastic.md): srun starts one torchrun agent per node
# (tools/dist_train.sh's elastic mode) instead of one task per GPU; the rendezvous is on the
# job's first node (port RDZV_PORT, default 29400; id RDZV_ID, default the job id). A dead
# worker restarts the group from last_checkpoint, up to ELASTIC_RESTARTS (default 3) times;
# the run goes on with MIN_NODES (default: all) to all nodes of the allocation.
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
SIGNAL_SECONDS=${SIGNAL_SECONDS:-120}
MAX_RESTARTS=${MAX_RESTARTS:-100}
PY_ARGS=${@:5}
PYTHON=${PYTHON:-python}
PREEMPTED_EXIT_CODE=75
# On the shared file system, where rank 0 (maybe on another node) can write it: srun's own
# exit code may be another task's (--kill-on-bad-exit stops the rest).
MARK="$WORK_DIR/.preempted"

if [ "${ELASTIC:-0}" = 1 ]; then
    NODES=$(( (GPUS + GPUS_PER_NODE - 1) / GPUS_PER_NODE ))
    TASKS=(--ntasks=${NODES} --ntasks-per-node=1 --cpus-per-task=$((CPUS_PER_TASK * GPUS_PER_NODE))
           --kill-on-bad-exit=0)
    # expanded on each node, inside the job: the endpoint is the job's first node
    AGENT='RDZV_ENDPOINT=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1):$RDZV_PORT'
    AGENT+=' RDZV_ID=${RDZV_ID:-$SLURM_JOB_ID} exec bash tools/dist_train.sh "$@"'
    RUN=(env NNODES=${MIN_NODES:-$NODES}:${NODES} MAX_RESTARTS=${ELASTIC_RESTARTS:-3}
         RDZV_PORT=${RDZV_PORT:-29400} RDZV_ID=${RDZV_ID:-} PYTHON=$PYTHON
         bash -c "$AGENT" dist_train.sh ${CONFIG} ${GPUS_PER_NODE} --work-dir=${WORK_DIR})
else
    TASKS=(--ntasks=${GPUS} --ntasks-per-node=${GPUS_PER_NODE} --cpus-per-task=${CPUS_PER_TASK}
           --kill-on-bad-exit=1)
    RUN=($PYTHON -u tools/train.py ${CONFIG} --work-dir=${WORK_DIR} --launcher="slurm")
fi

train() {
    rm -f "$MARK"
    MMRESNET_PREEMPTED_FILE=$MARK \
    PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
    srun -p ${PARTITION} \
        --job-name=${JOB_NAME} \
        --gres=gpu:${GPUS_PER_NODE} \
        "${TASKS[@]}" \
        --signal=USR1@${SIGNAL_SECONDS} \
        ${SRUN_ARGS} \
        "${RUN[@]}" ${PY_ARGS} "$@"
    RC=$?
    if [ -s "$MARK" ]; then RC=$PREEMPTED_EXIT_CODE; fi
}

# A last --resume wins over one in PY_ARGS (train.py's argparse): a restart continues from
# last_checkpoint, not from a checkpoint named for the first start.
RESUME=""
if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then RESUME="--resume"; fi
train ${RESUME}
RESTARTS=0
while [ $RC -eq $PREEMPTED_EXIT_CODE ]; do
    if [ -n "${SLURM_JOB_ID}" ]; then
        scontrol requeue "${SLURM_JOB_ID}"
        exit $RC
    fi
    RESTARTS=$((RESTARTS + 1))
    if [ $RESTARTS -gt $MAX_RESTARTS ]; then break; fi
    train --resume
done
exit $RC
