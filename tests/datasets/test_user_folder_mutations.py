"""The data folder readers under mutation (hypothesis): COCO JSON and VOC XML exports, and
their images, broken the ways files break (keys dropped, types swapped, numbers made NaN,
negative or huge, strings truncated, files emptied or replaced). The only outcomes allowed:
a clean read, or one DataError that names the file."""
import copy
import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

import pytest

hypothesis = pytest.importorskip('hypothesis', reason='hypothesis is installed by '
                                 'tools/setup_env.sh')
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mmresnet.datasets import DataError, DetectionFolder, read_detection_folder  # noqa: E402

from .user_folder_exports import coco_export, voc_export  # noqa: E402

# Small files, images only as large as the boxes need; examples are spread between the
# two layouts (the suite's count: COCO_EXAMPLES + VOC_EXAMPLES).
COCO_EXAMPLES, VOC_EXAMPLES = 250, 150
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

VALUES = [None, True, False, 0, -1, 1, 7, 2 ** 70, -3.5, 1e308, float('nan'), float('inf'),
          -float('inf'), '', ' ', 'x', '7', 'a.jpg', '../../../etc/hostname', [], {},
          [1, 2, 3, 4], [1, 'x', 3, 4], {'id': 1}]
TEXTS = ['', ' ', 'nan', '-5', '1e400', '-1e400', 'abc', '0', '1', '99999999999999999999',
         '12.5', '<', '&amp;', '\u00e9', 'inf']
FILE_CHANGES = ['empty', 'truncate', 'bytes', 'other json', 'other xml']


def _paths(node, prefix=()):
    """Every path into a JSON tree (keys and list indices)."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k, ))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i, ))
    return out


def _get(node, path):
    for k in path:
        node = node[k]
    return node


def _change_file(path, how, cut, original):
    """Empty, truncate, overwrite with bytes, or replace with another format."""
    data = {'empty': b'', 'truncate': original[:cut % max(1, len(original))],
            'bytes': bytes(range(256))[cut % 200:] * 3,
            'other json': b'[1, 2, {"images": null}]', 'other xml': b'<a><b/></a>'}[how]
    with open(path, 'wb') as f:
        f.write(data)


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp('mutations')
    coco = coco_export(str(base / 'coco'), sub='images')  # one instances_default.json
    voc = voc_export(str(base / 'voc'))  # no ImageSets: the class-aware split
    files = {}
    for root in (coco, voc):
        for dirpath, _, names in os.walk(root):
            for n in names:
                p = osp.join(dirpath, n)
                files[p] = open(p, 'rb').read()
    return dict(coco=coco, voc=voc, files=files)


def _restore(folders):
    for p, data in folders['files'].items():
        with open(p, 'wb') as f:
            f.write(data)


def _read_or_named_error(root, named):
    """A clean read, or one DataError that names ``named``."""
    try:
        data = read_detection_folder(root)
    except DataError as e:
        assert named in str(e), f'DataError does not name {named}: {e}'
        return 'error'
    assert isinstance(data, DetectionFolder)
    return 'read'


COCO_FILE = 'instances_default.json'


@settings(max_examples=COCO_EXAMPLES, **SETTINGS)
@given(kind=st.sampled_from(['drop', 'replace', 'truncate', 'file', 'image']),
       pick=st.integers(0, 10 ** 6), value=st.sampled_from(VALUES),
       how=st.sampled_from(FILE_CHANGES), cut=st.integers(0, 10 ** 6))
def test_coco_mutations_read_or_name_the_file(folders, kind, pick, value, how, cut):
    _restore(folders)
    ann = osp.join(folders['coco'], 'annotations', COCO_FILE)
    original = folders['files'][ann]
    data = json.loads(original)
    named = COCO_FILE
    paths = _paths(data)
    if kind == 'drop':
        keyed = [p for p in paths if p and isinstance(p[-1], str)]
        path = keyed[pick % len(keyed)]
        del _get(data, path[:-1])[path[-1]]
    elif kind == 'replace':
        path = paths[1:][pick % (len(paths) - 1)]
        _get(data, path[:-1])[path[-1]] = copy.deepcopy(value)
    elif kind == 'truncate':
        texts = [p for p in paths if p and isinstance(_get(data, p), str)]
        path = texts[pick % len(texts)]
        text = _get(data, path)
        _get(data, path[:-1])[path[-1]] = text[:cut % max(1, len(text))]
    if kind in ('drop', 'replace', 'truncate'):
        with open(ann, 'w') as f:
            json.dump(data, f)  # NaN and Infinity as Python writes them
    elif kind == 'file':
        _change_file(ann, how, cut, original)
    else:  # an image emptied or replaced
        images = sorted(p for p in folders['files'] if p.endswith('.jpg')
                        and p.startswith(folders['coco']))
        image = images[pick % len(images)]
        _change_file(image, how, cut, folders['files'][image])
        named = osp.basename(image)
    _read_or_named_error(folders['coco'], named)


def _xml_change(text, pick, kind, value):
    root = ET.fromstring(text)
    elements = list(root.iter())[1:]
    el = elements[pick % len(elements)]
    if kind == 'drop':
        parent = next(p for p in root.iter() if el in list(p))
        parent.remove(el)
    elif kind == 'replace':
        el.text = value
        for child in list(el):
            el.remove(child)
    elif kind == 'truncate':
        el.text = (el.text or '')[:len(el.text or '') // 2]
    elif kind == 'rename':
        el.tag = 'renamed'
    else:  # duplicated
        parent = next(p for p in root.iter() if el in list(p))
        parent.append(copy.deepcopy(el))
    return ET.tostring(root)


@settings(max_examples=VOC_EXAMPLES, **SETTINGS)
@given(kind=st.sampled_from(['drop', 'replace', 'truncate', 'rename', 'duplicate', 'file',
                             'image']),
       which=st.sampled_from(['a', 'b', 'c']), pick=st.integers(0, 10 ** 6),
       value=st.sampled_from(TEXTS), how=st.sampled_from(FILE_CHANGES),
       cut=st.integers(0, 10 ** 6))
def test_voc_mutations_read_or_name_the_file(folders, kind, which, pick, value, how, cut):
    _restore(folders)
    xml = osp.join(folders['voc'], 'Annotations', f'{which}.xml')
    named = f'{which}.xml'
    if kind == 'file':
        _change_file(xml, how, cut, folders['files'][xml])
    elif kind == 'image':
        image = osp.join(folders['voc'], 'JPEGImages', f'{which}.jpg')
        _change_file(image, how, cut, folders['files'][image])
        named = f'{which}.jpg'
    else:
        with open(xml, 'wb') as f:
            f.write(_xml_change(folders['files'][xml], pick, kind, value))
    _read_or_named_error(folders['voc'], named)
