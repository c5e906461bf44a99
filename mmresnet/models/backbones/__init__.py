from .paper_resnet import PaperResNet

__all__ = ['PaperResNet']
