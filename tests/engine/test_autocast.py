"""bf16 autocast without loss scaling (AutocastOptimWrapper): plain autocast and SGD on a
classifier, the C4 detector's training step against float32."""
import copy

import pytest
import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper

from mmresnet.engine import AutocastOptimWrapper, precision
from mmresnet.engine import autocast as engine_autocast

from ..models.detector_helpers import build_detector, tiny_batch, tiny_detector_cfg
from .test_speed_switches import tiny_classifier


def _sgd(model):
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)


def test_c4_training_step_bf16_matches_float32(monkeypatch):
    # bf16 forced: emulated where the CPU lacks it, the same numbers either way
    monkeypatch.setenv(precision.ENV_VAR, '1')
    # Tolerance: bf16 keeps 8 bits of mantissa (relative error ~4e-3 per op); through the
    # backbone and the conv5_x head the losses agree to 5 % (+0.02 absolute). The R-CNN
    # losses are compared on the same proposals: bf16 features move the RPN's proposals a
    # little, and a different proposal set samples other RoIs.
    torch.manual_seed(0)
    cfg = tiny_detector_cfg('c4', base_channels=8)
    # BN normalising (batch statistics) keeps a randomly initialised net's activations in
    # a trained net's range; frozen BN at init would let them grow through 50 layers
    cfg.backbone.norm_eval = cfg.roi_head.shared_head.norm_eval = False
    model = build_detector(cfg).train()
    ref = copy.deepcopy(model)
    data = tiny_batch(model, size=128)
    w16, w32 = AutocastOptimWrapper(optimizer=_sgd(model)), OptimWrapper(_sgd(ref))
    inputs, samples = data['inputs'], data['data_samples']
    losses = {}
    with torch.no_grad():
        x32 = ref.extract_feat(inputs)
        rpn32, proposals = ref.rpn_head.loss_and_predict(
            x32, copy.deepcopy(samples), proposal_cfg=ref.train_cfg.rpn_proposal)
        for name, net, wrapper in (('bf16', model, w16), ('fp32', ref, w32)):
            with wrapper.optim_context(net):
                x = net.extract_feat(inputs)
                rpn, _ = net.rpn_head.loss_and_predict(
                    x, copy.deepcopy(samples), proposal_cfg=net.train_cfg.rpn_proposal)
                torch.manual_seed(1)  # the same RoIs sampled
                roi = net.roi_head.loss(x, copy.deepcopy(proposals), copy.deepcopy(samples))
            losses[name] = {k: sum(v) if isinstance(v, list) else v
                            for k, v in {**rpn, **roi}.items() if 'loss' in k}
    assert x[0].dtype == torch.float32 and losses['bf16'].keys() == losses['fp32'].keys()
    for key, value in losses['fp32'].items():
        torch.testing.assert_close(losses['bf16'][key], value, rtol=0.05, atol=0.02,
                                   msg=f'{key}: {losses}')
    # the heavy parts ran in bf16, the RoI extractor and the heads in float32
    with w16.optim_context(model):
        feat = model.backbone(torch.zeros(1, 3, 64, 64))[0]
        assert feat.dtype == torch.bfloat16
        rois = torch.tensor([[0., 0., 0., 32., 32.]])
        assert model.roi_head.bbox_roi_extractor([feat], rois).dtype == torch.float32
        assert model.rpn_head([feat])[0][0].dtype == torch.float32
    # and a whole training step runs and updates the weights
    before = model.backbone.layer3[0].conv1.weight.detach().clone()
    log = model.train_step(copy.deepcopy(data), w16)
    assert all(torch.isfinite(v) for k, v in log.items() if 'loss' in k)
    assert not torch.equal(before, model.backbone.layer3[0].conv1.weight)


@pytest.mark.precision
def test_the_wrapper_runs_the_decided_precision_and_says_it(cpu_bf16, monkeypatch):
    import mmengine.logging
    said = []
    monkeypatch.setattr(mmengine.logging, 'print_log', lambda msg, **kw: said.append(msg))
    # this CPU taken as one without native bf16: only the switch at 1 brings bf16
    monkeypatch.setattr(precision, 'cpu_bf16_support', lambda: (False, 'no avx512_bf16'))
    decided = precision.decide_precision('cpu', 'bf16')
    assert decided.name == ('bf16' if cpu_bf16 == '1' else 'fp32')
    model = build_detector(tiny_detector_cfg('c4', base_channels=8)).train()
    wrapper = AutocastOptimWrapper(optimizer=_sgd(model))
    with wrapper.optim_context(model):
        feat = model.backbone(torch.zeros(1, 3, 32, 32))[0]
    assert feat.dtype == (torch.bfloat16 if cpu_bf16 == '1' else torch.float32)
    assert wrapper._enabled is (cpu_bf16 == '1') and wrapper.precision == decided
    # the log says the planner's words
    assert any(f'training in {decided.describe()}' in line for line in said), said
    # a training step runs either way (NMS and RoIAlign in float32 under bf16)
    log = model.train_step(tiny_batch(model, size=64), wrapper)
    assert all(torch.isfinite(v) for k, v in log.items() if 'loss' in k)


def _batch():
    g = torch.Generator().manual_seed(0)
    return dict(inputs=torch.randint(0, 256, (4, 3, 32, 32), generator=g, dtype=torch.uint8),
                data_samples=torch.tensor([0, 3, 5, 9]))


def test_autocast_wrapper_is_bf16_autocast_and_sgd(monkeypatch):
    monkeypatch.setenv(precision.ENV_VAR, '1')  # emulated where the CPU lacks it
    torch.manual_seed(0)
    model = tiny_classifier().train()
    ref = copy.deepcopy(model)
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AutocastOptimWrapper', optimizer=torch.optim.SGD(model.parameters(), lr=0.1,
                                                               momentum=0.9)))
    assert isinstance(wrapper, AutocastOptimWrapper)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        log = model.train_step(_batch(), wrapper)
        data = ref.data_preprocessor(_batch(), True)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            loss = ref(**data, mode='loss')['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert log['loss'].item() == loss.item()
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(a, b), k
    # the forward really ran in bf16
    with wrapper.optim_context(model):
        assert model.backbone.conv1(torch.zeros(1, 3, 8, 8)).dtype == torch.bfloat16
    # its state dict is the plain optimizer's (checkpoints interchange with OptimWrapper)
    plain = OptimWrapper(torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9))
    plain.load_state_dict(wrapper.state_dict())


def test_autocast_wrapper_refuses_float16():
    params = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match='"bfloat16", got .float16.*AmpOptimWrapper'):
        AutocastOptimWrapper(dtype='float16', optimizer=torch.optim.SGD(params, lr=0.1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='AmpOptimWrapper needs a GPU')
def test_autocast_wrapper_equals_amp_bf16_cuda():
    # loss scaling by a power of two is exact in bfloat16's (float32's) exponent range
    from mmengine.optim import AmpOptimWrapper
    torch.manual_seed(0)
    model = tiny_classifier().cuda().train()
    ref = copy.deepcopy(model)
    wa = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    wb = AmpOptimWrapper(optimizer=torch.optim.SGD(ref.parameters(), lr=0.1),
                         dtype='bfloat16')
    batch = {k: v.cuda() for k, v in _batch().items()}
    for _ in range(3):
        model.train_step(dict(batch), wa)
        ref.train_step(dict(batch), wb)
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)


def test_a_misspelled_float32_module_is_an_error_naming_the_allowed_names():
    from mmresnet.models import FrozenBNFromScratchWarning
    with pytest.warns(FrozenBNFromScratchWarning):  # random weights: nothing trains here
        model = build_detector(tiny_detector_cfg('c4', base_channels=8))
    wrapper = AutocastOptimWrapper(optimizer=_sgd(model),
                                   float32_modules=['rpn_head', 'roi_head.bbox_roi_extractr'])
    with pytest.raises(ValueError, match=r"unknown float32_modules name "
                       r"'roi_head.bbox_roi_extractr'; allowed values: \(.*"
                       r"'roi_head.bbox_roi_extractor'"):
        with wrapper.optim_context(model):
            pass
    from mmresnet.engine import apply_float32_islands
    with pytest.raises(ValueError, match=r"unknown float32_modules name 'rpn'; allowed "
                       r"values: \('data_preprocessor', 'backbone', 'rpn_head', 'roi_head'\)"):
        apply_float32_islands(model, 'cpu', ['rpn'])
    # the default: the detector parts the model has; a classifier has none of them
    assert apply_float32_islands(model, 'cpu') == list(engine_autocast.DETECTOR_FLOAT32)
    assert apply_float32_islands(tiny_classifier(), 'cpu') == []
