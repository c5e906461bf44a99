from .blocks import STYLES, BasicBlock, Bottleneck, make_res_layer
from .shortcuts import (SHORTCUT_OPTIONS, IdentityShortcut, PadShortcut,
                        ProjectionShortcut, build_shortcut, check_shortcut)

__all__ = [
    'STYLES', 'BasicBlock', 'Bottleneck', 'make_res_layer', 'SHORTCUT_OPTIONS',
    'IdentityShortcut', 'PadShortcut', 'ProjectionShortcut', 'build_shortcut',
    'check_shortcut'
]
