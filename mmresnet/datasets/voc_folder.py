"""A user's data folder in VOC layout (:func:`read_voc_folder`): ``DIR/Annotations/*.xml``
and ``DIR/JPEGImages/``, with ``ImageSets/Main/train.txt`` and ``val.txt`` when present."""
import os
import os.path as osp

import numpy as np
from mmengine.logging import print_log

from ..utils import IMG_EXTENSIONS
from .annotation_checks import (UNUSABLE_SIZE, AnnotationError, AnnotationProblems, DataError,
                                read_voc_xml, voc_object, voc_size)
from .categories import PLACEHOLDER_NAMES
from .detection_folder import finish_folder


def _voc_image(root, xml_path, problems):
    where = osp.relpath(xml_path, root)
    try:
        tree = read_voc_xml(xml_path, where)
    except AnnotationError as e:
        problems.add('unreadable XML files', str(e))
        return None
    stem = osp.splitext(osp.basename(xml_path))[0]
    filename = (tree.findtext('filename') or '').strip()
    jpeg = osp.join(root, 'JPEGImages')
    candidates = ([osp.join(jpeg, filename), osp.join(root, filename)] if filename else []) \
        + [osp.join(jpeg, stem + ext) for ext in IMG_EXTENSIONS]
    try:
        width, height = voc_size(tree, where)
    except AnnotationError as e:
        problems.add(UNUSABLE_SIZE, str(e))
        return None
    objects = []
    for i, obj in enumerate(tree.findall('object'), 1):
        try:
            objects.append(voc_object(obj, f'{where}: object {i}'))
        except AnnotationError as e:
            problems.add('objects that cannot be read', str(e))
    return dict(file_name=filename or stem, width=width, height=height,
                candidates=candidates, looked=[jpeg], source=where, objects=objects,
                stem=stem)


def read_voc_folder(root, on_invalid='error', check_files=True, val_fraction=None,
                    train_on_all=False):
    """Read a VOC-layout folder (see :func:`~.user_folder.read_detection_folder`)."""
    problems, notes = AnnotationProblems(root, on_invalid), []
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
        problems.settle()  # the problems first, where they explain it
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
        splits, listed = {}, {}
        for split, path in lists.items():
            with open(path) as f:
                ids = [ln.split()[0] for ln in f if ln.strip()]
            missing = [i for i in ids if i not in by_stem and i not in unreadable]
            for i in missing:
                problems.add('listed images without annotation',
                             f'{path}: {i!r} has no Annotations/{i}.xml')
            splits[split] = []
            for i in (i for i in ids if i in by_stem):
                if i in listed:  # one image dict in two places would be checked twice
                    problems.add('images listed twice',
                                 f'{path}: {i!r} is listed already in {listed[i]}')
                    continue
                listed[i] = path
                splits[split].append(by_stem[i])
        source = 'ImageSets/Main/train.txt / val.txt'
    else:
        splits = dict(all=list(by_stem.values()))
        source = 'the images (no ImageSets/Main/train.txt and val.txt)'
    return finish_folder(root, 'voc', classes, splits, source, problems, notes, check_files,
                         val_fraction, train_on_all)


__all__ = ['read_voc_folder']
