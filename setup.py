"""mmresnet: the ResNets of He et al. 2015 for MMEngine / MMDetection."""
from setuptools import find_packages, setup

setup(
    name='mmresnet',
    version='0.1.0',
    description='The ResNets of "Deep Residual Learning for Image Recognition" for '
    'MMEngine/MMDetection: backbones, pretraining recipes, Faster R-CNN, analyses',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    # No torch pin here: GPU users keep their CUDA build. The CPU pin (torch==2.13.0)
    # belongs to tools/setup_env.sh, which creates the tested environment.
    install_requires=[
        'torch>=2.4',  # torch.serialization.add_safe_globals (the safe checkpoint loader)
        'mmengine>=0.10,<1.0',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmdet>=3.0,<3.4',
        'numpy',
        'safetensors',  # weights without a pickle (mmresnet/engine/tensor_files.py)
    ],
    # tensorboard: for vis_backends with TensorboardVisBackend (configs/_base_/default_runtime.py)
    extras_require={'tests': ['pytest'], 'plots': ['matplotlib'],
                    'tensorboard': ['tensorboard'],
                    # ONNX export and its runtimes (mmresnet/deploy, docs/deploy.md);
                    # never imported by training
                    'deploy': ['onnx>=1.12', 'onnxruntime>=1.16', 'openvino>=2023.1']},
    license='Apache-2.0',
)
