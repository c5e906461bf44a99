"""The embedded demo data reads in both layouts; bad annotations are named, not dropped."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.registry import init_default_scope

from mmresnet.datasets import AnnotationError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

DATA = osp.join(ROOT, 'data/demo_detection')
CLASSES = dict(classes=('tree', ))


def coco(ann_file, data_root=DATA, **kwargs):
    init_default_scope('mmdet')
    return DATASETS.build(dict(type='StrictCocoDataset', data_root=data_root,
                               ann_file=ann_file, data_prefix=dict(img=''),
                               metainfo=kwargs.pop('metainfo', CLASSES), pipeline=[],
                               **kwargs))


def voc(ann_file, data_root=DATA, **kwargs):
    init_default_scope('mmdet')
    return DATASETS.build(dict(type='StrictVOCDataset', data_root=data_root,
                               ann_file=ann_file, data_prefix=dict(sub_data_root=''),
                               metainfo=kwargs.pop('metainfo', CLASSES), pipeline=[],
                               **kwargs))


def boxes(ds):
    return {osp.basename(ds.get_data_info(i)['img_path']):
            np.array([b['bbox'] for b in ds.get_data_info(i)['instances']]).reshape(-1, 4)
            for i in range(len(ds))}


@pytest.mark.parametrize('split,n_img,n_box', [('train', 29, 587), ('val', 9, 175)])
def test_embedded_data_reads_in_both_layouts(split, n_img, n_box):
    c = boxes(coco(f'annotations/instances_{split}.json'))
    v = boxes(voc(f'ImageSets/Main/{split}.txt'))
    assert len(c) == n_img and sum(len(b) for b in c.values()) == n_box
    assert c.keys() == v.keys()
    for name in c:  # VOC is 1-based inclusive: mmdet's VOC reader lands 1 px short
        assert c[name].shape == v[name].shape
        assert np.abs(c[name] - v[name]).max(initial=0) <= 1, name
    for name in c:
        assert osp.isfile(osp.join(DATA, 'JPEGImages', name))


def test_demo_dataset_config_loads_images_with_boxes():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/demo_detection.py'))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = DATA + '/'
    init_default_scope('mmdet')
    ds = DATASETS.build(ds_cfg)
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 400, 400)
    assert len(sample['data_samples'].gt_instances) > 0
    assert len(open(osp.join(DATA, 'LICENSE.md')).read()) > 100  # licence shipped


# --- bad input, COCO ---------------------------------------------------------------------
def _coco_file(tmp_path, mutate):
    data = json.load(open(osp.join(DATA, 'annotations/instances_val.json')))
    mutate(data)
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(data, indent=1))
    return str(path)


def test_coco_not_json_names_file_and_line(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(AnnotationError, match=r'broken\.json: not valid JSON .*line 2'):
        coco(str(path))


def test_coco_missing_file_and_key(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        coco(str(tmp_path / 'nowhere.json'))
    path = _coco_file(tmp_path, lambda d: d.pop('categories'))
    with pytest.raises(AnnotationError, match='ann.json: key "categories" must be a list'):
        coco(path)
    path = _coco_file(tmp_path, lambda d: d['annotations'][3].pop('bbox'))
    with pytest.raises(AnnotationError, match=r'annotations\[3\] has no key "bbox"'):
        coco(path)


def _move_box(d):
    d['annotations'][5]['bbox'] = [390, 10, 30, 20]  # x + w = 420 > 400


def test_coco_box_outside_image(tmp_path):
    path = _coco_file(tmp_path, _move_box)
    with pytest.raises(AnnotationError, match=r'annotation id 6 .*lies outside the 400x400'):
        coco(path)
    ds = coco(path, on_invalid='skip')  # dropped and counted instead
    assert sum(len(b) for b in boxes(ds).values()) == 175 - 1
    assert ds.skipped == {'boxes outside their image': 1}


def test_coco_unknown_class(tmp_path):
    def add_bush(d):
        d['categories'].append(dict(id=2, name='bush'))
        d['annotations'][0]['category_id'] = 2
        d['annotations'][1]['category_id'] = 7  # not even a category of the file
    path = _coco_file(tmp_path, add_bush)
    with pytest.raises(AnnotationError, match=r"category_id 2 \('bush'\) is not one of"):
        coco(path)
    ds = coco(path, on_invalid='skip')
    assert ds.skipped == {'annotations of other classes': 2}
    with pytest.raises(AnnotationError, match=r"classes \['shrub'\] of the dataset are not"):
        coco(path, metainfo=dict(classes=('tree', 'shrub')))


def test_on_invalid_value_is_checked():
    with pytest.raises(ValueError, match=r"on_invalid 'warn'.*\('error', 'skip'\)"):
        coco('annotations/instances_val.json', on_invalid='warn')


# --- bad input, VOC ----------------------------------------------------------------------
@pytest.fixture
def voc_copy(tmp_path):
    root = tmp_path / 'voc'
    shutil.copytree(osp.join(DATA, 'Annotations'), root / 'Annotations')
    shutil.copytree(osp.join(DATA, 'ImageSets'), root / 'ImageSets')
    return root


def _val_xml(root, i=0):
    name = open(root / 'ImageSets/Main/val.txt').read().split()[i]
    return root / 'Annotations' / f'{name}.xml'


def test_voc_not_xml_names_file_and_line(voc_copy):
    xml = _val_xml(voc_copy)
    xml.write_text(xml.read_text().replace('</object>', '</objekt>', 1))
    with pytest.raises(AnnotationError, match=rf'{xml.name}: not valid XML .*line \d+'):
        voc('ImageSets/Main/val.txt', data_root=str(voc_copy))
    ds = voc('ImageSets/Main/val.txt', data_root=str(voc_copy), on_invalid='skip')
    assert len(ds) == 8 and ds.skipped == {'unreadable XML files': 1}


def test_voc_unknown_class_and_box_outside(voc_copy):
    xml = _val_xml(voc_copy)
    text = xml.read_text()
    xml.write_text(text.replace('<name>tree</name>', '<name>bush</name>', 1))
    with pytest.raises(AnnotationError, match=rf"{xml.name}: object 1: <name> 'bush' is not"):
        voc('ImageSets/Main/val.txt', data_root=str(voc_copy))
    start = text.index('<xmax>', text.index('<object>', text.index('</object>')))
    end = text.index('</xmax>', start)
    xml.write_text(text[:start] + '<xmax>450' + text[end:])
    with pytest.raises(AnnotationError, match=rf'{xml.name}: object 2: <bndbox> .*450.*outside'):
        voc('ImageSets/Main/val.txt', data_root=str(voc_copy))
    ds = voc('ImageSets/Main/val.txt', data_root=str(voc_copy), on_invalid='skip')
    assert ds.skipped == {'boxes outside their image': 1}
    assert sum(len(b) for b in boxes(ds).values()) == 175 - 1


def test_voc_bad_coordinate_missing_xml_and_empty_difficult(voc_copy):
    xml = _val_xml(voc_copy)
    text = xml.read_text()
    xml.write_text(text.replace('<difficult>0</difficult>', '<difficult/>'))
    assert len(voc('ImageSets/Main/val.txt', data_root=str(voc_copy))) == 9  # labelme's
    xml.write_text(text.replace('<ymin>', '<ymin>abc', 1))
    with pytest.raises(AnnotationError, match=rf'{xml.name}: object 1: <bndbox> needs numeric'):
        voc('ImageSets/Main/val.txt', data_root=str(voc_copy))
    xml.unlink()
    with pytest.raises(FileNotFoundError, match=rf'{xml.name}: annotation of image'):
        voc('ImageSets/Main/val.txt', data_root=str(voc_copy))
    with pytest.raises(FileNotFoundError, match='ImageSets/Main/nope.txt'):
        voc('ImageSets/Main/nope.txt', data_root=str(voc_copy))
