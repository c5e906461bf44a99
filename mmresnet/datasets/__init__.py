"""Data sets and transforms (registered in MMDetection's registries)."""
from .classification import *  # noqa: F401,F403
from .crops import *  # noqa: F401,F403
from .detection import *  # noqa: F401,F403
from .device_data import *  # noqa: F401,F403
from .transforms import (LoadDetImage, LoadImage, PackClsInputs, PCALighting,  # noqa: F401
                         RandomCropPad, ResizeShortSide, TenCrop)
