"""Classification crops cut from a detection annotation file.

The pretraining data of a detector's backbone when no ImageNet is at hand: every annotated
box becomes an image of its category, and windows that overlap no box become 'background'
images, the R-CNN way (Girshick et al. 2014: warped regions with context, negatives below
an IoU threshold). :class:`DetectionCropDataset` reads a COCO-format file, cuts the crops
once and holds them in one array, so it trains like CIFAR: through a DataLoader with
``RandomCropPad`` / ``RandomFlip`` or, fastest, with ``DeviceIterBasedTrainLoop``.

Only the images of the given annotation file are read: point it at the training split and
no validation image is ever seen in pretraining.

IoU is mmdet's ``bbox_overlaps`` (float32). Against a float64 copy it changes no crop of the
embedded tiles (2026-12-06: the demo's train and val crop sets, 4,696 and 1,400 crops, equal
array for array; the IoUs differ by at most 2.3e-6).
"""
import os.path as osp

import cv2
import mmcv
import numpy as np
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.registry import DATASETS
from mmengine.fileio import get
from mmengine.logging import print_log

from ..utils import check_choice, check_int
from .classification import _ArrayClsDataset
from .annotation_checks import read_coco_json
from .categories import category_labels


def crop_window(img, box, context, size, scale=None):
    """The square window around ``box``'s centre, warped to ``size`` x ``size``; parts
    outside the image are mirrored in. The window is ``context`` times the box's longer
    side (``scale=None``: every box fills the crop alike) or, with a fixed ``scale``,
    ``size / scale`` pixels of the image (``scale=1``: the image's own resolution, each box
    at its own size)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    if scale is None:
        side = max(box[2] - box[0], box[3] - box[1], 1.0) * context
        scale = size / side
    else:
        side = size / scale
    # affine map: window's top-left corner -> (0, 0), side -> size
    m = np.array([[scale, 0, -(cx - side / 2) * scale],
                  [0, scale, -(cy - side / 2) * scale]], dtype=np.float64)
    out = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)
    return out[..., None] if out.ndim == 2 else out


@DATASETS.register_module()
class DetectionCropDataset(_ArrayClsDataset):
    """Box and background crops of a COCO-format detection data set, as a classification
    data set (classes: ``'background'`` then the file's categories in id order, those
    without a box and placeholders such as ``_background_`` dropped with a log line).

    Per annotated box: ``crops_per_box`` windows, the box itself and randomly shifted and
    scaled copies keeping IoU >= ``pos_iou`` with it. Per image: as many background windows
    as box windows (times ``background_ratio``), with the sizes of that image's boxes and an
    IoU below ``neg_iou`` with every box. Each window is ``context`` times the box's longer
    side, warped to ``crop_size``; or, with ``scale`` set, every window is ``crop_size /
    scale`` image pixels around the box's centre (``scale=1``: crops at the image's own
    resolution, the scale a detector trained on the full images sees). Sampling is seeded:
    the same file and seed give the same crops.

    Args:
        ann_file (str): COCO JSON, relative to ``data_root``.
        data_root (str): Root of the images and the file.
        data_prefix (dict): ``dict(img='')``: image folder, relative to ``data_root``.
        crop_size (int): Side of the crops in pixels. Default: 64.
        context (float): Window side / box side (>= 1), when ``scale`` is None.
            Default: 1.5.
        scale (float, optional): Fixed resize factor from image to crop (> 0) instead of
            ``context``: windows of ``crop_size / scale`` image pixels. Default: None.
        crops_per_box (int): Windows per box, the first exact. Default: 4.
        pos_iou (float): Minimum IoU of a jittered window with its box. Default: 0.6.
        neg_iou (float): Background windows stay below this IoU with every box.
            Default: 0.3.
        background_ratio (float): Background windows per box window. Default: 1.0.
        min_size (float): Boxes with a shorter side are not cropped. Default: 4.
        color_type (str): 'color' (BGR, as OpenCV decodes) or 'grayscale'. Default: 'color'.
        seed (int): Default: 0.
    """

    def __init__(self, ann_file, data_root='', data_prefix=dict(img=''), crop_size=64,
                 context=1.5, scale=None, crops_per_box=4, pos_iou=0.6,
                 neg_iou=0.3, background_ratio=1.0, min_size=4.0, color_type='color', seed=0,
                 **kwargs):
        check_int('DetectionCropDataset: crop_size', crop_size, 8)
        check_int('DetectionCropDataset: crops_per_box', crops_per_box)
        check_choice('DetectionCropDataset: color_type', color_type, ('color', 'grayscale'))
        checks = [('context', context, context >= 1, '>= 1'),
                  ('scale', scale, scale is None or scale > 0, 'None or > 0'),
                  ('pos_iou', pos_iou, 0 < pos_iou <= 1, 'in (0, 1]'),
                  ('neg_iou', neg_iou, 0 <= neg_iou < 1, 'in [0, 1)'),
                  ('background_ratio', background_ratio, background_ratio >= 0, '>= 0')]
        for name, value, ok, allowed in checks:
            if not ok:
                raise ValueError(f'DetectionCropDataset: {name} must be {allowed}, got '
                                 f'{value!r}')
        self.crop_size, self.context, self.crops_per_box = crop_size, context, crops_per_box
        self.scale = scale
        self.pos_iou, self.neg_iou, self.background_ratio = pos_iou, neg_iou, background_ratio
        self.min_size, self.color_type, self.seed = min_size, color_type, seed
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    def _jitter(self, box, rng):
        """A window shifted and scaled at random with IoU >= pos_iou with ``box``."""
        w, h = box[2] - box[0], box[3] - box[1]
        for _ in range(50):
            dx, dy = rng.uniform(-0.2, 0.2, 2) * (w, h)
            s = np.exp(rng.uniform(-0.25, 0.25))
            cx, cy = (box[0] + box[2]) / 2 + dx, (box[1] + box[3]) / 2 + dy
            cand = np.array([cx - w * s / 2, cy - h * s / 2, cx + w * s / 2, cy + h * s / 2])
            if bbox_overlaps(cand[None], box[None])[0, 0] >= self.pos_iou:
                return cand
        return box

    def _backgrounds(self, boxes, n, width, height, rng):
        out, sizes = [], boxes[:, 2:] - boxes[:, :2]
        for _ in range(n * 50):
            if len(out) == n:
                break
            w, h = sizes[rng.integers(len(sizes))]
            if w >= width or h >= height:
                continue
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            cand = np.array([x, y, x + w, y + h])
            if bbox_overlaps(cand[None], boxes).max() < self.neg_iou:
                out.append(cand)
        return out

    def load_data_list(self):
        data = read_coco_json(self.ann_file)
        known = {c['id'] for c in data['categories']}
        for ann in data['annotations']:
            if ann['category_id'] not in known:
                raise ValueError(f'{self.ann_file}: annotation id {ann["id"]} has category_id '
                                 f'{ann["category_id"]}, not one of the file\'s categories '
                                 f'{sorted(known)}')
        # Labels 1..K in category-id order, placeholders and categories without a box
        # dropped: by the function that gives the detector its labels from the same file
        # (read_coco_folder).
        cats, cat_label = category_labels(
            data['categories'], [a['category_id'] for a in data['annotations']
                                 if not a.get('iscrowd', 0)], where=self.ann_file)
        cat_index = {k: v + 1 for k, v in cat_label.items()}
        self._metainfo['classes'] = ('background', ) + tuple(c['name'] for c in cats)
        by_image = {}
        for ann in data['annotations']:
            if ann.get('iscrowd', 0) or ann['category_id'] not in cat_index:
                continue
            x, y, w, h = ann['bbox']
            if min(w, h) < self.min_size:
                continue
            by_image.setdefault(ann['image_id'], []).append(
                ([x, y, x + w, y + h], cat_index[ann['category_id']]))
        rng = np.random.default_rng(self.seed)
        prefix = self.data_prefix.get('img', '') or ''
        crops, labels, self.image_files = [], [], []
        for info in sorted(data['images'], key=lambda i: i['id']):
            anns = by_image.get(info['id'])
            if not anns:
                continue
            path = osp.join(prefix, info['file_name'])
            try:
                img = mmcv.imfrombytes(get(path), flag=self.color_type)
            except FileNotFoundError:
                raise FileNotFoundError(f'{self.ann_file}: image file not found: {path}'
                                        ) from None
            if img is None:
                raise ValueError(f'{self.ann_file}: cannot decode image {path} (corrupt, '
                                 'empty or not an image)')
            self.image_files.append(path)
            boxes = np.array([a[0] for a in anns], dtype=np.float64)
            for box, label in anns:
                box = np.asarray(box, dtype=np.float64)
                for k in range(self.crops_per_box):
                    crops.append(crop_window(img, box if k == 0 else self._jitter(box, rng),
                                             self.context, self.crop_size, self.scale))
                    labels.append(label)
            n_bg = int(round(len(anns) * self.crops_per_box * self.background_ratio))
            for box in self._backgrounds(boxes, n_bg, img.shape[1], img.shape[0], rng):
                crops.append(crop_window(img, box, self.context, self.crop_size,
                                         self.scale))
                labels.append(0)
        if not crops:
            raise ValueError(f'{self.ann_file}: no box of side >= {self.min_size} to crop')
        labels = np.asarray(labels, dtype=np.int64)
        counts = np.bincount(labels, minlength=len(self._metainfo['classes']))
        print_log(f'DetectionCropDataset {self.ann_file}: {len(crops)} crops of '
                  f'{self.crop_size}px from {len(self.image_files)} images ('
                  + ', '.join(f'{c}: {n}' for c, n in zip(self._metainfo['classes'], counts))
                  + ')', logger='current')
        return self._set_arrays(np.stack(crops), labels)


__all__ = ['DetectionCropDataset', 'crop_window']
