"""Converters from other libraries' ResNet weights to PaperResNet checkpoints."""
from .resnet_state_dict import (SOURCES, backbone_checkpoint, check_layout, check_outputs,
                                classifier_checkpoint, convert_file,
                                convert_resnet_state_dict, infer_arch, paper_to_torchvision)

__all__ = ['SOURCES', 'backbone_checkpoint', 'check_layout', 'check_outputs',
           'classifier_checkpoint', 'convert_file', 'convert_resnet_state_dict', 'infer_arch',
           'paper_to_torchvision']
