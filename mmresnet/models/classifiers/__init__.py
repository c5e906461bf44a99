from .classifier import PROTOCOLS, PaperResNetClassifier
from .data_preprocessor import ClsDataPreprocessor
from .head import PoolFcHead

__all__ = ['PROTOCOLS', 'PaperResNetClassifier', 'ClsDataPreprocessor',
           'PoolFcHead']
