"""The speed switches change no result beyond floating-point tolerance: outputs and
gradients with channels_last, AMP autocast and torch.compile equal the plain model's, and
SpeedUpHook trains a Runner to the same weights."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.structures import BaseDataElement
from torch.utils.data import Dataset

from mmresnet.engine.frozen_bn import FrozenBatchNorm2d
from mmresnet.engine.speed_switches import SpeedUpHook, to_channels_last
from mmresnet.models import PaperResNet, PaperResNetClassifier

from .test_frozen_bn import assert_same, close, outputs_and_grads, randomize_bn


# -- channels_last, AMP, compile ---------------------------------------------------------
def test_channels_last_same_outputs_and_grads():
    x = torch.randn(2, 3, 32, 32)
    # BN with fixed statistics: batch statistics of a 1x1 map of two images are too
    # ill-conditioned for a float32 comparison.
    ref = randomize_bn(PaperResNet(depth=50, base_channels=8, norm_eval=True)).train()
    net = to_channels_last(copy.deepcopy(ref))
    assert net.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    a, b = outputs_and_grads(ref, x), outputs_and_grads(net, x)
    assert b[0][-1].is_contiguous(memory_format=torch.channels_last)  # the inputs were NHWC
    assert_same(a, b)


def test_channels_last_detector_feeds_roi_align_nchw():
    # mmcv's RoIAlign reads its input as NCHW memory: an NHWC feature map would give other
    # RoI features (and losses) without any error.
    from ..models.detector_helpers import build_detector, tiny_batch, tiny_detector_cfg
    ref = build_detector(tiny_detector_cfg('c4')).train()
    randomize_bn(ref)
    net = to_channels_last(copy.deepcopy(ref))

    def losses(model):
        torch.manual_seed(0)  # the same RPN and RoI samples
        out = model(**tiny_batch(model), mode='loss')
        return {k: float(sum(v) if isinstance(v, list) else v) for k, v in out.items()
                if k.startswith('loss')}

    a, b = losses(ref), losses(net)
    assert a.keys() == b.keys() and 'loss_cls' in a
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-4, abs=1e-5), k


def tiny_classifier():
    return PaperResNetClassifier(
        backbone=dict(type='PaperResNet', depth=8, arch='cifar', base_channels=8),
        num_classes=10,
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[120.0, 110.0, 100.0]))


def test_bf16_autocast_within_bf16_tolerance():
    # AmpOptimWrapper's optim_context is torch.autocast(device, dtype); on CPU the same
    # autocast (AmpOptimWrapper itself refuses CPUs) with bfloat16 (8-bit mantissa).
    model = tiny_classifier().train()
    x = torch.rand(4, 3, 32, 32) * 255
    inputs = model.data_preprocessor(dict(inputs=x))['inputs']
    logits = model(inputs, mode='tensor')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        amp_logits = model(inputs, mode='tensor')
    assert amp_logits.dtype == torch.bfloat16
    torch.testing.assert_close(amp_logits.float(), logits, rtol=0.05, atol=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='AmpOptimWrapper needs a GPU')
def test_amp_optim_wrapper_fp16_cuda():
    from mmengine.optim import AmpOptimWrapper
    model = tiny_classifier().cuda().train()
    ref = copy.deepcopy(model)
    data = dict(inputs=torch.rand(4, 3, 32, 32).cuda() * 255,
                data_samples=[BaseDataElement(gt_label=torch.tensor(i)) for i in range(4)])
    from mmengine.optim import OptimWrapper
    wa = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                         dtype='float16')
    wb = OptimWrapper(optimizer=torch.optim.SGD(ref.parameters(), lr=0.1))
    la, lb = model.train_step(data, wa)['loss'], ref.train_step(data, wb)['loss']
    torch.testing.assert_close(la, lb, rtol=1e-2, atol=1e-2)


def test_compile_same_outputs_and_grads():
    # aot_eager traces forward and backward as inductor does (AOTAutograd), without the
    # minutes of C++ compilation inductor needs on two cores; CUDA runs use inductor.
    net = PaperResNet(depth=8, arch='cifar', base_channels=4).train()
    ref = copy.deepcopy(net)
    compiled = torch.compile(net, backend='aot_eager')
    x = torch.randn(2, 3, 16, 16)
    a = outputs_and_grads(ref, x)
    xb = x.clone().requires_grad_(True)
    outs = compiled(xb)
    sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs).backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    assert_same(a, ([o.detach() for o in outs], xb.grad, grads))


# -- the config switch --------------------------------------------------------------------
def test_speed_up_hook_rejects_non_bool():
    with pytest.raises(TypeError, match='channels_last must be True or False'):
        SpeedUpHook(channels_last='yes')


class _Data(Dataset):

    def __len__(self):
        return 16

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.rand(3, 32, 32, generator=g) * 255,
                    data_samples=BaseDataElement(gt_label=torch.tensor(i % 2)))


def _train(work_dir, hooks, max_iters=4):
    from mmengine.runner import Runner
    model = PaperResNetClassifier(
        backbone=dict(type='PaperResNet', depth=8, arch='cifar', base_channels=8,
                      frozen_stages=1, norm_eval=True,
                      norm_cfg=dict(type='BN', requires_grad=False)),
        num_classes=2,
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3))
    randomize_bn(model)  # running statistics survive init_weights
    runner = Runner(
        model=model, work_dir=str(work_dir), default_scope='mmdet',
        randomness=dict(seed=0),  # the same init in every run
        train_dataloader=dict(dataset=_Data(), batch_size=4, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=100),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=100),
                           logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=hooks, log_level='WARNING')
    runner.train()
    return runner.model.state_dict(), runner.model


def test_speed_up_hook_trains_to_the_same_weights(tmp_path):
    ref, plain = _train(tmp_path / 'plain', [])
    got, fast = _train(tmp_path / 'fast', [dict(type='SpeedUpHook', freeze_bn=True,
                                                channels_last=True)])
    frozen = [m for m in fast.modules() if isinstance(m, FrozenBatchNorm2d)]
    assert len(frozen) == sum(isinstance(m, nn.BatchNorm2d) for m in plain.modules()) > 0
    assert fast.backbone.layer3[0].conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    assert ref.keys() == got.keys()  # checkpoints load either way
    for k in ref:
        close(got[k].float(), ref[k].float(), msg=k)
    early, _ = _train(tmp_path / 'one', [], max_iters=1)
    assert not torch.allclose(early['head.fc.weight'], ref['head.fc.weight'])  # it trained


def test_speed_up_hook_folds_bn_for_testing():
    from types import SimpleNamespace

    from mmengine.logging import MMLogger
    model = tiny_classifier()
    randomize_bn(model)
    x = torch.rand(3, 3, 32, 32) * 255
    model.eval()
    with torch.no_grad():
        ref = model.predict_scores(model.data_preprocessor(dict(inputs=x))['inputs'])
    model.train()  # the hook puts it in eval mode itself
    runner = SimpleNamespace(model=model, logger=MMLogger.get_current_instance())
    SpeedUpHook(channels_last=True).before_test(runner)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    with torch.no_grad():
        got = model.predict_scores(model.data_preprocessor(dict(inputs=x))['inputs'])
    close(got, ref)
