"""BudgetHook: a run whose speed probe was 20x off (too fast or too slow) is shortened or
lengthened by the speed measured while it trains, its lr step moves with its length, and
one line says so with both speeds. The toy model sleeps a fixed time per iteration, so the
measured speed is known; the probe's is what the test says it was."""
import time
import uuid

import pytest

from .toy import ToyData, ToyModel

SLEEP = 0.02  # seconds per toy iteration (8 iterations per epoch of 32 samples)


def _run(work_dir, by_epoch, length, planned_s, budget_s, wanted=None, relative=False):
    import mmresnet  # noqa: F401  (registers the hook)
    from mmengine.runner import Runner
    unit = dict(max_epochs=length) if by_epoch else dict(max_iters=length)
    runner = Runner(
        model=ToyModel(sleep=SLEEP), work_dir=str(work_dir),
        experiment_name=f'budget_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=ToyData(), batch_size=4, collate_fn=dict(
            type='default_collate'), sampler=dict(
                type='DefaultSampler' if by_epoch else 'InfiniteSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=by_epoch, **unit),
        param_scheduler=[dict(type='MultiStepLR', by_epoch=by_epoch, begin=0, end=length,
                              milestones=[int(0.8 * length)], gamma=0.1)],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=100),
                           checkpoint=dict(type='AtomicCheckpointHook', interval=length,
                                           by_epoch=by_epoch)),
        custom_hooks=[dict(type='BudgetHook', planned_s=planned_s, wanted=wanted,
                           check_s=0.1, name='toy',
                           **(dict(seconds=budget_s) if relative else
                              dict(deadline=time.time() + budget_s)))],
        default_scope='mmdet', randomness=dict(seed=0))
    start = time.time()
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'BudgetHook')
    return runner, hook.record, time.time() - start


@pytest.mark.parametrize('by_epoch', [False, True])
def test_a_probe_20x_too_fast_is_caught_and_the_run_shortened(tmp_path, by_epoch):
    """The plan thought 400 epochs/iterations fit in 3 s; the run is 20x slower than the
    probe said: the loop ends near the deadline instead, the lr step moves, the line says
    both speeds."""
    per_unit = SLEEP * (8 if by_epoch else 1)
    runner, record, seconds = _run(tmp_path, by_epoch, 400, SLEEP / 20, budget_s=3.0)
    done = runner.epoch if by_epoch else runner.iter
    assert 2 <= done == record['length'] < 400, record
    assert done * per_unit < 3.0 + 1.0  # about the deadline, far below 400 units
    assert record['slowdown'] > 10 and record['changes'] >= 1
    note = record['notice']
    assert 'x slower' in note, note
    assert f'toy 400 -> {done} ' in note and 's by the speed probe' in note, note
    sched = runner.param_schedulers[0]
    assert sched.end == done
    assert all(m <= done for m in sched.milestones), sched.milestones  # the step came along
    assert (tmp_path / 'last_checkpoint').is_file()  # the last state saved where it ended


def test_a_probe_20x_too_slow_lengthens_the_run_up_to_what_was_wanted(tmp_path):
    """The plan cut the run to 5 iterations from a probe 20x too slow; the run is fast:
    it goes on (towards the 1,000 the data asked for) while the budget holds."""
    runner, record, seconds = _run(tmp_path, False, 5, SLEEP * 20, budget_s=1.5, wanted=1000,
                                   relative=True)  # 1.5 s from the start of training
    assert runner.iter == record['length'] > 20, record
    assert runner.iter < 1000
    assert 'x faster' in record['notice'] and 'toy 5 -> ' in record['notice'], record
    assert runner.param_schedulers[0].end == runner.iter
    assert runner.train_loop.val_interval > 5  # validations spread over the new length


def test_a_probe_that_was_right_changes_nothing(tmp_path, monkeypatch):
    """Within the factor (5x here: the toy's speed on a loaded machine) and within the
    budget: no change, no line."""
    import mmresnet.engine.budget as budget
    monkeypatch.setattr(budget, 'SPEED_FACTOR', 5.0)
    runner, record, _ = _run(tmp_path, False, 20, SLEEP * 1.1, budget_s=30)
    assert runner.iter == 20 and record['changes'] == 0 and record['notice'] is None, record
    assert 0.2 < record['slowdown'] < 5


def test_a_length_set_by_hand_only_shrinks(tmp_path):
    """The plan gave 5 iterations, the config says 8 (``--cfg-options``): a fast run does
    not go past the 8 asked for."""
    import mmresnet  # noqa: F401
    from mmengine.runner import Runner
    runner = Runner(
        model=ToyModel(sleep=SLEEP), work_dir=str(tmp_path),
        experiment_name=f'budget_{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=ToyData(), batch_size=4, collate_fn=dict(
            type='default_collate'), sampler=dict(type='InfiniteSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=8),
        custom_hooks=[dict(type='BudgetHook', deadline=time.time() + 30, check_s=0.0,
                           planned_s=SLEEP * 20, planned_length=5, wanted=1000)],
        default_scope='mmdet')
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'BudgetHook')
    assert runner.iter == 8 and hook.record['wanted'] == 8, hook.record
    assert 'x faster' in hook.record['notice'] and 'stays at 8' in hook.record['notice']


def test_a_deadline_or_seconds_is_asked_for():
    from mmresnet.engine.budget import BudgetHook
    for kwargs in (dict(), dict(deadline=1.0, seconds=1.0)):
        with pytest.raises(ValueError, match='give deadline or seconds'):
            BudgetHook(planned_s=0.1, **kwargs)


def test_a_length_cut_by_load_is_said_though_the_probe_saw_the_same_load(tmp_path, capsys,
                                                                         monkeypatch):
    """The probe was right (it measured the same slow machine) but the stage cannot hold
    what its config asks: the cut is said in the log, not only in the record (no speed is
    'off' here, whatever the load does to the toy's: the factor is set out of reach)."""
    import mmresnet.engine.budget as budget
    monkeypatch.setattr(budget, 'SPEED_FACTOR', 1000.0)
    runner, record, _ = _run(tmp_path, False, 400, SLEEP * 1.1, budget_s=2.0)
    assert runner.iter < 400, record
    assert f'toy 400 -> {runner.iter} iterations' in record['notice']
    captured = capsys.readouterr()
    assert 'budget: ' in captured.out + captured.err
