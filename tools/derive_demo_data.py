"""Data folders derived from the embedded tiles (data/demo_detection), to try
``tools/demo.py --data`` on inputs laid out as other tools write them.

    python tools/derive_demo_data.py coco-renamed OUT   # COCO: 'potted plant' id 90,
                                                        # '_background_' id 0, ids from 0
    python tools/derive_demo_data.py voc-upscaled OUT [--factor 3]
                                                        # VOC: tiles and boxes 3x larger

``coco-renamed`` is the tiles' COCO files as an annotation tool exports them: the one
category renamed 'potted plant' and given id 90, a placeholder category ``_background_``
with id 0, image ids from 0, float box coordinates, files ``annotations/train.json`` and
``annotations/val.json``; the images are linked, not copied. ``voc-upscaled`` writes the
tiles resized by ``--factor`` (bicubic) in VOC layout, with empty ``<difficult/>`` and
``<truncated/>`` elements and the same train/val split in ImageSets/Main.
"""
import argparse
import json
import os
import os.path as osp

import cv2

ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'demo_detection')


def coco_renamed(out):
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    if not osp.exists(osp.join(out, 'JPEGImages')):
        os.symlink(osp.join(ROOT, 'JPEGImages'), osp.join(out, 'JPEGImages'))
    for split in ('train', 'val'):
        with open(osp.join(ROOT, 'annotations', f'instances_{split}.json')) as f:
            data = json.load(f)
        ids = {img['id']: i for i, img in enumerate(data['images'])}
        for img in data['images']:
            img['id'] = ids[img['id']]
        for ann in data['annotations']:
            ann['image_id'] = ids[ann['image_id']]
            ann['category_id'] = 90
            ann['bbox'] = [float(v) + 0.0 for v in ann['bbox']]
        data['categories'] = [dict(id=0, name='_background_', supercategory=''),
                              dict(id=90, name='potted plant', supercategory='plant')]
        with open(osp.join(out, 'annotations', f'{split}.json'), 'w') as f:
            json.dump(data, f)


def voc_upscaled(out, factor):
    for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    for split in ('train', 'val'):
        with open(osp.join(ROOT, 'annotations', f'instances_{split}.json')) as f:
            data = json.load(f)
        names = []
        for img in data['images']:
            stem = osp.splitext(osp.basename(img['file_name']))[0]
            names.append(stem)
            im = cv2.imread(osp.join(ROOT, img['file_name']))
            im = cv2.resize(im, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(osp.join(out, 'JPEGImages', stem + '.jpg'), im,
                        [cv2.IMWRITE_JPEG_QUALITY, 90])
            objs = ''.join(
                f'  <object>\n    <name>tree</name>\n    <truncated/>\n    <difficult/>\n'
                f'    <bndbox><xmin>{a["bbox"][0] * factor + 1:g}</xmin>'
                f'<ymin>{a["bbox"][1] * factor + 1:g}</ymin>'
                f'<xmax>{(a["bbox"][0] + a["bbox"][2]) * factor + 1:g}</xmax>'
                f'<ymax>{(a["bbox"][1] + a["bbox"][3]) * factor + 1:g}</ymax></bndbox>\n'
                '  </object>\n'
                for a in data['annotations'] if a['image_id'] == img['id'])
            with open(osp.join(out, 'Annotations', stem + '.xml'), 'w') as f:
                f.write(f'<annotation>\n  <filename>{stem}.jpg</filename>\n  <size><width>'
                        f'{im.shape[1]}</width><height>{im.shape[0]}</height><depth>3'
                        f'</depth></size>\n{objs}</annotation>\n')
        with open(osp.join(out, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('kind', choices=('coco-renamed', 'voc-upscaled'))
    parser.add_argument('out', help='the folder to write')
    parser.add_argument('--factor', type=float, default=3.0,
                        help='voc-upscaled: the resize factor (default: 3)')
    args = parser.parse_args(argv)
    if args.kind == 'coco-renamed':
        coco_renamed(args.out)
    else:
        voc_upscaled(args.out, args.factor)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
