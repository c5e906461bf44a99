"""The shared argument checks name the argument, the value and what is allowed."""
import pytest

from mmresnet.models import PaperResLayer, PaperResNet
from mmresnet.utils import (check_choice, check_choices, check_counts, check_int,
                            check_int_tuple)


@pytest.mark.parametrize('value', [0, -1, 1.0, True, '2', None])
def test_check_int_refuses(value):
    with pytest.raises(ValueError, match=r'^owner: n must be a positive int, got '):
        check_int('owner: n', value)
    with pytest.raises(ValueError, match=r'^n must be an int in \[-1, 4\], got '):
        check_int('n', value if value not in (0, -1) else 5, -1, 4)


def test_check_int_tuple():
    assert check_int_tuple('s', [1, 2]) == (1, 2)
    for bad in (3, (1, 0), (1, True), ('1', )):
        with pytest.raises(ValueError, match=r'^s must '):
            check_int_tuple('s', bad)


def test_check_choice_lists_the_allowed():
    assert check_choice('dtype', 'bf16', ('fp32', 'bf16')) == 'bf16'
    with pytest.raises(ValueError, match=r"unknown dtype 'fp8'; allowed values: \('fp32', "):
        check_choices('dtype', ['fp32', 'fp8'], ('fp32', 'bf16'))
    with pytest.raises(ValueError, match='iters must be a positive int, got True'):
        check_counts(iters=True)


@pytest.mark.parametrize('kwargs, name', [
    (dict(stride=0), 'stride'), (dict(dilation=1.5), 'dilation'),
    (dict(base_channels=-8), 'base_channels')])
def test_c4_head_checks_its_ints(kwargs, name):
    with pytest.raises(ValueError, match=f'^PaperResLayer: {name} must be a positive int'):
        PaperResLayer(depth=50, **kwargs)


def test_backbone_names_a_bad_stride():
    with pytest.raises(ValueError, match=r'^PaperResNet: strides must hold ints >= 1'):
        PaperResNet(depth=18, strides=(1, 2, 0, 2))


def test_bools_are_neither_counts_nor_numeric_choices():
    assert check_int('n', 0, minimum=0) == 0 and check_choice('k', 1, (1, 2)) == 1
    with pytest.raises(ValueError, match=r"^unknown k True; allowed values: \(1, 2\)$"):
        check_choice('k', True, (1, 2))
    assert check_choice('flag', True, (True, False)) is True
    with pytest.raises(ValueError, match=r"^unknown k \[1\]; allowed values"):
        check_choice('k', [1], {1: 'a'})  # unhashable: refused, not a TypeError


@pytest.mark.parametrize('build, message', [
    (lambda: PaperResNet(18, style='tf'),
     r"^PaperResNet: unknown style 'tf'; allowed values: \('pytorch', 'caffe'\)$"),
    (lambda: PaperResLayer(50, style='tf'),
     r"^PaperResLayer: unknown style 'tf'; allowed values: \('pytorch', 'caffe'\)$"),
    (lambda: PaperResNet(18, shortcut=1),
     r"^unknown shortcut option 1; allowed values: \('A', 'B', 'C'\)$"),
    (lambda: PaperResNet(18, frozen_stages=True),
     r'^PaperResNet: frozen_stages must be an int in \[-1, 4\], got True$'),
    (lambda: PaperResNet(18, num_stages=3, frozen_stages=4),
     r'^PaperResNet: frozen_stages must be an int in \[-1, 3\], got 4$'),
    (lambda: PaperResNet(18, num_stages=True),
     r'^PaperResNet: num_stages must be an int in \[1, 4\], got True$'),
])
def test_models_word_their_checks_alike(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def _hooks_and_metrics():
    from mmresnet.engine.hooks import StopOnNonFiniteLossHook, WarmupUntilErrorHook
    from mmresnet.engine.preemption import PreemptionHook
    from mmresnet.evaluation.metrics import TopKError
    from mmresnet.models.classifiers.head import PoolFcHead
    return [(StopOnNonFiniteLossHook, 'interval'), (WarmupUntilErrorHook, 'window'),
            (WarmupUntilErrorHook, 'max_iters'), (PreemptionHook, 'check_interval'),
            (lambda topk: TopKError(topk=(topk, )), 'topk'),
            (lambda num_classes: PoolFcHead(8, num_classes), 'num_classes')]


@pytest.mark.parametrize('index', range(6))
@pytest.mark.parametrize('value', [True, 0, 1.0])
def test_hooks_and_metrics_refuse_bools_as_counts(index, value):
    build, key = _hooks_and_metrics()[index]
    with pytest.raises(ValueError, match=rf'{key} must .*got .*{value!r}'):
        build(**{key: value}) if key != 'topk' else build(value)
    build(**{key: 2}) if key != 'topk' else build(2)
