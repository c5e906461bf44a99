"""The paper's analyses: complexity (Table 1 / 6), training curves (Fig. 4 / 6) and layer
responses (Fig. 7). Imported lazily (``mmresnet.analysis``): nothing here registers."""
from .complexity import (PAPER_CIFAR_PARAMS, PAPER_IMAGENET_MACS, config_complexity,
                         count_macs, count_params, format_rows, infer_input_shape,
                         paper_complexity_rows)
from .curves import (DEFAULT_TEST_KEY, DEFAULT_TRAIN_KEY, DET_TEST_KEYS, DET_TRAIN_KEY,
                     find_scalars, format_summary, log_kind, plot_curves,
                     plot_detection_curves, plot_runs, read_curves, read_detection_curves,
                     read_run, summarize)
from .layer_response import (config_model_and_batches, find_run, format_response_table,
                             layer_response_stds, plot_layer_responses, response_layers)

__all__ = ['PAPER_CIFAR_PARAMS', 'PAPER_IMAGENET_MACS', 'config_complexity', 'count_macs',
           'count_params', 'format_rows', 'infer_input_shape', 'paper_complexity_rows',
           'DEFAULT_TEST_KEY', 'DEFAULT_TRAIN_KEY', 'find_scalars', 'format_summary',
           'plot_curves', 'read_curves', 'summarize', 'DET_TEST_KEYS', 'DET_TRAIN_KEY',
           'log_kind', 'plot_detection_curves', 'plot_runs', 'read_detection_curves',
           'read_run', 'config_model_and_batches', 'find_run',
           'format_response_table', 'layer_response_stds', 'plot_layer_responses',
           'response_layers']
