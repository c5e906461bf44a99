from .paper_resnet import PAPER_CHOICES, FrozenBNFromScratchWarning, PaperResNet

__all__ = ['PaperResNet', 'PAPER_CHOICES', 'FrozenBNFromScratchWarning']
