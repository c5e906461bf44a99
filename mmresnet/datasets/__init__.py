"""Data sets and transforms (registered in MMDetection's registries), and the reader of a
user's detection data folder (:func:`read_detection_folder`)."""
from .annotation_checks import AnnotationError, DataError  # noqa: F401
from .categories import category_labels  # noqa: F401
from .classification import *  # noqa: F401,F403
from .coco_folder import read_coco_folder  # noqa: F401
from .crops import *  # noqa: F401,F403
from .detection import *  # noqa: F401,F403
from .detection_folder import DetectionFolder  # noqa: F401
from .device_data import *  # noqa: F401,F403
from .transforms import (LoadDetImage, LoadImage, PackClsInputs, PCALighting,  # noqa: F401
                         RandomCropPad, ResizeShortSide, TenCrop)
from .user_folder import read_detection_folder  # noqa: F401
from .voc_folder import read_voc_folder  # noqa: F401
