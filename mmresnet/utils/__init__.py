"""What every other package may import: argument checks, the project's constants and the
kind of error a command-line value raises. Imports nothing of mmresnet."""
from .checks import (check_choice, check_choices, check_counts, check_int, check_int_tuple,
                     check_optional_int, is_int)
from .constants import (CAFFE_BGR, CHECKPOINT_FORMATS, DEPLOY_BACKENDS,
                        DEPLOY_PRECISIONS, DETECTRON_BGR, IMAGENET_RGB, IMG_EXTENSIONS,
                        TEST_PROTOCOLS)
from .errors import ConfigError, UsageError

__all__ = ['check_choice', 'check_choices', 'check_counts', 'check_int', 'check_int_tuple',
           'check_optional_int', 'is_int',
           'CAFFE_BGR', 'CHECKPOINT_FORMATS', 'DEPLOY_BACKENDS',
           'DEPLOY_PRECISIONS', 'DETECTRON_BGR',
           'IMAGENET_RGB', 'IMG_EXTENSIONS', 'TEST_PROTOCOLS', 'ConfigError', 'UsageError']
