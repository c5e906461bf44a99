"""A checked detection data set read from a user's folder (:class:`DetectionFolder`), and
the checks every layout's reader (:mod:`.coco_folder`, :mod:`.voc_folder`) ends with:
each image file found and its size confirmed, each box checked against it
(:func:`~.annotation_checks.box_problem`), the split made, every class trained on."""
import json
import os
import os.path as osp

import numpy as np
from mmengine.logging import print_log

from .annotation_checks import DataError, image_size
from .split import choose_split, thin_images


class DetectionFolder:
    """A checked detection data set: images with boxes, classes and a train/val split.

    Attributes:
        root (str): The folder.
        layout (str): 'coco' or 'voc'.
        classes (tuple[str]): Class names in label order.
        splits (dict): ``{'train': [image, ...], 'val': [...]}``; an image is a dict with
            ``file_name`` (relative to root where it lies below it), ``width``, ``height``,
            ``boxes`` (N, 4 x1 y1 x2 y2 float), ``labels`` (N, from 0), ``ignore`` (N bool:
            COCO ``iscrowd``, VOC ``difficult``) and ``source`` (file and entry).
        split_source (str): Where the split came from.
        notes (list[str]): What was dropped or decided while reading.
    """

    def __init__(self, root, layout, classes, splits, split_source, notes):
        self.root, self.layout, self.classes = root, layout, tuple(classes)
        self.splits, self.split_source, self.notes = splits, split_source, notes

    @property
    def val_is_train(self):
        """True where the validation images are the training images (--train-on-all)."""
        return self.splits['val'] is self.splits['train']

    @property
    def unvalidated(self):
        """Classes with training boxes and no validation box, in label order."""
        c = self.counts()
        return tuple(k for k in self.classes
                     if c['train']['per_class'][k] and not c['val']['per_class'][k])

    def boxes(self, split='train', with_ignored=False):
        """(N, 4) boxes of a split, x1 y1 x2 y2, in image pixels."""
        rows = [img['boxes'][with_ignored | ~img['ignore']] for img in self.splits[split]]
        return np.concatenate(rows) if rows else np.zeros((0, 4))

    def box_images(self, split='train'):
        """(N, 2) width, height of the image of each (non-ignored) box of a split."""
        rows = [np.tile([img['width'], img['height']], ((~img['ignore']).sum(), 1))
                for img in self.splits[split]]
        return np.concatenate(rows).astype(np.float64) if rows else np.zeros((0, 2))

    def image_sizes(self, split='train'):
        return np.array([(img['width'], img['height']) for img in self.splits[split]],
                        dtype=np.float64).reshape(-1, 2)

    def counts(self):
        """{split: {'images': n, 'boxes': n, per class name: n}}."""
        out = {}
        for split, images in self.splits.items():
            labels = np.concatenate([img['labels'][~img['ignore']] for img in images]
                                    ) if images else np.zeros(0, int)
            per = np.bincount(labels.astype(int), minlength=len(self.classes))
            out[split] = dict(images=len(images), boxes=int(len(labels)),
                              per_class={c: int(n) for c, n in zip(self.classes, per)})
        return out

    def to_coco(self, split, images=None):
        """The split as a COCO dict: image ids from 1, category ids 1..K in label order."""
        images = self.splits[split] if images is None else images
        out = dict(images=[], annotations=[],
                   categories=[dict(id=i + 1, name=c) for i, c in enumerate(self.classes)])
        for img_id, img in enumerate(images, 1):
            out['images'].append(dict(id=img_id, file_name=img['file_name'],
                                      width=int(img['width']), height=int(img['height'])))
            for box, label, ignore in zip(img['boxes'], img['labels'], img['ignore']):
                x1, y1, x2, y2 = (float(v) for v in box)
                out['annotations'].append(dict(
                    id=len(out['annotations']) + 1, image_id=img_id,
                    category_id=int(label) + 1, bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1), iscrowd=int(bool(ignore))))
        return out

    def write(self, out_dir, max_pretrain_boxes=None):
        """Write ``train.json`` and ``val.json`` (and ``pretrain.json``: the training images,
        thinned deterministically to at most ``max_pretrain_boxes`` boxes, when given);
        returns {name: path}."""
        os.makedirs(out_dir, exist_ok=True)
        files = {}
        for split in self.splits:
            files[split] = self._dump(self.to_coco(split), osp.join(out_dir, f'{split}.json'))
        if max_pretrain_boxes is not None:
            files['pretrain'] = self._dump(
                self.to_coco('train', thin_images(self.splits['train'], max_pretrain_boxes)),
                osp.join(out_dir, 'pretrain.json'))
        return files

    @staticmethod
    def _dump(data, path):
        with open(path, 'w') as f:
            json.dump(data, f, ensure_ascii=False)
        return path

    def describe(self):
        c = self.counts()
        return (f'{self.root} ({self.layout}): {len(self.classes)} classes '
                f'{list(self.classes)}; train {c["train"]["images"]} images / '
                f'{c["train"]["boxes"]} boxes, val {c["val"]["images"]} images / '
                f'{c["val"]["boxes"]} boxes; split: {self.split_source}')


def _rel(path, root):
    rel = osp.relpath(path, root)
    return path if rel.startswith('..') else rel


def _inside(path, folder):
    return osp.normpath(osp.abspath(path)).startswith(osp.join(osp.abspath(folder), ''))


def _check_image(img, root, problems, check_files):
    """Resolve and check the image file of ``img`` (an image dict with ``candidates``) in
    the data folder ``root``."""
    candidates, looked = img.pop('candidates'), img.pop('looked')
    within = img.pop('within', None) or [root]  # the folders relative names stay in
    inside = [p for p in candidates
              if osp.isabs(img['file_name']) or any(_inside(p, d) for d in within)]
    found = next((p for p in inside if osp.isfile(p)), None)
    if found is None and len(inside) < len(candidates):
        problems.add('image paths outside the data folder',
                     f'{img["source"]}: image file {img["file_name"]!r} points outside '
                     f'{root} (relative file names are read under the data folder)')
        return False
    if found is None:
        problems.add('missing images', f'{img["source"]}: image file {img["file_name"]!r} not '
                     f'found (looked under {", ".join(sorted(set(looked)))})')
        return False
    img['file_name'] = _rel(found, root)
    if not check_files:
        return True
    try:
        w, h = image_size(found)
    except ValueError as e:
        problems.add('unreadable images', f'{img["source"]}: {found}: {e}')
        return False
    if img['width'] is None or img['height'] is None:  # no size in the file, or 0
        img['width'], img['height'] = w, h
    elif (w, h) != (img['width'], img['height']):
        problems.add('images of another size',
                     f'{img["source"]}: {found} is {w}x{h}, the annotation says '
                     f'{img["width"]}x{img["height"]}')
        return False
    return True


def _check_boxes(img, problems):
    """Clip boxes within the tolerance of the image; report the others with their entries
    (:meth:`~.annotation_checks.AnnotationProblems.check_box`); keep the good ones."""
    w, h = img['width'], img['height']
    keep = np.array([problems.check_box(box, w, h, entry)
                     for box, entry in zip(img['boxes'], img.pop('entries'))], bool)
    img['boxes'] = np.clip(img['boxes'], 0, [w, h, w, h])[keep]
    img['labels'], img['ignore'] = img['labels'][keep], img['ignore'][keep]


def finish_folder(root, layout, classes, splits, base, problems, notes, check_files,
                  val_fraction=None, train_on_all=False):
    """The :class:`DetectionFolder` of a layout's reading: images and boxes checked
    (``problems``: the reader's :class:`~.annotation_checks.AnnotationProblems`), the split
    made where ``splits`` has only 'all' (:func:`~.split.choose_split`), every class
    trained on. ``base``: where the split came from."""
    for split, images in splits.items():
        kept = []
        for img in images:
            if _check_image(img, root, problems, check_files):
                _check_boxes(img, problems)
                kept.append(img)
        splits[split] = kept
    dropped = problems.settle()
    if dropped:
        notes.append(f'dropped {dropped}')
    made = 'all' in splits
    splits, split_source = choose_split(splits, base, notes, val_fraction, train_on_all)
    notes.append(f'split: {split_source}')
    for split, images in splits.items():
        if not any(len(img['boxes']) for img in images):
            hint = ''
            if made and split == 'val':
                hint = ('; every image holds a class found in no other image, so none can '
                        'go to validation without taking its only training box. Add images, '
                        'or train on all and validate on the same images (--train-on-all)')
            raise DataError(f'{root}: the {split} split ({split_source}) has no image with '
                            f'a box{hint}')
    data = DetectionFolder(root, layout, classes, splits, split_source, notes)
    counts = data.counts()
    empty = [c for c, n in counts['train']['per_class'].items() if n == 0]
    if empty:
        raise DataError(f'{root}: class(es) {empty} have no training box (split: '
                        f'{split_source}); {counts["val"]["per_class"]} in validation. Move '
                        'images with such boxes to the training split, or remove the class, '
                        'or train on all images and validate on the same ones '
                        '(--train-on-all)')
    if data.unvalidated:
        note = (f'unvalidated class(es) {list(data.unvalidated)}: no box in the validation '
                'images (they train; their results are not measured)')
        notes.append(note)
        print_log(f'{root}: {note}', logger='current', level=30)
    print_log(data.describe(), logger='current')
    return data


__all__ = ['DetectionFolder', 'finish_folder', 'image_size']
