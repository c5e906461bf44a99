"""The recipe a checkpoint carries: the architecture and the input normalisation it was
trained with, compared with the model it is loaded into.

Weights trained with the stride on the 3x3 conv (``style='pytorch'``, torchvision/timm) load
without a single shape error into a net with the stride on the 1x1 (``'caffe'``, the paper's
and MSRA's), and RGB weights normalised by mean/std load into a BGR mean-only detector. Both
run and give poor results. Every checkpoint the project writes (training checkpoints, the
exported backbone, the converters) therefore holds ``meta['recipe']``::

    dict(arch=dict(arch='imagenet', depth=50, style='caffe', shortcut='B', plain=False,
                   base_channels=64, in_channels=3),
         normalisation=dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0],
                            channel_order='bgr'))

``channel_order`` is the order of the channels the network sees ('bgr', 'rgb' or 'gray'),
``mean`` and ``std`` are in that order. At load, an architecture mismatch raises
:class:`~mmresnet.checkpoint.RecipeMismatchError` (in ``init_cfg`` Pretrained of PaperResNet
and PaperResLayer and in ``load_from``); a normalisation mismatch raises too unless the user
opts out (``default_hooks.recipe.check_normalisation=False``, see
:class:`~mmresnet.engine.RecipeHook`).

Third-party files carry no recipe, but the well-known names MMEngine resolves say what they
were trained as: ``torchvision://resnet50`` is pytorch style on RGB with ImageNet's mean and
std, ``open-mmlab://detectron2/resnet50_caffe`` caffe style on BGR minus the mean, std 1.
:data:`NAMED_RECIPES` is that table, and a checkpoint loaded by such a name is checked as if
its file held the recipe.

A module gives its own recipe (``recipe_arch()`` of PaperResNet and PaperResLayer,
``input_normalisation()`` of the classifier's preprocessor): nothing here imports a model
class.
"""
import math
import re

from ...checkpoint import RecipeMismatchError
from ...utils import CAFFE_BGR, DETECTRON_BGR, IMAGENET_RGB
from ..layers.arch import IMAGENET_SETTINGS
from ..layers.blocks import Bottleneck

ARCH_KEYS = ('arch', 'depth', 'style', 'shortcut', 'plain', 'base_channels', 'in_channels')

# Checkpoint names MMEngine resolves (its torchvision and open-mmlab tables), with the style
# and input normalisation (the constants of mmresnet.utils) their files were trained with:
# (full-name pattern, style, normalisation). The depth comes from the name. The open-mmlab rows are those mmdet's own
# ResNet configs pair with their data preprocessors (tests/models/test_mmdet_configs.py
# checks every such config against this table). Detectron's GN nets put the stride on the
# 3x3 (its STRIDE_1X1=False), hence pytorch style on caffe inputs.
NAMED_RECIPES = (
    (r'(torchvision|modelzoo)://resnet(?P<depth>18|34|50|101|152)', 'pytorch', IMAGENET_RGB),
    (r'open-mmlab://(detectron2/)?resnet(?P<depth>50|101)_caffe_bgr', 'caffe', CAFFE_BGR),
    (r'open-mmlab://detectron2/resnet(?P<depth>50|101)_caffe', 'caffe', CAFFE_BGR),
    (r'open-mmlab://(detectron/)?resnet(?P<depth>50|101)_caffe', 'caffe', DETECTRON_BGR),
    (r'open-mmlab://detectron/resnet(?P<depth>50|101)_gn', 'pytorch', CAFFE_BGR),
    (r'open-mmlab://contrib/resnet(?P<depth>50)_gn', 'pytorch', IMAGENET_RGB),
    (r'open-mmlab://jhu/resnet(?P<depth>50|101)_gn_ws', 'pytorch', IMAGENET_RGB),
)


def _uses_bottleneck(depth, arch='imagenet'):
    """Whether Table 1 builds ``depth`` from bottleneck blocks (the CIFAR nets never)."""
    return arch == 'imagenet' and IMAGENET_SETTINGS.get(depth, (None, ))[0] is Bottleneck


def module_recipe(module):
    """The architecture part of a module's recipe (its ``recipe_arch()``: PaperResNet and
    PaperResLayer), else None."""
    recipe_arch = getattr(module, 'recipe_arch', None)
    return recipe_arch() if callable(recipe_arch) else None


def named_recipe(name):
    """The recipe :data:`NAMED_RECIPES` gives a checkpoint name, or None."""
    if not isinstance(name, str):
        return None
    for pattern, style, normalisation in NAMED_RECIPES:
        m = re.fullmatch(pattern, name)
        if m:
            return dict(arch=dict(arch='imagenet', depth=int(m['depth']), style=style),
                        normalisation=dict(normalisation, mean=list(normalisation['mean']),
                                           std=list(normalisation['std'])))
    return None


def _floats(t):
    return [round(float(v), 4) for v in t.flatten().tolist()]  # float32 -> as written


def normalisation_recipe(data_preprocessor):
    """``dict(mean, std, channel_order)`` the network sees, from the project's
    ClsDataPreprocessor or MMEngine's ImgDataPreprocessor (mmdet's DetDataPreprocessor);
    None for anything else."""
    from mmengine.model import ImgDataPreprocessor

    own = getattr(data_preprocessor, 'input_normalisation', None)
    if callable(own):  # the project's ClsDataPreprocessor
        return own()
    if isinstance(data_preprocessor, ImgDataPreprocessor):
        if getattr(data_preprocessor, '_enable_normalize', False):
            mean, std = _floats(data_preprocessor.mean), _floats(data_preprocessor.std)
        else:
            mean = std = None
        # mmcv decodes image files as BGR; the conversion flag swaps them.
        order = 'rgb' if data_preprocessor._channel_conversion else 'bgr'
    else:
        return None
    if mean is not None and len(mean) == 1:
        order = 'gray'
    if mean is None:
        mean, std = [0.0] * (1 if order == 'gray' else 3), [1.0] * (1 if order == 'gray' else 3)
    return dict(mean=mean, std=std, channel_order=order)


def model_recipe(model):
    """The recipe of a classifier or detector: its ``backbone`` and ``data_preprocessor``.
    None when the backbone is not a PaperResNet."""
    arch = module_recipe(getattr(model, 'backbone', None))
    if arch is None:
        return None
    return dict(arch=arch,
                normalisation=normalisation_recipe(getattr(model, 'data_preprocessor', None)))


def checkpoint_recipe(checkpoint, source=None):
    """``checkpoint['meta']['recipe']`` of a loaded checkpoint; else the recipe its name
    ``source`` has in :data:`NAMED_RECIPES` (``torchvision://resnet50``, ...); else None."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('meta'), dict):
        recipe = checkpoint['meta'].get('recipe')
        if isinstance(recipe, dict):
            return recipe
    return named_recipe(source)


def check_arch(recipe_arch, module, source, config_key):
    """Raise :class:`RecipeMismatchError` listing every architecture key where the
    checkpoint's recipe and ``module`` differ.

    ``style`` is compared only for bottleneck nets: on basic blocks (ResNet-18/34, the CIFAR
    nets) both styles build the same net.

    Args:
        recipe_arch (dict): ``recipe['arch']`` of the checkpoint.
        module: PaperResNet or PaperResLayer being loaded.
        source (str): The checkpoint (for the message).
        config_key (str): Where the module's arguments live in a config, e.g.
            ``'model.backbone'`` (for the message).
    """
    own = module_recipe(module)
    if own is None or not isinstance(recipe_arch, dict):
        return
    keys = [k for k in ARCH_KEYS if k in own and k in recipe_arch]
    if not _uses_bottleneck(own['depth'], own['arch']):
        keys = [k for k in keys if k != 'style']
    diff = [k for k in keys if recipe_arch[k] != own[k]]
    if not diff:
        return
    sides = '; '.join(f'{k}: checkpoint {recipe_arch[k]!r}, model {own[k]!r}'
                      for k in diff)
    fix = ', '.join(f'{config_key}.{k}={recipe_arch[k]!r}' for k in diff)
    hint = ''
    if 'style' in diff:
        hint = (" (style: 'pytorch' puts the stride on the 3x3 conv, torchvision/timm "
                "weights; 'caffe' on the first 1x1, the paper's and MSRA's weights; the "
                "configs say which in their names: *-caffe-* / *-pytorch-*)")
    raise RecipeMismatchError(
        f'{source} was trained as another network than {type(module).__name__} '
        f'({config_key}): {sides}. Set {fix}{hint}, or use weights made for this model.')


def _close(a, b):
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-3, abs_tol=1e-3)
                                    for x, y in zip(a, b))


def normalisation_differences(recipe_norm, own_norm):
    """Keys of ``dict(mean, std, channel_order)`` where the two differ."""
    if not isinstance(recipe_norm, dict) or not isinstance(own_norm, dict):
        return []
    diff = []
    if recipe_norm.get('channel_order') != own_norm.get('channel_order'):
        diff.append('channel_order')
    for k in ('mean', 'std'):
        if k in recipe_norm and not _close(list(recipe_norm[k]), list(own_norm[k])):
            diff.append(k)
    return diff


def check_normalisation(recipe_norm, own_norm, source, opt_out):
    """Raise :class:`RecipeMismatchError` when the input normalisation the checkpoint was
    trained with differs from the model's data_preprocessor.

    Args:
        recipe_norm (dict): ``recipe['normalisation']`` of the checkpoint.
        own_norm (dict): :func:`normalisation_recipe` of the model's preprocessor.
        source (str): The checkpoint (for the message).
        opt_out (str): How the user switches the check off (for the message).
    """
    diff = normalisation_differences(recipe_norm, own_norm)
    if not diff:
        return
    sides = '; '.join(f'{k}: checkpoint {recipe_norm[k]!r}, model {own_norm[k]!r}'
                      for k in diff)
    raise RecipeMismatchError(
        f'{source} was trained on other inputs than this model gets: {sides}. Set '
        f'model.data_preprocessor mean/std to the checkpoint\'s and its channel swap '
        f'(bgr_to_rgb for detectors, to_rgb for classifiers) so that the network sees '
        f'{recipe_norm.get("channel_order")!r}; to load anyway (e.g. fine-tuning on '
        f'purpose with another normalisation): {opt_out}.')


__all__ = ['ARCH_KEYS', 'NAMED_RECIPES', 'check_arch', 'check_normalisation',
           'checkpoint_recipe', 'model_recipe', 'module_recipe', 'named_recipe',
           'normalisation_differences', 'normalisation_recipe']
