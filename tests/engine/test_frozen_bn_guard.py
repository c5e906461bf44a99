"""Frozen BN from scratch: the divergence guard names it when the first losses explode."""
import warnings
from types import SimpleNamespace

import pytest
import torch

from mmresnet.engine import DivergenceError, StopOnNonFiniteLossHook
from mmresnet.models import FrozenBNFromScratchWarning, PaperResNetClassifier


def _classifier(**backbone):
    torch.manual_seed(0)
    model = PaperResNetClassifier(
        dict(type='PaperResNet', depth=56, arch='cifar', base_channels=4, **backbone), 10)
    model.init_weights()
    return model.train()


def _train_until_stopped(model, tmp_path, iters=6, lr=0.1):
    """SGD steps on one random batch, each loss given to the guard as the runner would;
    the guard's DivergenceError (or None) and the losses seen."""
    hook = StopOnNonFiniteLossHook(interval=1)
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path), iter=0, epoch=0)
    hook.before_train(runner)
    optim = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 16, 16, generator=gen)
    y = torch.randint(0, 10, (8, ), generator=gen)
    losses = []
    for i in range(iters):
        runner.iter = i
        loss = torch.nn.functional.cross_entropy(model.head(model.backbone(x)), y)
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
        try:
            hook.after_train_iter(runner, i, outputs=dict(loss=loss.detach()))
        except DivergenceError as e:
            return e, losses
    return None, losses


def test_guard_points_at_frozen_bn_from_scratch(tmp_path):
    with pytest.warns(FrozenBNFromScratchWarning):
        model = _classifier(norm_eval=True, zero_init_residual=False)
    err, losses = _train_until_stopped(model, tmp_path)
    assert err is not None, losses  # 27 unnormalised residual branches: NaN within 6 steps
    msg = str(err)
    assert 'frozen' in msg and 'initial statistics' in msg, msg
    for way in ('Pretrained', 'zero_init_residual=True', 'norm_eval=False'):
        assert way in msg, msg


def test_the_ways_out_train(tmp_path):
    # the same net, BN training (the paper's) or the residual branches zero-initialised
    # (mmdet's default): finite losses, and no warning at construction
    for backbone in (dict(norm_eval=False, zero_init_residual=False),
                     dict(norm_eval=True, zero_init_residual=True)):
        with warnings.catch_warnings():
            warnings.simplefilter('error', FrozenBNFromScratchWarning)
            model = _classifier(**backbone)
        err, losses = _train_until_stopped(model, tmp_path)
        assert err is None and all(map(torch.isfinite, torch.tensor(losses))), (backbone,
                                                                                  losses)

