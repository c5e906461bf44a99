"""The shared argument checks name the argument, the value and what is allowed."""
import pytest

from mmresnet.models import PaperResLayer, PaperResNet
from mmresnet.utils import (check_choice, check_choices, check_counts, check_int,
                            check_int_tuple)


@pytest.mark.parametrize('value', [0, -1, 1.0, True, '2', None])
def test_check_int_refuses(value):
    with pytest.raises(ValueError, match=r'^owner: n must be an int >= 1, got '):
        check_int('owner: n', value)


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
    with pytest.raises(ValueError, match=f'^PaperResLayer: {name} must be an int >= 1'):
        PaperResLayer(depth=50, **kwargs)


def test_backbone_names_a_bad_stride():
    with pytest.raises(ValueError, match=r'^PaperResNet: strides must hold ints >= 1'):
        PaperResNet(depth=18, strides=(1, 2, 0, 2))
