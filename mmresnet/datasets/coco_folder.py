"""A user's data folder in COCO layout (:func:`read_coco_folder`): ``DIR/annotations/``
with a training and a validation file, or a single file that is then split."""
import os
import os.path as osp

import numpy as np

from .annotation_checks import (UNUSABLE_SIZE, AnnotationError, AnnotationProblems, DataError,
                                coco_box, coco_size, read_coco_json)
from .categories import category_labels
from .detection_folder import finish_folder

COCO_NAMES = (('train.json', 'val.json'), ('instances_train.json', 'instances_val.json'),
              ('instances_train2017.json', 'instances_val2017.json'))
#: Where a ``file_name`` is looked for, under the data folder (and the annotation file's).
IMAGE_FOLDERS = ('', 'images', 'JPEGImages')


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
            width, height = coco_size(info, f'{path}: image id {info["id"]}')
        except AnnotationError as e:
            problems.add(UNUSABLE_SIZE, str(e))
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
        box, entry = coco_box(ann, f'{where} (image {img["file_name"]})')
        img['boxes'].append(box)
        img['labels'].append(cat_label[ann['category_id']])
        img['ignore'].append(bool(ann.get('iscrowd', 0)))
        img['entries'].append(entry)
    for img in images:
        img['boxes'] = np.array(img['boxes'], np.float64).reshape(-1, 4)
        img['labels'] = np.array(img['labels'], np.int64)
        img['ignore'] = np.array(img['ignore'], bool)
    return images


def read_coco_folder(root, train_ann=None, val_ann=None, on_invalid='error',
                     check_files=True, val_fraction=None, train_on_all=False):
    """Read a COCO-layout folder (see :func:`~.user_folder.read_detection_folder`)."""
    problems, notes = AnnotationProblems(root, on_invalid), []
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
    return finish_folder(root, 'coco', [c['name'] for c in kept], images, source, problems,
                         notes, check_files, val_fraction, train_on_all)


__all__ = ['read_coco_folder']
