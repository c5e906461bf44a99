"""tools/slurm_train.sh with a stand-in ``srun`` and ``scontrol`` on PATH: it asks Slurm for
SIGUSR1 before the time limit, requeues a preempted batch job, the requeued job resumes by
itself, and outside a batch job a preempted run is started again with --resume. (That the
workers mark a preempted run and exit with 75 is tested through torchrun in
tests/engine/test_preemption.py.)"""
import os
import os.path as osp
import subprocess

import pytest

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# srun stand-in: logs its arguments; its first call plays a preempted run (the mark that
# PreemptionHook writes, exit code 75), the later ones a finished run.
FAKE_SRUN = r'''#!/usr/bin/env bash
echo "srun $*" >> "$FAKE_LOG"
if [ ! -e "$FAKE_LOG.preempted_once" ]; then
    touch "$FAKE_LOG.preempted_once"
    echo "SIGUSR1 at iteration 7: iter_7.pth" > "$MMRESNET_PREEMPTED_FILE"
    exit 75
fi
'''
FAKE_SCONTROL = '#!/usr/bin/env bash\necho "scontrol $*" >> "$FAKE_LOG"\n'


def _slurm_train(tmp_path, **env_vars):
    bin_dir = tmp_path / 'bin'
    if not bin_dir.exists():
        bin_dir.mkdir()
        for name, text in (('srun', FAKE_SRUN), ('scontrol', FAKE_SCONTROL)):
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        (tmp_path / 'work').mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith('SLURM_')}
    env.update(PATH=f'{bin_dir}:{env["PATH"]}', FAKE_LOG=str(tmp_path / 'calls.log'),
               **env_vars)
    out = subprocess.run(['bash', osp.join(ROOT, 'tools', 'slurm_train.sh'), 'part', 'job',
                          'cfg.py', str(tmp_path / 'work'), '--amp'], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    with open(tmp_path / 'calls.log') as f:
        return out, f.read().splitlines()


def test_batch_job_is_requeued_and_resumes(tmp_path):
    out, calls = _slurm_train(tmp_path, SLURM_JOB_ID='4242', SLURM_RESTART_COUNT='0')
    assert out.returncode == 75, out.stderr[-3000:]
    assert len(calls) == 2 and '--signal=USR1@120' in calls[0], calls
    assert calls[0].endswith('--amp') and calls[1] == 'scontrol requeue 4242', calls
    # the requeued job: Slurm runs the same script again with SLURM_RESTART_COUNT set
    out, calls = _slurm_train(tmp_path, SLURM_JOB_ID='4242', SLURM_RESTART_COUNT='1')
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(calls) == 3 and calls[2].endswith('--amp --resume'), calls


def test_outside_a_batch_job_srun_runs_again_with_resume(tmp_path):
    out, calls = _slurm_train(tmp_path, SIGNAL_SECONDS='300')
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(calls) == 2 and all('--signal=USR1@300' in c for c in calls), calls
    assert calls[0].endswith('--amp') and calls[1].endswith('--amp --resume'), calls


# srun stand-in for ELASTIC=1: logs its arguments, then runs the task's command (from `env`
# on) once, as the task on the job's first node would; scontrol names the job's nodes.
ELASTIC_SRUN = r'''#!/usr/bin/env bash
echo "srun $*" >> "$FAKE_LOG"
while [ "$1" != env ]; do shift; done
SLURM_JOB_NODELIST='node-[a-b]' SLURM_JOB_ID=4242 "$@"
'''
ELASTIC_SCONTROL = r'''#!/usr/bin/env bash
[ "$*" = "show hostnames node-[a-b]" ] && printf 'node-a\nnode-b\n'
'''
# the Python that tools/dist_train.sh starts: logs torchrun's arguments
FAKE_PYTHON = '#!/usr/bin/env bash\necho "python $*" >> "$FAKE_LOG"\n'


def test_elastic_multi_node_one_agent_per_node(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('srun', ELASTIC_SRUN), ('scontrol', ELASTIC_SCONTROL),
                       ('python', FAKE_PYTHON)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (tmp_path / 'work').mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(('SLURM_', 'RDZV_'))}
    env.update(PATH=f'{bin_dir}:{env["PATH"]}', FAKE_LOG=str(tmp_path / 'calls.log'),
               ELASTIC='1', GPUS='16', GPUS_PER_NODE='8', MIN_NODES='1',
               PYTHON=str(bin_dir / 'python'))
    out = subprocess.run(['bash', osp.join(ROOT, 'tools', 'slurm_train.sh'), 'part', 'job',
                          'cfg.py', str(tmp_path / 'work'), '--amp'], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp_path / 'calls.log') as f:
        srun, python = f.read().splitlines()
    for arg in ('--ntasks=2 ', '--ntasks-per-node=1 ', '--cpus-per-task=40 ',
                '--kill-on-bad-exit=0 ', '--signal=USR1@120 '):
        assert arg in srun, srun
    assert ' env NNODES=1:2 MAX_RESTARTS=3 ' in srun and srun.endswith('--amp'), srun
    # torchrun's elastic agent, the rendezvous on the job's first node
    for arg in ('--nnodes=1:2 ', '--nproc_per_node=8 ', '--rdzv-backend=c10d ',
                '--rdzv-endpoint=node-a:29400 ', '--rdzv-id=4242 ', '--max-restarts=3 '):
        assert arg in python, python
    assert python.endswith(f'cfg.py --launcher pytorch --work-dir={tmp_path}/work --amp'), \
        python
