"""ONNX export: every PaperResNet classifier form and both Faster R-CNN kinds (C4, FPN),
small seeded models, ONNX Runtime against PyTorch (docs/deploy.md)."""
import os.path as osp
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip('onnx', reason="the deploy extra (pip install 'mmresnet[deploy]') "
                    'is not installed')
pytest.importorskip('onnxruntime', reason="the deploy extra (pip install "
                    "'mmresnet[deploy]') is not installed")

from mmresnet.deploy.detector import DetectorForExport, UnsupportedModelError  # noqa: E402
from mmresnet.deploy.export import ClassifierForExport, export_onnx, write_onnx  # noqa: E402
from mmresnet.deploy.verify import match_detections  # noqa: E402
from mmresnet.deploy.runtime import OnnxRuntimeBackend, read_metadata  # noqa: E402

from ..models.detector_helpers import (ROOT, build_detector, one_thread,  # noqa: E402
                                       randomise, tiny_detector_cfg)

# (id, PaperResNet arguments, input size): the paper's forms at a tiny width
FORMS = [
    ('A-zero-pad', dict(depth=18, shortcut='A'), 32),
    ('B', dict(depth=18, shortcut='B'), 32),
    ('C-bottleneck-caffe', dict(depth=50, shortcut='C', style='caffe'), 32),
    ('bottleneck-pytorch', dict(depth=50, style='pytorch'), 32),
    ('plain', dict(depth=18, plain=True), 32),
    ('cifar-6n+2', dict(depth=20, arch='cifar'), 16),
    ('frozen-stages', dict(depth=18, frozen_stages=2, norm_eval=True), 32),
]


def classifier(backbone, num_classes=5):
    from mmresnet.models.classifiers import PaperResNetClassifier
    args = dict(type='PaperResNet', out_indices=(3, ) if backbone.get('arch') != 'cifar'
                else (2, ), **backbone)
    if args.get('arch') != 'cifar':
        args.setdefault('base_channels', 8)
    model = PaperResNetClassifier(args, num_classes)
    randomise(model)  # BN statistics and affine that are no identity
    return model.eval()


@pytest.mark.parametrize('backbone, size', [f[1:] for f in FORMS], ids=[f[0] for f in FORMS])
def test_classifier_forms_match_pytorch(backbone, size, tmp_path):
    module = ClassifierForExport(classifier(backbone)).eval()
    x = torch.randn(2, 3, size, size)
    path = write_onnx(module, x, str(tmp_path / 'm.onnx'), 'classifier', dynamic=True)
    run = OnnxRuntimeBackend(path)
    for batch in (x, torch.randn(3, 3, size + 8, size + 8)):  # dynamic batch and size
        with torch.no_grad():
            ref = module(batch).numpy()
        got, = run(batch.numpy())
        assert got.shape == ref.shape == (len(batch), 5)
        assert np.abs(got - ref).max() < 1e-3
        assert np.allclose(got.sum(1), 1, atol=1e-5)  # softmax scores


def test_config_export_tool_verifies(tmp_path):
    """The tool on a shipped config without a checkpoint (its own init), --verify."""
    from ..tools.tool_loader import load_tool
    tool = load_tool('deployment/pytorch2onnx')
    out = str(tmp_path / 'cifar.onnx')
    report = tool.main([osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10.py'),
                        '--out', out, '--verify'])
    assert report['task'] == 'classifier' and report['input_shape'] == [1, 3, 32, 32]
    assert report['verify']['max_abs_diff'] < 1e-3
    meta = read_metadata(out)
    assert meta['task'] == 'classifier' and len(meta['classes']) == 10


def tiny_detector(kind, num_classes=3):
    cfg = tiny_detector_cfg(kind, num_classes=num_classes)
    cfg.test_cfg.rcnn.score_thr = 0.05
    model = build_detector(cfg)
    randomise(model)  # weights of 1/sqrt(fan_in): class scores spread above score_thr
    return model.eval()


def predict_mmdet(model, x):
    """mmdet's own predict on a preprocessed input (no rescaling)."""
    from mmdet.structures import DetDataSample
    h, w = x.shape[-2:]
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                         batch_input_shape=(h, w), scale_factor=(1., 1.)))
    with torch.no_grad():
        pred = model.predict(x, [sample], rescale=False)[0].pred_instances
    return dict(bboxes=pred.bboxes.numpy(), scores=pred.scores.numpy(),
                labels=pred.labels.numpy())


@pytest.mark.parametrize('kind', ['c4', 'fpn'])
def test_detector_matches_pytorch(kind, tmp_path):
    model = tiny_detector(kind)
    module = DetectorForExport(model)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 96, 128, generator=gen)
    with one_thread():
        path = write_onnx(module, x, str(tmp_path / f'{kind}.onnx'), 'detector',
                          dynamic=True)
        run = OnnxRuntimeBackend(path)
        for inp in (x, torch.randn(1, 3, 128, 96, generator=gen)):  # dynamic H, W
            with torch.no_grad():
                dets, labels = module(inp)
            got_dets, got_labels = run(inp.numpy())
            assert got_dets.shape[0] == 1 and got_dets.shape[2] == 5
            assert got_labels.shape == got_dets.shape[:2]
            ref = predict_mmdet(model, inp)
            assert len(ref['scores']) > 3  # the check below compares something
            # the export's own PyTorch forward is mmdet's predict
            ours = dict(bboxes=dets[0, :, :4].numpy(), scores=dets[0, :, 4].numpy(),
                        labels=labels[0].numpy())
            got = dict(bboxes=got_dets[0, :, :4], scores=got_dets[0, :, 4],
                       labels=got_labels[0])
            for a, b in ((ref, ours), (ours, got)):
                m = match_detections(a, b, score_thr=0.0, iou=0.9)
                assert m['matched'] >= 0.95 * m['total'], m
                assert m['max_score_diff'] < 1e-3, m


def test_unsupported_detector_is_named():
    cfg = tiny_detector_cfg('fpn')
    cfg.roi_head.bbox_roi_extractor.roi_layer = dict(type='RoIPool', output_size=7)
    with pytest.raises(UnsupportedModelError, match='RoIPool'):
        DetectorForExport(build_detector(cfg).eval())


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        export_onnx(str(tmp_path / 'nope.py'), out=str(tmp_path / 'x.onnx'))
    with pytest.raises(ValueError, match='opset'):
        export_onnx(osp.join(ROOT, 'configs/cifar/paper-resnet20_b128-64k_cifar10.py'),
                    out=str(tmp_path / 'x.onnx'), opset=5)


class _Warns(torch.nn.Module):
    """A classifier whose forward reads a tensor as a Python bool (the tracer's warning)
    and says something of its own."""

    def forward(self, input):
        if input.sum() > -1e9:
            warnings.warn('a warning of the model itself', UserWarning)
        return input.mean((2, 3)).softmax(-1)


def test_only_the_named_exporter_warnings_are_ignored(tmp_path):
    from mmresnet.deploy.export import EXPORTER_WARNINGS_IGNORED
    assert torch.jit.TracerWarning in [c for c, _, _ in EXPORTER_WARNINGS_IGNORED]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        write_onnx(_Warns(), torch.randn(1, 3, 8, 8), str(tmp_path / 'w.onnx'), 'classifier')
    kinds = [(w.category, str(w.message)) for w in seen]
    assert (UserWarning, 'a warning of the model itself') in kinds
    assert not [k for k in kinds if issubclass(k[0], torch.jit.TracerWarning)]
    assert not [m for _, m in kinds if 'legacy TorchScript-based ONNX export' in m]
