"""COCO and VOC detection datasets that reject bad annotations by name.

mmdet's ``CocoDataset`` and ``VOCDataset`` silently drop boxes they cannot use (a class not
in ``classes``, a box outside its image) and surface a malformed file as a bare
``JSONDecodeError`` / ``ParseError`` from deep inside the loader. A detector then trains on
less than the user thinks. :class:`StrictCocoDataset` and :class:`StrictVOCDataset` are the
same datasets, with every such problem raised as :class:`AnnotationError` naming the file
and the annotation (id / object index, key), or, with ``on_invalid='skip'``, dropped and
counted in the log.
"""
import json
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter

from mmdet.datasets import CocoDataset, VOCDataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS
from mmengine.logging import print_log

ON_INVALID = ('error', 'skip')


class AnnotationError(ValueError):
    """An annotation file, or one annotation in it, cannot be used as given."""


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


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


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
        keys(img, f'images[{i}]', 'image', ('id', 'file_name', 'width', 'height'))
        need(_is_int(img['id']), f'images[{i}]', '"id" must be an integer', img['id'])
        need(isinstance(img['file_name'], str) and img['file_name'].strip(), f'images[{i}] '
             f'(id {img["id"]})', '"file_name" must be a non-empty string', img['file_name'])
    for i, cat in enumerate(data['categories']):
        keys(cat, f'categories[{i}]', 'category', ('id', 'name'))
        need(_is_int(cat['id']), f'categories[{i}]', '"id" must be an integer', cat['id'])
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
        need(_is_int(ann['id']) or isinstance(ann['id'], str), f'annotations[{i}]',
             '"id" must be an integer', ann['id'])
        for key in ('image_id', 'category_id'):
            need(_is_int(ann[key]), f'annotation id {ann["id"]}', f'"{key}" must be an '
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


def voc_bndbox(obj, where):
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


class _ParsedCOCO(COCO):
    """mmdet's COCO API over a file parsed (and checked) by :func:`read_coco_json`."""

    def __init__(self, annotation_file):
        super().__init__(None)
        self.dataset = read_coco_json(annotation_file)
        self.createIndex()
        self.img_ann_map, self.cat_img_map = self.imgToAnns, self.catToImgs


def _check_on_invalid(on_invalid):
    if on_invalid not in ON_INVALID:
        raise ValueError(f'unknown on_invalid {on_invalid!r}; allowed values: {ON_INVALID}')
    return on_invalid


def _outside(bbox, width, height, tol):
    x1, y1, x2, y2 = bbox
    return (x2 <= x1 or y2 <= y1 or x1 < -tol or y1 < -tol or x2 > width + tol
            or y2 > height + tol)


class _CheckedMixin:
    """Shared reporting: raise, or (``on_invalid='skip'``) drop and count."""

    def _reject(self, reason, message):
        if self.on_invalid == 'error':
            raise AnnotationError(message + " (or set the dataset's on_invalid='skip' to "
                                  'drop such annotations and count them in the log)')
        self.skipped[reason] += 1

    def load_data_list(self):
        self.skipped = Counter()
        data_list = super().load_data_list()
        if self.skipped:
            what = ', '.join(f'{n} {reason}' for reason, n in sorted(self.skipped.items()))
            print_log(f'{type(self).__name__} {self.ann_file}: skipped {what} '
                      "(on_invalid='skip')", logger='current', level=30)
        return data_list


@DATASETS.register_module()
class StrictCocoDataset(_CheckedMixin, CocoDataset):
    """mmdet's ``CocoDataset``, checking what it would silently drop.

    Raises :class:`AnnotationError` naming the file and the annotation id for: a file that
    is not valid JSON (line, column) or lacks a key; a class of ``classes`` that is not a
    category of the file; an annotation whose category is not one of ``classes``; a box
    outside its image (beyond ``bbox_tol`` pixels) or with no area.

    Args:
        on_invalid (str): 'error' (default) or 'skip': drop bad annotations and log the
            count per reason. A malformed file is always an error.
        bbox_tol (float): Pixels a box may exceed its image by (rounding). Default: 1.
        **kwargs: ``CocoDataset``'s arguments.
    """
    COCOAPI = _ParsedCOCO

    def __init__(self, *args, on_invalid='error', bbox_tol=1.0, **kwargs):
        self.on_invalid = _check_on_invalid(on_invalid)
        self.bbox_tol = bbox_tol
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        self._known_cats = None
        data_list = super().load_data_list()
        del self._known_cats
        return data_list

    def parse_data_info(self, raw_data_info):
        if self._known_cats is None:
            # Before the first image: mmdet maps class names to category ids and silently
            # ignores names it does not find.
            self._check_classes()
        img = raw_data_info['raw_img_info']
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            where = f'{self.ann_file}: annotation id {ann["id"]} (image {img["file_name"]})'
            if ann['category_id'] not in self.cat_ids:
                name = self._known_cats.get(ann['category_id'])
                self._reject('annotations of other classes',
                             f'{where}: category_id {ann["category_id"]} ' +
                             (f'({name!r}) is not one of the dataset classes '
                              f'{tuple(self.metainfo["classes"])}' if name is not None else
                              'is not in the file\'s "categories"'))
                continue
            x, y, w, h = ann['bbox']
            if not ann.get('iscrowd', False) and _outside(
                    (x, y, x + w, y + h), img['width'], img['height'], self.bbox_tol):
                self._reject('boxes outside their image',
                             f'{where}: bbox [x, y, w, h] = {ann["bbox"]} lies outside the '
                             f'{img["width"]}x{img["height"]} image or has no area')
                continue
            kept.append(ann)
        raw_data_info = dict(raw_data_info, raw_ann_info=kept)
        return super().parse_data_info(raw_data_info)

    def _check_classes(self):
        cats = {c['id']: c['name'] for c in self.coco.dataset['categories']}
        self._known_cats = cats
        missing = [c for c in self.metainfo['classes'] if c not in cats.values()]
        if missing:
            raise AnnotationError(
                f'{self.ann_file}: classes {missing} of the dataset are not categories of '
                f'the file, which has {sorted(cats.values())}; set metainfo=dict(classes=...)'
                ' to names of the file')


@DATASETS.register_module()
class StrictVOCDataset(_CheckedMixin, VOCDataset):
    """mmdet's ``VOCDataset``, checking what it would silently drop.

    Raises :class:`AnnotationError` naming the XML file and the object (1-based index, key)
    for: an XML file that does not parse (line, column) or lacks ``<size>``; an object whose
    ``<name>`` is not one of ``classes``; a ``<bndbox>`` with a missing or non-numeric
    coordinate, outside its image or with no area. An empty ``<difficult/>`` (as labelme
    writes) counts as 0. A missing XML or image list raises ``FileNotFoundError`` with the
    path.

    Args:
        on_invalid (str): 'error' (default) or 'skip': drop bad objects (and images whose
            XML does not parse), counted in the log.
        bbox_tol (float): Pixels a box may exceed its image by. Default: 1.
        **kwargs: ``VOCDataset``'s arguments.
    """

    def __init__(self, *args, on_invalid='error', bbox_tol=1.0, **kwargs):
        self.on_invalid = _check_on_invalid(on_invalid)
        self.bbox_tol = bbox_tol
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'VOC image list (ImageSets/Main/*.txt) not found: '
                                    f'{self.ann_file}')
        data_list = super().load_data_list()
        return [d for d in data_list if d is not None]

    def parse_data_info(self, img_info):
        xml_path = img_info['xml_path']
        if not osp.isfile(xml_path):
            raise FileNotFoundError(f'{xml_path}: annotation of image {img_info["img_id"]!r}'
                                    f' (listed in {self.ann_file}) not found')
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as e:
            self._reject('unreadable XML files', f'{xml_path}: not valid XML ({e})')
            return None
        size = root.find('size')
        for key in ('width', 'height'):
            node = size.find(key) if size is not None else None
            if node is None or not (node.text or '').strip().isdigit():
                raise AnnotationError(f'{xml_path}: <size><{key}> missing or not an integer')
        self._current = (xml_path, int(size.find('width').text),
                         int(size.find('height').text))
        return super().parse_data_info(img_info)

    def _parse_instance_info(self, raw_ann_info, minus_one=True):
        xml_path, width, height = self._current
        root = raw_ann_info.getroot()
        for i, obj in enumerate(list(root.findall('object')), start=1):
            where = f'{xml_path}: object {i}'
            name = (obj.findtext('name') or '').strip()
            if name not in self.metainfo['classes']:
                self._reject('objects of other classes',
                             f'{where}: <name> {name!r} is not one of the dataset classes '
                             f'{tuple(self.metainfo["classes"])}')
                root.remove(obj)
                continue
            obj.find('name').text = name
            difficult = obj.find('difficult')
            if difficult is not None and not (difficult.text or '').strip():
                difficult.text = '0'  # labelme writes <difficult/>
            x1, y1, x2, y2 = voc_bndbox(obj, where)
            # VOC boxes are 1-based and inclusive (mmdet subtracts 1 from each coordinate).
            if _outside((x1 - 1, y1 - 1, x2, y2), width, height, self.bbox_tol):
                self._reject('boxes outside their image',
                             f'{where}: <bndbox> ({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies '
                             f'outside the {width}x{height} image or has no area')
                root.remove(obj)
        return super()._parse_instance_info(raw_ann_info, minus_one=minus_one)


__all__ = ['StrictCocoDataset', 'StrictVOCDataset', 'AnnotationError', 'read_coco_json',
           'voc_bndbox', 'ON_INVALID']
