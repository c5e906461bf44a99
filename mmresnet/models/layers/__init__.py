from .arch import ARCHS, DEFAULT_SHORTCUT, IMAGENET_SETTINGS, cifar_blocks_per_stage
from .blocks import STYLES, BasicBlock, Bottleneck, check_style, make_res_layer
from .plugins import (PLUGIN_POSITIONS, check_dcn, check_plugins, check_stage_with_dcn,
                      stage_plugins)
from .shortcuts import (SHORTCUT_OPTIONS, IdentityShortcut, PadShortcut,
                        ProjectionShortcut, build_shortcut, check_shortcut)

__all__ = [
    'ARCHS', 'DEFAULT_SHORTCUT', 'IMAGENET_SETTINGS', 'cifar_blocks_per_stage', 'STYLES',
    'check_style', 'BasicBlock', 'Bottleneck', 'make_res_layer', 'PLUGIN_POSITIONS',
    'check_dcn', 'check_plugins', 'check_stage_with_dcn', 'stage_plugins',
    'SHORTCUT_OPTIONS', 'IdentityShortcut', 'PadShortcut', 'ProjectionShortcut',
    'build_shortcut', 'check_shortcut'
]
