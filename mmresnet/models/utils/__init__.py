from .weights import WeightsMismatchError, extract_state_dict, load_backbone_weights

__all__ = ['WeightsMismatchError', 'extract_state_dict', 'load_backbone_weights']
