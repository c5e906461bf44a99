"""A tool script loaded as a module, by path (``tools/`` is no package, and ``test`` would be
Python's own)."""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name):
    """``load_tool('infer')``: tools/infer.py as a module."""
    spec = importlib.util.spec_from_file_location(f'mmresnet_tool_{name}',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
