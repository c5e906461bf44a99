"""Data folders of one's own (tools/demo.py --data): COCO and VOC exports as other tools
write them, every problem named with its file and entry before any training."""
import json
import os
import os.path as osp
import re

import numpy as np
import pytest

from mmresnet.datasets import (DataError, DetectionCropDataset, read_detection_folder,
                               read_voc_folder)
from mmresnet.datasets.split import deterministic_split

from .user_folder_exports import IMAGES, coco_export, tiles_voc_export, voc_export

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'data', 'demo_detection')


def _refused(root, change):
    """The DataError's message after ``change`` of the COCO export's train.json."""
    ann = osp.join(root, 'annotations', 'train.json')
    data = json.load(open(ann))
    change(data)
    json.dump(data, open(ann, 'w'))
    return _read_error(root)


def _read_error(root):
    with pytest.raises(DataError) as err:
        read_detection_folder(root)
    return str(err.value)


def test_coco_export_with_gaps_placeholders_and_spaces(tmp_path):
    root = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    data = read_detection_folder(root)
    # ids 7 and 64 in id order; id 0 (placeholder) and id 12 (no box) dropped
    assert data.classes == ('traffic light', 'potted plant')
    assert data.layout == 'coco' and data.split_source == 'train.json / val.json'
    assert any("'_background_'" in n and "'unused class'" in n for n in data.notes)
    c = data.counts()
    assert c['train']['images'] == 2 and c['val']['images'] == 1
    assert c['train']['per_class'] == {'traffic light': 2, 'potted plant': 2}
    # float coordinates kept, image ids from 0 read, sub-folder file names resolved
    a = next(i for i in data.splits['train'] if i['file_name'] == 'JPEGImages/a.jpg')
    np.testing.assert_allclose(a['boxes'][0], [10.5, 12.25, 60.0, 70.5])
    assert a['labels'].tolist() == [1, 0]

    files = data.write(str(tmp_path / 'out'), max_pretrain_boxes=100)
    train = json.load(open(files['train']))
    assert [c['name'] for c in train['categories']] == ['traffic light', 'potted plant']
    assert [c['id'] for c in train['categories']] == [1, 2]
    assert {a['category_id'] for a in train['annotations']} == {1, 2}
    assert min(i['id'] for i in train['images']) == 1
    assert osp.isfile(files['pretrain'])


def test_crop_dataset_labels_are_contiguous_on_gapped_ids(tmp_path):
    """The bare IndexError of stage 1: COCO ids used as labels. Labels are now 1..K in id
    order, the placeholder and the empty category dropped."""
    root = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    ds = DetectionCropDataset(ann_file=osp.join(root, 'annotations', 'train.json'),
                              data_root=root, crop_size=16, crops_per_box=1, min_size=2)
    assert ds.metainfo['classes'] == ('background', 'traffic light', 'potted plant')
    labels = np.array([ds[i]['gt_label'] if 'gt_label' in ds[i] else ds.get_data_info(i)
                       ['gt_label'] for i in range(len(ds))]).ravel()
    assert set(labels.tolist()) == {0, 1, 2}


def test_classifier_names_the_label_that_does_not_fit():
    import torch
    from mmresnet.models.classifiers.classifier import PaperResNetClassifier
    model = PaperResNetClassifier(
        backbone=dict(type='PaperResNet', depth=20, arch='cifar'), num_classes=2)
    from mmengine.structures import BaseDataElement
    samples = [BaseDataElement(gt_label=torch.tensor(k)) for k in (1, 7)]
    with pytest.raises(ValueError, match=r'a training label is 7, but num_classes is 2'):
        model.loss(torch.zeros(2, 3, 16, 16), samples)
    # the device-data loop checks its labels before training, the same way
    from mmresnet.models.utils import check_labels
    with pytest.raises(ValueError, match=r'DeviceIterBasedTrainLoop: a training label is 3'):
        check_labels(torch.tensor([0, 3]), 3, 'DeviceIterBasedTrainLoop')
    check_labels(torch.tensor([0, 2]), 3, 'DeviceIterBasedTrainLoop')


def test_single_coco_file_is_split_deterministically(tmp_path):
    images = [(f'img{i:02d}.jpg', 64, 64, [('cat', 5, 5, 40, 40)]) for i in range(10)]
    root = coco_export(str(tmp_path / 'one'), images=images,
                       categories=[dict(id=1, name='cat')], sub='images')
    a, b = read_detection_folder(root), read_detection_folder(root)
    val = [i['file_name'] for i in a.splits['val']]
    assert val == [i['file_name'] for i in b.splits['val']] and len(val) == 2
    assert len(a.splits['train']) == 8 and 'instances_default.json split' in a.split_source
    # the split depends on the names only, not on their order
    tr, va = deterministic_split(list(reversed(a.splits['train'] + a.splits['val'])))
    assert sorted(i['file_name'] for i in va) == sorted(val)


def test_voc_without_image_sets_and_with_empty_elements(tmp_path):
    root = voc_export(str(tmp_path / 'voc'))
    data = read_detection_folder(root)
    assert data.layout == 'voc' and data.classes == ('potted plant', 'traffic light')
    assert 'split deterministically' in data.split_source
    assert sum(len(s) for s in data.splits.values()) == 3
    img = next(i for s in data.splits.values() for i in s if i['file_name'].endswith('a.jpg'))
    np.testing.assert_allclose(img['boxes'][0], [10.5, 12.25, 60.0, 70.5])  # 1-based - 1
    assert not img['ignore'].any()  # <difficult/> is 0


def test_voc_reader_matches_the_coco_files_of_the_embedded_tiles():
    voc = read_voc_folder(DEMO)
    coco = read_detection_folder(DEMO)
    assert voc.classes == coco.classes == ('tree', )
    for split in ('train', 'val'):
        v = {osp.basename(i['file_name']): i['boxes'] for i in voc.splits[split]}
        c = {osp.basename(i['file_name']): i['boxes'] for i in coco.splits[split]}
        assert v.keys() == c.keys()
        for k in v:
            np.testing.assert_allclose(v[k], c[k], atol=1.0)  # the VOC file has rounded boxes


def test_bad_box_and_missing_image_are_named_together(tmp_path):
    images = IMAGES + [('gone.jpg', 160, 120, [('potted plant', 1, 1, 30, 30)])]
    root = coco_export(str(tmp_path / 'bad'), images=images, split={'c.jpg'})
    os.remove(osp.join(root, 'JPEGImages', 'gone.jpg'))

    def change(data):
        data['annotations'][1]['bbox'] = [150, 20, 30, 60]  # beyond the 160 px width
        data['annotations'].append(dict(id=99, image_id=0, category_id=7, bbox=[5, 5, 0, 10]))
        data['annotations'].append(dict(id=100, image_id=1, category_id=5, bbox=[5, 5, 9, 9]))
    msg = _refused(root, change)
    assert '4 problem(s)' in msg
    assert "train.json: image id 3: image file 'JPEGImages/gone.jpg' not found" in msg
    assert 'train.json: annotation id 1 (image JPEGImages/a.jpg): box' in msg
    assert 'outside the 160x120 image' in msg
    assert 'annotation id 99 (image JPEGImages/a.jpg): box' in msg and 'no area' in msg
    assert 'annotation id 100: category_id 5 is not in "categories"' in msg
    # --skip-invalid: dropped and counted, the rest read
    data = read_detection_folder(root, on_invalid='skip')
    assert data.counts()['train']['boxes'] == 3
    assert any('1 missing images' in n and '2 boxes' not in n for n in data.notes)


def test_unreadable_image_wrong_size_and_voc_errors_are_named(tmp_path):
    root = voc_export(str(tmp_path / 'voc'), image_sets={'train': ['a', 'b'], 'val': ['c']})
    with open(osp.join(root, 'JPEGImages', 'b.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    xml = osp.join(root, 'Annotations', 'c.xml')
    text = open(xml).read().replace('<width>128</width>', '<width>100</width>')
    open(xml, 'w').write(text)
    with pytest.raises(DataError) as err:
        read_detection_folder(root)
    msg = str(err.value)
    assert 'Annotations/b.xml: ' in msg and 'b.jpg: not a readable image' in msg
    assert 'Annotations/c.xml: ' in msg and 'c.jpg is 128x128, the annotation says 100x128' in msg


def test_empty_split_and_class_without_training_box(tmp_path):
    images = [('a.jpg', 64, 64, [('cat', 5, 5, 40, 40)]),
              ('b.jpg', 64, 64, [('dog', 5, 5, 40, 40)])]
    root = voc_export(str(tmp_path / 'v1'), images=images,
                      image_sets={'train': ['a'], 'val': ['b']})
    with pytest.raises(DataError, match=r"class\(es\) \['dog'\] have no training box"):
        read_detection_folder(root)
    root = voc_export(str(tmp_path / 'v2'), images=images,
                      image_sets={'train': ['a', 'b'], 'val': []})
    with pytest.raises(DataError, match='the val split .* has no image with a box'):
        read_detection_folder(root)
    with pytest.raises(DataError, match='neither COCO layout'):
        read_detection_folder(str(tmp_path))


def test_sizes_missing_from_the_file_are_read_from_the_image(tmp_path):
    root = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    ann = osp.join(root, 'annotations', 'train.json')
    data = json.load(open(ann))
    data['images'][0].update(width=0, height='')  # as some exporters write
    json.dump(data, open(ann, 'w'))
    img = next(i for i in read_detection_folder(root).splits['train']
               if i['file_name'].endswith('a.jpg'))
    assert (img['width'], img['height']) == (160, 120)


def test_voc_box_without_a_number_is_named(tmp_path):
    root = voc_export(str(tmp_path / 'voc'), image_sets={'train': ['a', 'b'], 'val': ['c']})
    xml = osp.join(root, 'Annotations', 'a.xml')
    text = open(xml).read().replace('<xmin>11.5</xmin>', '<xmin>left</xmin>')
    open(xml, 'w').write(text)
    with pytest.raises(DataError, match=r"Annotations/a.xml: object 1: <bndbox> needs numeric "
                       r"xmin, ymin, xmax, ymax; got \['left'"):
        read_detection_folder(root)


def test_voc_image_listed_twice_is_named_or_dropped(tmp_path):
    root = voc_export(str(tmp_path / 'voc'),
                      image_sets={'train': ['a', 'b', 'a'], 'val': ['c', 'b']})
    message = _read_error(root)
    assert re.search(r"val.txt: 'b' is listed already in .*train.txt", message), message
    assert re.search(r"train.txt: 'a' is listed already in .*train.txt", message), message
    data = read_detection_folder(root, on_invalid='skip')
    assert [osp.basename(i['file_name']) for i in data.splits['train']] == ['a.jpg', 'b.jpg']
    assert [osp.basename(i['file_name']) for i in data.splits['val']] == ['c.jpg']


def test_three_tiles_without_image_sets_split_by_class(tmp_path):
    """The labelme-style VOC export of three tiles: a plain 20 % hash split sent the only
    'dead tree' and both 'shrub' boxes to validation and the read was refused. The
    class-aware split keeps them in training (reported unvalidated) and validates 'tree'."""
    root, rare = tiles_voc_export(str(tmp_path / 'three'))
    data = read_detection_folder(root)
    assert data.classes == ('dead tree', 'shrub', 'tree')
    train = {osp.basename(i['file_name']) for i in data.splits['train']}
    val = {osp.basename(i['file_name']) for i in data.splits['val']}
    assert f'{rare}.jpg' in train and len(val) == 1 and not train & val
    c = data.counts()
    assert c['train']['per_class']['dead tree'] == 1 and c['train']['per_class']['shrub'] == 2
    assert c['val']['per_class']['tree'] > 0 and c['train']['per_class']['tree'] > 0
    assert data.unvalidated == ('dead tree', 'shrub') and not data.val_is_train
    assert 'class-aware' in data.split_source and '1 of 3 images to validation' in \
        data.split_source
    assert any("unvalidated class(es) ['dead tree', 'shrub']" in n for n in data.notes)
    # the same files give the same split
    again = read_detection_folder(root)
    assert {osp.basename(i['file_name']) for i in again.splits['val']} == val
    # --train-on-all: every image trained on and validated on, said so
    both = read_detection_folder(root, train_on_all=True)
    assert both.val_is_train and len(both.splits['train']) == 3
    assert 'trained on all 3 images and validated on the same ones' in both.split_source
    assert both.unvalidated == ()


def test_no_image_can_validate_says_what_to_do(tmp_path):
    images = [('a.jpg', 64, 64, [('cat', 5, 5, 40, 40)]),
              ('b.jpg', 64, 64, [('dog', 5, 5, 40, 40)])]
    root = voc_export(str(tmp_path / 'v'), images=images)
    with pytest.raises(DataError, match=r'no image can go|--train-on-all'):
        read_detection_folder(root)
    data = read_detection_folder(root, train_on_all=True)
    assert data.val_is_train and data.counts()['val']['images'] == 2
    # an own split: --val-fraction is not used, and said so
    root = voc_export(str(tmp_path / 'v2'), image_sets={'train': ['a', 'b'], 'val': ['c']})
    data = read_detection_folder(root, val_fraction=0.5)
    assert any('--val-fraction 0.5 not used' in n for n in data.notes)


@pytest.mark.parametrize('change, expected', [
    (lambda d: d['categories'][1].pop('id'), r'categories\[1\] has no key "id"'),
    (lambda d: d['categories'][1].update(name=None),
     r'categories\[1\] \(id 7\): "name" must be a non-empty string, got NoneType None'),
    (lambda d: d['categories'][1].update(name=7), r'"name" must be a non-empty string, got '
     r'int 7'),
    (lambda d: d['categories'][1].update(name=' '), r'"name" must be a non-empty string'),
    (lambda d: d['categories'][2].update(id=7),
     r"categories\[1\] and categories\[2\] share the id 7"),
    (lambda d: d['categories'][2].update(name='traffic light'),
     r"categories\[1\] and categories\[2\] share the name 'traffic light'"),
    (lambda d: d['images'][0].update(id=[0]), r'images\[0\]: "id" must be an integer'),
    (lambda d: d['annotations'][0].update(iscrowd='yes'), r'"iscrowd" must be 0 or 1'),
    (lambda d: d['annotations'][0].update(category_id='7'),
     r'annotation id 0: "category_id" must be an integer'),
])
def test_every_category_and_entry_is_named(tmp_path, change, expected):
    root = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    msg = _refused(root, change)
    assert re.search(expected, msg), msg
    assert msg.startswith(osp.join(root, 'annotations', 'train.json'))


def test_sizes_paths_and_voc_entries_are_named(tmp_path):
    root = coco_export(str(tmp_path / 'mine'), split={'c.jpg'})
    msg = _refused(root, lambda d: (d['images'][0].update(width=-160), d['images'][1].update(
        file_name='../../../etc/hostname')))
    assert 'train.json: image id 0: "width" must be a positive integer' in msg
    assert "image id 1: image file '../../../etc/hostname' points outside" in msg
    root = voc_export(str(tmp_path / 'voc'), image_sets={'train': ['a', 'b'], 'val': ['c']})
    xml = osp.join(root, 'Annotations', 'a.xml')
    text = open(xml).read()
    open(xml, 'w').write(text.replace('<name>traffic light</name>', '<name></name>', 1)
                         .replace('<difficult/>', '<difficult>maybe</difficult>', 1))
    open(osp.join(root, 'Annotations', 'b.xml'), 'w').write('<html/>')
    msg = _read_error(root)
    assert 'a.xml: object 1: <difficult> must be 0 or 1' in msg
    assert 'a.xml: object 2: <name> is missing or empty' in msg
    assert 'b.xml: not a VOC annotation (the root element is <html>' in msg
    assert 'has no Annotations/b.xml' not in msg
