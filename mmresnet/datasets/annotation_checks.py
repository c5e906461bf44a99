"""Every rule an annotation is checked by, once, and the one collector of their problems.

The strict COCO/VOC datasets (:mod:`.detection`) and the reader of a user's data folder
(:mod:`.user_folder`) check the same things the same way: a COCO file's keys and types
(:func:`read_coco_json`), a VOC file's root, ``<name>``, ``<bndbox>`` and ``<difficult>``
(:func:`read_voc_xml`, :func:`voc_object`), a box against its image (:func:`box_problem`),
and what to do with a problem (:class:`AnnotationProblems`, ``on_invalid``).
"""
import json
import math
import os.path as osp
import struct
import xml.etree.ElementTree as ET
from collections import Counter

from mmengine.logging import print_log

from ..utils.checks import check_choice, is_int

#: What a reader does with a bad annotation: raise it (named), or drop it and count it.
ON_INVALID = ('error', 'skip')
#: Pixels a box may lie outside its image (rounding in the tool that drew it).
BBOX_TOL = 1.0
#: Problems a data folder's error lists before '... and N more'.
MAX_LISTED = 30
#: The kind of problem :func:`image_side` reports, in every reader.
UNUSABLE_SIZE = 'images of unusable size'
#: ``<difficult>`` values; empty (labelme's ``<difficult/>``) reads as 0.
VOC_FLAGS = {'0': False, '1': True, 'false': False, 'true': True}


class AnnotationError(ValueError):
    """An annotation file, or one annotation in it, cannot be used as given."""


class DataError(AnnotationError):
    """A data set folder has problems; the message lists each with its file and entry."""


class AnnotationProblems:
    """The problems found in a data set's annotations, collected by kind.

    With ``on_invalid='error'`` a problem is an error: raised at once as
    :class:`AnnotationError` (``at_once=True``: a dataset loading its file, as mmdet's
    do) or, by :meth:`settle`, listed with every other in one :class:`DataError` (a data
    folder checked before any training). With ``'skip'`` the caller drops the entry, and
    :meth:`settle` logs the count per kind.

    Args:
        source (str): The file or folder, first in the log line and the error.
        on_invalid (str): 'error' or 'skip'.
        at_once (bool): Raise at the first problem rather than list them all.
    """

    def __init__(self, source, on_invalid, at_once=False):
        self.source = source
        self.on_invalid = check_choice('on_invalid', on_invalid, ON_INVALID)
        self.at_once = at_once
        self.items, self.skipped = [], Counter()

    def add(self, kind, message):
        """One problem of ``kind`` ('boxes outside their image', ...)."""
        if self.at_once and self.on_invalid == 'error':
            raise AnnotationError(message + " (or set the dataset's on_invalid='skip' to "
                                  'drop such annotations and count them in the log)')
        self.items.append(message)
        self.skipped[kind] += 1

    def check_box(self, box, width, height, entry, tol=BBOX_TOL):
        """True where :func:`box_problem` finds nothing wrong with ``box``; else the
        problem is added, named by ``entry`` (the file, entry and box as written)."""
        problem = box_problem(box, width, height, tol)
        if problem is not None:
            self.add(problem[0], f'{entry} {problem[1]}')
        return problem is None

    def settle(self):
        """Raise the problems collected (on_invalid='error'), or log the count of each
        kind dropped; returns that count ('' where there was no problem)."""
        if not self.items:
            return ''
        if self.on_invalid == 'error':
            listed = '\n  '.join(self.items[:MAX_LISTED])
            more = (f'\n  ... and {len(self.items) - MAX_LISTED} more'
                    if len(self.items) > MAX_LISTED else '')
            raise DataError(
                f'{self.source}: {len(self.items)} problem(s) in the data set:\n  {listed}'
                f'{more}\n(fix them, or drop such boxes and images with '
                "on_invalid='skip' / tools/demo.py --skip-invalid)")
        what = ', '.join(f'{n} {k}' for k, n in sorted(self.skipped.items()))
        print_log(f"{self.source}: skipped {what} (on_invalid='skip'); first: "
                  f'{self.items[0]}', logger='current', level=30)
        return what


def box_problem(box, width, height, tol=BBOX_TOL):
    """What makes a box unusable, as (kind, what), or None.

    Args:
        box: x1, y1, x2, y2 in 0-based pixels, as the detector gets it (a VOC box after
            its minus one).
        width, height: The image's size.
        tol (float): Pixels the box may lie outside the image (the reader clips them).
    """
    x1, y1, x2, y2 = box
    if not all(math.isfinite(v) for v in box):
        return 'boxes with coordinates not finite', 'is not finite'
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        return 'boxes of zero area', 'has no area'
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        return 'boxes outside their image', f'lies outside the {width}x{height} image'
    return None


def image_side(value, key):
    """An image side as an annotation gives it (VOC's ``<size><width>``, COCO's ``"width"``),
    by mmdet's rule: a positive integer as ``int()`` reads it (``' 500 '``, ``500``; not
    ``'500.0'``, ``500.5`` or ``-1``, which mmdet refuses or misreads), or None where the file
    gives none: absent, empty or 0 (as exporters write it when they did not open the image).
    None: the side is read from the image file, as mmdet does for a VOC file without
    ``<size>``. ValueError naming ``key`` otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = value if is_int(value) else None
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            pass
    if number == 0:
        return None
    if number is None or number < 0:
        raise ValueError(f'{key} must be a positive integer (0, empty or absent: read from '
                         f'the image), got {value!r}'[:300])
    return number


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


# -- COCO ---------------------------------------------------------------------------------
def read_coco_json(path):
    """Parse a COCO annotation file; errors name the file, line and column, or key."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'COCO annotation file not found: {path}')
    with open(path, 'rb') as f:
        try:
            data = json.loads(f.read())
        except json.JSONDecodeError as e:
            raise AnnotationError(f'{path}: not valid JSON ({e.msg} at line {e.lineno}, '
                                  f'column {e.colno})') from None
        except RecursionError:
            raise AnnotationError(f'{path}: not a COCO file (JSON nested too deeply)'
                                  ) from None
        except UnicodeDecodeError as e:
            raise AnnotationError(f'{path}: not valid JSON (not UTF-8 text: {e})') from None
    if not isinstance(data, dict):
        raise AnnotationError(f'{path}: a COCO file is a JSON object with keys "images", '
                              f'"annotations", "categories"; got a {type(data).__name__}')
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            raise AnnotationError(f'{path}: key "{key}" must be a list, got '
                                  f'{type(data.get(key)).__name__}')
    _check_coco_entries(path, data)
    return data


def _is_number(v):
    return is_int(v) or isinstance(v, float)


def _check_coco_entries(path, data):
    """Each image, annotation and category has its keys, of the types COCO gives them;
    category ids and names are unique. The first entry that does not is named."""
    def need(ok, where, what, value):
        if not ok:
            raise AnnotationError(f'{path}: {where}: {what}, got {type(value).__name__} '
                                  f'{value!r}'[:400])

    def keys(entry, where, what, names):
        need(isinstance(entry, dict), where, f'each {what} is an object with '
             f'{", ".join(names)}', entry)
        for key in names:
            if key not in entry:
                raise AnnotationError(f'{path}: {where} has no key "{key}" (each {what} '
                                      f'needs {", ".join(names)})')
    for i, img in enumerate(data['images']):
        keys(img, f'images[{i}]', 'image', ('id', 'file_name'))  # no size: the image's
        need(is_int(img['id']), f'images[{i}]', '"id" must be an integer', img['id'])
        need(isinstance(img['file_name'], str) and img['file_name'].strip(), f'images[{i}] '
             f'(id {img["id"]})', '"file_name" must be a non-empty string', img['file_name'])
    for i, cat in enumerate(data['categories']):
        keys(cat, f'categories[{i}]', 'category', ('id', 'name'))
        need(is_int(cat['id']), f'categories[{i}]', '"id" must be an integer', cat['id'])
        need(isinstance(cat['name'], str) and cat['name'].strip(), f'categories[{i}] '
             f'(id {cat["id"]})', '"name" must be a non-empty string', cat['name'])
    for key in ('id', 'name'):
        seen = {}
        for i, cat in enumerate(data['categories']):
            if cat[key] in seen:
                raise AnnotationError(
                    f'{path}: categories[{seen[cat[key]]}] and categories[{i}] share the '
                    f'{key} {cat[key]!r} (each category needs its own id and name)')
            seen[cat[key]] = i
    for i, ann in enumerate(data['annotations']):
        keys(ann, f'annotations[{i}]', 'annotation', ('id', 'image_id', 'category_id', 'bbox'))
        need(is_int(ann['id']) or isinstance(ann['id'], str), f'annotations[{i}]',
             '"id" must be an integer', ann['id'])
        for key in ('image_id', 'category_id'):
            need(is_int(ann[key]), f'annotation id {ann["id"]}', f'"{key}" must be an '
                 'integer', ann[key])
        bbox = ann['bbox']
        if (not isinstance(bbox, list) or len(bbox) != 4
                or not all(_is_number(v) for v in bbox)):
            raise AnnotationError(f'{path}: annotation id {ann["id"]}: "bbox" must be 4 '
                                  f'numbers [x, y, width, height], got {bbox!r}'[:400])
        crowd = ann.get('iscrowd', 0)
        need(crowd in (0, 1) and not isinstance(crowd, float), f'annotation id {ann["id"]}',
             '"iscrowd" must be 0 or 1', crowd)
        ann.setdefault('area', bbox[2] * bbox[3])


def _coordinate(value):
    """A coordinate as a float (an integer too large for one: inf, caught as not finite)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def coco_size(info, where):
    """(width, height) of a COCO image entry by :func:`image_side` (None: read from the
    image); AnnotationError naming ``where`` and the key otherwise."""
    try:
        return tuple(image_side(info.get(k), f'"{k}"') for k in ('width', 'height'))
    except ValueError as e:
        raise AnnotationError(f'{where}: {e}') from None


def coco_box(ann, where):
    """(x1, y1, x2, y2) of a checked COCO annotation, and the text naming it in a problem:
    ``where`` and the box as the file writes it."""
    x, y, w, h = (_coordinate(v) for v in ann['bbox'])
    return (x, y, x + w, y + h), f'{where}: box [x, y, w, h] = {ann["bbox"]}'


# -- VOC ----------------------------------------------------------------------------------
def read_voc_xml(path, where):
    """The root ``<annotation>`` element of a VOC XML file; AnnotationError naming
    ``where`` when the file does not parse or is no VOC annotation."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, ValueError, LookupError) as e:
        raise AnnotationError(f'{where}: not valid XML ({e})') from None
    if root.tag != 'annotation':
        raise AnnotationError(f'{where}: not a VOC annotation (the root element is '
                              f'<{root.tag}>, expected <annotation>)'[:300])
    return root


def voc_size(root, where):
    """(width, height) of a VOC annotation's ``<size>`` by :func:`image_side` (None: read
    from the image); AnnotationError naming ``where`` and the element otherwise."""
    size = root.find('size')
    try:
        return tuple(image_side(size.findtext(k) if size is not None else None,
                                f'<size><{k}>') for k in ('width', 'height'))
    except ValueError as e:
        raise AnnotationError(f'{where}: {e}') from None


def _voc_bndbox(obj, where):
    """The ``<bndbox>`` of a VOC ``<object>`` as 4 floats (VOC's 1-based xmin, ymin, xmax,
    ymax); AnnotationError naming ``where`` when a coordinate is missing or not a number."""
    box = obj.find('bndbox')
    coords = [box.findtext(k) if box is not None else None
              for k in ('xmin', 'ymin', 'xmax', 'ymax')]
    try:
        return tuple(float(c) for c in coords)
    except (TypeError, ValueError):
        raise AnnotationError(f'{where}: <bndbox> needs numeric xmin, ymin, xmax, ymax; got '
                              f'{coords}') from None


def voc_object(obj, where):
    """(name, box, difficult, text) of a VOC ``<object>``, or AnnotationError naming
    ``where`` and the element that cannot be read.

    ``box`` is 0-based: VOC's corners are 1-based and inclusive, and mmdet subtracts 1 from
    each. ``text`` names the object and its ``<bndbox>`` as the file writes it."""
    name = (obj.findtext('name') or '').strip()
    if not name:
        raise AnnotationError(f'{where}: <name> is missing or empty (each object needs its '
                              'class name)')
    x1, y1, x2, y2 = _voc_bndbox(obj, where)
    difficult = (obj.findtext('difficult') or '0').strip() or '0'  # labelme: <difficult/>
    if difficult.lower() not in VOC_FLAGS:
        raise AnnotationError(f'{where}: <difficult> must be 0 or 1 (or empty), got '
                              f'{difficult!r}'[:300])
    return (name, (x1 - 1, y1 - 1, x2 - 1, y2 - 1), VOC_FLAGS[difficult.lower()],
            f'{where}: <bndbox> ({x1:g}, {y1:g}, {x2:g}, {y2:g})')


__all__ = ['AnnotationError', 'DataError', 'AnnotationProblems', 'ON_INVALID', 'BBOX_TOL',
           'box_problem', 'image_side', 'image_size', 'read_coco_json', 'coco_box', 'coco_size',
           'read_voc_xml', 'voc_object', 'voc_size', 'UNUSABLE_SIZE']
