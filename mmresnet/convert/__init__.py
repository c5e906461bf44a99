"""Checkpoints in and out: other libraries' ResNet weights (torchvision, timm, MSRA) to
PaperResNet checkpoints, and the classification-to-detection hand-off (export_backbone)."""
from .export import export_backbone
from .resnet_state_dict import (SOURCES, backbone_checkpoint, check_layout, check_outputs,
                                classifier_checkpoint, convert_file,
                                convert_resnet_state_dict, infer_arch, paper_to_torchvision)
from .msra import (check_msra_blobs, check_msra_outputs,
                   convert_msra_blobs, convert_msra_file, infer_msra_depth, load_msra_blobs,
                   msra_blob_names, msra_checkpoint, msra_meta, reference_forward)

__all__ = ['export_backbone', 'SOURCES', 'backbone_checkpoint', 'check_layout', 'check_outputs',
           'classifier_checkpoint', 'convert_file', 'convert_resnet_state_dict', 'infer_arch',
           'paper_to_torchvision', 'check_msra_blobs',
           'check_msra_outputs', 'convert_msra_blobs', 'convert_msra_file', 'infer_msra_depth',
           'load_msra_blobs', 'msra_blob_names', 'msra_checkpoint', 'msra_meta',
           'reference_forward']
