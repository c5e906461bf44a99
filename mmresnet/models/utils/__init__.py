from .weights import (WeightsMismatchError, extract_state_dict, init_with_strict_pretrained,
                      load_backbone_weights, split_pretrained)

__all__ = ['WeightsMismatchError', 'extract_state_dict', 'load_backbone_weights',
           'split_pretrained', 'init_with_strict_pretrained']
