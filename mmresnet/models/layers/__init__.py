from .blocks import STYLES, BasicBlock, Bottleneck, check_style, make_res_layer
from .shortcuts import (SHORTCUT_OPTIONS, IdentityShortcut, PadShortcut,
                        ProjectionShortcut, build_shortcut, check_shortcut)

__all__ = [
    'STYLES', 'check_style', 'BasicBlock', 'Bottleneck', 'make_res_layer', 'SHORTCUT_OPTIONS',
    'IdentityShortcut', 'PadShortcut', 'ProjectionShortcut', 'build_shortcut',
    'check_shortcut'
]
