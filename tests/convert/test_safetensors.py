"""Weights as safetensors: tools/export_backbone.py and the converters write tensors and a
JSON header (the recipe in its metadata); init_cfg Pretrained, load_from and tools/test.py
read them with the same recipe checks."""
import json
import struct
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader
from safetensors import safe_open

from mmresnet.checkpoint import RecipeMismatchError, is_safetensors_file, write_checkpoint
from mmresnet.convert import convert_file, export_backbone
from mmresnet.models import PaperResNet, PaperResNetClassifier
from mmresnet.models.utils import module_recipe

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tests' / 'tools'))
sys.path.insert(0, str(Path(__file__).parent))
from test_resnet_state_dict import torchvision_state_dict  # noqa: E402
from tool_loader import load_tool  # noqa: E402

CAFFE = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], channel_order='bgr')


def classifier_checkpoint_file(tmp_path):
    """A caffe-style ResNet-50 (width 8) classifier checkpoint, as tools/train.py writes."""
    net = PaperResNetClassifier(PaperResNet(50, style='caffe', base_channels=8), 5)
    recipe = dict(arch=module_recipe(net.backbone), normalisation=CAFFE)
    path = tmp_path / 'iter_64000.pth'
    torch.save(dict(state_dict=net.state_dict(), meta=dict(recipe=recipe, iter=64000,
                                                           epoch=0)), path)
    return net, path


def test_export_round_trip_without_torch_load(tmp_path, capsys):
    net, src = classifier_checkpoint_file(tmp_path)
    dst = tmp_path / 'backbone.safetensors'
    load_tool('export_backbone').main([str(src), str(dst)])  # format by suffix
    assert 'backbone tensors' in capsys.readouterr().out
    with open(dst, 'rb') as f:  # a safetensors file: header length, then JSON
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
    meta = header['__metadata__']
    assert meta['format'] == 'pt' and json.loads(meta['iter']) == 64000
    assert json.loads(meta['recipe'])['arch']['style'] == 'caffe'
    assert json.loads(meta['source']) == str(src)
    with safe_open(str(dst), framework='pt') as f:  # any safetensors reader, no pickle
        assert torch.equal(f.get_tensor('conv1.weight'), net.backbone.conv1.weight)
        assert 'head.fc.weight' not in f.keys()
    # the project's loader gives the checkpoint back as dict(state_dict, meta)
    ckpt = CheckpointLoader.load_checkpoint(str(dst), map_location='cpu')
    assert ckpt['meta']['recipe'] == dict(arch=module_recipe(net.backbone),
                                          normalisation=CAFFE)
    want = {k[len('backbone.'):]: v for k, v in net.state_dict().items()
            if k.startswith('backbone.')}
    assert ckpt['state_dict'].keys() == want.keys()
    assert all(torch.equal(ckpt['state_dict'][k], v) for k, v in want.items())
    # init_cfg Pretrained loads it into the matching backbone
    bb = PaperResNet(50, style='caffe', base_channels=8,
                     init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    bb.init_weights()
    assert torch.equal(bb.layer4[0].conv1.weight, net.backbone.layer4[0].conv1.weight)
    # --format: the same file under another name, found by its first bytes
    other = tmp_path / 'backbone.weights'
    export_backbone(str(src), str(other), fmt='safetensors')
    assert is_safetensors_file(other)
    assert CheckpointLoader.load_checkpoint(str(other))['meta']['iter'] == 64000


def test_recipe_refusal_and_load_from(tmp_path):
    _, src = classifier_checkpoint_file(tmp_path)
    dst = tmp_path / 'backbone.safetensors'
    export_backbone(str(src), str(dst))
    pytorch_style = PaperResNet(50, style='pytorch', base_channels=8,
                                init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    with pytest.raises(RecipeMismatchError, match=r"backbone\.safetensors.*style: "
                       r"checkpoint 'caffe', model 'pytorch'"):
        pytorch_style.init_weights()
    # load_from / tools/test.py: MMEngine's load_checkpoint, then RecipeHook's check
    from mmengine.runner.checkpoint import load_checkpoint

    from mmresnet.engine import RecipeHook
    model = PaperResNetClassifier(PaperResNet(50, style='pytorch', base_channels=8), 5)
    ckpt = load_checkpoint(model.backbone, str(dst), map_location='cpu', strict=False)
    import types
    runner = types.SimpleNamespace(model=model, _load_from=str(dst),
                                   logger=types.SimpleNamespace(info=print))
    with pytest.raises(RecipeMismatchError, match="style: checkpoint 'caffe'"):
        RecipeHook().after_load_checkpoint(runner, ckpt)


def test_torchvision_converter_writes_safetensors(tmp_path):
    src, dst = tmp_path / 'tv.pth', tmp_path / 'r18.safetensors'
    sd = torchvision_state_dict(18)
    torch.save(sd, src)
    convert_file(str(src), str(dst), form='backbone', check=False)
    ckpt = CheckpointLoader.load_checkpoint(str(dst))
    assert ckpt['meta']['recipe']['arch']['style'] == 'pytorch'
    assert ckpt['meta']['source'] == 'torchvision'
    assert torch.equal(ckpt['state_dict']['conv1.weight'], sd['conv1.weight'])


def test_tools_test_reads_safetensors_and_checks_its_recipe(tmp_path):
    """tools/test.py CONFIG CKPT.safetensors (load_from), in this process: a classifier
    saved as safetensors is tested; one whose recipe names shortcut B is refused."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from test_train_cls import write_cifar

    from mmresnet.models.utils import model_recipe
    data = tmp_path / 'cifar'
    data.mkdir()
    write_cifar(data)
    cfg = str(ROOT / 'configs/cifar/paper-resnet110_b128-64k_cifar10.py')
    options = [f'test_dataloader.dataset.data_root={data}', 'model.backbone.depth=8',
               'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    model_cfg = Config.fromfile(cfg).model
    model_cfg.backbone.depth = 8
    model = MODELS.build(model_cfg)
    recipe = model_recipe(model)
    good, bad = tmp_path / 'cls.safetensors', tmp_path / 'cls_b.safetensors'
    write_checkpoint(dict(state_dict=model.state_dict(), meta=dict(recipe=recipe)), good)
    recipe_b = dict(recipe, arch=dict(recipe['arch'], shortcut='B'))
    write_checkpoint(dict(state_dict=model.state_dict(), meta=dict(recipe=recipe_b)), bad)
    test = load_tool('test')
    runner_args = ['--work-dir', str(tmp_path / 'work'), '--protocol', 'single']
    test.main([cfg, str(good), *runner_args, '--out', str(tmp_path / 'preds.pkl'),
               '--cfg-options', *options, 'experiment_name=safetensors_good'])
    assert (tmp_path / 'preds.pkl').is_file()
    with pytest.raises(RecipeMismatchError, match=r"cls_b\.safetensors.*shortcut: "
                       r"checkpoint 'B', model 'A'"):
        test.main([cfg, str(bad), *runner_args, '--cfg-options', *options,
                   'experiment_name=safetensors_bad'])
