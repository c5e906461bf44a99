from .paper_resnet import ARCHS, IMAGENET_SETTINGS, PaperResNet, cifar_blocks_per_stage

__all__ = ['ARCHS', 'IMAGENET_SETTINGS', 'PaperResNet', 'cifar_blocks_per_stage']
