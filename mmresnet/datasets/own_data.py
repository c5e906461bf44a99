"""A user's detection data set, read from a folder in COCO or VOC layout, checked, and
written once as the contiguous-label COCO files every stage of the pipeline reads.

    from mmresnet.datasets.own_data import read_detection_folder
    data = read_detection_folder('data/mine')          # COCO or VOC layout, found by itself
    data.write('work_dirs/mine/data')                  # train.json, val.json
    data.classes                                        # ('potted plant', 'tree'), label order

Layouts:

- COCO: ``DIR/annotations/`` with a training and a validation file (``train.json`` and
  ``val.json``, or ``instances_train.json`` and ``instances_val.json``; other names with
  ``train_ann`` / ``val_ann``), or a single JSON file there, which is then split. Image
  ``file_name`` is resolved against DIR, as mmdet does (``data_root`` + ``file_name``),
  then against the annotation file's folder and ``DIR/images``, ``DIR/JPEGImages``.
- VOC: ``DIR/Annotations/*.xml`` and ``DIR/JPEGImages/``, with ``ImageSets/Main/train.txt``
  and ``val.txt`` when present.

Where there is no split, the images are split deterministically and class-aware
(:func:`deterministic_split`): about a fifth (``val_fraction``) to validation, every class
found in two or more images keeping one in training and one in validation; a class found
in a single image trains and is reported unvalidated. ``train_on_all`` trains on every image
and validates on the same ones (a tiny set; said in the log and the split's description).

Classes come from the files, names exactly as written. COCO category ids map to labels in
id order; VOC names in sorted order. Placeholder categories (``_background_``,
``__ignore__``, ...) and categories with no box are dropped, each with a log line
(:func:`category_labels`, which the crops dataset shares).

Every problem is found before any training and reported at once, each with its file and
entry (:class:`DataError`): missing or unreadable images, image sizes that disagree with
the file, boxes outside the image or of zero area, unknown image or category ids, a split
left empty, a class with no training box. ``on_invalid='skip'`` drops bad boxes and images
instead, counted in the log.
"""
import hashlib
import json
import math
import os
import os.path as osp
import struct
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
from mmengine.logging import print_log

from .detection import AnnotationError, read_coco_json, voc_bndbox

#: Category names annotation tools write for what is not a class (labelme's
#: ``_background_`` and ``__ignore__``, Detectron's ``__background__``).
PLACEHOLDER_NAMES = ('_background_', '__background__', '__ignore__', '_ignore_')
COCO_NAMES = (('train.json', 'val.json'), ('instances_train.json', 'instances_val.json'),
              ('instances_train2017.json', 'instances_val2017.json'))
IMAGE_FOLDERS = ('', 'images', 'JPEGImages')
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VAL_FRACTION = 0.2
MAX_LISTED = 30


class DataError(AnnotationError):
    """A data set folder has problems; the message lists each with its file and entry."""


def category_labels(categories, box_category_ids, log=True, where=''):
    """Contiguous labels of a COCO file's categories: placeholders and categories with no
    box dropped, the rest in category-id order.

    Args:
        categories (list[dict]): The file's ``categories`` (``id``, ``name``).
        box_category_ids (Iterable[int]): The ``category_id`` of every box.
        log (bool): Log a line per dropped category.
        where (str): The file, for the log lines.

    Returns:
        tuple: (kept categories in label order, {category id: label from 0}).
    """
    used = Counter(box_category_ids)
    kept = []
    for cat in sorted(categories, key=lambda c: c['id']):
        name = cat.get('name')
        if name in PLACEHOLDER_NAMES and not used[cat['id']]:
            why = 'a placeholder name, no box'
        elif name in PLACEHOLDER_NAMES:
            why = f'a placeholder name ({used[cat["id"]]} boxes dropped with it)'
        elif not used[cat['id']]:
            why = 'no box'
        else:
            kept.append(cat)
            continue
        if log:
            print_log(f'{where}: category id {cat["id"]} {name!r} dropped ({why})',
                      logger='current')
    return kept, {c['id']: i for i, c in enumerate(kept)}


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


def thin_images(images, max_boxes):
    """The images in SHA-1 order of their names until ``max_boxes`` boxes (at least one
    image): a deterministic subset for a pretraining that needs no more crops."""
    out, n = [], 0
    for img in sorted(images, key=lambda i: _digest(i['file_name'])):
        if out and n + len(img['boxes']) > max_boxes:
            continue
        out.append(img)
        n += len(img['boxes'])
    return sorted(out, key=lambda i: i['file_name'])


def _digest(name):
    return hashlib.sha1(name.encode('utf-8')).hexdigest()


def deterministic_split(images, val_fraction=VAL_FRACTION):
    """(train, val) of images with no split of their own, class-aware and deterministic.

    The images are ordered by the SHA-1 of their file name (the same files give the same
    split, whatever their order). First, for each class found in at least two images
    (rarest first), the first image in that order that can go to validation does: one
    whose every class keeps at least one training image. Then further such images go, in
    the same order, until ``val_fraction`` of the images (at least one) are validation
    images. A class found in a single image stays in training (it trains, unvalidated).
    The classes are those of the boxes not ignored (``labels[~ignore]``).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f'val_fraction must be between 0 and 1 (exclusive), got '
                         f'{val_fraction!r}')
    order = sorted(images, key=lambda i: _digest(i['file_name']))
    kinds = [set(np.asarray(i['labels'])[~np.asarray(i['ignore'], bool)].tolist())
             if len(i['labels']) else set() for i in order]
    per_class = Counter(c for k in kinds for c in k)
    in_train = Counter(per_class)
    n_val = max(1, int(round(len(order) * val_fraction)))
    cap = max(n_val, len(order) // 2)  # covering the classes may take more, not past half
    val = []

    def movable(j):
        return j not in val and all(in_train[c] > 1 for c in kinds[j])

    def move(j):
        val.append(j)
        for c in kinds[j]:
            in_train[c] -= 1
    for c in sorted(per_class, key=lambda c: (per_class[c], c)):
        if len(val) >= cap:
            break
        if per_class[c] < 2 or any(c in kinds[j] for j in val):
            continue
        j = next((j for j in range(len(order)) if c in kinds[j] and movable(j)), None)
        if j is not None:
            move(j)
    for j in range(len(order)):
        if len(val) >= n_val:
            break
        if movable(j):
            move(j)
    chosen = {id(order[j]) for j in val}
    return ([i for i in images if id(i) not in chosen], [i for i in images if id(i) in chosen])


class _Problems:
    """Collects the problems of a data set: raised together, or dropped and counted."""

    def __init__(self, root, on_invalid):
        if on_invalid not in ('error', 'skip'):
            raise ValueError(f"on_invalid must be 'error' or 'skip', got {on_invalid!r}")
        self.root, self.on_invalid = root, on_invalid
        self.items, self.skipped = [], Counter()

    def add(self, kind, message):
        self.items.append(message)
        self.skipped[kind] += 1

    def fatal(self, message):
        raise DataError(f'{self.root}: {message}')

    def settle(self, notes):
        """Raise every problem (on_invalid='error'), or note what was dropped."""
        if not self.items:
            return
        if self.on_invalid == 'error':
            listed = '\n  '.join(self.items[:MAX_LISTED])
            more = (f'\n  ... and {len(self.items) - MAX_LISTED} more'
                    if len(self.items) > MAX_LISTED else '')
            raise DataError(
                f'{self.root}: {len(self.items)} problem(s) in the data set:\n  {listed}'
                f'{more}\n(fix them, or drop such boxes and images with '
                "on_invalid='skip' / tools/demo.py --skip-invalid)")
        what = ', '.join(f'{n} {k}' for k, n in sorted(self.skipped.items()))
        notes.append(f'dropped {what}')
        print_log(f'{self.root}: dropped {what} (skip invalid); first: {self.items[0]}',
                  logger='current', level=30)


def _rel(path, root):
    rel = osp.relpath(path, root)
    return path if rel.startswith('..') else rel


def image_size(path):
    """(width, height) of an image file as OpenCV decodes it (EXIF rotation applied), from
    its header; raises ValueError when the file is no readable image."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
            im.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            struct.error, Image.DecompressionBombError) as e:
        raise ValueError(f'not a readable image ({e})') from None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _inside(path, folder):
    return osp.normpath(osp.abspath(path)).startswith(osp.join(osp.abspath(folder), ''))


def _check_image(img, problems, check_files):
    """Resolve and check the image file of ``img`` (an image dict with ``candidates``)."""
    candidates, looked = img.pop('candidates'), img.pop('looked')
    within = img.pop('within', None) or [problems.root]  # the folders relative names stay in
    inside = [p for p in candidates
              if osp.isabs(img['file_name']) or any(_inside(p, d) for d in within)]
    found = next((p for p in inside if osp.isfile(p)), None)
    if found is None and len(inside) < len(candidates):
        problems.add('image paths outside the data folder',
                     f'{img["source"]}: image file {img["file_name"]!r} points outside '
                     f'{problems.root} (relative file names are read under the data folder)')
        return False
    if found is None:
        problems.add('missing images', f'{img["source"]}: image file {img["file_name"]!r} not '
                     f'found (looked under {", ".join(sorted(set(looked)))})')
        return False
    img['file_name'] = _rel(found, problems.root)
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


def _check_boxes(img, problems, tol=1.0):
    """Clip boxes within ``tol`` pixels of the image; report the others (and zero-area
    ones) with their entries; keep the good ones."""
    keep = np.ones(len(img['boxes']), bool)
    w, h = img['width'], img['height']
    for i, (box, entry) in enumerate(zip(img['boxes'], img.pop('entries'))):
        x1, y1, x2, y2 = box
        if not np.all(np.isfinite(box)):
            problems.add('boxes with coordinates not finite', f'{entry}: box (x1, y1, x2, '
                         f'y2) = ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is not finite')
            keep[i] = False
        elif x2 - x1 <= 0 or y2 - y1 <= 0:
            problems.add('boxes of zero area', f'{entry}: box (x1, y1, x2, y2) = '
                         f'({x1:g}, {y1:g}, {x2:g}, {y2:g}) has no area')
            keep[i] = False
        elif x1 < -tol or y1 < -tol or x2 > w + tol or y2 > h + tol:
            problems.add('boxes outside their image', f'{entry}: box (x1, y1, x2, y2) = '
                         f'({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies outside the {w}x{h} image')
            keep[i] = False
    img['boxes'] = np.clip(img['boxes'], 0, [w, h, w, h])[keep]
    img['labels'], img['ignore'] = img['labels'][keep], img['ignore'][keep]


def _split(splits, base, split_how, notes):
    """The train/val split after the checks: the data set's own (``splits`` has 'train'
    and 'val'), or made (``splits`` has 'all'): class-aware (:func:`deterministic_split`),
    or every image trained on and validated on (``train_on_all``). Returns
    (splits, source)."""
    fraction, on_all = split_how.get('val_fraction'), split_how.get('train_on_all', False)
    if 'all' not in splits:
        if fraction is not None:
            notes.append(f'--val-fraction {fraction:g} not used: the data set has its own '
                         'split')
        if not on_all:
            return splits, base
        images = splits['train'] + splits['val']
    else:
        images = splits['all']
    if on_all:
        return dict(train=images, val=images), (
            f'{base}; --train-on-all: trained on all {len(images)} images and validated on '
            'the same ones (the figures say how well the detector fits its training images, '
            'not how it does on new ones)')
    fraction = VAL_FRACTION if fraction is None else fraction
    train, val = deterministic_split(images, fraction)
    return dict(train=train, val=val), (
        f'{base} split deterministically, class-aware (SHA-1 of the file names, '
        f'{fraction:.0%} validation; every class in two or more images keeps one in '
        f'training and one in validation): {len(val)} of {len(images)} images to validation')


def _finish(root, layout, classes, splits, base, problems, notes, check_files, split_how):
    for split, images in splits.items():
        kept = []
        for img in images:
            if _check_image(img, problems, check_files):
                _check_boxes(img, problems)
                kept.append(img)
            else:
                img.pop('entries', None)
        splits[split] = kept
    problems.settle(notes)
    made = 'all' in splits
    splits, split_source = _split(splits, base, split_how, notes)
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


# -- COCO ---------------------------------------------------------------------------------
def _find_coco_files(root, train_ann, val_ann):
    ann_dir = osp.join(root, 'annotations')

    def resolve(path):
        for cand in (path, osp.join(root, path), osp.join(ann_dir, path)):
            if osp.isfile(cand):
                return cand
        raise FileNotFoundError(f'annotation file not found: {path} (looked in {root} and '
                                f'{ann_dir})')
    if train_ann or val_ann:
        return resolve(train_ann) if train_ann else None, resolve(val_ann) if val_ann else None
    for names in COCO_NAMES:
        paths = [osp.join(ann_dir, n) for n in names]
        if all(osp.isfile(p) for p in paths):
            return tuple(paths)
    files = sorted(f for f in os.listdir(ann_dir) if f.endswith('.json'))
    if len(files) == 1:
        return osp.join(ann_dir, files[0]), None
    raise DataError(
        f'{ann_dir}: cannot tell the training and the validation file apart among {files}; '
        f'expected one of {[list(n) for n in COCO_NAMES]}, or a single JSON file to split, '
        'or name them with --train-ann / --val-ann')


def _size(value, key):
    """A positive integer image side, or None where the file gives none (missing, empty or
    0: the size is then read from the image file); ValueError naming ``key`` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if number == 0:
        return None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f'{key} must be a positive number (0 or empty: read from the '
                         f'image), got {value!r}'[:300])
    return int(round(number))


def _number(value):
    """A coordinate as a float (an integer too large for one: inf, caught as not finite)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _coco_images(root, path, data, cat_label, problems, kinds):
    """Images of one COCO file with their boxes (labels from ``cat_label``)."""
    images, by_id, unusable = [], {}, set()
    for i, info in enumerate(data['images']):
        if info['id'] in by_id:
            problems.add('duplicate image ids', f'{path}: images[{i}]: id {info["id"]} '
                         'is used twice')
            continue
        name = info['file_name']
        try:
            width, height = _size(info['width'], 'width'), _size(info['height'], 'height')
        except ValueError as e:
            problems.add('images of unusable size', f'{path}: image id {info["id"]}: {e}')
            unusable.add(info['id'])
            continue
        looked = [osp.join(root, f) for f in IMAGE_FOLDERS] + [osp.dirname(path)]
        img = dict(file_name=name, width=width, height=height,
                   candidates=[name] if osp.isabs(name) else
                   [osp.join(d, name) for d in looked] +
                   [osp.join(root, f, osp.basename(name)) for f in IMAGE_FOLDERS[1:]],
                   looked=looked, within=[root, osp.dirname(osp.abspath(path))],
                   source=f'{path}: image id {info["id"]}',
                   boxes=[], labels=[], ignore=[], entries=[])
        by_id[info['id']] = img
        images.append(img)
    for ann in data['annotations']:
        where = f'{path}: annotation id {ann["id"]}'
        img = by_id.get(ann['image_id'])
        if ann['image_id'] in unusable:
            continue  # its image is reported
        if img is None:
            problems.add('annotations of unknown images',
                         f'{where}: image_id {ann["image_id"]} is not in "images"')
            continue
        if ann['category_id'] not in kinds:
            problems.add('annotations of unknown categories',
                         f'{where}: category_id {ann["category_id"]} is not in "categories" '
                         f'(ids {sorted(kinds)})')
            continue
        if ann['category_id'] not in cat_label:
            continue  # a placeholder category, dropped (logged once)
        x, y, w, h = (_number(v) for v in ann['bbox'])
        img['boxes'].append([x, y, x + w, y + h])
        img['labels'].append(cat_label[ann['category_id']])
        img['ignore'].append(bool(ann.get('iscrowd', 0)))
        img['entries'].append(f'{where} (image {img["file_name"]})')
    for img in images:
        img['boxes'] = np.array(img['boxes'], np.float64).reshape(-1, 4)
        img['labels'] = np.array(img['labels'], np.int64)
        img['ignore'] = np.array(img['ignore'], bool)
    return images


def read_coco_folder(root, train_ann=None, val_ann=None, on_invalid='error',
                     check_files=True, val_fraction=None, train_on_all=False):
    """Read a COCO-layout folder; see the module's doc."""
    problems, notes = _Problems(root, on_invalid), []
    train_path, val_path = _find_coco_files(root, train_ann, val_ann)
    if train_path is None:
        raise DataError(f'{root}: --val-ann given without --train-ann')
    files = {'train': train_path} if val_path is None else {'train': train_path,
                                                             'val': val_path}
    try:
        parsed = {s: read_coco_json(p) for s, p in files.items()}
    except AnnotationError as e:
        raise DataError(str(e)) from None
    # One category table: the training file's; the validation file must name the same ids.
    cats = parsed['train']['categories']
    if 'val' in parsed:
        tr = {c['id']: c['name'] for c in cats}
        va = {c['id']: c['name'] for c in parsed['val']['categories']}
        diff = sorted(k for k in set(tr) | set(va) if tr.get(k) != va.get(k))
        if diff:
            raise DataError(f'{val_path}: categories differ from {train_path} at ids {diff}: '
                            + '; '.join(f'{k}: {tr.get(k)!r} vs {va.get(k)!r}' for k in diff))
    kinds = {c['id'] for c in cats}
    box_ids = [a['category_id'] for d in parsed.values() for a in d['annotations']]
    kept, cat_label = category_labels(cats, box_ids, where=train_path)
    dropped = [c for c in cats if c['id'] not in cat_label]
    if dropped:
        notes.append('dropped categories ' + ', '.join(f'{c["id"]} {c["name"]!r}'
                                                       for c in dropped))
    if not kept:
        raise DataError(f'{train_path}: no category with a box (categories: '
                        f'{[c["name"] for c in cats]})')
    images = {s: _coco_images(root, files[s], d, cat_label, problems, kinds)
              for s, d in parsed.items()}
    if val_path is None:
        images = dict(all=images['train'])
        source = osp.basename(train_path)
    else:
        source = f'{osp.basename(train_path)} / {osp.basename(val_path)}'
    return _finish(root, 'coco', [c['name'] for c in kept], images, source, problems, notes,
                   check_files, dict(val_fraction=val_fraction, train_on_all=train_on_all))


# -- VOC ----------------------------------------------------------------------------------
VOC_FLAGS = {'0': False, '1': True, 'false': False, 'true': True}


def _voc_object(obj, where):
    name = (obj.findtext('name') or '').strip()
    if not name:
        raise AnnotationError(f'{where}: <name> is missing or empty (each object needs its '
                              'class name)')
    x1, y1, x2, y2 = voc_bndbox(obj, where)
    difficult = (obj.findtext('difficult') or '0').strip() or '0'  # labelme: <difficult/>
    if difficult.lower() not in VOC_FLAGS:
        raise AnnotationError(f'{where}: <difficult> must be 0 or 1 (or empty), got '
                              f'{difficult!r}'[:300])
    # VOC boxes are 1-based and inclusive; mmdet subtracts 1 from each coordinate.
    return name, [x1 - 1, y1 - 1, x2 - 1, y2 - 1], VOC_FLAGS[difficult.lower()]


def _voc_image(root, xml_path, problems):
    where = osp.relpath(xml_path, root)
    try:
        tree = ET.parse(xml_path).getroot()
    except (ET.ParseError, ValueError, LookupError) as e:
        problems.add('unreadable XML files', f'{where}: not valid XML ({e})')
        return None
    if tree.tag != 'annotation':
        problems.add('unreadable XML files', f'{where}: not a VOC annotation (the root '
                     f'element is <{tree.tag}>, expected <annotation>)'[:300])
        return None
    stem = osp.splitext(osp.basename(xml_path))[0]
    filename = (tree.findtext('filename') or '').strip()
    jpeg = osp.join(root, 'JPEGImages')
    candidates = ([osp.join(jpeg, filename), osp.join(root, filename)] if filename else []) \
        + [osp.join(jpeg, stem + ext) for ext in IMG_EXTENSIONS]
    size = tree.find('size')
    dims = [(size.findtext(k) or '').strip() if size is not None else '' for k in
            ('width', 'height')]
    try:
        width, height = _size(dims[0], '<size><width>'), _size(dims[1], '<size><height>')
    except ValueError as e:
        problems.add('images of unusable size', f'{where}: {e}')
        return None
    objects = []
    for i, obj in enumerate(tree.findall('object'), 1):
        try:
            objects.append(_voc_object(obj, f'{where}: object {i}') + (f'{where}: object {i}',))
        except AnnotationError as e:
            problems.add('objects that cannot be read', str(e))
    return dict(file_name=filename or stem, width=width, height=height,
                candidates=candidates, looked=[jpeg], source=where, objects=objects,
                stem=stem)


def read_voc_folder(root, on_invalid='error', check_files=True, val_fraction=None,
                    train_on_all=False):
    """Read a VOC-layout folder; see the module's doc."""
    problems, notes = _Problems(root, on_invalid), []
    ann_dir = osp.join(root, 'Annotations')
    xmls = sorted(f for f in os.listdir(ann_dir) if f.lower().endswith('.xml'))
    if not xmls:
        raise DataError(f'{ann_dir}: no .xml annotation files')
    parsed, unreadable = [], set()
    for f in xmls:
        img = _voc_image(root, osp.join(ann_dir, f), problems)
        if img is None:
            unreadable.add(osp.splitext(f)[0])  # reported
        else:
            parsed.append(img)
    names = sorted({o[0] for img in parsed for o in img['objects']})
    placeholders = [n for n in names if n in PLACEHOLDER_NAMES]
    for n in placeholders:
        print_log(f'{ann_dir}: objects named {n!r} dropped (a placeholder name)',
                  logger='current')
        notes.append(f'dropped objects named {n!r}')
    classes = [n for n in names if n not in placeholders]
    if not classes:
        problems.settle(notes)  # the problems first, where they explain it
        raise DataError(f'{ann_dir}: no object with a class name')
    label = {n: i for i, n in enumerate(classes)}
    by_stem = {}
    for img in parsed:
        objs = [o for o in img.pop('objects') if o[0] in label]
        img['boxes'] = np.array([o[1] for o in objs], np.float64).reshape(-1, 4)
        img['labels'] = np.array([label[o[0]] for o in objs], np.int64)
        img['ignore'] = np.array([o[2] for o in objs], bool)
        img['entries'] = [o[3] for o in objs]
        by_stem[img.pop('stem')] = img
    sets = osp.join(root, 'ImageSets', 'Main')
    lists = {s: osp.join(sets, f'{s}.txt') for s in ('train', 'val')}
    if all(osp.isfile(p) for p in lists.values()):
        splits = {}
        for split, path in lists.items():
            ids = [ln.split()[0] for ln in open(path) if ln.strip()]
            missing = [i for i in ids if i not in by_stem and i not in unreadable]
            for i in missing:
                problems.add('listed images without annotation',
                             f'{path}: {i!r} has no Annotations/{i}.xml')
            splits[split] = [by_stem[i] for i in ids if i in by_stem]
        source = 'ImageSets/Main/train.txt / val.txt'
    else:
        splits = dict(all=list(by_stem.values()))
        source = 'the images (no ImageSets/Main/train.txt and val.txt)'
    return _finish(root, 'voc', classes, splits, source, problems, notes, check_files,
                   dict(val_fraction=val_fraction, train_on_all=train_on_all))


def detect_layout(root):
    """'coco' or 'voc' for a data folder, or a DataError saying what was looked for."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'data folder not found: {root}')
    if osp.isdir(osp.join(root, 'annotations')) and any(
            f.endswith('.json') for f in os.listdir(osp.join(root, 'annotations'))):
        return 'coco'
    if osp.isdir(osp.join(root, 'Annotations')):
        return 'voc'
    raise DataError(f'{root}: neither COCO layout (annotations/*.json) nor VOC layout '
                    '(Annotations/*.xml, JPEGImages/)')


def read_detection_folder(root, train_ann=None, val_ann=None, on_invalid='error',
                          check_files=True, val_fraction=None, train_on_all=False):
    """Read, check and split a data folder of either layout (``train_ann`` / ``val_ann``:
    COCO file names other than the usual ones, which also select the COCO layout).

    ``val_fraction`` (default 0.2) sizes the split made where the data set has none
    (:func:`deterministic_split`); ``train_on_all`` trains on every image and validates on
    the same ones (tiny sets; the validation figures then measure the fit)."""
    root = osp.abspath(root)
    layout = 'coco' if (train_ann or val_ann) else detect_layout(root)
    how = dict(on_invalid=on_invalid, check_files=check_files, val_fraction=val_fraction,
               train_on_all=train_on_all)
    if layout == 'coco':
        return read_coco_folder(root, train_ann, val_ann, **how)
    return read_voc_folder(root, **how)


__all__ = ['read_detection_folder', 'read_coco_folder', 'read_voc_folder', 'detect_layout',
           'category_labels', 'deterministic_split', 'thin_images', 'DetectionFolder',
           'DataError', 'PLACEHOLDER_NAMES', 'image_size']
