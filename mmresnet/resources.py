"""Where the configs, tools and embedded demo data are, in a clone or an installed wheel.

A clone has them beside the package (``configs/``, ``tools/``, ``data/demo_detection/``);
the wheel carries copies under ``mmresnet/.mim/`` (setup.py fills it at build time, as
mmdet's wheel does), where MMEngine finds them by scope:
``mmengine.hub.get_config('mmresnet::faster_rcnn/...')``, ``_base_ = 'mmresnet::...'``.

MMEngine 0.10 resolves ``pkg::`` only for the packages of its ``MODULE2PACKAGE`` table
(OpenMMLab's own): ``import mmresnet`` adds ``mmresnet`` to it
(:func:`register_config_scope`), so scoped paths work once the package is imported, as
they do in its tools, ``python -m mmresnet`` and ``mim train mmresnet``.

The tools take the configs' usual relative paths (``configs/demo/...``,
``data_root = 'data/demo_detection/'``): a path that does not exist under the working
folder is looked up under :func:`resource_root`, so the same commands run in a clone and
from any folder with the wheel installed.
"""
import os.path as osp

from .utils.errors import ConfigError

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))
CONTENT = ('configs', 'tools')


def resource_root():
    """The folder holding ``configs/`` and ``tools/``: the installed package's ``.mim``, or
    the clone this package was imported from; None if neither has them."""
    for root in (osp.join(PACKAGE_DIR, '.mim'), osp.dirname(PACKAGE_DIR)):
        if all(osp.isdir(osp.join(root, d)) for d in CONTENT):
            return root
    return None


def find_resource(path):
    """``path`` if it exists (relative to the working folder, or absolute), else the same
    relative path under :func:`resource_root` if it exists there, else ``path`` unchanged
    (the caller's own not-found error names it)."""
    if path is None or osp.isabs(path) or osp.exists(path):
        return path
    root = resource_root()
    if root is not None and osp.exists(osp.join(root, path)):
        return osp.join(root, path)
    return path


def localize_data_root(cfg):
    """Point a config at the embedded data when its relative ``data_root`` is missing from
    the working folder but shipped with the package (``data/demo_detection/``): every
    string value that starts with ``data_root`` is rewritten. Returns the new root or None
    (nothing changed)."""
    data_root = cfg.get('data_root') if hasattr(cfg, 'get') else None
    if not isinstance(data_root, str) or not data_root:
        return None
    found = find_resource(data_root)
    if found == data_root:
        return None
    if data_root.endswith('/') and not found.endswith('/'):
        found += '/'

    def rewrite(node):
        if isinstance(node, str):
            return found + node[len(data_root):] if node.startswith(data_root) else node
        if isinstance(node, dict):
            for key in list(node.keys()):
                node[key] = rewrite(node[key])
            return node
        if isinstance(node, list):
            return [rewrite(x) for x in node]
        if isinstance(node, tuple):
            return tuple(rewrite(x) for x in node)
        return node

    for key in list(cfg.keys()):
        cfg[key] = rewrite(cfg[key])
    return found


def read_config(path):
    """The config file at ``path`` (found as :func:`find_resource` finds it), with its
    ``data_root`` localized; a missing file or one that does not parse is named."""
    from mmengine.config import Config
    path = find_resource(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as e:
        raise ConfigError(f'{path}: not a readable config ({e})') from e
    localize_data_root(cfg)
    return cfg


def merge_cfg_options(cfg, cfg_options):
    """``--cfg-options`` (a dict, ``key.path: value``) merged into ``cfg``; a key that does
    not merge is named with the config."""
    try:
        cfg.merge_from_dict(cfg_options)
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ConfigError(f'--cfg-options {cfg_options}: cannot be merged into '
                          f'{cfg.filename} ({type(e).__name__}: {e})') from e
    return cfg


def register_config_scope():
    """Let MMEngine resolve ``mmresnet::`` config paths (its table of known packages)."""
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault('mmresnet', 'mmresnet')
