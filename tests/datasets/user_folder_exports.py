"""Small data folders as other tools export them, for the --data tests: a COCO export with
gaps in the category ids, a placeholder category, names with spaces, image ids from 0 and
file names under a sub-folder; a VOC folder without ImageSets and with empty elements."""
import json
import os
import os.path as osp

import cv2
import numpy as np

# (file, width, height, [(name, x1, y1, x2, y2), ...])
IMAGES = [
    ('a.jpg', 160, 120, [('potted plant', 10.5, 12.25, 60.0, 70.5),
                         ('traffic light', 90, 20, 110, 80)]),
    ('b.jpg', 160, 120, [('potted plant', 30, 40, 90, 100), ('traffic light', 120, 10, 140, 60)]),
    ('c.jpg', 128, 128, [('potted plant', 5, 5, 50, 60), ('traffic light', 70, 30, 90, 100)]),
]
CATEGORIES = [dict(id=0, name='_background_'), dict(id=7, name='traffic light'),
              dict(id=12, name='unused class'), dict(id=64, name='potted plant')]


def write_image(path, width, height, boxes, seed=0):
    """Noise with a bright rectangle per box (JPEG)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 90, (height, width, 3), dtype=np.uint8)
    for k, (_, x1, y1, x2, y2) in enumerate(boxes):
        cv2.rectangle(img, (int(x1), int(y1)), (int(x2) - 1, int(y2) - 1),
                      (40 + 100 * k, 220, 200 - 80 * k), -1)
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, img)


def coco_export(root, images=IMAGES, categories=CATEGORIES, split=None, sub='JPEGImages'):
    """A COCO folder: ``annotations/train.json`` and ``val.json`` (``split``: the file
    names of the validation images) or, with ``split=None``, one ``instances_default.json``
    (CVAT's name). Image ids from 0."""
    by_name = {c['name']: c['id'] for c in categories}
    files = {}
    for i, (name, w, h, boxes) in enumerate(images):
        write_image(osp.join(root, sub, name), w, h, boxes, seed=i)
        part = 'all' if split is None else ('val' if name in split else 'train')
        data = files.setdefault(part, dict(images=[], annotations=[], categories=categories))
        data['images'].append(dict(id=i, file_name=f'{sub}/{name}', width=w, height=h))
        for cls, x1, y1, x2, y2 in boxes:
            data['annotations'].append(dict(
                id=len(data['annotations']), image_id=i, category_id=by_name[cls],
                bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=0))
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    names = {'all': 'instances_default.json', 'train': 'train.json', 'val': 'val.json'}
    for part, data in files.items():
        with open(osp.join(root, 'annotations', names[part]), 'w') as f:
            json.dump(data, f)
    return root


def voc_export(root, images=IMAGES, image_sets=None):
    """A VOC folder, labelme-style: empty ``<difficult/>`` and ``<truncated/>``, float
    coordinates; ``image_sets`` ({'train': [stems], 'val': [stems]}) or no ImageSets."""
    os.makedirs(osp.join(root, 'Annotations'), exist_ok=True)
    for i, (name, w, h, boxes) in enumerate(images):
        write_image(osp.join(root, 'JPEGImages', name), w, h, boxes, seed=i)
        objs = ''.join(f'<object><name>{c}</name><truncated/><difficult/><bndbox>'
                       f'<xmin>{x1 + 1}</xmin><ymin>{y1 + 1}</ymin><xmax>{x2 + 1}</xmax>'
                       f'<ymax>{y2 + 1}</ymax></bndbox></object>'
                       for c, x1, y1, x2, y2 in boxes)
        with open(osp.join(root, 'Annotations', osp.splitext(name)[0] + '.xml'), 'w') as f:
            f.write(f'<annotation><filename>{name}</filename><size><width>{w}</width>'
                    f'<height>{h}</height><depth>3</depth></size>{objs}</annotation>')
    if image_sets:
        os.makedirs(osp.join(root, 'ImageSets', 'Main'), exist_ok=True)
        for split, stems in image_sets.items():
            with open(osp.join(root, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
                f.write('\n'.join(stems) + '\n')
    return root


DEMO = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data',
                'demo_detection')
THREE_TILES = ('OSBS_029', 'SOAP_061', 'YELL_528000_4978000_crop2_0_2')


def tiles_voc_export(root, stems=THREE_TILES):
    """Embedded tiles as labelme writes a VOC export (no ImageSets, empty ``<difficult/>``):
    the crowns are 'tree', except in the tile first in SHA-1 order of its file name as read
    (``JPEGImages/<stem>.jpg``: the one a plain 20 % hash split sends to validation), which
    holds the set's only 'dead tree' box and both its 'shrub' boxes. Returns (root, that
    tile's stem)."""
    import hashlib
    import shutil
    import xml.etree.ElementTree as ET
    first = min(stems, key=lambda s: hashlib.sha1(f'JPEGImages/{s}.jpg'.encode()).digest())
    os.makedirs(osp.join(root, 'Annotations'), exist_ok=True)
    os.makedirs(osp.join(root, 'JPEGImages'), exist_ok=True)
    for stem in stems:
        shutil.copy(osp.join(DEMO, 'JPEGImages', f'{stem}.jpg'), osp.join(root, 'JPEGImages'))
        tree = ET.parse(osp.join(DEMO, 'Annotations', f'{stem}.xml')).getroot()
        objs = ''
        for k, obj in enumerate(tree.findall('object')):
            name = ('dead tree', 'shrub', 'shrub')[k] if stem == first and k < 3 else 'tree'
            box = ''.join(f'<{c}>{obj.find("bndbox").findtext(c)}</{c}>'
                          for c in ('xmin', 'ymin', 'xmax', 'ymax'))
            objs += (f'<object><name>{name}</name><truncated/><difficult/><bndbox>{box}'
                     '</bndbox></object>')
        w, h = (tree.find('size').findtext(k) for k in ('width', 'height'))
        with open(osp.join(root, 'Annotations', f'{stem}.xml'), 'w') as f:
            f.write(f'<annotation><folder/><filename>{stem}.jpg</filename><size><width>{w}'
                    f'</width><height>{h}</height><depth>3</depth></size>{objs}</annotation>')
    return root, first
