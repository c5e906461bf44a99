"""What mmdet's ResNet adds to the paper's blocks: deformable 3x3 convs (``dcn``) and plug-in
layers (``plugins``: GCNet's ContextBlock, GeneralizedAttention, NonLocal2d, ...).

The spelling, the positions and the module names are mmdet's (``mmdet.models.backbones.
resnet``), so that a config written for mmdet's ResNet builds the same modules here and its
checkpoints load with the same keys (``layerI.J.conv2.conv_offset.weight``,
``layerI.J.context_block.*``). mmdet checks these arguments with bare asserts; the checks
below name the argument and the allowed values.
"""
from ...utils import check_choice

PLUGIN_POSITIONS = ('after_conv1', 'after_conv2', 'after_conv3')
PLUGIN_KEYS = ('cfg', 'position', 'stages')


def _is_bool_seq(value):
    return isinstance(value, (list, tuple)) and all(isinstance(v, bool) for v in value)


def check_dcn(dcn, conv_cfg=None, owner='dcn'):
    """The conv config of the deformable 3x3 convs (a copy), or None.

    mmdet's ``fallback_on_stride`` key is accepted with its only working value, False: mmdet
    pops it from the shared dict in the first block it builds, so ``True`` would build a
    plain conv in that one block and deformable convs in all others.

    Raises:
        ValueError: ``dcn`` is not None nor a dict with a registered conv ``type``;
            ``fallback_on_stride`` is not False; ``conv_cfg`` is set as well.
    """
    if dcn is None:
        return None
    if not isinstance(dcn, dict) or not isinstance(dcn.get('type'), str):
        raise ValueError(f"{owner}: dcn must be None or a conv config with a 'type', e.g. "
                         f"dict(type='DCN', deform_groups=1) or dict(type='DCNv2', "
                         f"deform_groups=1); got {dcn!r}")
    dcn = dict(dcn)
    fallback = dcn.pop('fallback_on_stride', False)
    if fallback is not False:
        raise ValueError(f'{owner}: dcn.fallback_on_stride={fallback!r}; allowed values: '
                         f'False (mmdet pops the key in the first block it builds, so True '
                         f'has no layout a checkpoint could follow)')
    import mmcv.ops  # noqa: F401  registers DCN / DCNv2 (deform_conv, modulated_deform_conv)
    from mmengine.registry import MODELS
    with MODELS.switch_scope_and_registry(None) as registry:
        if registry.get(dcn['type']) is None:
            raise ValueError(f"{owner}: unknown dcn type {dcn['type']!r}; allowed values: "
                             f"a conv layer of mmcv's registry, e.g. 'DCN' "
                             f"(DeformConv2dPack) or 'DCNv2' (ModulatedDeformConv2dPack)")
    if conv_cfg is not None:
        raise ValueError(f'{owner}: dcn and conv_cfg={conv_cfg!r} are both set; allowed: one '
                         f'of them (dcn builds the 3x3 convs, conv_cfg the others; mmdet '
                         f'refuses the pair too)')
    return dcn


def check_stage_with_dcn(stage_with_dcn, dcn, num_stages, owner='stage_with_dcn'):
    """``stage_with_dcn`` as a tuple of ``num_stages`` bools (None: no stage). As in mmdet,
    its length is checked only with a ``dcn``; without one, a stage it selects is an
    error (mmdet ignores it)."""
    if stage_with_dcn is None:
        return (False, ) * num_stages
    if not _is_bool_seq(stage_with_dcn) or (dcn is not None
                                            and len(stage_with_dcn) != num_stages):
        raise ValueError(f'{owner}: stage_with_dcn must be {num_stages} bools, one per stage '
                         f'(num_stages={num_stages}), got {stage_with_dcn!r}')
    if dcn is None:
        if any(stage_with_dcn):
            raise ValueError(f'{owner}: stage_with_dcn={tuple(stage_with_dcn)!r} selects '
                             f"stages but dcn is None; set dcn, e.g. dict(type='DCN', "
                             f'deform_groups=1)')
        return (False, ) * num_stages
    return tuple(stage_with_dcn)


def check_plugins(plugins, num_stages, owner='plugins'):
    """``plugins`` in mmdet's form: a list of ``dict(cfg=dict(type=...), position=...,
    stages=None | (bool, ) * num_stages)``; returned as a list of plain dicts."""
    if plugins is None:
        return None
    if not isinstance(plugins, (list, tuple)):
        raise ValueError(f"{owner}: plugins must be None or a list of dict(cfg=dict(type="
                         f"...), position=..., stages=...), got {plugins!r}")
    out = []
    for i, plugin in enumerate(plugins):
        where = f'{owner}: plugins[{i}]'
        if not isinstance(plugin, dict) or not isinstance(plugin.get('cfg'), dict) or \
                'type' not in plugin['cfg']:
            raise ValueError(f"{where} must be dict(cfg=dict(type=...), position=..., "
                             f"stages=...), got {plugin!r}")
        unknown = sorted(set(plugin) - set(PLUGIN_KEYS))
        if unknown:
            raise ValueError(f'{where}: unknown keys {unknown}; allowed keys: {PLUGIN_KEYS}')
        check_choice(f'{where}: position', plugin.get('position'), PLUGIN_POSITIONS)
        stages = plugin.get('stages')
        if stages is not None and (not _is_bool_seq(stages) or len(stages) != num_stages):
            raise ValueError(f'{where}: stages must be None (every stage) or {num_stages} '
                             f'bools, one per stage, got {stages!r}')
        out.append(dict(plugin))
    return out


def stage_plugins(plugins, stage_idx):
    """The plugins of stage ``stage_idx`` (mmdet's ``ResNet.make_stage_plugins``), without
    their ``stages`` key; None without plugins."""
    if plugins is None:
        return None
    return [dict(cfg=p['cfg'], position=p['position']) for p in plugins
            if p.get('stages') is None or p['stages'][stage_idx]]


__all__ = ['PLUGIN_POSITIONS', 'check_dcn', 'check_stage_with_dcn', 'check_plugins',
           'stage_plugins']
