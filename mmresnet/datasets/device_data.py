"""A data set held on the training device, augmented there (CIFAR-scale training).

CIFAR-10's 50k training images are 150 MB as uint8: they fit on any GPU. Keeping them there
and doing the paper's augmentation (Section 4.2: 4-pixel zero padding, random 32x32 crop,
horizontal flip) as one gather on a whole batch removes the per-image Python pipeline, the
worker processes and the host-to-device copies, which dominate a ResNet-20 step on a GPU.

The augmentation is the same as the CPU pipeline's (``RandomCropPad`` then
``mmcv.RandomFlip``; the tests compare them pixel for pixel for the same offsets): zero
padding in raw pixel values, crop offsets uniform in ``[0, 2 * padding]``, flip with
probability ``flip_prob``. Mean subtraction stays in the model's data preprocessor.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from ..utils import check_counts

# Transforms of an array data set's training pipeline that have a device equivalent.
SUPPORTED_TRANSFORMS = ('RandomCropPad', 'RandomFlip', 'mmcv.RandomFlip', 'PackClsInputs')


def pad_crop_flip(images, padding, offsets, flips, size=None):
    """Zero-pad, crop and flip a batch in one gather.

    Args:
        images (Tensor): ``(B, C, H, W)``, any dtype.
        padding (int): Zero pixels added on every side.
        offsets (Tensor): ``(B, 2)`` integer (y, x) crop corners in the padded image, in
            ``[0, H + 2 * padding - size_h]`` and ``[0, W + 2 * padding - size_w]``.
        flips (Tensor): ``(B,)`` bool, flip the crop horizontally.
        size (tuple[int], optional): Crop ``(h, w)``. Default: ``(H, W)``.

    Returns:
        Tensor: ``(B, C, h, w)`` of ``images.dtype``.
    """
    b, c, h, w = images.shape
    ch, cw = (h, w) if size is None else size
    padded = F.pad(images, (padding, padding, padding, padding)) if padding else images
    dev = images.device
    rows = offsets[:, 0:1].to(dev) + torch.arange(ch, device=dev)           # (B, ch)
    cols = offsets[:, 1:2].to(dev) + torch.arange(cw, device=dev)           # (B, cw)
    cols = torch.where(flips.to(dev).view(-1, 1), cols.flip(-1), cols)
    batch = torch.arange(b, device=dev).view(-1, 1, 1)
    # (B, ch, cw, C) gathered with the channel axis kept whole, then back to NCHW.
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)


def sample_pad_crop_flip(n, padding, flip_prob, generator, device, extent=(0, 0)):
    """Random offsets (uniform in ``[0, 2 * padding + extent]``) and flips for ``n`` images,
    drawn on ``device`` from ``generator``; ``extent`` is the image size minus the crop."""
    hi_y, hi_x = 2 * padding + extent[0], 2 * padding + extent[1]
    oy = torch.randint(0, hi_y + 1, (n, 1), generator=generator, device=device)
    ox = torch.randint(0, hi_x + 1, (n, 1), generator=generator, device=device)
    flips = torch.rand(n, generator=generator, device=device) < flip_prob
    return torch.cat([oy, ox], 1), flips


def _mix(*values):
    """A 63-bit seed from integers (an LCG step per value; any seed size, no overflow)."""
    h = 0
    for v in values:
        h = (h * 6364136223846793005 + int(v) + 1442695040888963407) % 2**64
    return h >> 1


def _transform_name(cfg):
    t = cfg.get('type') if isinstance(cfg, dict) else type(cfg).__name__
    return t if isinstance(t, str) else getattr(t, '__name__', str(t))


def augment_from_pipeline(pipeline, img_hw):
    """The device augmentation equal to an array data set's training pipeline.

    Returns:
        dict: ``padding``, ``size`` (crop h, w) and ``flip_prob``.

    Raises:
        ValueError: a transform without a device equivalent, a vertical flip, or a crop
            larger than the padded image.
    """
    aug = dict(padding=0, size=tuple(img_hw), flip_prob=0.0)
    for cfg in pipeline:
        name = _transform_name(cfg)
        if name not in SUPPORTED_TRANSFORMS:
            raise ValueError(
                f'device data: the training pipeline has {name!r}, which has no device '
                f'equivalent; allowed transforms: {SUPPORTED_TRANSFORMS} (or train with the '
                'standard IterBasedTrainLoop and a DataLoader)')
        if name == 'RandomCropPad':
            size = cfg.get('size')
            aug['size'] = (size, size) if isinstance(size, int) else tuple(size)
            aug['padding'] = int(cfg.get('padding', 0))
        elif name.endswith('RandomFlip'):
            direction = cfg.get('direction', 'horizontal')
            if direction != 'horizontal' or not isinstance(cfg.get('prob'), (int, float)):
                raise ValueError('device data: only a horizontal flip with one probability '
                                 f'is supported, got {dict(cfg)}')
            aug['flip_prob'] = float(cfg['prob'])
    h, w = img_hw
    if aug['size'][0] > h + 2 * aug['padding'] or aug['size'][1] > w + 2 * aug['padding']:
        raise ValueError(f'device data: crop {aug["size"]} is larger than the padded image '
                         f'({h + 2 * aug["padding"]}, {w + 2 * aug["padding"]})')
    return aug


def _array_dataset_tensors(dataset):
    """(images NCHW uint8, labels) of an in-memory array data set, in its index order."""
    images = getattr(dataset, '_images', None)
    if images is None:
        raise ValueError(
            f'device data needs an in-memory array data set (CIFAR10Dataset, IDXDataset, '
            f'FashionMNISTDataset, SyntheticClsDataset), got {type(dataset).__name__}')
    infos = dataset.data_list if getattr(dataset, 'data_list', None) else [
        dataset.get_data_info(i) for i in range(len(dataset))]
    idx = np.asarray([d['sample_idx'] for d in infos])
    labels = torch.as_tensor(np.asarray([d['gt_label'] for d in infos]), dtype=torch.long)
    imgs = np.asarray(images)[idx]
    if imgs.ndim == 3:
        imgs = imgs[..., None]
    return torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2).contiguous(), labels


class DeviceTensorLoader:
    """An endless stream of augmented batches from a data set held on ``device``.

    Every epoch is a fresh permutation (seeded, the same on every rank); rank ``r`` of
    ``w`` takes ``perm[r::w]``; batches run on across epoch ends, as with MMEngine's
    ``InfiniteSampler``. Batch ``k``'s permutation and augmentation depend only on
    ``(seed, rank, k)``, so :meth:`seek` resumes the exact stream in O(1).

    Yields:
        dict: ``inputs`` (B, C, h, w) uint8 on ``device`` and ``data_samples``, the labels
        as a (B,) long tensor (what :class:`PaperResNetClassifier` reads).

    Args:
        dataset: An array data set (see :func:`_array_dataset_tensors`).
        batch_size (int): Per rank.
        device (str | torch.device): Where the data and the augmentation live.
        padding (int), size (tuple[int]), flip_prob (float): The augmentation. Default:
            none.
        pipeline (list[dict], optional): A training pipeline to take the augmentation from
            instead (:func:`augment_from_pipeline`).
        shuffle (bool): Permute every epoch. Default: True.
        seed (int): Default: 0.
        rank (int), world_size (int): Default: 0, 1.
    """

    def __init__(self, dataset, batch_size, device, padding=0, size=None, flip_prob=0.0,
                 pipeline=None, shuffle=True, seed=0, rank=0, world_size=1):
        check_counts(batch_size=batch_size)
        if not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} is not in [0, world_size={world_size})')
        self.dataset = dataset
        self.device = torch.device(device)
        images, labels = _array_dataset_tensors(dataset)
        if len(images) // world_size < batch_size:
            raise ValueError(f'{len(images)} images over {world_size} ranks give fewer than '
                             f'one batch of {batch_size} per rank')
        if pipeline is not None:
            aug = augment_from_pipeline(pipeline, images.shape[-2:])
            padding, size, flip_prob = aug['padding'], aug['size'], aug['flip_prob']
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size, self.padding, self.flip_prob = batch_size, padding, flip_prob
        self.size = tuple(size) if size is not None else tuple(images.shape[-2:])
        self.extent = (images.shape[-2] - self.size[0], images.shape[-1] - self.size[1])
        self.shuffle, self.seed, self.rank, self.world_size = shuffle, seed, rank, world_size
        self.per_epoch = len(images) // world_size  # every rank the same count
        self._gen = torch.Generator(device=self.device)
        self._epoch_cache = (None, None)
        self._step = 0

    def __len__(self):
        """Batches per epoch (per rank)."""
        return math.ceil(self.per_epoch / self.batch_size)

    def __iter__(self):
        return self

    def seek(self, step):
        """Continue from batch ``step`` (0-based) of the stream."""
        self._step = int(step)

    def _epoch_indices(self, epoch):
        if self._epoch_cache[0] != epoch:
            n = len(self.images)
            if self.shuffle:
                g = torch.Generator(device=self.device).manual_seed(_mix(self.seed, epoch))
                perm = torch.randperm(n, generator=g, device=self.device)
            else:
                perm = torch.arange(n, device=self.device)
            self._epoch_cache = (epoch, perm[self.rank::self.world_size][:self.per_epoch])
        return self._epoch_cache[1]

    def _indices(self, step):
        start = step * self.batch_size
        parts, pos = [], start
        while pos < start + self.batch_size:
            epoch, off = divmod(pos, self.per_epoch)
            take = min(self.per_epoch - off, start + self.batch_size - pos)
            parts.append(self._epoch_indices(epoch)[off:off + take])
            pos += take
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def __next__(self):
        idx = self._indices(self._step)
        images = self.images[idx]
        if self.padding or self.flip_prob or self.extent != (0, 0):
            self._gen.manual_seed(_mix(self.seed, self.rank, self._step, 1))
            offsets, flips = sample_pad_crop_flip(len(idx), self.padding, self.flip_prob,
                                                  self._gen, self.device, self.extent)
            images = pad_crop_flip(images, self.padding, offsets, flips, self.size)
        self._step += 1
        return dict(inputs=images, data_samples=self.labels[idx])


__all__ = ['pad_crop_flip', 'sample_pad_crop_flip', 'augment_from_pipeline',
           'DeviceTensorLoader', 'SUPPORTED_TRANSFORMS']
