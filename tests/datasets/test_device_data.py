"""The device data path: the same augmentation as the CPU pipeline, an exact and resumable
stream of permutations, and clear errors."""
import numpy as np
import pytest
import torch
from mmcv.transforms import RandomFlip

import mmresnet.datasets.transforms as T
from mmresnet.datasets import (DeviceTensorLoader, SyntheticClsDataset, augment_from_pipeline,
                               pad_crop_flip, sample_pad_crop_flip)

CIFAR_PIPELINE = [dict(type='RandomCropPad', size=32, padding=4),
                  dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
                  dict(type='PackClsInputs')]


def cpu_pipeline(img, offset, flip, monkeypatch, size=32, padding=4):
    """The CPU transforms of the CIFAR recipe with the random draws fixed."""
    draws = iter(offset)
    monkeypatch.setattr(T.random, 'randint', lambda lo, hi: next(draws))
    out = T.RandomCropPad(size=size, padding=padding).transform(dict(img=img.copy()))
    out = RandomFlip(prob=1.0 if flip else 0.0, direction='horizontal').transform(out)
    return out['img']


@pytest.mark.parametrize('channels', [3, 1])
def test_pad_crop_flip_equals_the_cpu_transforms(channels, monkeypatch):
    rng = np.random.default_rng(0)
    imgs = rng.integers(1, 256, (6, 32, 32, channels), dtype=np.uint8)  # no zeros: pad shows
    offsets = torch.tensor([[0, 0], [8, 8], [0, 8], [8, 0], [3, 5], [4, 4]])
    flips = torch.tensor([False, True, True, False, True, False])
    batch = torch.from_numpy(imgs).permute(0, 3, 1, 2)
    out = pad_crop_flip(batch, 4, offsets, flips)
    assert out.shape == batch.shape and out.dtype == torch.uint8
    for i in range(len(imgs)):
        ref = cpu_pipeline(imgs[i], offsets[i].tolist(), bool(flips[i]), monkeypatch)
        np.testing.assert_array_equal(out[i].permute(1, 2, 0).numpy(), ref.reshape(32, 32, -1))
    # offset (0, 0): the top 4 rows and left 4 columns are the zero padding.
    assert out[0, :, :4].eq(0).all() and out[0, :, :, :4].eq(0).all()
    assert out[0, :, 4:, 4:].gt(0).all()
    # offset (4, 4) without flip: the image itself.
    assert torch.equal(out[5], batch[5])


def test_crop_smaller_than_the_image(monkeypatch):
    img = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    out = pad_crop_flip(torch.from_numpy(img[None]).permute(0, 3, 1, 2), 0,
                        torch.tensor([[2, 3]]), torch.tensor([True]), size=(6, 8))
    ref = cpu_pipeline(img, [2, 3], True, monkeypatch, size=(6, 8), padding=0)
    np.testing.assert_array_equal(out[0].permute(1, 2, 0).numpy(), ref)


def test_random_draws_cover_the_range_with_the_flip_probability():
    g = torch.Generator().manual_seed(0)
    offsets, flips = sample_pad_crop_flip(20000, 4, 0.5, g, 'cpu')
    for axis in range(2):
        counts = torch.bincount(offsets[:, axis], minlength=9)
        assert len(counts) == 9 and counts.min() > 20000 / 9 * 0.9, counts  # uniform 0..8
    assert abs(flips.float().mean().item() - 0.5) < 0.02
    _, none = sample_pad_crop_flip(100, 4, 0.0, g, 'cpu')
    assert not none.any()


def test_pipeline_translation_and_its_errors():
    assert augment_from_pipeline(CIFAR_PIPELINE, (32, 32)) == dict(
        padding=4, size=(32, 32), flip_prob=0.5)
    assert augment_from_pipeline([dict(type='PackClsInputs')], (28, 28)) == dict(
        padding=0, size=(28, 28), flip_prob=0.0)
    with pytest.raises(ValueError, match=r"'PCALighting'.*allowed transforms.*RandomCropPad"):
        augment_from_pipeline([dict(type='PCALighting'), dict(type='PackClsInputs')], (32, 32))
    with pytest.raises(ValueError, match='horizontal'):
        augment_from_pipeline([dict(type='mmcv.RandomFlip', prob=0.5, direction='vertical')],
                              (32, 32))
    with pytest.raises(ValueError, match='larger than the padded image'):
        augment_from_pipeline([dict(type='RandomCropPad', size=40, padding=2)], (32, 32))


def dataset(n=40, shape=(8, 8, 3)):
    return SyntheticClsDataset(num_samples=n, img_shape=shape, num_classes=5, seed=1)


def test_every_epoch_is_a_permutation_and_batches_run_across_epochs():
    ds = dataset(40)
    loader = DeviceTensorLoader(ds, 16, 'cpu', seed=3)
    images = torch.from_numpy(ds._images).permute(0, 3, 1, 2)
    labels = torch.tensor([d['gt_label'] for d in ds.data_list])
    # Each image is unique, so a batch's images tell which indices it drew.
    flat = images.reshape(40, -1)
    seen = []
    for _ in range(5):  # 80 images = two epochs exactly
        batch = next(loader)
        assert batch['inputs'].shape == (16, 3, 8, 8) and batch['inputs'].dtype == torch.uint8
        idx = [int((flat == x.reshape(1, -1)).all(1).nonzero()) for x in batch['inputs']]
        assert torch.equal(batch['data_samples'], labels[idx])
        seen += idx
    assert sorted(seen[:40]) == list(range(40)) and sorted(seen[40:]) == list(range(40))
    assert seen[:40] != seen[40:]  # a fresh permutation each epoch
    assert len(loader) == 3


def test_seek_reproduces_the_stream_and_ranks_split_the_data():
    ds = dataset(40)
    aug = dict(padding=2, flip_prob=0.5)
    a = DeviceTensorLoader(ds, 8, 'cpu', seed=5, **aug)
    stream = [next(a) for _ in range(12)]
    b = DeviceTensorLoader(ds, 8, 'cpu', seed=5, **aug)
    b.seek(7)
    for k in range(7, 12):
        got = next(b)
        assert torch.equal(got['inputs'], stream[k]['inputs'])
        assert torch.equal(got['data_samples'], stream[k]['data_samples'])
    other_seed = DeviceTensorLoader(ds, 8, 'cpu', seed=6, **aug)
    assert not torch.equal(next(other_seed)['inputs'], stream[0]['inputs'])
    big_seed = DeviceTensorLoader(ds, 8, 'cpu', seed=2**31 - 1, **aug)  # MMEngine's range
    assert next(big_seed)['inputs'].shape == (8, 3, 8, 8)

    # Two ranks: same permutation, disjoint halves that cover the epoch.
    plain = dict(padding=0, flip_prob=0.0)
    flat = torch.from_numpy(ds._images).permute(0, 3, 1, 2).reshape(40, -1)
    halves = []
    for rank in range(2):
        r = DeviceTensorLoader(ds, 5, 'cpu', seed=5, rank=rank, world_size=2, **plain)
        got = torch.cat([next(r)['inputs'] for _ in range(4)]).reshape(20, -1)
        halves.append({int((flat == x).all(1).nonzero()) for x in got})
    assert not halves[0] & halves[1] and halves[0] | halves[1] == set(range(40))


def test_loader_errors():
    ds = dataset(10)
    with pytest.raises(ValueError, match='fewer than one batch'):
        DeviceTensorLoader(ds, 6, 'cpu', world_size=2)
    with pytest.raises(ValueError, match='positive int'):
        DeviceTensorLoader(ds, 0, 'cpu')
    with pytest.raises(ValueError, match='rank 2 is not in'):
        DeviceTensorLoader(ds, 2, 'cpu', rank=2, world_size=2)

    class FileDataset:
        pass
    with pytest.raises(ValueError, match='in-memory array data set.*got FileDataset'):
        DeviceTensorLoader(FileDataset(), 2, 'cpu')


def test_grey_images_get_a_channel_axis():
    loader = DeviceTensorLoader(dataset(12, (28, 28, 1)), 4, 'cpu', pipeline=CIFAR_PIPELINE[1:])
    assert next(loader)['inputs'].shape == (4, 1, 28, 28) and loader.flip_prob == 0.5
