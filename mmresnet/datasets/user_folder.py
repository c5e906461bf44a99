"""A user's detection data set, read from a folder in COCO or VOC layout, checked, and
written once as the contiguous-label COCO files every stage of the pipeline reads.

    from mmresnet.datasets import read_detection_folder
    data = read_detection_folder('data/mine')          # COCO or VOC layout, found by itself
    data.write('work_dirs/mine/data')                  # train.json, val.json
    data.classes                                        # ('potted plant', 'tree'), label order

Layouts (:mod:`.coco_folder`, :mod:`.voc_folder`):

- COCO: ``DIR/annotations/`` with a training and a validation file (``train.json`` and
  ``val.json``, or ``instances_train.json`` and ``instances_val.json``; other names with
  ``train_ann`` / ``val_ann``), or a single JSON file there, which is then split. Image
  ``file_name`` is resolved against DIR, as mmdet does (``data_root`` + ``file_name``),
  then against the annotation file's folder and ``DIR/images``, ``DIR/JPEGImages``.
- VOC: ``DIR/Annotations/*.xml`` and ``DIR/JPEGImages/``, with ``ImageSets/Main/train.txt``
  and ``val.txt`` when present.

Where there is no split, the images are split deterministically and class-aware
(:func:`~.split.deterministic_split`): about a fifth (``val_fraction``) to validation,
every class found in two or more images keeping one in training and one in validation; a
class found in a single image trains and is reported unvalidated. ``train_on_all`` trains
on every image and validates on the same ones (a tiny set; said in the log and the split's
description).

Classes come from the files, names exactly as written. COCO category ids map to labels in
id order; VOC names in sorted order. Placeholder categories (``_background_``,
``__ignore__``, ...) and categories with no box are dropped, each with a log line
(:func:`~.categories.category_labels`, which the crops dataset shares).

Every problem is found before any training and reported at once, each with its file and
entry (:class:`~.annotation_checks.DataError`): missing or unreadable images, image sizes
that disagree with the file, boxes outside the image, of zero area or not finite, unknown
image or category ids, a split left empty, a class with no training box. The rules are
those of the strict COCO/VOC datasets (:mod:`.annotation_checks`). ``on_invalid='skip'``
drops bad boxes and images instead, counted in the log (a split left empty and a class
with no training box stay errors).
"""
import os
import os.path as osp

from .annotation_checks import DataError
from .coco_folder import read_coco_folder
from .voc_folder import read_voc_folder


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
    (:func:`~.split.deterministic_split`); ``train_on_all`` trains on every image and
    validates on the same ones (tiny sets; the validation figures then measure the fit)."""
    root = osp.abspath(root)
    layout = 'coco' if (train_ann or val_ann) else detect_layout(root)
    how = dict(on_invalid=on_invalid, check_files=check_files, val_fraction=val_fraction,
               train_on_all=train_on_all)
    if layout == 'coco':
        return read_coco_folder(root, train_ann, val_ann, **how)
    return read_voc_folder(root, **how)


__all__ = ['read_detection_folder', 'detect_layout']
