"""Transforms of the paper's recipes that mmcv does not have (flip and centre crop come from
mmcv: ``mmcv.RandomFlip``, ``mmcv.CenterCrop``).

ImageNet (Section 3.4): short side resized at random in [256, 480], random 224 crop (or of
its flip), AlexNet colour (PCA lighting) augmentation; test by 10-crop. CIFAR (Section 4.2):
4 pixels padded on each side, random 32 crop, flip.
"""
import random

import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmdet.registry import TRANSFORMS
from mmengine.fileio import get
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from ..utils import check_choice, check_int


def contiguous_image(img):
    """``np.ascontiguousarray(img)``, fast for the horizontally flipped views that mmcv's
    ``RandomFlip`` returns (``np.flip``: numpy copies a negative-stride uint8 image about 30x
    slower than OpenCV flips it back and forth). Same values."""
    if (img.ndim in (2, 3) and img.strides[1] < 0 and img.strides[0] > 0
            and img.dtype == np.uint8 and (img.ndim == 2 or img.shape[2] <= 4)):
        out = cv2.flip(img[:, ::-1], 1)  # img[:, ::-1] is a plain (row-strided) view
        return out if out.ndim == img.ndim else out[..., None]
    return np.ascontiguousarray(img)


def ensure_decoder(backend):
    """Make mmcv's ``backend`` usable by ``mmcv.imfrombytes(..., backend=...)`` without
    changing mmcv's default decoder (mmcv creates its TurboJPEG object only in
    ``use_backend``)."""
    if backend != 'turbojpeg':
        return
    import mmcv.image.io as mmcv_io
    if mmcv_io.jpeg is None:
        previous = mmcv_io.imread_backend
        try:
            mmcv.use_backend('turbojpeg')
        except (ImportError, OSError, RuntimeError) as e:
            raise ValueError(f'decoder backend "turbojpeg" is not usable here ({e}); '
                             'pip install "PyTurboJPEG<2" and libjpeg-turbo, or use '
                             '"cv2" or "pillow"') from None
        finally:
            mmcv.use_backend(previous)


def _skip_bad_image(transform, error):
    """Count and log an unreadable image of a ``skip_bad`` loader; None makes the data set
    draw another."""
    transform.skipped += 1
    print_log(f'skipped bad image ({transform.skipped} so far in this worker): {error}',
              logger='current', level=30)
    return None


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``results['img_path']``; a missing or undecodable file is an error naming it,
    or, with ``skip_bad=True``, a logged and counted skip (the dataset draws another).

    Args:
        color_type (str): 'color' or 'grayscale'. Default: 'color'.
        skip_bad (bool): Skip unreadable images instead of raising. Default: False.
        backend (str): mmcv's decoder: 'cv2' (libjpeg-turbo inside OpenCV), 'pillow' or
            'turbojpeg' (needs PyTurboJPEG). Images come out BGR from each.
            ``tools/benchmark_pipeline.py`` measures them. Default: 'cv2'.
    """
    BACKENDS = ('cv2', 'pillow', 'turbojpeg')

    def __init__(self, color_type='color', skip_bad=False, backend='cv2'):
        check_choice('decoder backend', backend, self.BACKENDS)
        ensure_decoder(backend)
        self.color_type, self.skip_bad, self.skipped = color_type, skip_bad, 0
        self.backend = backend

    def transform(self, results):
        path = results['img_path']
        try:
            try:
                data = get(path)
            except FileNotFoundError:
                raise FileNotFoundError(f'image file not found: {path}') from None
            try:
                img = mmcv.imfrombytes(data, flag=self.color_type, backend=self.backend)
            except Exception as e:  # decoders raise their own types (PIL: OSError)
                raise ValueError(f'cannot decode image {path}: {e}') from None
            if img is None:
                raise ValueError(f'cannot decode image {path}: not a valid image file '
                                 '(expected JPEG, PNG, BMP, ...), corrupt or empty')
        except (FileNotFoundError, ValueError) as e:
            if not self.skip_bad:
                raise
            return _skip_bad_image(self, e)
        if img.ndim == 2:
            img = img[..., None]
        results['img'] = img
        results['img_shape'] = results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadDetImage(MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` for detection pipelines (same arguments and outputs)
    whose failures name the file: a missing, empty or undecodable image raises
    ``ValueError: cannot read image PATH: ...`` instead of a bare ``cv2.error``, or, with
    ``skip_bad=True``, is logged and counted and the dataset draws another image (in
    training; at test time every image must load).

    Args:
        skip_bad (bool): Skip unreadable images instead of raising. Default: False.
        **kwargs: As mmcv's ``LoadImageFromFile`` (``to_float32``, ``color_type``,
            ``imdecode_backend``, ``backend_args``).
    """

    def __init__(self, skip_bad=False, **kwargs):
        kwargs.setdefault('ignore_empty', False)
        super().__init__(**kwargs)
        self.skip_bad, self.skipped = skip_bad, 0

    def transform(self, results):
        path = results.get('img_path')
        try:
            try:
                out = super().transform(results)
            except FileNotFoundError:
                raise ValueError(f'cannot read image {path}: file not found') from None
            except Exception as e:  # cv2.error, PIL's OSError, ... name the file
                raise ValueError(f'cannot read image {path}: {type(e).__name__}: '
                                 f'{str(e).strip().splitlines()[-1] if str(e).strip() else e}'
                                 ' (corrupt, empty or not an image)') from None
            if out is None or out.get('img') is None:
                raise ValueError(f'cannot read image {path}: not a decodable image '
                                 '(corrupt, empty or not an image)')
            return out
        except ValueError as e:
            if not self.skip_bad:
                raise ValueError(f'{e} (or set skip_bad=True on LoadDetImage to skip such '
                                 'images, counted in the log)') from None
            return _skip_bad_image(self, e)


@TRANSFORMS.register_module()
class ResizeShortSide(BaseTransform):
    """Resize so the short side is ``size``, or uniform at random in ``size=(lo, hi)``
    (the paper's scale augmentation, [256, 480])."""

    def __init__(self, size, interpolation='bilinear'):
        if isinstance(size, (list, tuple)):
            if len(size) != 2 or size[0] > size[1]:
                raise ValueError(f'size must be an int or a (low, high) range, got {size}')
        else:
            check_int('ResizeShortSide: size (or a (low, high) range)', size)
        self.size, self.interpolation = size, interpolation

    def transform(self, results):
        img = results['img']
        size = random.randint(*self.size) if isinstance(self.size, (list, tuple)) else self.size
        h, w = img.shape[:2]
        new = (size, max(1, round(w * size / h))) if h <= w else (max(1, round(h * size / w)),
                                                                  size)
        out = mmcv.imresize(img, (new[1], new[0]), interpolation=self.interpolation)
        results['img'] = out if out.ndim == 3 else out[..., None]
        results['img_shape'] = new
        return results


@TRANSFORMS.register_module()
class RandomCropPad(BaseTransform):
    """Zero-pad ``padding`` pixels on each side, then crop ``size`` at a random place
    (CIFAR: padding=4, size=32; ImageNet: padding=0, size=224)."""

    def __init__(self, size, padding=0):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding

    def transform(self, results):
        img = results['img']
        if self.padding:
            p = self.padding
            img = np.pad(img, ((p, p), (p, p), (0, 0)))
        h, w = img.shape[:2]
        ch, cw = self.size
        if h < ch or w < cw:
            raise ValueError(f'image of {h}x{w} (after padding) is smaller than the crop '
                             f'{ch}x{cw}: resize first')
        y, x = random.randint(0, h - ch), random.randint(0, w - cw)
        results['img'] = img[y:y + ch, x:x + cw]
        results['img_shape'] = (ch, cw)
        return results


@TRANSFORMS.register_module()
class PCALighting(BaseTransform):
    """AlexNet colour augmentation (Krizhevsky et al. 2012): add ``eigvec @ (alpha *
    eigval)`` with ``alpha ~ N(0, std)`` to every pixel. Default eigen-pairs: ImageNet RGB,
    pixel values 0..255 (as used by fb.resnet.torch)."""
    EIGVAL = (55.46, 4.794, 1.148)
    EIGVEC = ((-0.5675, 0.7192, 0.4009), (-0.5808, -0.0045, -0.8140),
              (-0.5836, -0.6948, 0.4203))

    def __init__(self, std=0.1, eigval=EIGVAL, eigvec=EIGVEC, to_bgr=True):
        self.std = std
        self.eigval = np.asarray(eigval, dtype=np.float32)
        self.eigvec = np.asarray(eigvec, dtype=np.float32)
        self.to_bgr = to_bgr  # images decoded by OpenCV are BGR; the eigvecs are RGB

    def transform(self, results):
        img = results['img']
        if img.shape[-1] != 3:
            raise ValueError(f'PCALighting needs 3-channel images, got {img.shape}')
        alpha = np.random.normal(0, self.std, 3).astype(np.float32)
        delta = self.eigvec @ (alpha * self.eigval)
        if self.to_bgr:
            delta = delta[::-1]
        if img.dtype != np.uint8:
            results['img'] = np.clip(img.astype(np.float32) + delta, 0, 255).astype(np.uint8)
            return results
        # uint8 in, uint8 out, one shift per channel: the float32 formula above evaluated
        # once per value and channel (256 x 3) and applied as a lookup table, with the same
        # result bit for bit and about 4x faster than per pixel.
        lut = np.clip(np.arange(256, dtype=np.float32)[:, None] + delta, 0, 255)
        results['img'] = cv2.LUT(contiguous_image(img), lut.astype(np.uint8).reshape(256, 1, 3))
        return results


@TRANSFORMS.register_module()
class TenCrop(BaseTransform):
    """The standard 10-crop test (Section 3.4): 4 corners + centre of ``size`` and their
    horizontal flips. Produces ``results['img']`` of shape (10, H, W, C)."""

    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def transform(self, results):
        img = results['img']
        h, w = img.shape[:2]
        ch, cw = self.size
        if h < ch or w < cw:
            raise ValueError(f'image of {h}x{w} is smaller than the crop {ch}x{cw}')
        origins = [(0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw),
                   ((h - ch) // 2, (w - cw) // 2)]
        crops = [img[y:y + ch, x:x + cw] for y, x in origins]
        crops += [c[:, ::-1] for c in crops]
        results['img'] = np.stack(crops)
        results['img_shape'] = (ch, cw)
        return results


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """``img`` (H, W, C) or views (V, H, W, C) -> ``inputs`` tensor (C, H, W) / (V, C, H, W);
    the label into a data sample's ``gt_label``."""

    def __init__(self, meta_keys=('sample_idx', 'img_path', 'ori_shape', 'img_shape')):
        self.meta_keys = meta_keys

    def transform(self, results):
        img = results['img']
        img = contiguous_image(img) if img.ndim < 4 else np.ascontiguousarray(img)
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(img).movedim(-1, -3).contiguous()
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys
                                           if k in results})
        if 'gt_label' in results:
            sample.gt_label = torch.tensor(results['gt_label'], dtype=torch.long)
        return dict(inputs=inputs, data_samples=sample)
