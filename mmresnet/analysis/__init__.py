"""The paper's analyses: complexity (Table 1 / 6), training curves (Fig. 4 / 6) and layer
responses (Fig. 7). Imported lazily (``mmresnet.analysis``): nothing here registers."""
from .complexity import (PAPER_CIFAR_PARAMS, PAPER_IMAGENET_MACS, config_complexity,
                         count_macs, count_params, format_rows, infer_input_shape,
                         paper_complexity_rows)
from .curves import (DEFAULT_TEST_KEY, DEFAULT_TRAIN_KEY, find_scalars, format_summary,
                     plot_curves, read_curves, summarize)
from .layer_response import (config_model_and_batches, find_run, format_response_table,
                             layer_response_stds, plot_layer_responses, response_layers)

__all__ = ['PAPER_CIFAR_PARAMS', 'PAPER_IMAGENET_MACS', 'config_complexity', 'count_macs',
           'count_params', 'format_rows', 'infer_input_shape', 'paper_complexity_rows',
           'DEFAULT_TEST_KEY', 'DEFAULT_TRAIN_KEY', 'find_scalars', 'format_summary',
           'plot_curves', 'read_curves', 'summarize', 'config_model_and_batches', 'find_run',
           'format_response_table', 'layer_response_stds', 'plot_layer_responses',
           'response_layers']
