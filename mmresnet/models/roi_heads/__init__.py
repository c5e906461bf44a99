"""RoI heads: the paper's C4 shared head (conv5_x per RoI, Section 4.3 / Appendix A)."""
from .c4_shared_head import PaperResLayer, load_shared_head_weights

__all__ = ['PaperResLayer', 'load_shared_head_weights']
