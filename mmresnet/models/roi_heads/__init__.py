"""RoI heads: the paper's C4 shared head (conv5_x per RoI, Section 4.3 / Appendix A) and an
RoI extractor that pools the RoIs with a margin of context."""
from .c4_shared_head import PaperResLayer, load_shared_head_weights
from .context_roi_extractor import ContextRoIExtractor

__all__ = ['PaperResLayer', 'load_shared_head_weights', 'ContextRoIExtractor']
