from .classifier import PaperResNetClassifier
from .data_preprocessor import ClsDataPreprocessor
from .head import PoolFcHead

__all__ = ['PaperResNetClassifier', 'ClsDataPreprocessor', 'PoolFcHead']
