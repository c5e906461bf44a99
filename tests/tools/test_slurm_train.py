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
