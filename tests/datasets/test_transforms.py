"""Geometry of each transform of the recipes; bad images are named or skipped."""
import numpy as np
import pytest

from mmresnet.datasets import (LoadImage, PackClsInputs, PCALighting, RandomCropPad,
                               ResizeShortSide, TenCrop)


def img(h, w, c=3):
    return np.arange(h * w * c, dtype=np.uint8).reshape(h, w, c)


@pytest.mark.parametrize('hw, size, out', [((100, 200), 256, (256, 512)),
                                           ((300, 150), 224, (448, 224))])
def test_resize_short_side(hw, size, out):
    r = ResizeShortSide(size)(dict(img=img(*hw)))
    assert r['img'].shape[:2] == out


def test_resize_short_side_random_range():
    sides = {min(ResizeShortSide((256, 480))(dict(img=img(50, 80)))['img'].shape[:2])
             for _ in range(30)}
    assert min(sides) >= 256 and max(sides) <= 480 and len(sides) > 5
    with pytest.raises(ValueError, match='range'):
        ResizeShortSide((480, 256))


def test_pad_crop_keeps_size_and_content():
    x = img(32, 32)
    for _ in range(10):
        out = RandomCropPad(32, padding=4)(dict(img=x))['img']
        assert out.shape == (32, 32, 3)
        # The crop is a shifted copy: some 24x24 window of x appears in it unchanged.
        assert np.isin(out, x).mean() > 0.5
    with pytest.raises(ValueError, match='smaller than the crop'):
        RandomCropPad(40)(dict(img=x))


def test_ten_crop_views():
    x = img(6, 8)
    views = TenCrop(4)(dict(img=x))['img']
    assert views.shape == (10, 4, 4, 3)
    assert np.array_equal(views[0], x[:4, :4]) and np.array_equal(views[3], x[2:, 4:])
    assert np.array_equal(views[4], x[1:5, 2:6])
    assert np.array_equal(views[5], x[:4, :4][:, ::-1])


def test_pca_lighting_shifts_each_channel_uniformly():
    x = np.full((4, 4, 3), 128, np.uint8)
    out = PCALighting(std=0.5)(dict(img=x.copy()))['img'].astype(int)
    assert (out != 128).any() and all(len(np.unique(out[..., c])) == 1 for c in range(3))


def test_pca_lighting_lookup_table_equals_the_float_formula():
    # The uint8 path (a lookup table) gives what the float32 formula gives, bit for bit,
    # including the clipping at 0 and 255.
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    x[0, 3:6] = 0
    x[1, 3:6] = 255
    t = PCALighting(std=2.0)
    clipped = set()
    for seed in range(5):
        np.random.seed(seed)
        got = t(dict(img=x[::-1, 3:]))['img']  # a strided view, as after a crop
        np.random.seed(seed)
        alpha = np.random.normal(0, 2.0, 3).astype(np.float32)
        delta = (t.eigvec @ (alpha * t.eigval))[::-1]
        ref = np.clip(x[::-1, 3:].astype(np.float32) + delta, 0, 255).astype(np.uint8)
        assert got.dtype == np.uint8 and got.shape == ref.shape
        np.testing.assert_array_equal(got, ref)
        clipped |= {v for v in (0, 255) if (got == v).any()}
    assert clipped == {0, 255}


@pytest.mark.parametrize('shape', [(9, 7, 3), (9, 7, 1), (9, 7), (9, 7, 4)])
def test_contiguous_image_equals_numpy_for_flipped_and_cropped_views(shape):
    from mmresnet.datasets.transforms import contiguous_image
    x = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    for view in (x[1:8, ::-1], x[1:8, 2:6][:, ::-1], x[::-1], x[1:8, 2:6], x):
        got = contiguous_image(view)
        assert got.flags['C_CONTIGUOUS'] and got.shape == view.shape
        np.testing.assert_array_equal(got, view)


def test_pack_views_and_label():
    packed = PackClsInputs()(dict(img=np.zeros((10, 4, 5, 3), np.uint8), gt_label=3))
    assert packed['inputs'].shape == (10, 3, 4, 5)
    assert int(packed['data_samples'].gt_label) == 3


def test_load_image_errors_and_skip(tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='cannot decode image .*bad.jpg'):
        LoadImage()(dict(img_path=str(bad)))
    with pytest.raises(FileNotFoundError, match='image file not found: .*missing.jpg'):
        LoadImage()(dict(img_path=str(tmp_path / 'missing.jpg')))
    loader = LoadImage(skip_bad=True)
    assert loader(dict(img_path=str(bad))) is None and loader.skipped == 1
