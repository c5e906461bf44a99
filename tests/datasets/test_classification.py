"""Readers on small files written here: CIFAR batches, IDX, folder tree, list."""
import gzip
import pickle
import struct

import cv2
import numpy as np
import pytest

from mmresnet.datasets import (CIFAR10Dataset, FashionMNISTDataset, IDXDataset,
                               ImageFolderDataset, ImageListDataset, load_idx)


def write_cifar(root, n_per_batch=6):
    rng = np.random.default_rng(0)
    for name in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']:
        data = rng.integers(0, 255, (n_per_batch, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, n_per_batch))
        with open(root / name, 'wb') as f:
            pickle.dump({b'data': data, b'labels': [int(x) for x in labels]}, f)
    return data, labels


def test_cifar_splits_and_pixels(tmp_path):
    data, labels = write_cifar(tmp_path)
    train = CIFAR10Dataset(str(tmp_path), split='train', num_train=25)
    val = CIFAR10Dataset(str(tmp_path), split='val', num_train=25)
    test = CIFAR10Dataset(str(tmp_path), split='test')
    assert (len(train), len(val), len(test)) == (25, 5, 6)
    item = test.get_data_info(2)
    assert item['img'].shape == (32, 32, 3) and item['gt_label'] == labels[2]
    # CIFAR stores R plane, G plane, B plane: pixel (0, 0) is data[0], data[1024], data[2048].
    assert tuple(item['img'][0, 0]) == (data[2, 0], data[2, 1024], data[2, 2048])
    with pytest.raises(ValueError, match="'train', 'val', 'trainval', 'test'"):
        CIFAR10Dataset(str(tmp_path), split='dev')


def test_cifar_batch_refuses_code(tmp_path):
    write_cifar(tmp_path)

    class Evil:

        def __reduce__(self):
            return (print, ('owned', ))

    with open(tmp_path / 'test_batch', 'wb') as f:
        pickle.dump({b'data': Evil(), b'labels': []}, f)
    with pytest.raises(ValueError, match='test_batch.*builtins.print.*nothing was executed'):
        CIFAR10Dataset(str(tmp_path), split='test')


def write_idx(path, arr, gz=False):
    header = bytes([0, 0, 8, arr.ndim]) + b''.join(struct.pack('>I', d) for d in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize('gz', [False, True])
def test_idx_reader(tmp_path, gz):
    imgs = np.random.default_rng(0).integers(0, 255, (7, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / 'img', imgs, gz)
    write_idx(tmp_path / 'lab', np.arange(7) % 10, gz)
    assert np.array_equal(load_idx(str(tmp_path / 'img')), imgs)
    ds = IDXDataset(str(tmp_path), 'img', 'lab', metainfo=dict(classes=tuple('abcdefghij')))
    assert len(ds) == 7 and ds.get_data_info(3)['img'].shape == (28, 28, 1)
    assert ds.get_data_info(3)['gt_label'] == 3


def test_idx_errors_name_file(tmp_path):
    (tmp_path / 'bad').write_bytes(b'\x00\x00\x0d\x03abc')
    with pytest.raises(ValueError, match='bad is not an unsigned-byte IDX'):
        load_idx(str(tmp_path / 'bad'))
    write_idx(tmp_path / 'short', np.zeros((2, 4, 4)))
    (tmp_path / 'short').write_bytes((tmp_path / 'short').read_bytes()[:-5])
    with pytest.raises(ValueError, match='header says'):
        load_idx(str(tmp_path / 'short'))


def test_fashion_mnist_layout(tmp_path):
    for prefix, n in (('train', 5), ('t10k', 3)):
        write_idx(tmp_path / f'{prefix}-images-idx3-ubyte.gz', np.zeros((n, 28, 28)), True)
        write_idx(tmp_path / f'{prefix}-labels-idx1-ubyte.gz', np.arange(n), True)
    assert len(FashionMNISTDataset(str(tmp_path), split='test')) == 3
    with pytest.raises(FileNotFoundError, match='apt-get install dataset-fashion-mnist'):
        FashionMNISTDataset(str(tmp_path / 'missing'))


def make_tree(root):
    for cls in ('cat', 'dog'):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(root / cls / f'{i}.png'), np.full((8, 8, 3), i, np.uint8))


def test_folder_and_list(tmp_path):
    make_tree(tmp_path / 'train')
    ds = ImageFolderDataset(data_root=str(tmp_path / 'train'))
    assert ds.metainfo['classes'] == ('cat', 'dog') and len(ds) == 4
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == [0, 0, 1, 1]
    ann = tmp_path / 'list.txt'
    ann.write_text('cat/0.png 0\ndog/1.png dog\n')
    lst = ImageListDataset(ann_file=str(ann), data_prefix=dict(img_path=str(tmp_path / 'train')),
                           metainfo=dict(classes=('cat', 'dog')))
    assert [lst.get_data_info(i)['gt_label'] for i in range(len(lst))] == [0, 1]


@pytest.mark.parametrize('text, words', [
    ('cat/0.png\n', ['line 1', 'expected "<path> <label>"']),
    ('cat/0.png 0\ncat/1.png bird\n', ['line 2', "'bird' is not in the dataset classes"]),
    ('cat/0.png 7\n', ['line 1', 'label 7 out of range']),
])
def test_list_errors_name_line(tmp_path, text, words):
    ann = tmp_path / 'list.txt'
    ann.write_text(text)
    with pytest.raises(ValueError) as err:
        ImageListDataset(ann_file=str(ann), metainfo=dict(classes=('cat', 'dog')))
    for w in words:
        assert w in str(err.value)
