"""COCO and VOC detection datasets that reject bad annotations by name.

mmdet's ``CocoDataset`` and ``VOCDataset`` silently drop boxes they cannot use (a class not
in ``classes``, a box outside its image) and surface a malformed file as a bare
``JSONDecodeError`` / ``ParseError`` from deep inside the loader. A detector then trains on
less than the user thinks. :class:`StrictCocoDataset` and :class:`StrictVOCDataset` are the
same datasets, with every such problem raised as :class:`AnnotationError` naming the file
and the annotation (id / object index, key), or, with ``on_invalid='skip'``, dropped and
counted in the log.
"""
import os.path as osp
import xml.etree.ElementTree as ET

from mmdet.datasets import CocoDataset, VOCDataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS

from ..utils import check_choice
from .annotation_checks import (BBOX_TOL, ON_INVALID, UNUSABLE_SIZE, AnnotationError,
                                AnnotationProblems, coco_box, coco_size, image_size,
                                read_coco_json, read_voc_xml, voc_object, voc_size)


class _ParsedCOCO(COCO):
    """mmdet's COCO API over a file parsed (and checked) by :func:`read_coco_json`."""

    def __init__(self, annotation_file):
        super().__init__(None)
        self.dataset = read_coco_json(annotation_file)
        self.createIndex()
        self.img_ann_map, self.cat_img_map = self.imgToAnns, self.catToImgs


class _CheckedMixin:
    """The strict datasets' arguments and reporting: each problem goes to one
    :class:`~.annotation_checks.AnnotationProblems`, which raises it or, with
    ``on_invalid='skip'``, counts it (``self.skipped``) and logs the counts."""

    def __init__(self, *args, on_invalid='error', bbox_tol=BBOX_TOL, **kwargs):
        self.on_invalid = check_choice('on_invalid', on_invalid, ON_INVALID)
        self.bbox_tol = bbox_tol
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        self._problems = AnnotationProblems(f'{type(self).__name__} {self.ann_file}',
                                           self.on_invalid, at_once=True)
        data_list = [d for d in super().load_data_list() if d is not None]  # None: dropped
        self._problems.settle()
        self.skipped = self._problems.skipped
        return data_list

    def _checked_size(self, read, img_path, where):
        """(width, height) by ``read`` (:func:`~.annotation_checks.voc_size` or
        :func:`~.annotation_checks.coco_size`), from the image file where the annotation
        gives none, as the folder reader does; None where neither can (the problem added)."""
        try:
            width, height = read()
        except AnnotationError as e:
            self._problems.add(UNUSABLE_SIZE, str(e))
            return None
        if width is None or height is None:
            try:
                width, height = image_size(img_path)
            except ValueError as e:
                self._problems.add('unreadable images', f'{where}: {img_path}: {e}')
                return None
        return width, height


@DATASETS.register_module()
class StrictCocoDataset(_CheckedMixin, CocoDataset):
    """mmdet's ``CocoDataset``, checking what it would silently drop.

    Raises :class:`AnnotationError` naming the file and the annotation id for: a file that
    is not valid JSON (line, column) or lacks a key; a class of ``classes`` that is not a
    category of the file; an annotation whose category is not one of ``classes``; an image
    whose ``"width"`` or ``"height"`` is not a positive integer (absent, empty or 0: read
    from the image file, :func:`~.annotation_checks.image_side`); a box (a crowd region
    too) outside its image (beyond ``bbox_tol`` pixels), with no area or not finite: the
    rules of :mod:`.annotation_checks`, which the reader of a user's data folder shares.

    Args:
        on_invalid (str): 'error' (default) or 'skip': drop bad annotations (and images of
            unusable size) and log the count per reason. A malformed file is always an
            error.
        bbox_tol (float): Pixels a box may exceed its image by (rounding). Default: 1.
        **kwargs: ``CocoDataset``'s arguments.
    """
    COCOAPI = _ParsedCOCO

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
        size = self._checked_size(
            lambda: coco_size(img, f'{self.ann_file}: image id {img["id"]}'),
            osp.join(self.data_prefix['img'], img['file_name']), self.ann_file)
        if size is None:
            return None
        img = dict(img, width=size[0], height=size[1])
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            where = f'{self.ann_file}: annotation id {ann["id"]} (image {img["file_name"]})'
            if ann['category_id'] not in self.cat_ids:
                name = self._known_cats.get(ann['category_id'])
                self._problems.add('annotations of other classes',
                                   f'{where}: category_id {ann["category_id"]} ' +
                                   (f'({name!r}) is not one of the dataset classes '
                                    f'{tuple(self.metainfo["classes"])}' if name is not None
                                    else 'is not in the file\'s "categories"'))
                continue
            # a crowd region too: mmdet keeps it, as a box to ignore
            box, entry = coco_box(ann, where)
            if not self._problems.check_box(box, img['width'], img['height'], entry,
                                            self.bbox_tol):
                continue
            kept.append(ann)
        raw_data_info = dict(raw_data_info, raw_img_info=img, raw_ann_info=kept)
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
    for: an XML file that does not parse (line, column) or is no VOC annotation; a
    ``<size>`` whose ``<width>`` or ``<height>`` is not a positive integer (mmdet's
    ``int()``; absent, empty or 0: read from the image file, as mmdet does without
    ``<size>``); an object whose ``<name>`` is not one of ``classes``; a ``<bndbox>`` with a
    missing or non-numeric coordinate, or (after VOC's minus one) outside its image, with
    no area or not finite; a ``<difficult>`` other than 0, 1 or empty (as labelme writes
    it: 0). A missing XML or image list raises ``FileNotFoundError`` with the path.

    Args:
        on_invalid (str): 'error' (default) or 'skip': drop bad objects (and images whose
            XML does not parse or whose size is unusable), counted in the log.
        bbox_tol (float): Pixels a box may exceed its image by. Default: 1.
        **kwargs: ``VOCDataset``'s arguments.
    """

    def load_data_list(self):
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'VOC image list (ImageSets/Main/*.txt) not found: '
                                    f'{self.ann_file}')
        return super().load_data_list()

    def parse_data_info(self, img_info):
        """mmdet's, on the XML file read once and checked; None where it is dropped."""
        xml_path = img_info['xml_path']
        if not osp.isfile(xml_path):
            raise FileNotFoundError(f'{xml_path}: annotation of image {img_info["img_id"]!r}'
                                    f' (listed in {self.ann_file}) not found')
        try:
            root = read_voc_xml(xml_path, xml_path)
        except AnnotationError as e:
            self._problems.add('unreadable XML files', str(e))
            return None
        img_path = osp.join(self.sub_data_root, img_info['file_name'])
        size = self._checked_size(lambda: voc_size(root, xml_path), img_path, xml_path)
        if size is None:
            return None
        self._current = (xml_path, *size)
        return dict(img_path=img_path, img_id=img_info['img_id'], xml_path=xml_path,
                    height=size[1], width=size[0], instances=self._parse_instance_info(
                        ET.ElementTree(root), minus_one=True))

    def _parse_instance_info(self, raw_ann_info, minus_one=True):
        xml_path, width, height = self._current
        root = raw_ann_info.getroot()
        for i, obj in enumerate(list(root.findall('object')), start=1):
            where = f'{xml_path}: object {i}'
            name = (obj.findtext('name') or '').strip()
            if name not in self.metainfo['classes']:
                self._problems.add('objects of other classes',
                                  f'{where}: <name> {name!r} is not one of the dataset '
                                  f'classes {tuple(self.metainfo["classes"])}')
                root.remove(obj)
                continue
            try:
                name, box, difficult, entry = voc_object(obj, where)
            except AnnotationError as e:
                self._problems.add('objects that cannot be read', str(e))
                root.remove(obj)
                continue
            if not self._problems.check_box(box, width, height, entry, self.bbox_tol):
                root.remove(obj)
                continue
            # as read here, for mmdet's reader: the name stripped, labelme's <difficult/> 0
            obj.find('name').text = name
            flag = obj.find('difficult')
            if flag is not None:
                flag.text = str(int(difficult))
        return super()._parse_instance_info(raw_ann_info, minus_one=minus_one)


__all__ = ['StrictCocoDataset', 'StrictVOCDataset']
