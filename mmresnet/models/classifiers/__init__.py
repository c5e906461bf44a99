from .head import BackboneWithHead, PoolFcHead

__all__ = ['BackboneWithHead', 'PoolFcHead']
