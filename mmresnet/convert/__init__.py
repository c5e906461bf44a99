"""Converters from other libraries' ResNet weights to PaperResNet checkpoints."""
from .resnet_state_dict import (SOURCES, backbone_checkpoint, check_layout, check_outputs,
                                classifier_checkpoint, convert_file,
                                convert_resnet_state_dict, infer_arch, paper_to_torchvision)
from .msra import (DetectronUnpickler, check_msra_blobs, check_msra_outputs,
                   convert_msra_blobs, convert_msra_file, infer_msra_depth, load_msra_blobs,
                   msra_blob_names, msra_checkpoint, msra_meta, reference_forward)

__all__ = ['SOURCES', 'backbone_checkpoint', 'check_layout', 'check_outputs',
           'classifier_checkpoint', 'convert_file', 'convert_resnet_state_dict', 'infer_arch',
           'paper_to_torchvision', 'DetectronUnpickler', 'check_msra_blobs',
           'check_msra_outputs', 'convert_msra_blobs', 'convert_msra_file', 'infer_msra_depth',
           'load_msra_blobs', 'msra_blob_names', 'msra_checkpoint', 'msra_meta',
           'reference_forward']
