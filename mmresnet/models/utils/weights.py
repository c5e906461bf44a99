"""Loading pretrained weights into a module, loudly.

MMEngine's ``Pretrained`` init loads with ``strict=False`` and only logs what did not match,
so a wrong ``prefix`` or a checkpoint of another depth silently leaves a randomly
initialised network. :func:`load_backbone_weights` reports missing and unexpected keys and
raises when nothing matches (or when shapes differ).
"""
from collections import OrderedDict

from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from ...checkpoint import WeightsMismatchError
from .recipe import check_arch, checkpoint_recipe


def split_pretrained(init_cfg, owner='module'):
    """``(pretrained, others)`` of an ``init_cfg`` in any form MMEngine accepts.

    ``pretrained`` is the one ``dict(type='Pretrained', ...)`` entry (or None), ``others``
    the remaining initialisers (a dict, a list, or None). The dict and the list form get
    the same strict loading (:func:`load_backbone_weights`) this way.

    Raises:
        ValueError: more than one Pretrained entry, or one without a checkpoint path.
    """
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    pre = [c for c in entries if isinstance(c, dict) and c.get('type') == 'Pretrained']
    if len(pre) > 1:
        raise ValueError(f'{owner}: init_cfg holds {len(pre)} Pretrained entries; allowed: '
                         'one')
    if pre and not isinstance(pre[0].get('checkpoint'), str):
        raise ValueError(f"{owner}: init_cfg Pretrained needs checkpoint=<path of a "
                         f"PaperResNet checkpoint>, got {pre[0]!r}")
    if not pre:
        return None, init_cfg
    others = [c for c in entries if c is not pre[0] and c is not None]
    if not isinstance(init_cfg, (list, tuple)):
        others = None
    return pre[0], (others or None)


def init_with_strict_pretrained(module, default_init, load):
    """``init_weights`` of a module whose ``init_cfg`` may hold a Pretrained entry.

    Without one: ``default_init()`` (MMEngine's initialisers). With one: the other entries
    first, then ``load(module, checkpoint, prefix=..., map_location=...)`` with the entry's
    values (:func:`load_backbone_weights` or the C4 head's loader), which fails loudly on a
    mismatch (MMEngine's own PretrainedInit loads with ``strict=False`` and only logs).
    """
    pre, others = split_pretrained(module.init_cfg, type(module).__name__)
    if pre is None:
        default_init()
        return
    if others:
        saved, module.init_cfg = module.init_cfg, others
        try:
            default_init()
        finally:
            module.init_cfg = saved
    load(module, pre['checkpoint'], prefix=pre.get('prefix'),
         map_location=pre.get('map_location', 'cpu'))
    module._is_init = True


def extract_state_dict(checkpoint, prefix=None):
    """The state dict of a loaded checkpoint, with ``prefix`` selected and stripped.

    Accepts ``{'state_dict': ...}``, ``{'model': ...}`` or a bare state dict; strips a
    DataParallel ``module.`` prefix.
    """
    if not isinstance(checkpoint, dict):
        raise WeightsMismatchError(f'expected a dict checkpoint, got {type(checkpoint)}')
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    state = OrderedDict((k[7:] if k.startswith('module.') else k, v)
                        for k, v in state.items())
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                            if k.startswith(prefix))
    return state


def load_backbone_weights(module, checkpoint, prefix=None, map_location='cpu',
                          logger='current', owner=None, config_key='model.backbone'):
    """Load ``checkpoint`` (a path or a loaded dict) into ``module``; fail loudly.

    Args:
        module (nn.Module): e.g. a PaperResNet or the C4 shared head.
        checkpoint (str | dict): Checkpoint path (loaded with the project's safe loader)
            or an already loaded checkpoint.
        prefix (str, optional): Only keys under this prefix, with it stripped (e.g.
            ``'backbone.'`` for a classifier checkpoint, ``'layer4.'`` for the C4 head).
        owner (nn.Module, optional): The PaperResNet / PaperResLayer whose architecture
            the checkpoint's recipe is checked against (default: ``module``); the recipe is
            kept on it as ``_loaded_recipe`` for the input-normalisation check of
            :class:`~mmresnet.engine.RecipeHook`.
        config_key (str): Where ``owner``'s arguments live in a config (for messages).

    Returns:
        tuple[list[str], list[str]]: missing and unexpected keys.

    Raises:
        WeightsMismatchError: no key matches, or matching keys have other shapes.
        RecipeMismatchError: the checkpoint's recipe names another architecture or style
            (a file without one: the recipe of its name, e.g. ``torchvision://resnet50``,
            see :data:`~mmresnet.models.utils.recipe.NAMED_RECIPES`).
    """
    source = checkpoint if isinstance(checkpoint, str) else '<checkpoint dict>'
    if isinstance(checkpoint, str):
        checkpoint = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    owner = module if owner is None else owner
    recipe = checkpoint_recipe(checkpoint, source)
    if recipe is None:
        print_log(f'{source} carries no recipe (third-party weights?): its architecture, '
                  f'style and input normalisation could not be checked against '
                  f'{type(owner).__name__}', logger=logger)
    else:
        check_arch(recipe.get('arch'), owner, source, config_key)
    owner._loaded_recipe = dict(source=source, recipe=recipe)
    state = extract_state_dict(checkpoint, prefix)
    own = module.state_dict()
    matched = [k for k in state if k in own]
    if not matched:
        sample = ', '.join(list(state)[:3]) or 'none'
        raise WeightsMismatchError(
            f'no weight of {source} (prefix={prefix!r}) matches {type(module).__name__}: '
            f'checkpoint keys look like [{sample}], the module expects '
            f'[{", ".join(list(own)[:3])}]. Check the prefix and that the checkpoint is a '
            f'backbone of this kind (tools/export_backbone.py writes one).')
    bad_shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                  for k in matched if tuple(state[k].shape) != tuple(own[k].shape)]
    if bad_shapes:
        raise WeightsMismatchError(
            f'{len(bad_shapes)} weights of {source} have other shapes than '
            f'{type(module).__name__} (another depth or width?): ' + '; '.join(bad_shapes[:5]))
    missing, unexpected = module.load_state_dict(state, strict=False)
    unexpected, for_head = _split_c4(owner, unexpected)
    split = ''
    if for_head:
        stages = sorted({k.split('.')[0] for k in for_head})
        split = (f'; {len(for_head)} tensors of {", ".join(s + ".*" for s in stages)} not '
                 f'built by this {owner.num_stages}-stage backbone (the C4 head, '
                 f'PaperResLayer, loads them)')
    print_log(f'loaded {len(matched)}/{len(own)} tensors of {type(owner).__name__} from '
              f'{source}; missing keys: {missing or "none"}; unexpected keys: '
              f'{unexpected or "none"}{split}', logger=logger,
              level=30 if (missing or unexpected) else 20)
    return missing, unexpected


def _split_c4(owner, unexpected):
    """``(unexpected, for_head)``: keys of the stages a truncated PaperResNet does not
    build (``layer4.*`` of the C4 backbone, ``num_stages=3``) are not unexpected."""
    num_stages = getattr(owner, 'num_stages', None)  # a backbone's; the C4 head has none
    if not isinstance(num_stages, int):
        return list(unexpected), []
    later = tuple(f'layer{i + 1}.' for i in range(num_stages, 4))
    for_head = [k for k in unexpected if later and k.startswith(later)]
    return [k for k in unexpected if k not in for_head], for_head
