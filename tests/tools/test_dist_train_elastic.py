"""tools/dist_train.sh's elastic mode: two agents on 127.0.0.1 (c10d rendezvous, gloo, one
worker each, as two nodes of one GPU would be). A worker SIGKILLed mid-run: the agents start
the group again, it resumes from last_checkpoint and ends with the uninterrupted run's
weights, bit for bit. A rank that raises on every start: the restarts run out and the run
ends with one message naming the rank, the node, the cause and the checkpoint."""
import os
import os.path as osp
import socket
import subprocess
import sys
import time

import pytest
import torch

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENGINE_TESTS = osp.join(ROOT, 'tests', 'engine')
sys.path.insert(0, ENGINE_TESTS)
from toy import read_losses, train_config  # noqa: E402

RECORD = "dict(type='EngineTestLossRecordHook')"
CLOCK = "dict(type='EngineTestRestartClockHook')"


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def two_agents(cfg, work, max_restarts, nnodes='2:2', second_env=None, timeout=240,
               port=None, **env):
    """Both agents' (exit code, output, end time), started at once as two nodes
    (``second_env``: the second one's own environment)."""
    port = port or _free_port()
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable, NNODES=nnodes,
               RDZV_ENDPOINT=f'127.0.0.1:{port}', RDZV_ID=f'elastic-test-{port}',
               MAX_RESTARTS=str(max_restarts),
               PYTHONPATH=os.pathsep.join(p for p in (
                   ENGINE_TESTS, os.environ.get('PYTHONPATH')) if p), **env)
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(cfg), '1', '--work-dir',
           str(work)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)]
    procs.append(subprocess.Popen(cmd, cwd=ROOT, env=dict(env, **(second_env or {})),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True))
    results = []
    try:
        for p in procs:
            out = p.communicate(timeout=timeout)[0]
            results.append((p.returncode, out, time.time()))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return results


def _run_logs(work):
    """The log files of every start (rank 0 writes them, on whichever node it is)."""
    return '\n'.join(p.read_text() for p in sorted(work.glob('*/*.log')))


def _times(path):
    with open(path) as f:
        return [float(line.split()[0]) for line in f]


def test_killed_worker_restarts_and_ends_with_the_uninterrupted_weights(tmp_path):
    plain, faulty = tmp_path / 'plain.py', tmp_path / 'faulty.py'
    plain.write_text(train_config([RECORD, CLOCK], max_iters=40, interval=10))
    faulty.write_text(train_config([RECORD, CLOCK, (
        "dict(type='EngineTestFaultHook', at_iter=25, rank=1, kind='kill')")],
        max_iters=40, interval=10))
    run, ref = tmp_path / 'run', tmp_path / 'ref'
    results = two_agents(faulty, run, max_restarts=2)
    logs = '\n'.join(out for _, out, _ in results)
    assert [rc for rc, _, _ in results] == [0, 0], logs[-6000:]
    logs = _run_logs(run)
    assert 'elastic start of run elastic-test-' in logs, logs[-6000:]
    assert 'yet; starting fresh' in logs  # the first start
    assert f'resuming from {run}/iter_20.pth ({run}/last_checkpoint)' in logs, logs[-6000:]
    assert 'world size 2 -> 2: unchanged' in logs
    killed, = _times(run / 'fault_at.txt')
    again, = _times(run / 'running_again_at.txt')  # iteration 21
    print(f'\nkill -> training running again: {again - killed:.1f} s')
    assert 0 < again - killed < 60

    results = two_agents(plain, ref, max_restarts=0)
    assert [rc for rc, _, _ in results] == [0, 0], results[0][1][-3000:]
    for rank in (0, 1):  # the iterations after the kill (21-25 trained twice) included
        assert read_losses(run, rank) == read_losses(ref, rank)
    from mmresnet.checkpoint import load_checkpoint_file
    a = load_checkpoint_file(str(ref / 'iter_40.pth'))['state_dict']
    b = load_checkpoint_file(str(run / 'iter_40.pth'))['state_dict']
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k  # max |diff| 0


def test_restarts_run_out_with_one_message(tmp_path):
    faulty = tmp_path / 'faulty.py'
    faulty.write_text(train_config([(
        "dict(type='EngineTestFaultHook', at_iter=12, rank=1, kind='raise')")],
        max_iters=40, interval=10))
    work, port = tmp_path / 'work', _free_port()
    results = two_agents(faulty, work, max_restarts=1, port=port)
    logs = '\n'.join(out for _, out, _ in results)
    assert all(rc != 0 for rc, _, _ in results), logs[-6000:]
    mine = [(out, end) for _, out, end in results
            if 'RuntimeError: EngineTestFaultHook' in out.split('[dist_train] training '
                                                                'failed')[-1]]
    assert len(mine) == 1, logs[-6000:]
    out, end = mine[0]
    line, = [x for x in out.splitlines() if x.startswith('[dist_train] training failed')]
    assert 'after 1 restart(s): rank 1 (local rank 0' in line, line
    assert f'on node {socket.gethostname()} ended with exit code 1: RuntimeError: ' \
           'EngineTestFaultHook: fault 2 at iteration 12.' in line, line
    assert f'Checkpoint to resume from: {work}/iter_10.pth ({work}/last_checkpoint)' in line
    assert line.endswith('Run the same command again to continue: NNODES=2:2 RDZV_ENDPOINT='
                         f'127.0.0.1:{port} RDZV_ID=elastic-test-{port} MAX_RESTARTS=1 bash '
                         f'{ROOT}/tools/dist_train.sh {faulty} 1 --work-dir {work}'), line
    faults = _times(work / 'fault_at.txt')
    assert len(faults) == 2  # the first start and the one restart
    print(f'\nlast failure -> the agent exits with the message: {end - faults[-1]:.1f} s')
    assert end - faults[-1] < 60


def test_node_lost_for_good_the_other_finishes_at_the_new_world_size(tmp_path):
    """NNODES=1:2: the second node (agent and worker) is SIGKILLed after iteration 25; the
    first restarts alone from iter_20.pth at world size 1 and finishes, saying what the
    change did (the rule: engine/elastic.world_size_change, tested in
    tests/engine/test_elastic.py)."""
    cfg = tmp_path / 'node_loss.py'
    cfg.write_text(train_config([RECORD, CLOCK, (
        "dict(type='EngineTestFaultHook', at_iter=25, kind='kill_node')")],
        max_iters=40, interval=10))
    work = tmp_path / 'work'
    # the first agent hosts the rendezvous store (its loss ends the run: docs/elastic.md);
    # a rendezvous closes 10 s after the first node joined, a dead node is dropped after 2 s
    conf = 'last_call_timeout=10,keep_alive_interval=1,keep_alive_max_attempt=2'
    (first_rc, first, _), (second_rc, _, _) = two_agents(
        cfg, work, max_restarts=1, nnodes='1:2', RDZV_CONF=f'{conf},is_host=true',
        second_env=dict(ENGINE_TEST_DOOMED_NODE='1', RDZV_CONF=f'{conf},is_host=false'))
    assert first_rc == 0 and second_rc != 0, first[-6000:]
    log = _run_logs(work)  # rank 0's, on either node
    assert 'elastic start of run elastic-test-' in log and ', world size 2, ' in log
    assert 'world size 2 -> 1: global batch 8 -> 4 (per-rank batch 4 kept); lr x 0.5' in log
    assert 'each rank skips 40 batches of its new shard (at most 0 samples seen twice' in log
    from mmresnet.checkpoint import load_checkpoint_file
    meta = load_checkpoint_file(str(work / 'iter_40.pth'))['meta']
    # 20 iterations of 2 x 4 samples, then 20 of 1 x 4
    assert (meta['world_size'], meta['iter'], meta['samples_seen']) == (1, 40, 240)
    assert sorted(read_losses(work)) == list(range(1, 41))
    lost, = _times(work / 'fault_at.txt')
    again, = _times(work / 'running_again_at.txt')
    print(f'\nnode lost -> training running again at world size 1: {again - lost:.1f} s')
    assert 0 < again - lost < 60
