"""mmresnet: the ResNets of He et al. 2015 for MMEngine / MMDetection.

Importing the package registers its modules in MMDetection's registries, so configs use
``custom_imports=dict(imports=['mmresnet'])`` and ``type='PaperResNet'``.
"""
from . import datasets, engine, evaluation, models  # noqa: F401

__version__ = '0.1.0'
