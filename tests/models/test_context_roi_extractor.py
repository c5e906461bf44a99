"""ContextRoIExtractor pools each RoI enlarged about its centre, on one or several maps."""
import pytest
import torch
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

from mmresnet.models import ContextRoIExtractor

LAYER = dict(type='RoIAlign', output_size=4, sampling_ratio=2)


def _feats(strides):
    torch.manual_seed(0)
    return tuple(torch.randn(2, 3, 64 // s, 64 // s) for s in strides)


@pytest.mark.parametrize('strides', [[4], [4, 8]])
def test_pools_the_enlarged_rois(strides):
    feats = _feats(strides)
    rois = torch.tensor([[0, 10., 12., 30., 24.], [1, 20., 20., 36., 44.]])
    big = rois.clone()
    centre, half = (big[:, 1:3] + big[:, 3:5]) / 2, (big[:, 3:5] - big[:, 1:3]) / 2 * 1.5
    big[:, 1:3], big[:, 3:5] = centre - half, centre + half
    plain = SingleRoIExtractor(roi_layer=LAYER, out_channels=3, featmap_strides=strides,
                               finest_scale=8)
    ctx = ContextRoIExtractor(context=1.5, roi_layer=LAYER, out_channels=3,
                              featmap_strides=strides, finest_scale=8)
    got = ctx(feats, rois)
    assert got.shape == (2, 3, 4, 4)
    if len(strides) == 1:
        assert torch.allclose(got, plain(feats, big), atol=1e-6)
    assert not torch.allclose(got, plain(feats, rois), atol=1e-3)
    one = ContextRoIExtractor(roi_layer=LAYER, out_channels=3, featmap_strides=strides,
                              finest_scale=8)
    assert torch.equal(one(feats, rois), plain(feats, rois))  # context 1: mmdet's


@pytest.mark.parametrize('bad', [0.5, 'wide', True])
def test_bad_context_is_named(bad):
    with pytest.raises(ValueError, match='context must be a number >= 1'):
        ContextRoIExtractor(context=bad, roi_layer=LAYER, out_channels=3,
                            featmap_strides=[4])
