"""Test protocols (single / 10-crop / multi-scale), top-k error, the paper's LR schedules."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import PARAM_SCHEDULERS

from mmresnet.evaluation import TopKError
from mmresnet.models import PaperResNetClassifier

BACKBONE = dict(type='PaperResNet', depth=8, arch='cifar', base_channels=4)


def classifier(**test_cfg):
    return PaperResNetClassifier(BACKBONE, num_classes=5, test_cfg=test_cfg).eval()


def test_ten_crop_averages_softmax_over_views():
    model = classifier(protocol='ten_crop')
    views = torch.rand(2, 10, 3, 16, 16)
    scores = model.predict_scores(views)
    per_view = model(views.flatten(0, 1)).softmax(-1).view(2, 10, 5)
    torch.testing.assert_close(scores, per_view.mean(1))
    assert torch.allclose(scores.sum(-1), torch.ones(2))
    with pytest.raises(ValueError, match='TenCrop'):
        model.predict_scores(torch.rand(1, 3, 16, 16))


def test_multi_scale_is_fully_convolutional_average():
    model = classifier(protocol='multi_scale', scales=(16, 24, 40))
    x = torch.rand(1, 3, 16, 32)
    calls = []
    orig = model.dense_scores
    model.dense_scores = lambda inp: calls.append(tuple(inp.shape[-2:])) or orig(inp)
    scores = model.predict_scores(x)
    assert calls == [(16, 32), (24, 48), (40, 80)]  # short side = each scale, aspect kept
    # At the input's own size, dense scores of a global-pool + fc net equal its logits
    # (the fc commutes with average pooling).
    torch.testing.assert_close(orig(x), model(x), atol=1e-5, rtol=1e-5)
    assert scores.shape == (1, 5) and torch.allclose(scores.sum(-1), torch.ones(1))


def test_unknown_protocol():
    with pytest.raises(ValueError, match="'single', 'ten_crop', 'multi_scale'"):
        classifier(protocol='five_crop')


def test_topk_error_metric():
    metric = TopKError(topk=(1, 2))
    scores = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1], [0.2, 0.3, 0.5]])
    labels = [0, 1, 1, 0]  # top-1 hits: 1st only; top-2 hits: 1st, 2nd, 3rd
    samples = [dict(pred_score=s, gt_label=torch.tensor(l)) for s, l in zip(scores, labels)]
    metric.process({}, samples)
    assert metric.evaluate(4) == {'error/top1': 75.0, 'error/top2': 25.0}


def lr_at(cfg_path, iters):
    cfg = Config.fromfile(cfg_path)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.optim_wrapper.optimizer.lr)
    scheds = [PARAM_SCHEDULERS.build(dict(s, optimizer=opt)) for s in cfg.param_scheduler]
    out, it = {}, 0
    for target in sorted(iters):
        while it < target:
            opt.step()
            for s in scheds:
                s.step()
            it += 1
        out[target] = opt.param_groups[0]['lr']
    return out


def test_cifar_schedule_steps_at_32k_48k():
    lrs = lr_at('configs/cifar/paper-resnet20_b128-64k_cifar10.py', [0, 31999, 32000, 48000])
    assert lrs == pytest.approx({0: 0.1, 31999: 0.1, 32000: 0.01, 48000: 0.001})


def test_fixed_400_iteration_warm_up_alternative():
    # The fixed form of the ResNet-110 rule (the default is WarmupUntilErrorHook).
    lrs = lr_at('configs/_base_/schedules/cifar_bs128_64k_warmup400.py',
                [0, 399, 400, 32000, 48000])
    assert lrs == pytest.approx({0: 0.01, 399: 0.01, 400: 0.1, 32000: 0.01, 48000: 0.001})
    assert Config.fromfile('configs/cifar/paper-resnet110_b128-64k_cifar10.py'
                           ).train_cfg.max_iters == 64000


def test_fashion_mnist_study_schedule():
    # The agreed 800-iteration study: lr 0.1, /10 at 400 and 600, every net of 20..56 layers.
    path = 'configs/fashion_mnist/paper-{}_b128-800i_fashion-mnist.py'
    lrs = lr_at(path.format('plain56'), [0, 399, 400, 599, 600, 799])
    assert lrs == pytest.approx({0: 0.1, 399: 0.1, 400: 0.01, 599: 0.01, 600: 0.001,
                                 799: 0.001})
    for kind in ('resnet', 'plain'):
        for depth in (20, 32, 44, 56):
            cfg = Config.fromfile(path.format(f'{kind}{depth}'))
            assert (cfg.model.backbone.depth, cfg.model.backbone.plain) == (depth,
                                                                          kind == 'plain')
            assert cfg.model.backbone.in_channels == 1 and cfg.randomness.seed == 0
            assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval,
                    cfg.train_dataloader.batch_size) == (800, 100, 128)
            assert cfg.val_dataloader.dataset.split == 'test'
