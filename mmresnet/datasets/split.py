"""The train/validation split of a data set with none of its own: class-aware and
deterministic (:func:`deterministic_split`), and the deterministic subset of training
images a pretraining reads (:func:`thin_images`)."""
import hashlib
from collections import Counter

import numpy as np

#: The share of the images a made split sends to validation.
VAL_FRACTION = 0.2


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


def choose_split(splits, base, notes, fraction=None, on_all=False):
    """The train/val split after the checks: the data set's own (``splits`` has 'train'
    and 'val'), or made (``splits`` has 'all'): class-aware (:func:`deterministic_split`,
    ``fraction`` to validation, default :data:`VAL_FRACTION`), or every image trained on
    and validated on (``on_all``: ``--train-on-all``). Returns (splits, source)."""
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


__all__ = ['deterministic_split', 'thin_images', 'choose_split', 'VAL_FRACTION']
