"""Checkpoint file formats: the one list of formats is what the converters offer and what
writes and reads back; a bad format or a broken safetensors header is named."""
import argparse

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mmresnet.checkpoint import (CheckpointFormatError, is_safetensors_file, load_checkpoint_file,
                                 output_format, write_checkpoint)
from mmresnet.convert.cli import add_format_arg
from mmresnet.models import PaperResNet
from mmresnet.utils import CHECKPOINT_FORMATS


def test_every_format_is_a_converter_choice_and_round_trips(tmp_path):
    parser = add_format_arg(argparse.ArgumentParser())
    assert parser.parse_args([]).format is None  # default: by the output's suffix
    choices = next(a.choices for a in parser._actions if a.dest == 'format')
    assert tuple(choices) == CHECKPOINT_FORMATS
    state = {'w': torch.arange(6.0).reshape(2, 3)}
    for fmt in CHECKPOINT_FORMATS:
        dst = tmp_path / f'out.{fmt}'
        assert parser.parse_args(['--format', fmt]).format == fmt
        assert write_checkpoint(dict(state_dict=state, meta=dict(epoch=3)), dst, fmt) == fmt
        ckpt = load_checkpoint_file(dst)
        assert torch.equal(ckpt['state_dict']['w'], state['w']) and ckpt['meta']['epoch'] == 3
        assert is_safetensors_file(dst) == (fmt == 'safetensors')


def test_corrupted_header_is_named(tmp_path):
    dst = tmp_path / 'backbone.safetensors'
    write_checkpoint(dict(state_dict=PaperResNet(50, style='caffe', base_channels=8).state_dict(),
                          meta={}), dst)
    data = bytearray(dst.read_bytes())
    data[8:16] = b'#garbage'  # the JSON header broken
    bad = tmp_path / 'broken.safetensors'
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointFormatError, match=r'broken\.safetensors is not a valid '
                       'safetensors file'):
        CheckpointLoader.load_checkpoint(str(bad))
    truncated = tmp_path / 'truncated.safetensors'
    truncated.write_bytes(dst.read_bytes()[:-100])
    with pytest.raises(CheckpointFormatError, match='truncated.safetensors'):
        PaperResNet(50, style='caffe', base_channels=8, init_cfg=dict(
            type='Pretrained', checkpoint=str(truncated))).init_weights()


def test_format_choice_is_checked(tmp_path):
    assert output_format('a.safetensors') == 'safetensors' and output_format('a.pth') == 'pth'
    with pytest.raises(ValueError, match=r"allowed values: \('pth', 'safetensors'\)"):
        output_format('a.pth', 'onnx')
    with pytest.raises(ValueError, match='a.safetensors: a .safetensors name for a pickled'):
        output_format('a.safetensors', 'pth')
    with pytest.raises(ValueError, match=r"\S*x\.pth: unknown format 'onnx'; allowed"):
        write_checkpoint(dict(state_dict={}), tmp_path / 'x.pth', 'onnx')
    assert not (tmp_path / 'x.pth').exists()
