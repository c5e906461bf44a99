"""How this folder was made (provenance; nothing runs this at train or test time).

Source: the ``deepforest`` 2.1.0 wheel's ``deepforest/data/`` folder (MIT licence, see
LICENSE.md): NEON aerial RGB orthophotos (10 cm/pixel) with hand-drawn tree-crown boxes
in Pascal VOC XML. The two large Yellowstone crops are cut into 400x400 tiles (boxes clipped
to the tile, kept when at least half of the crown is inside); the two 400x400 images
(OSBS_029, SOAP_061) are kept whole. Every box is relabelled ``tree`` (SOAP_061's
alive/dead labels are merged). Every 4th image goes to ``val``.

    pip download --no-deps deepforest==2.1.0 -d /tmp/df && unzip -q /tmp/df/*.whl -d /tmp/df
    python data/demo_detection/prepare.py /tmp/df/deepforest/data data/demo_detection

Writes ``JPEGImages/*.jpg`` (shared by both layouts), the VOC layout (``Annotations/*.xml``
with VOC's 1-based pixel coordinates, ``ImageSets/Main/{train,val,trainval}.txt``) and the
COCO layout (``annotations/instances_{train,val}.json``, 0-based ``[x, y, w, h]``).
"""
import json
import os
import os.path as osp
import sys
import xml.etree.ElementTree as ET

import cv2

TILE = 400
SOURCES = [  # (image, annotation xml, tile it?)
    ('2019_YELL_2_528000_4978000_image_crop2.png',
     '2019_YELL_2_528000_4978000_image_crop2.xml', True),
    ('2019_YELL_2_541000_4977000_image_crop.png',
     '2019_YELL_2_541000_4977000_image_crop.xml', True),
    ('OSBS_029.png', 'OSBS_029.xml', False),
    ('SOAP_061.png', 'SOAP_061.xml', False),
]


def read_boxes(xml_path):
    boxes = []
    for obj in ET.parse(xml_path).getroot().iter('object'):
        b = obj.find('bndbox')
        boxes.append([float(b.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')])
    return boxes


def tiles(img, boxes, name, tile):
    h, w = img.shape[:2]
    if tile is None:
        yield name, img, [[max(0, x1), max(0, y1), min(w, x2), min(h, y2)]
                          for x1, y1, x2, y2 in boxes]
        return
    for ty in range(h // tile):
        for tx in range(w // tile):
            x0, y0 = tx * tile, ty * tile
            kept = []
            for x1, y1, x2, y2 in boxes:
                cx1, cy1 = max(x1, x0), max(y1, y0)
                cx2, cy2 = min(x2, x0 + tile), min(y2, y0 + tile)
                if cx2 - cx1 < 4 or cy2 - cy1 < 4:
                    continue
                if (cx2 - cx1) * (cy2 - cy1) < 0.5 * (x2 - x1) * (y2 - y1):
                    continue
                kept.append([cx1 - x0, cy1 - y0, cx2 - x0, cy2 - y0])
            yield (f'{name}_{ty}_{tx}', img[y0:y0 + tile, x0:x0 + tile], kept)


def voc_xml(stem, w, h, boxes):
    objs = ''.join(
        '  <object>\n    <name>tree</name>\n    <pose>Unspecified</pose>\n'
        '    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n'
        f'      <xmin>{round(x1) + 1}</xmin>\n      <ymin>{round(y1) + 1}</ymin>\n'
        f'      <xmax>{round(x2)}</xmax>\n      <ymax>{round(y2)}</ymax>\n'
        '    </bndbox>\n  </object>\n' for x1, y1, x2, y2 in boxes)
    return (f'<annotation>\n  <folder>JPEGImages</folder>\n  <filename>{stem}.jpg</filename>\n'
            f'  <source><database>NEON / DeepForest (MIT)</database></source>\n'
            f'  <size>\n    <width>{w}</width>\n    <height>{h}</height>\n'
            f'    <depth>3</depth>\n  </size>\n  <segmented>0</segmented>\n{objs}</annotation>\n')


def main(src, out):
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main', 'annotations'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    records = []
    for img_name, xml_name, tiled in SOURCES:
        img = cv2.imread(osp.join(src, img_name))
        stem = osp.splitext(img_name)[0].replace('2019_YELL_2_', 'YELL_').replace(
            '_image_crop', '_crop')
        for name, im, boxes in tiles(img, read_boxes(osp.join(src, xml_name)), stem,
                                     TILE if tiled else None):
            boxes = [[round(v) for v in b] for b in boxes]
            boxes = [b for b in boxes if b[2] - b[0] >= 2 and b[3] - b[1] >= 2]
            cv2.imwrite(osp.join(out, 'JPEGImages', name + '.jpg'), im,
                        [cv2.IMWRITE_JPEG_QUALITY, 85])
            h, w = im.shape[:2]
            with open(osp.join(out, 'Annotations', name + '.xml'), 'w') as f:
                f.write(voc_xml(name, w, h, boxes))
            records.append((name, w, h, boxes))
    splits = {'train': [r for i, r in enumerate(records) if i % 4 != 3],
              'val': [r for i, r in enumerate(records) if i % 4 == 3]}
    splits['trainval'] = records
    for split, recs in splits.items():
        with open(osp.join(out, 'ImageSets/Main', split + '.txt'), 'w') as f:
            f.write(''.join(r[0] + '\n' for r in recs))
        if split == 'trainval':
            continue
        images, anns = [], []
        for img_id, (name, w, h, boxes) in enumerate(recs, start=1):
            images.append(dict(id=img_id, file_name=f'JPEGImages/{name}.jpg', width=w,
                               height=h))
            for x1, y1, x2, y2 in boxes:
                anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=1,
                                 bbox=[x1, y1, x2 - x1, y2 - y1],
                                 area=(x2 - x1) * (y2 - y1), iscrowd=0))
        coco = dict(images=images, annotations=anns,
                    categories=[dict(id=1, name='tree', supercategory='plant')])
        with open(osp.join(out, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(coco, f)
    for split in ('train', 'val'):
        n_box = sum(len(r[3]) for r in splits[split])
        print(f'{split}: {len(splits[split])} images, {n_box} boxes')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
