"""The ResNet-110 warm-up rule (Section 4.2): lr x0.1 until the training error < 80%."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import MultiStepLR, OptimWrapper

from mmresnet.engine import WarmupUntilErrorHook


def fake_runner(lr=0.1, milestones=(60, )):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)
    runner = SimpleNamespace(optim_wrapper=OptimWrapper(opt), iter=0)
    runner.scheduler = MultiStepLR(opt, milestones=list(milestones), gamma=0.1, by_epoch=False)
    return runner


def train(hook, runner, errors):
    """Run the hook over iterations with these batch errors; the lr used at each one."""
    used = []
    for err in errors:
        used.append(runner.optim_wrapper.param_groups[0]['lr'])
        hook.after_train_iter(runner, runner.iter, outputs=dict(error=torch.tensor(err)))
        runner.scheduler.step()  # ParamSchedulerHook, after the iteration
        runner.iter += 1
    return used


def test_switches_back_when_error_mean_below_80():
    hook, runner = WarmupUntilErrorHook(window=20), fake_runner()
    hook.before_train(runner)
    used = train(hook, runner, [95.0] * 30 + [70.0] * 40)
    # The mean of the last 20 falls below 80 with the 13th 70% batch: iteration 42.
    assert used[42] == pytest.approx(0.01) and used[43] == pytest.approx(0.1)
    assert used[:43] == pytest.approx([0.01] * 43)
    # The config's MultiStepLR keeps working on top (/10 at 60).
    assert used[59] == pytest.approx(0.1) and used[60] == pytest.approx(0.01)
    assert hook.state == 'done'


def test_never_switches_without_low_error_unless_capped():
    hook, runner = WarmupUntilErrorHook(window=5), fake_runner()
    hook.before_train(runner)
    assert train(hook, runner, [90.0] * 50) == pytest.approx([0.01] * 50)
    capped, runner = WarmupUntilErrorHook(window=5, max_iters=10), fake_runner()
    capped.before_train(runner)
    used = train(capped, runner, [90.0] * 12)
    assert used[9] == pytest.approx(0.01) and used[10] == pytest.approx(0.1)


def test_resume_keeps_state_and_load_from_warms_up_anew():
    hook, runner = WarmupUntilErrorHook(window=3), fake_runner()
    hook.before_train(runner)
    train(hook, runner, [90.0] * 4)
    ckpt = dict(meta={})
    hook.before_save_checkpoint(runner, ckpt)
    assert ckpt['meta']['warmup_until_error'] == 'active'
    # --resume: the restored optimizer already holds 0.01; it must not become 0.001.
    resumed, runner2 = WarmupUntilErrorHook(window=3), fake_runner(lr=0.01)
    runner2.iter = 4
    resumed.after_load_checkpoint(runner2, ckpt)
    resumed.before_train(runner2)
    used = train(resumed, runner2, [50.0] * 5)
    assert used[0] == pytest.approx(0.01) and used[-1] == pytest.approx(0.1)
    # load_from (iteration 0, fresh optimizer): the warm-up starts again.
    fresh, runner3 = WarmupUntilErrorHook(), fake_runner()
    fresh.after_load_checkpoint(runner3, dict(meta=dict(warmup_until_error='done')))
    fresh.before_train(runner3)
    assert runner3.optim_wrapper.param_groups[0]['lr'] == pytest.approx(0.01)


@pytest.mark.parametrize('kwargs, words', [(dict(factor=1.5), 'factor'),
                                           (dict(error_below=0), 'percentage'),
                                           (dict(window=0), 'window'),
                                           (dict(max_iters=-1), 'max_iters')])
def test_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        WarmupUntilErrorHook(**kwargs)


def test_missing_error_key_is_named():
    hook, runner = WarmupUntilErrorHook(), fake_runner()
    hook.before_train(runner)
    with pytest.raises(KeyError, match="'error'.*'loss'"):
        hook.after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.0)))


@pytest.mark.parametrize('cfg', ['configs/cifar/paper-resnet110_b128-64k_cifar10.py',
                                 'configs/cifar/paper-resnet1202_b128-64k_cifar10.py',
                                 'configs/fashion_mnist/paper-resnet110_b128-64k_fashion-mnist.py'])
def test_deep_cifar_configs_use_the_rule(cfg):
    cfg = Config.fromfile(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == ['WarmupUntilErrorHook']
    assert cfg.custom_hooks[0]['error_below'] == 80.0
    assert [s['type'] for s in cfg.param_scheduler] == ['MultiStepLR']
