"""The deployed detector's preprocessing (mmresnet.deploy.runtime.preprocess) gives what
mmdet's DetDataPreprocessor gives, value for value, on real images of several sizes."""
import glob
import os.path as osp

import mmcv
import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.structures import DetDataSample

from mmresnet.deploy.runtime import preprocess

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMAGES = sorted(glob.glob(osp.join(ROOT, 'data/demo_detection/JPEGImages/*.jpg')))[:3]


def _batch(sizes):
    """The demo's tree tiles (uint8 BGR), resized to ``sizes``, as a test dataloader
    gives them (pseudo_collate: a list of (3, H, W) tensors and their samples)."""
    inputs, samples = [], []
    for path, (h, w) in zip(IMAGES, sizes):
        image = mmcv.imresize(mmcv.imread(path), (w, h))
        inputs.append(torch.from_numpy(image).permute(2, 0, 1).contiguous())
        samples.append(DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w))))
    return {'inputs': inputs, 'data_samples': samples}


@pytest.mark.parametrize('settings', [
    dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False,
         pad_size_divisor=32),  # the paper's caffe style
    dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
         pad_size_divisor=32, pad_value=5),
    dict(pad_size_divisor=1),  # no normalisation, no padding
])
@pytest.mark.parametrize('sizes', [[(320, 320)], [(300, 417), (256, 256), (333, 250)]])
def test_equals_mmdet(settings, sizes, monkeypatch):
    preprocessor = DetDataPreprocessor(**settings)
    theirs = preprocessor(_batch(sizes))

    def not_called(*args, **kwargs):
        raise AssertionError('the plain DetDataPreprocessor took the slow road')
    monkeypatch.setattr(DetDataPreprocessor, 'forward', not_called)
    ours = preprocess(preprocessor, _batch(sizes))
    assert ours['inputs'].dtype == theirs['inputs'].dtype == torch.float32
    assert torch.equal(ours['inputs'], theirs['inputs'])  # bit for bit, padding included
    for a, b in zip(ours['data_samples'], theirs['data_samples']):
        assert a.metainfo == b.metainfo  # batch_input_shape and pad_shape set alike


def test_other_preprocessors_run_themselves():
    """A subclass (its forward may do more) is called, not bypassed."""
    calls = []

    class Custom(DetDataPreprocessor):
        def forward(self, data, training=False):
            calls.append(training)
            return super().forward(data, training)

    out = preprocess(Custom(pad_size_divisor=32), _batch([(64, 96)]))
    assert calls == [False] and out['inputs'].shape == (1, 3, 64, 96)
