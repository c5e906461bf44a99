"""Lets MMEngine read ``mmresnet::`` config paths in any Python process where the mmresnet
wheel is installed, without ``import mmresnet`` first.

MMEngine 0.10 resolves ``pkg::path`` only for the packages of its ``MODULE2PACKAGE`` table
(OpenMMLab's own) and reads a config's ``_base_`` before its ``custom_imports``, so
``_base_ = 'mmresnet::...'`` in a user's config failed with an AssertionError inside MMEngine
in mmdet's ``tools/train.py`` or a user's own script. The wheel installs
``mmresnet-scope.pth`` beside this module; Python runs its one line at start-up, which calls
:func:`install`: the table gets ``mmresnet`` when MMEngine's config utilities are imported,
and at no other time. Nothing else is imported or changed (no torch, no mmresnet, no
mmengine import at start-up); ``MMRESNET_SCOPE_HOOK=0`` turns it off.

Once ``mmresnet::`` paths read, the dicts a config inherits carry ``_scope_='mmresnet'``
and MMEngine imports ``mmresnet.registry`` (hence the package) by itself when it builds
them (:mod:`mmresnet.registry`).
"""
import os
import sys

TARGET = 'mmengine.config.utils'
SCOPE = 'mmresnet'
ENV_VAR = 'MMRESNET_SCOPE_HOOK'


def add_scope(module):
    """``mmresnet`` in ``module.MODULE2PACKAGE`` (MMEngine's table), if it has the table."""
    table = getattr(module, 'MODULE2PACKAGE', None)
    if isinstance(table, dict):
        table.setdefault(SCOPE, SCOPE)


class ScopeFinder:
    """A finder that finds nothing itself: when ``TARGET`` is imported it asks the finders
    after it for the module and has the loader add the scope once the module ran."""

    def find_spec(self, name, path=None, target=None):
        if name != TARGET:
            return None
        for finder in sys.meta_path[sys.meta_path.index(self) + 1:]:
            find = getattr(finder, 'find_spec', None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, 'exec_module', None)
        if exec_module is None:
            return spec

        def exec_and_add(module):
            exec_module(module)
            add_scope(module)

        loader.exec_module = exec_and_add
        return spec


def install():
    """Called by ``mmresnet-scope.pth`` at start-up; does nothing where
    ``MMRESNET_SCOPE_HOOK=0`` or when already installed."""
    if os.environ.get(ENV_VAR, '1').strip().lower() in ('0', 'false', 'no', 'off'):
        return
    if TARGET in sys.modules:
        add_scope(sys.modules[TARGET])
    elif not any(isinstance(f, ScopeFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, ScopeFinder())
