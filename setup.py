"""mmresnet: the ResNets of He et al. 2015 for MMEngine / MMDetection.

The wheel carries the configs, tools and the embedded demo data under ``mmresnet/.mim/``
(as mmdet's wheel does), copied at build time from the top-level ``configs/``, ``tools/``
and ``data/demo_detection/``: MMEngine finds them by scope
(``mmengine.hub.get_config('mmresnet::faster_rcnn/...')``, ``_base_ = 'mmresnet::...'``),
openmim by package (``mim train mmresnet CONFIG``).
"""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
# what the installed package carries under mmresnet/.mim: (source, destination)
MIM_CONTENT = (('configs', 'configs'), ('tools', 'tools'),
               (osp.join('data', 'demo_detection'), osp.join('data', 'demo_detection')))
# MMEngine reads .mim/model-index.yml before it falls back to .mim/configs/<path>
MODEL_INDEX = 'Import: []\n'
# site-packages/mmresnet-scope.pth: at start-up, mmresnet:: config paths made readable
# without `import mmresnet` (the top-level module _mmresnet_scope.py says how)
SCOPE_PTH = ('mmresnet-scope.pth', 'import _mmresnet_scope; _mmresnet_scope.install()\n')


def fill_mim(dst):
    """Copy configs/, tools/ and data/demo_detection/ into ``dst`` (``mmresnet/.mim`` of
    the build folder), plus an empty model index."""
    for src, rel in MIM_CONTENT:
        target = osp.join(dst, rel)
        if osp.isdir(target):
            shutil.rmtree(target)
        shutil.copytree(osp.join(HERE, src), target,
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    with open(osp.join(dst, 'model-index.yml'), 'w') as f:
        f.write(MODEL_INDEX)


class BuildPyWithMim(build_py):
    """build_py, then ``mmresnet/.mim`` filled in the build folder (not in the source), and
    the scope's ``.pth`` beside the package (not for an editable install)."""

    def run(self):
        super().run()
        if not self.dry_run and osp.isdir(osp.join(HERE, 'configs')):
            fill_mim(osp.join(self.build_lib, 'mmresnet', '.mim'))
        if not self.dry_run and not getattr(self, 'editable_mode', False):
            name, line = SCOPE_PTH
            with open(osp.join(self.build_lib, name), 'w') as f:
                f.write(line)


setup(
    name='mmresnet',
    version='0.1.0',
    description='The ResNets of "Deep Residual Learning for Image Recognition" for '
    'MMEngine/MMDetection: backbones, pretraining recipes, Faster R-CNN, analyses',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'configs.*', 'tools',
                                    'tools.*', 'data', 'data.*')),
    py_modules=['_mmresnet_scope'],
    # the package's Python (tests/packaging/test_python38.py); the test suite needs 3.10
    python_requires='>=3.8',
    # The floor is the stack MMDetection 3.3 users have: mmdet 3.3 takes mmcv < 2.2, whose
    # prebuilt wheels exist for torch 2.0 and 2.1. An environment that satisfies these gets
    # no torch, mmcv, mmdet, mmengine or CUDA library from installing mmresnet. No upper
    # torch pin: GPU users keep their CUDA build; the CPU pin (torch==2.13.0) belongs to
    # tools/setup_env.sh, which creates the tested environment.
    install_requires=[
        'torch>=2.0',
        'mmengine>=0.10,<1.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmdet>=3.0,<3.4',
        'numpy',
        'safetensors',  # weights without a pickle (mmresnet/checkpoint/files.py)
    ],
    # tensorboard: for vis_backends with TensorboardVisBackend (configs/_base_/default_runtime.py)
    extras_require={'tests': ['pytest', 'hypothesis'], 'plots': ['matplotlib'],
                    'tensorboard': ['tensorboard'],
                    # ONNX export and its runtimes (mmresnet/deploy, docs/deploy.md), nncf
                    # for OpenVINO's int8; never imported by training
                    'deploy': ['onnx>=1.12', 'onnxruntime>=1.16', 'openvino>=2023.1',
                               'nncf>=2.7']},
    cmdclass={'build_py': BuildPyWithMim},
    license='Apache-2.0',
)
