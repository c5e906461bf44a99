"""Classification data sets in the formats users have on disk.

- :class:`CIFAR10Dataset`: the python-pickle batches (``data_batch_1..5``, ``test_batch``),
  with the paper's 45k/5k train/val split (Section 4.2) as ``split='train'|'val'``.
- :class:`IDXDataset` / :class:`FashionMNISTDataset`: MNIST-style IDX files (optionally .gz),
  e.g. Debian's ``dataset-fashion-mnist`` under /usr/share/datasets/fashion-mnist.
- :class:`ImageFolderDataset`: ImageNet as one folder per class.
- :class:`ImageListDataset`: an annotation list, ``relative/path.jpg label`` per line.
- :class:`SyntheticClsDataset`: seeded random images of a given shape (benchmarks, smoke
  runs on machines without a data set; CIFAR-shaped by default).

Every reader checks what it reads and names the file (and line) it cannot use.
"""
import gzip
import zlib
import os
import os.path as osp
import pickle

import numpy as np
from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset

from ..checkpoint import UnsafeCheckpointError, load_pickle
from ..utils import IMG_EXTENSIONS, check_choice, check_counts, check_int_tuple

CIFAR10_CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
                   'ship', 'truck')
FASHION_MNIST_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
                         'Shirt', 'Sneaker', 'Bag', 'Ankle boot')


def load_cifar_batch(path):
    """Return (images uint8 N x 32 x 32 x 3, labels int64 N) of one CIFAR-10 batch file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CIFAR-10 batch not found: {path} (expected the python '
                                'version: data_batch_1..5, test_batch)')
    try:
        with open(path, 'rb') as f:
            # the project's one allow-list (numpy arrays, bytes, dicts): nothing that runs code
            entry = load_pickle(f, path, encoding='bytes')
        data = np.asarray(entry[b'data'], dtype=np.uint8)
        labels = np.asarray(entry.get(b'labels', entry.get(b'fine_labels')), dtype=np.int64)
    except UnsafeCheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f'{path} is not a CIFAR-10 python batch (a pickled dict with '
                         f'b"data" N x 3072 uint8 and b"labels"): {e}') from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise ValueError(f'{path}: expected data of shape (N, 3072) and N labels, got '
                         f'{data.shape} and {len(labels)}')
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def _open_maybe_gz(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] != b'\x1f\x8b':
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f'{path}: corrupt or truncated gzip stream ({type(e).__name__}: '
                         f'{e or "it ends before the end-of-stream marker"}); download or '
                         'install the file again') from None


def load_idx(path):
    """Read an IDX file (MNIST format): magic 0x0000 08 <ndim>, big-endian dims, uint8."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'IDX file not found: {path}')
    raw = _open_maybe_gz(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f'{path} is not an unsigned-byte IDX file (expected magic '
                         f'00 00 08 <ndim>, got {raw[:4].hex(" ")})')
    ndim = raw[3]
    if not 1 <= ndim <= 4 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f'{path}: IDX header gives {ndim} dimensions; allowed: 1 (labels) '
                         'to 4, with 4 bytes per dimension after the magic')
    dims = np.frombuffer(raw, dtype='>u4', count=ndim, offset=4).astype(int)
    expected = int(np.prod(dims))
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != expected:
        raise ValueError(f'{path}: header says {tuple(dims)} ({expected} bytes), file holds '
                         f'{body.size}')
    return body.reshape(tuple(dims)).copy()  # writable, detached from the file buffer


class _ArrayClsDataset(BaseDataset):
    """Images held in one array; ``data_list`` keeps indices and labels only."""

    def __init__(self, *args, serialize_data=False, **kwargs):
        super().__init__(*args, serialize_data=serialize_data, **kwargs)

    def _set_arrays(self, images, labels, source=None):
        classes = self.metainfo.get('classes')
        if classes is not None and len(labels) and (labels.min() < 0
                                                     or labels.max() >= len(classes)):
            where = f'{source}: ' if source else ''
            raise ValueError(f'{where}labels must be in [0, {len(classes) - 1}] for '
                             f'{len(classes)} classes, got {labels.min()}..{labels.max()}')
        self._images = images
        return [dict(sample_idx=i, gt_label=int(l)) for i, l in enumerate(labels)]

    def get_data_info(self, idx):
        info = super().get_data_info(idx)
        img = self._images[info['sample_idx']]
        info['img'] = img[..., None] if img.ndim == 2 else img
        info['img_shape'] = info['ori_shape'] = info['img'].shape[:2]
        return info


@DATASETS.register_module()
class CIFAR10Dataset(_ArrayClsDataset):
    """CIFAR-10 from its python batches.

    Args:
        data_root (str): Folder with ``data_batch_1..5`` and ``test_batch``.
        split (str): 'train' (first 45k, Section 4.2), 'val' (last 5k of the training
            batches), 'trainval' (all 50k) or 'test' (10k). Default: 'trainval'.
        num_train (int): Size of the 'train' part of the 50k. Default: 45000.
    """
    METAINFO = dict(classes=CIFAR10_CLASSES)
    SPLITS = ('train', 'val', 'trainval', 'test')

    def __init__(self, data_root, split='trainval', num_train=45000, **kwargs):
        check_choice('split', split, self.SPLITS)
        self.split, self.num_train = split, num_train
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self):
        names = ['test_batch'] if self.split == 'test' else [
            f'data_batch_{i}' for i in range(1, 6)]
        parts = [load_cifar_batch(osp.join(self.data_root, n)) for n in names]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        if self.split == 'train':
            images, labels = images[:self.num_train], labels[:self.num_train]
        elif self.split == 'val':
            images, labels = images[self.num_train:], labels[self.num_train:]
        if not len(images):
            raise ValueError(f'CIFAR-10 split {self.split!r} under {self.data_root} is empty: '
                             f'the training batches hold {len(parts[0][0]) * len(parts)} '
                             f'images and num_train={self.num_train}')
        return self._set_arrays(images, labels)


@DATASETS.register_module()
class IDXDataset(_ArrayClsDataset):
    """Images and labels from a pair of IDX files (MNIST layout), grey ``H x W x 1``.

    Args:
        data_root (str): Folder of the files.
        img_file (str): Images file, e.g. 'train-images-idx3-ubyte.gz'.
        label_file (str): Labels file, e.g. 'train-labels-idx1-ubyte.gz'.
        num_samples (int, optional): Keep only the first N (quick runs). Default: all.
    """

    def __init__(self, data_root, img_file, label_file, num_samples=None, **kwargs):
        self.img_file, self.label_file, self.num_samples = img_file, label_file, num_samples
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self):
        img_path = osp.join(self.data_root, self.img_file)
        label_path = osp.join(self.data_root, self.label_file)
        images = load_idx(img_path)
        labels = load_idx(label_path).astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f'{img_path}: expected N x H x W images and N labels, got '
                             f'{images.shape} and {labels.shape}')
        if self.num_samples is not None:
            images, labels = images[:self.num_samples], labels[:self.num_samples]
        return self._set_arrays(images, labels, source=label_path)


@DATASETS.register_module()
class FashionMNISTDataset(IDXDataset):
    """Fashion-MNIST (Xiao et al. 2017; MIT licence), 28 x 28 grey, 10 classes.

    Args:
        data_root (str): Default: Debian's /usr/share/datasets/fashion-mnist.
        split (str): 'train' (60k) or 'test' (10k).
    """
    METAINFO = dict(classes=FASHION_MNIST_CLASSES)
    SPLITS = ('train', 'test')

    def __init__(self, data_root='/usr/share/datasets/fashion-mnist', split='train',
                 **kwargs):
        check_choice('split', split, self.SPLITS)
        prefix = 'train' if split == 'train' else 't10k'
        if not osp.isdir(data_root):
            raise FileNotFoundError(
                f'Fashion-MNIST folder not found: {data_root} (on Debian/Ubuntu: '
                f'apt-get install dataset-fashion-mnist)')
        super().__init__(data_root, f'{prefix}-images-idx3-ubyte.gz',
                         f'{prefix}-labels-idx1-ubyte.gz', **kwargs)


class _FileClsDataset(BaseDataset):
    """Image files on disk; the pipeline starts with ``LoadImage``."""

    def _class_index(self, name, where):
        classes = self.metainfo['classes']
        if name not in self._index:
            raise ValueError(f'{where}: class {name!r} is not in the dataset classes '
                             f'({len(classes)}: {", ".join(map(str, classes[:10]))}...)')
        return self._index[name]


@DATASETS.register_module()
class ImageFolderDataset(_FileClsDataset):
    """ImageNet-style tree: ``data_root/<class name>/<image>``; classes sorted by name,
    or given by ``metainfo=dict(classes=...)`` (then every folder must be one of them)."""

    def load_data_list(self):
        root = self.data_root
        if not osp.isdir(root):
            raise FileNotFoundError(f'image folder not found: {root}')
        folders = sorted(d for d in os.listdir(root) if osp.isdir(osp.join(root, d)))
        if not folders:
            raise ValueError(f'{root} holds no class folders (expected root/<class>/<img>)')
        if self._metainfo.get('classes') is None:
            self._metainfo['classes'] = tuple(folders)
        self._index = {c: i for i, c in enumerate(self._metainfo['classes'])}
        data = []
        for folder in folders:
            label = self._class_index(folder, osp.join(root, folder))
            for dirpath, _, files in sorted(os.walk(osp.join(root, folder))):
                for f in sorted(files):
                    if f.lower().endswith(IMG_EXTENSIONS):
                        data.append(dict(img_path=osp.join(dirpath, f), gt_label=label))
        if not data:
            raise ValueError(f'{root}: no images with extensions {IMG_EXTENSIONS}')
        return data


@DATASETS.register_module()
class ImageListDataset(_FileClsDataset):
    """Annotation list: one ``relative/path label`` per line (label: int or class name),
    paths relative to ``data_root``/``data_prefix['img_path']``."""

    def load_data_list(self):
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'annotation list not found: {self.ann_file}')
        classes = self._metainfo.get('classes')
        self._index = {c: i for i, c in enumerate(classes or ())}
        prefix = self.data_prefix.get('img_path', '') or self.data_root
        data = []
        with open(self.ann_file) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip() or line.lstrip().startswith('#'):
                    continue
                parts = line.rsplit(maxsplit=1)
                where = f'{self.ann_file}, line {lineno}'
                if len(parts) != 2:
                    raise ValueError(f'{where}: expected "<path> <label>", got {line!r}')
                path, label = parts
                if label.lstrip('-').isdigit():
                    label = int(label)
                    if label < 0 or (classes is not None and label >= len(classes)):
                        raise ValueError(f'{where}: label {label} out of range [0, '
                                         f'{len(classes) - 1 if classes else "inf"}]')
                else:
                    if classes is None:
                        raise ValueError(f'{where}: class name {label!r} needs '
                                         'metainfo=dict(classes=...)')
                    label = self._class_index(label, where)
                data.append(dict(img_path=osp.join(prefix, path), gt_label=label))
        if classes is None:
            n = max(d['gt_label'] for d in data) + 1 if data else 0
            self._metainfo['classes'] = tuple(str(i) for i in range(n))
        return data


@DATASETS.register_module()
class SyntheticClsDataset(_ArrayClsDataset):
    """Seeded random uint8 images and labels, held in memory (benchmarks and smoke runs:
    the numbers it gives are speeds, never accuracies).

    Args:
        num_samples (int): Images. Default: 50000 (CIFAR-10's training set).
        img_shape (tuple[int]): ``(H, W, C)``. Default: (32, 32, 3).
        num_classes (int): Labels drawn uniformly in ``[0, num_classes)``. Default: 10.
        seed (int): Default: 0.
    """

    def __init__(self, num_samples=50000, img_shape=(32, 32, 3), num_classes=10, seed=0,
                 **kwargs):
        check_counts(num_samples=num_samples, num_classes=num_classes)
        if len(check_int_tuple('SyntheticClsDataset: img_shape (H, W, C)', img_shape)) != 3:
            raise ValueError(f'SyntheticClsDataset: img_shape must be (H, W, C), got '
                             f'{img_shape!r}')
        self.num_samples, self.img_shape = num_samples, tuple(img_shape)
        self.num_classes, self.seed = num_classes, seed
        kwargs.setdefault('metainfo', dict(
            classes=tuple(f'class_{i}' for i in range(num_classes))))
        super().__init__(**kwargs)

    def load_data_list(self):
        rng = np.random.default_rng(self.seed)
        images = rng.integers(0, 256, (self.num_samples, *self.img_shape), dtype=np.uint8)
        labels = rng.integers(0, self.num_classes, self.num_samples)
        return self._set_arrays(images, labels)


__all__ = ['CIFAR10Dataset', 'IDXDataset', 'FashionMNISTDataset', 'ImageFolderDataset',
           'ImageListDataset', 'load_cifar_batch', 'load_idx', 'CIFAR10_CLASSES',
           'FASHION_MNIST_CLASSES', 'SyntheticClsDataset']
