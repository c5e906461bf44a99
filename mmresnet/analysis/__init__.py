from .complexity import (PAPER_CIFAR_PARAMS, PAPER_IMAGENET_MACS, count_macs,
                         count_params, format_rows, paper_complexity_rows)

__all__ = ['PAPER_CIFAR_PARAMS', 'PAPER_IMAGENET_MACS', 'count_macs', 'count_params',
           'format_rows', 'paper_complexity_rows']
