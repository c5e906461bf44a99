"""Checkpoints carry their recipe (architecture, input normalisation); a mismatch at load is
refused, a match accepted, a checkpoint without one loads with a line saying so."""
import types

import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor

from mmresnet.checkpoint import RecipeMismatchError
from mmresnet.convert import backbone_checkpoint, convert_resnet_state_dict, paper_to_torchvision
from mmresnet.engine import RecipeHook
from mmresnet.models import PaperResLayer, PaperResNet, PaperResNetClassifier
from mmresnet.models.classifiers.data_preprocessor import ClsDataPreprocessor
from mmresnet.models.utils import (checkpoint_recipe, load_backbone_weights, model_recipe,
                                   module_recipe, named_recipe, normalisation_recipe)

CAFFE_NORM = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
TV_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)


def torchvision_style_file(tmp_path, depth=50, base=8):
    """A converted torchvision-layout checkpoint (backbone form) of a narrow ResNet."""
    net = PaperResNetClassifier(PaperResNet(depth, style='pytorch', base_channels=base), 5)
    converted = convert_resnet_state_dict(paper_to_torchvision(net.state_dict()))
    path = tmp_path / 'tv_backbone.pth'
    torch.save(backbone_checkpoint(converted), path)
    return path


def test_recipes_of_modules_and_preprocessors():
    assert module_recipe(PaperResNet(50, style='caffe', base_channels=8)) == dict(
        arch='imagenet', depth=50, style='caffe', shortcut='B', plain=False, base_channels=8,
        in_channels=3)
    assert module_recipe(PaperResLayer(101, base_channels=8, style='pytorch'))['style'] == \
        'pytorch'
    assert module_recipe(torch.nn.Conv2d(1, 1, 1)) is None
    assert normalisation_recipe(DetDataPreprocessor(**TV_NORM)) == dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], channel_order='rgb')
    assert normalisation_recipe(DetDataPreprocessor(**CAFFE_NORM))['channel_order'] == 'bgr'
    assert normalisation_recipe(ClsDataPreprocessor([1., 2., 3.], to_rgb=True)) == dict(
        mean=[1., 2., 3.], std=[1., 1., 1.], channel_order='rgb')
    assert normalisation_recipe(ClsDataPreprocessor([1., 2., 3.], input_order='rgb'))[
        'channel_order'] == 'rgb'
    assert normalisation_recipe(ClsDataPreprocessor([72.94]))['channel_order'] == 'gray'
    with pytest.raises(ValueError, match=r"^ClsDataPreprocessor: unknown input_order 'hsv'; "
                       r"allowed values: \('bgr', 'rgb'\)$"):
        ClsDataPreprocessor([1.], input_order='hsv')


def test_converter_recipe_refuses_the_caffe_backbone_and_c4_head(tmp_path):
    path = str(torchvision_style_file(tmp_path))
    caffe = PaperResNet(50, style='caffe', base_channels=8, num_stages=3, out_indices=(2, ),
                        init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(RecipeMismatchError,
                       match=r"style: checkpoint 'pytorch', model 'caffe'.*"
                             r"model\.backbone\.style='pytorch'"):
        caffe.init_weights()
    head = PaperResLayer(50, base_channels=8, style='caffe',
                         init_cfg=dict(type='Pretrained', checkpoint=path, prefix='layer4.'))
    with pytest.raises(RecipeMismatchError, match=r'model\.roi_head\.shared_head\.style'):
        head.init_weights()
    # The matching model loads; the C4 split is not reported as unexpected.
    ok = PaperResNet(50, style='pytorch', base_channels=8, num_stages=3, out_indices=(2, ),
                     init_cfg=dict(type='Pretrained', checkpoint=path))
    ok.init_weights()
    assert ok._loaded_recipe['recipe']['normalisation']['channel_order'] == 'rgb'
    missing, unexpected = load_backbone_weights(ok, path)
    assert missing == [] and unexpected == []
    PaperResLayer(50, base_channels=8, style='pytorch',
                  init_cfg=dict(type='Pretrained', checkpoint=path,
                                prefix='layer4.')).init_weights()


def test_depth_and_width_mismatch_named(tmp_path):
    path = str(torchvision_style_file(tmp_path, depth=50, base=8))
    with pytest.raises(RecipeMismatchError, match=r'depth: checkpoint 50, model 101'):
        PaperResNet(101, style='pytorch', base_channels=8,
                    init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()
    with pytest.raises(RecipeMismatchError, match=r'base_channels: checkpoint 8, model 16'):
        PaperResNet(50, style='pytorch', base_channels=16,
                    init_cfg=dict(type='Pretrained', checkpoint=path)).init_weights()


def test_style_not_compared_on_basic_blocks(tmp_path):
    net = PaperResNet(18, style='pytorch', base_channels=8)
    torch.save(dict(state_dict=net.state_dict(),
                    meta=dict(recipe=dict(arch=module_recipe(net)))), tmp_path / 'r18.pth')
    # a BasicBlock has no 1x1 conv whose stride the style places: caffe loads pytorch's
    other = PaperResNet(18, style='caffe', base_channels=8, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'r18.pth')))
    other.init_weights()
    assert other._loaded_recipe['recipe']['arch']['style'] == 'pytorch'
    assert all(torch.equal(a, b) for a, b in zip(other.state_dict().values(),
                                                 net.state_dict().values()))
    # where the style matters (bottlenecks), the same mismatch is refused
    deep = PaperResNet(50, style='pytorch', base_channels=8)
    torch.save(dict(state_dict=deep.state_dict(),
                    meta=dict(recipe=dict(arch=module_recipe(deep)))), tmp_path / 'r50.pth')
    with pytest.raises(RecipeMismatchError, match="style: checkpoint 'pytorch', model 'caffe'"):
        PaperResNet(50, style='caffe', base_channels=8, init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'r50.pth'))).init_weights()


def test_checkpoint_without_recipe_loads(tmp_path):
    net = PaperResNet(18, base_channels=8)
    torch.save(dict(state_dict=net.state_dict()), tmp_path / 'third_party.pth')
    other = PaperResNet(18, base_channels=8, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'third_party.pth')))
    other.init_weights()
    assert other._loaded_recipe['recipe'] is None
    assert torch.equal(other.conv1.weight, net.conv1.weight)


class Detector(torch.nn.Module):
    def __init__(self, style, norm, path=None):
        super().__init__()
        init = dict(type='Pretrained', checkpoint=str(path)) if path else None
        self.backbone = PaperResNet(50, style=style, base_channels=8, num_stages=3,
                                    out_indices=(2, ), init_cfg=init)
        self.data_preprocessor = DetDataPreprocessor(**norm)


def fake_runner(model, load_from=None):
    return types.SimpleNamespace(model=model, _load_from=load_from,
                                 logger=types.SimpleNamespace(info=lambda msg: None))


def test_hook_writes_the_recipe_and_checks_load_from():
    model = Detector('caffe', CAFFE_NORM)
    ckpt = dict(meta=dict())
    RecipeHook().before_save_checkpoint(fake_runner(model), ckpt)
    assert ckpt['meta']['recipe'] == model_recipe(model)
    assert ckpt['meta']['recipe']['normalisation']['channel_order'] == 'bgr'
    RecipeHook().after_load_checkpoint(fake_runner(Detector('caffe', CAFFE_NORM), 'a.pth'), ckpt)
    with pytest.raises(RecipeMismatchError, match=r"checkpoint a\.pth.*style: checkpoint "
                                                  r"'caffe', model 'pytorch'"):
        RecipeHook().after_load_checkpoint(
            fake_runner(Detector('pytorch', CAFFE_NORM), 'a.pth'), ckpt)
    with pytest.raises(RecipeMismatchError,
                       match=r"channel_order: checkpoint 'bgr', model 'rgb'.*"
                             r"check_normalisation=False"):
        RecipeHook().after_load_checkpoint(
            fake_runner(Detector('caffe', TV_NORM), 'a.pth'), ckpt)
    RecipeHook(check_normalisation=False).after_load_checkpoint(
        fake_runner(Detector('caffe', TV_NORM), 'a.pth'), ckpt)
    RecipeHook().after_load_checkpoint(fake_runner(model, 'b.pth'), dict(meta={}))  # none


def test_hook_checks_the_normalisation_of_pretrained_init(tmp_path):
    path = torchvision_style_file(tmp_path)
    wrong = Detector('pytorch', CAFFE_NORM, path)
    wrong.backbone.init_weights()
    with pytest.raises(RecipeMismatchError, match=r'mean: checkpoint \[123\.675'):
        RecipeHook().before_train(fake_runner(wrong))
    RecipeHook(check_normalisation=False).before_train(fake_runner(wrong))
    right = Detector('pytorch', TV_NORM, path)
    right.backbone.init_weights()
    RecipeHook().before_train(fake_runner(right))


# -- checkpoints known by name: the file carries no recipe, the name does -----------------
def test_named_recipes_read_the_depth_style_and_normalisation_from_the_name():
    tv = named_recipe('torchvision://resnet101')
    assert tv['arch'] == dict(arch='imagenet', depth=101, style='pytorch')
    assert tv['normalisation'] == dict(mean=[123.675, 116.28, 103.53],
                                       std=[58.395, 57.12, 57.375], channel_order='rgb')
    assert named_recipe('modelzoo://resnet50')['arch']['style'] == 'pytorch'
    d2 = named_recipe('open-mmlab://detectron2/resnet50_caffe')
    assert d2['arch'] == dict(arch='imagenet', depth=50, style='caffe')
    assert d2['normalisation'] == dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0],
                                       channel_order='bgr')
    # MMEngine maps the old name to Detectron's file, trained with Detectron's pixel mean
    assert named_recipe('open-mmlab://resnet101_caffe')['normalisation']['mean'] == [
        102.9801, 115.9465, 122.7717]
    assert named_recipe('open-mmlab://resnet50_caffe_bgr')['normalisation'] == \
        d2['normalisation']
    for other in ('torchvision://resnext50_32x4d', 'open-mmlab://msra/hrnetv2_w32',
                  'checkpoints/torchvision_resnet50.pth', 'torchvision://resnet50x', None):
        assert named_recipe(other) is None, other
    # a recipe in the file wins over the name
    assert checkpoint_recipe(dict(meta=dict(recipe=d2)), 'torchvision://resnet50') is d2
    assert checkpoint_recipe(dict(state_dict={}), 'torchvision://resnet50') == \
        named_recipe('torchvision://resnet50')


@pytest.fixture
def model_zoo(tmp_path, monkeypatch):
    """``torchvision://resnet50`` and ``open-mmlab://detectron2/resnet50_caffe`` answered by
    files in a temporary torch.hub cache (no network; MMEngine's torchvision table comes from
    torchvision, which is not installed here, so it is given)."""
    urls = dict(tv='https://download.pytorch.org/models/resnet50-0676ba61.pth',
                d2='https://download.openmmlab.com/pretrain/third_party/'
                   'resnet50_msra-5891d200.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr('mmengine.runner.checkpoint.get_torchvision_models',
                        lambda: dict(resnet50=urls['tv']))
    monkeypatch.setattr('mmengine.runner.checkpoint.get_external_models',
                        lambda: {'detectron2/resnet50_caffe': urls['d2']})
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    for style, url in (('pytorch', urls['tv']), ('caffe', urls['d2'])):
        net = PaperResNet(50, style=style, base_channels=8)  # narrow: the name has no width
        torch.save(dict(net.state_dict(), **{'fc.weight': torch.zeros(5, 256),
                                             'fc.bias': torch.zeros(5)}),
                   cache / url.rsplit('/', 1)[1])
    return dict(pytorch='torchvision://resnet50',
                caffe='open-mmlab://detectron2/resnet50_caffe')


@pytest.mark.parametrize('style, other', [('pytorch', 'caffe'), ('caffe', 'pytorch')])
def test_a_named_checkpoint_of_the_other_style_is_refused(model_zoo, style, other):
    name = model_zoo[style]
    net = PaperResNet(50, style=other, base_channels=8,
                      init_cfg=dict(type='Pretrained', checkpoint=name))
    with pytest.raises(RecipeMismatchError) as err:
        net.init_weights()
    msg = str(err.value)
    assert msg.startswith(f'{name} was trained as another network than PaperResNet')
    assert f"style: checkpoint '{style}', model '{other}'" in msg
    assert f"model.backbone.style='{style}'" in msg
    # the same name into a net of its style loads, and its normalisation is then checked
    norm = TV_NORM if style == 'pytorch' else CAFFE_NORM
    wrong_norm = CAFFE_NORM if style == 'pytorch' else TV_NORM
    ok = Detector(style, norm, name)
    ok.backbone.init_weights()
    assert ok.backbone._loaded_recipe['recipe'] == named_recipe(name)
    RecipeHook().before_train(fake_runner(ok))
    bad = Detector(style, wrong_norm, name)
    bad.backbone.init_weights()
    with pytest.raises(RecipeMismatchError, match=f'{name} was trained on other inputs'):
        RecipeHook().before_train(fake_runner(bad))


def test_load_from_a_named_checkpoint_is_checked_by_its_name():
    bare = dict(state_dict={})  # what MMEngine's loader returns for torchvision://resnet50
    RecipeHook().after_load_checkpoint(
        fake_runner(Detector('pytorch', TV_NORM), 'torchvision://resnet50'), bare)
    with pytest.raises(RecipeMismatchError,
                       match=r"checkpoint torchvision://resnet50 was trained as another "
                             r"network.*style: checkpoint 'pytorch', model 'caffe'"):
        RecipeHook().after_load_checkpoint(
            fake_runner(Detector('caffe', CAFFE_NORM), 'torchvision://resnet50'), bare)
