"""One rule per check, one collector: the strict COCO/VOC datasets and the reader of a data
folder give the same verdict, in the same words, on the same annotation."""
import json
import math
import os.path as osp
import xml.etree.ElementTree as ET

import pytest
from mmdet.registry import DATASETS
from mmengine.registry import init_default_scope

from mmresnet.datasets import AnnotationError, DataError, read_detection_folder
from mmresnet.datasets.annotation_checks import (MAX_LISTED, UNUSABLE_SIZE, AnnotationProblems,
                                                 box_problem, image_side, voc_object)

from .user_folder_exports import coco_export, voc_export

COCO_CLASSES = ('traffic light', 'potted plant')
VOC_CLASSES = ('potted plant', 'traffic light')


def _verdicts(root, dataset_type, ann_file, classes):
    """(the folder reader's DataError or None, the strict dataset's AnnotationError or None,
    the reader's notes with on_invalid='skip', the dataset's skip counts)."""
    init_default_scope('mmdet')
    prefix = dict(img='') if dataset_type == 'StrictCocoDataset' else dict(sub_data_root='')

    def strict(**kwargs):
        return DATASETS.build(dict(type=dataset_type, data_root=root, ann_file=ann_file,
                                   data_prefix=prefix, metainfo=dict(classes=classes),
                                   pipeline=[], **kwargs))
    errors = []
    for read in (lambda: read_detection_folder(root), strict):
        try:
            read()
            errors.append(None)
        except AnnotationError as e:
            errors.append(str(e))
    return (*errors, read_detection_folder(root, on_invalid='skip').notes,
            dict(strict(on_invalid='skip').skipped))


# (bbox [x, y, w, h] of annotation id 1, of a.jpg: 160x120; the kind of problem or None)
COCO_BOXES = [
    ([150, 20, 30, 60], 'boxes outside their image'),
    ([150, 20, 11, 60], None),  # 1 px over: within the tolerance, clipped
    ([5, 5, 0, 10], 'boxes of zero area'),
    ([math.nan, 5, 10, 10], 'boxes with coordinates not finite'),
]


@pytest.mark.parametrize('bbox, kind', COCO_BOXES)
def test_coco_box_same_verdict_in_strict_dataset_and_folder_reader(tmp_path, bbox, kind):
    root = coco_export(str(tmp_path / 'coco'), split={'c.jpg'})
    ann = osp.join(root, 'annotations', 'train.json')
    data = json.load(open(ann))
    data['annotations'][1]['bbox'] = bbox
    json.dump(data, open(ann, 'w'))  # NaN as Python writes it
    folder_error, strict_error, notes, skipped = _verdicts(
        root, 'StrictCocoDataset', 'annotations/train.json', COCO_CLASSES)
    if kind is None:
        assert folder_error is strict_error is None and skipped == {}
        assert not any(n.startswith('dropped 1') for n in notes)
        return
    problem = strict_error.split(" (or set the dataset's on_invalid='skip'")[0]
    assert problem.startswith(f'{ann}: annotation id 1 (image JPEGImages/a.jpg): box '
                              '[x, y, w, h] = ')
    assert f'1 problem(s) in the data set:\n  {problem}\n' in folder_error
    assert skipped == {kind: 1} and f'dropped 1 {kind}' in notes


# (a.xml's object 2, 1-based (91, 21, 111, 81) in a 160x120 image: an element replaced;
# the kind of problem or None)
VOC_CHANGES = [
    ('<xmax>111</xmax>', '<xmax>165</xmax>', 'boxes outside their image'),
    ('<xmax>111</xmax>', '<xmax>162</xmax>', None),  # 161 after VOC's minus one: tolerated
    ('<xmax>111</xmax>', '<xmax>91</xmax>', 'boxes of zero area'),  # xmin is 91
    ('<xmax>111</xmax>', '<xmax>nan</xmax>', 'boxes with coordinates not finite'),
    ('<difficult/><bndbox><xmin>91', '<difficult>maybe</difficult><bndbox><xmin>91',
     'objects that cannot be read'),
]


@pytest.mark.parametrize('old, new, kind', VOC_CHANGES)
def test_voc_object_same_verdict_in_strict_dataset_and_folder_reader(tmp_path, old, new,
                                                                     kind):
    root = voc_export(str(tmp_path / 'voc'), image_sets={'train': ['a', 'b'], 'val': ['c']})
    xml = osp.join(root, 'Annotations', 'a.xml')
    text = open(xml).read()
    assert text.count(old) == 1
    open(xml, 'w').write(text.replace(old, new))
    folder_error, strict_error, notes, skipped = _verdicts(
        root, 'StrictVOCDataset', 'ImageSets/Main/train.txt', VOC_CLASSES)
    if kind is None:
        assert folder_error is strict_error is None and skipped == {}
        return
    # the folder names the file under its root, the dataset by its path
    problem = folder_error.split('problem(s) in the data set:\n  ')[1].split('\n')[0]
    assert problem.startswith('Annotations/a.xml: object 2: ')
    assert strict_error.startswith(osp.join(root, problem))
    assert skipped == {kind: 1} and f'dropped 1 {kind}' in notes


def _sizes(root, dataset_type, ann_file, classes, name='a.jpg'):
    """(width, height) of image ``name`` as the folder reader and the strict dataset read it."""
    prefix = dict(img='') if dataset_type == 'StrictCocoDataset' else dict(sub_data_root='')
    data = read_detection_folder(root)
    folder = next((i['width'], i['height']) for s in data.splits.values() for i in s
                  if i['file_name'].endswith(name))
    ds = DATASETS.build(dict(type=dataset_type, data_root=root, ann_file=ann_file,
                             data_prefix=prefix, metainfo=dict(classes=classes), pipeline=[]))
    strict = next((d['width'], d['height']) for d in map(ds.get_data_info, range(len(ds)))
                  if d['img_path'].endswith(name))
    return folder, strict


def _same_verdict(root, dataset_type, ann_file, classes, verdict):
    """Both accept (``verdict`` None) and read a.jpg as 160x120, or both refuse the same
    entry, ``verdict`` = (kind, the words it starts with), in the same words (the folder
    names the file under its root, the dataset by its path, as given)."""
    folder_error, strict_error, notes, skipped = _verdicts(root, dataset_type, ann_file,
                                                           classes)
    if verdict is None:
        assert folder_error is strict_error is None and skipped == {}
        assert _sizes(root, dataset_type, ann_file, classes) == ((160, 120), (160, 120))
        return
    kind, starts = verdict
    problem = folder_error.split('problem(s) in the data set:\n  ')[1].split('\n')[0]
    assert problem.startswith(starts), problem
    strict_problem = strict_error.split(" (or set the dataset's on_invalid='skip'")[0]
    assert strict_problem in (problem, osp.join(root, problem)), (problem, strict_error)
    assert skipped == {kind: 1} and f'dropped 1 {kind}' in notes, (skipped, notes)


# a.xml (a.jpg: 160x120): an element replaced; the verdict (None: read, the size then)
WHY = '(0, empty or absent: read from the image)'
VOC_SIZES = [
    ('<width>160</width>', '<width> 160 </width>', None),
    ('<size><width>160</width><height>120</height><depth>3</depth></size>', '', None),
    ('<width>160</width>', '<width/>', None),  # as some exporters write it
    ('<width>160</width>', '<width>0</width>', None),
    ('<size><width>160</width>', '<size>', None),
    ('<width>160</width>', '<width>160.0</width>',
     f"<size><width> must be a positive integer {WHY}, got '160.0'"),  # mmdet's int()
    ('<width>160</width>', '<width>abc</width>',
     f"<size><width> must be a positive integer {WHY}, got 'abc'"),
    ('<height>120</height>', '<height>-120</height>',
     f"<size><height> must be a positive integer {WHY}, got '-120'"),
]


@pytest.mark.parametrize('old, new, error', VOC_SIZES)
def test_voc_size_same_verdict_in_strict_dataset_and_folder_reader(tmp_path, old, new, error):
    root = voc_export(str(tmp_path / 'voc'), image_sets={'train': ['a', 'b'], 'val': ['c']})
    xml = osp.join(root, 'Annotations', 'a.xml')
    text = open(xml).read()
    assert text.count(old) == 1
    open(xml, 'w').write(text.replace(old, new))
    _same_verdict(root, 'StrictVOCDataset', 'ImageSets/Main/train.txt', VOC_CLASSES,
                  error and (UNUSABLE_SIZE, f'Annotations/a.xml: {error}'))


# (image 0 (a.jpg, 160x120) or annotation 1 (a.jpg's second box) of train.json changed;
# the verdict: None, or the kind and the words after 'train.json: ')
COCO_CASES = [
    (dict(image=dict(width=0)), None),
    (dict(image=dict(width=None)), None),  # the key removed
    (dict(image=dict(width='160')), None),
    (dict(image=dict(width=160.5)), (UNUSABLE_SIZE, 'image id 0: "width" must be a positive '
                                     f'integer {WHY}, got 160.5')),
    (dict(image=dict(height=True)), (UNUSABLE_SIZE, 'image id 0: "height" must be a positive '
                                     f'integer {WHY}, got True')),
    (dict(ann=dict(iscrowd=1)), None),
    # a crowd region is checked as every box: mmdet keeps it, as a box to ignore
    (dict(ann=dict(iscrowd=1, bbox=[150, 20, 30, 60])),
     ('boxes outside their image', 'annotation id 1 (image JPEGImages/a.jpg): box ')),
    (dict(ann=dict(iscrowd=1, bbox=[5, 5, 0, 10])),
     ('boxes of zero area', 'annotation id 1 (image JPEGImages/a.jpg): box ')),
]


@pytest.mark.parametrize('change, verdict', COCO_CASES)
def test_coco_size_and_crowd_same_verdict_in_strict_dataset_and_folder_reader(
        tmp_path, change, verdict):
    root = coco_export(str(tmp_path / 'coco'), split={'c.jpg'})
    ann = osp.join(root, 'annotations', 'train.json')
    data = json.load(open(ann))
    for what, entry in (('image', data['images'][0]), ('ann', data['annotations'][1])):
        entry.update(change.get(what, {}))
        for key in [k for k, v in entry.items() if v is None]:
            del entry[key]
    json.dump(data, open(ann, 'w'))
    _same_verdict(root, 'StrictCocoDataset', 'annotations/train.json', COCO_CLASSES,
                  verdict and (verdict[0], f'{ann}: {verdict[1]}'))


def test_image_side_is_mmdets_int_or_the_image():
    assert [image_side(v, 'w') for v in (None, '', ' ', 0, '0', 5, ' 5 ', '+5')] == \
        [None] * 5 + [5] * 3
    for bad in ('5.0', 5.0, 5.5, -5, '-5', True, 'x', [5]):
        with pytest.raises(ValueError, match=r'^w must be a positive integer \(0, empty '):
            image_side(bad, 'w')


def test_box_rule_checks_the_box_the_detector_gets():
    assert box_problem((0, 0, 10, 10), 10, 10) is None
    assert box_problem((-1, -1, 11, 11), 10, 10) is None  # the tolerance, 1 px
    assert box_problem((-1.5, 0, 5, 5), 10, 10)[0] == 'boxes outside their image'
    assert box_problem((0, 0, 10.5, 10), 10, 10, tol=0)[1] == 'lies outside the 10x10 image'
    assert box_problem((5, 0, 5, 5), 10, 10)[0] == 'boxes of zero area'
    assert box_problem((0, 0, math.inf, 5), 10, 10)[0] == 'boxes with coordinates not finite'


def test_voc_object_reads_difficult_and_subtracts_one():
    obj = ET.fromstring('<object><name> tree </name><difficult/><bndbox><xmin>1</xmin>'
                        '<ymin>2</ymin><xmax>10.5</xmax><ymax>20</ymax></bndbox></object>')
    name, box, difficult, text = voc_object(obj, 'a.xml: object 1')
    assert (name, box, difficult) == ('tree', (0, 1, 9.5, 19), False)
    assert text == 'a.xml: object 1: <bndbox> (1, 2, 10.5, 20)'
    obj.find('difficult').text = 'True'
    assert voc_object(obj, 'a.xml: object 1')[2] is True
    obj.find('difficult').text = '2'
    with pytest.raises(AnnotationError, match=r"a.xml: object 1: <difficult> must be 0 or 1 "
                       r"\(or empty\), got '2'"):
        voc_object(obj, 'a.xml: object 1')


def test_collector_raises_at_once_lists_all_or_counts():
    with pytest.raises(ValueError, match=r"unknown on_invalid 'warn'; allowed values: "
                       r"\('error', 'skip'\)"):
        AnnotationProblems('data/mine', 'warn')
    at_once = AnnotationProblems('ann.json', 'error', at_once=True)
    with pytest.raises(AnnotationError, match=r"^ann.json: entry 1 is bad \(or set the "
                       r"dataset's on_invalid='skip'"):
        at_once.add('bad entries', 'ann.json: entry 1 is bad')
    listed = AnnotationProblems('data/mine', 'error')
    for i in range(MAX_LISTED + 2):
        listed.add('bad entries' if i % 2 else 'worse entries', f'entry {i}')
    with pytest.raises(DataError) as err:
        listed.settle()
    msg = str(err.value)
    assert msg.startswith(f'data/mine: {MAX_LISTED + 2} problem(s) in the data set:\n  '
                          'entry 0\n  entry 1\n')
    assert f'entry {MAX_LISTED - 1}\n  ... and 2 more\n' in msg and 'entry 30' not in msg
    skip = AnnotationProblems('data/mine', 'skip')
    assert skip.settle() == ''
    for kind in ('b', 'a', 'b'):
        skip.add(kind, f'{kind} entry')
    assert skip.settle() == '1 a, 2 b' and skip.skipped == {'a': 1, 'b': 2}
