from .classifier import PROTOCOLS, PaperResNetClassifier, topk_error
from .data_preprocessor import ClsDataPreprocessor
from .head import BackboneWithHead, PoolFcHead

__all__ = ['PROTOCOLS', 'PaperResNetClassifier', 'topk_error', 'ClsDataPreprocessor',
           'BackboneWithHead', 'PoolFcHead']
