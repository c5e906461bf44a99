"""The paper's input normalisation: per-pixel (per-channel) mean subtraction."""
import torch
from mmdet.registry import MODELS
from mmengine.model import BaseDataPreprocessor

from ...utils import check_choice


@MODELS.register_module()
class ClsDataPreprocessor(BaseDataPreprocessor):
    """Stack, cast to float and subtract the mean (Section 3.4: "the per-pixel mean
    subtracted"; Section 4.2 for CIFAR). Dividing by ``std`` is optional (None: the paper).

    Works on images ``(C, H, W)`` and on multi-view tests ``(V, C, H, W)`` (10-crop).

    Args:
        mean (Sequence[float]): Per-channel mean, in the channel order of the input.
        std (Sequence[float], optional): Per-channel std. Default: None (no division).
        to_rgb (bool): Swap BGR (OpenCV decoding) to RGB. Default: False.
        input_order (str): Channel order of the images the pipeline delivers: 'bgr' for
            image files (OpenCV decodes BGR), 'rgb' for the CIFAR-10 arrays. Recorded in
            checkpoints with the mean and std (the recipe). Default: 'bgr'.
    """

    def __init__(self, mean, std=None, to_rgb=False, input_order='bgr'):
        super().__init__()
        self.input_order = check_choice('ClsDataPreprocessor: input_order', input_order,
                                        ('bgr', 'rgb'))
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                             False)
        std = [1.0] * len(mean) if std is None else std
        if len(std) != len(mean):
            raise ValueError(f'mean and std need one value per channel, got {mean}, {std}')
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                             False)
        self.to_rgb = to_rgb

    def input_normalisation(self):
        """``dict(mean, std, channel_order)`` the network sees (the recipe's
        normalisation; ``to_rgb`` swaps the order of the input)."""
        order = self.input_order
        if self.to_rgb:
            order = dict(bgr='rgb', rgb='bgr')[order]
        mean = [round(float(v), 4) for v in self.mean.flatten().tolist()]
        std = [round(float(v), 4) for v in self.std.flatten().tolist()]
        return dict(mean=mean, std=std, channel_order='gray' if len(mean) == 1 else order)

    def forward(self, data, training=False):
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1:
                raise ValueError(f'images of one batch must have one size, got {shapes}: '
                                 'crop/resize in the pipeline or use batch_size=1')
            inputs = torch.stack(list(inputs))
        inputs = inputs.float()
        if inputs.shape[-3] != self.mean.shape[0]:
            raise ValueError(f'input has {inputs.shape[-3]} channels, the preprocessor mean '
                             f'has {self.mean.shape[0]}')
        if self.to_rgb:
            inputs = inputs.flip(-3)
        inputs = (inputs - self.mean) / self.std
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
