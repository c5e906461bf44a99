"""ONNX export: every PaperResNet classifier form and both Faster R-CNN kinds (C4, FPN) at
batch N, small seeded models, ONNX Runtime against PyTorch (docs/deploy.md)."""
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
    """mmdet's own predict on a preprocessed batch (no rescaling), each image's."""
    from mmdet.structures import DetDataSample
    h, w = x.shape[-2:]
    samples = [DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                           batch_input_shape=(h, w), scale_factor=(1., 1.)))
               for _ in range(len(x))]
    with torch.no_grad():
        return [instances_of(s) for s in model.predict(x, samples, rescale=False)]


def as_instances(dets, labels):
    return dict(bboxes=np.asarray(dets[:, :4]), scores=np.asarray(dets[:, 4]),
                labels=np.asarray(labels))


def assert_padding(dets, labels, max_per_img):
    """The layout of a batch: (N, K, 5) and (N, K), K = max_per_img, each image's rows
    highest score first, then padding rows of dets 0 and label -1."""
    assert dets.shape[1:] == (max_per_img, 5) and labels.shape == dets.shape[:2]
    for d, l in zip(dets, labels):
        real = l >= 0
        count = int(real.sum())
        assert real[:count].all() and not real[count:].any()  # padding last
        assert (d[count:] == 0).all() and (l[count:] == -1).all()
        assert (np.diff(d[:count, 4]) <= 0).all()


@pytest.mark.parametrize('kind', ['c4', 'fpn'])
def test_detector_matches_pytorch_at_batch_n(kind, tmp_path):
    """Traced on one image, the file runs a batch of 3 of another size: each image's
    detections are mmdet's predict on that image (in a batch), padded to max_per_img."""
    from mmresnet.deploy.runtime import split_detections
    model = tiny_detector(kind)
    module = DetectorForExport(model)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 96, 128, generator=gen)
    top = model.test_cfg.rcnn.max_per_img
    with one_thread():
        path = write_onnx(module, x, str(tmp_path / f'{kind}.onnx'), 'detector',
                          dynamic=True)
        run = OnnxRuntimeBackend(path)
        if kind == 'c4':  # the C4 head's average pool of each whole RoI: a global one
            import onnx
            ops = {n.op_type for n in onnx.load(path).graph.node}
            assert 'GlobalAveragePool' in ops and 'AveragePool' not in ops
            assert type(model.roi_head.bbox_head.avg_pool) is torch.nn.AvgPool2d
        for inp in (x, torch.randn(3, 3, 128, 96, generator=gen)):  # dynamic N, H, W
            with torch.no_grad():
                dets, labels = module(inp)
            got_dets, got_labels = run(inp.numpy())
            assert got_dets.shape[0] == len(inp)
            for d, l in ((dets.numpy(), labels.numpy()), (got_dets, got_labels)):
                assert_padding(d, l, top)
            refs = predict_mmdet(model, inp)
            assert all(len(ref['scores']) > 3 for ref in refs)  # something to compare
            ours = split_detections(dets, labels)
            got = split_detections(torch.from_numpy(got_dets), torch.from_numpy(got_labels))
            for ref, o, g in zip(refs, ours, got):
                # the export's own PyTorch forward is mmdet's predict, the file is it
                for a, b in ((ref, as_instances(*o)), (as_instances(*o), as_instances(*g))):
                    m = match_detections(a, b, score_thr=0.0, iou=0.9)
                    assert m['matched'] >= 0.95 * m['total'], m
                    assert m['max_score_diff'] < 1e-3, m


def test_global_pool_only_where_the_window_is_the_feature():
    from mmresnet.deploy.detector import global_pool

    class Head(torch.nn.Module):
        with_avg_pool = True

        def __init__(self, kernel, stride=None):
            super().__init__()
            self.avg_pool = torch.nn.AvgPool2d(kernel, stride)

        def forward(self, x):
            return self.avg_pool(x)
    x = torch.randn(2, 4, 7, 7)
    for head, swapped in ((Head(7), True), (Head((7, 7)), True), (Head(3), False),
                          (Head(7, stride=1), False)):
        pool = head.avg_pool
        with global_pool(head, x.shape[-2:]):
            assert (type(head.avg_pool) is torch.nn.AdaptiveAvgPool2d) == swapped
            torch.testing.assert_close(head(x), pool(x))
        assert head.avg_pool is pool  # put back


def test_detector_batch_of_images_of_two_sizes(tmp_path):
    """Two images of different sizes padded to one by the data preprocessor (as
    DetDataPreprocessor pads a test batch): DeployedDetector runs the batch at once on
    a file of dynamic batch and image by image on a file of a fixed batch of 1; both
    give each image mmdet's test_step boxes (the padded one's clipped to its own size,
    read from the padding)."""
    from mmdet.structures import DetDataSample
    from mmresnet.deploy.runtime import DeployedDetector, fixed_batch
    model = tiny_detector('fpn')
    model.data_preprocessor.pad_size_divisor = 32
    gen = torch.Generator().manual_seed(2)
    inputs, samples = [], []
    mean = torch.tensor(model.data_preprocessor.mean).reshape(3, 1, 1)
    for h, w in ((96, 128), (70, 100)):  # normalised: about N(0, 1), as the other tests
        inputs.append(mean + torch.randn(3, h, w, generator=gen))
        samples.append(DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                                   scale_factor=(1., 1.))))
    batch = dict(inputs=inputs, data_samples=samples)
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=inputs[:1], data_samples=samples[:1]),
                                    False)['inputs']
    outs = {}
    with one_thread(), torch.no_grad():
        for name, dynamic in (('dynamic', True), ('fixed', False)):
            path = write_onnx(DetectorForExport(model), x, str(tmp_path / f'{name}.onnx'),
                              'detector', dynamic=dynamic)
            deployed = DeployedDetector(OnnxRuntimeBackend(path), model.data_preprocessor)
            assert fixed_batch(deployed.backend) == (None if dynamic else 1)
            outs[name] = [instances_of(s) for s in deployed.test_step(batch)]
        refs = [instances_of(s) for s in model.test_step(batch)]
    assert tuple(x.shape[-2:]) == (96, 128)  # the batch's padded size
    for i in range(2):
        for a, b in ((refs[i], outs['dynamic'][i]), (outs['fixed'][i], outs['dynamic'][i])):
            m = match_detections(a, b, score_thr=0.0, iou=0.9)
            assert m['total'] > 10 and m['matched'] >= 0.95 * m['total'], (i, m)
            assert m['max_score_diff'] < 1e-3, m


def instances_of(sample):
    pred = sample.pred_instances
    return dict(bboxes=pred.bboxes.numpy(), scores=pred.scores.numpy(),
                labels=pred.labels.numpy())


def test_unsupported_detector_is_named():
    cfg = tiny_detector_cfg('fpn')
    cfg.roi_head.bbox_roi_extractor.roi_layer = dict(type='RoIPool', output_size=7)
    with pytest.raises(UnsupportedModelError, match='RoIPool'):
        DetectorForExport(build_detector(cfg).eval())
    cfg = tiny_detector_cfg('c4')
    cfg.test_cfg.rpn.max_per_img = -1
    with pytest.raises(UnsupportedModelError, match='test_cfg.rpn.max_per_img must be > 0'):
        DetectorForExport(build_detector(cfg).eval())


def test_image_sizes_are_read_from_the_padding():
    """Each image's (height, width) in a batch padded with zeros at the bottom and
    right; an image that is all zeros counts as the whole input."""
    from mmresnet.deploy.detector import image_sizes
    x = torch.zeros(3, 3, 40, 50)
    x[0, :, :40, :50] = torch.randn(3, 40, 50)
    x[1, 1, 29, 17] = 0.5  # one value is enough: its row and its column are the image's
    x[1, 0, 3, 33] = -2.0
    height, width = image_sizes(x)
    assert height.tolist() == [40, 30, 40] and width.tolist() == [50, 34, 50]


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


@pytest.mark.parametrize('flags, message', [
    (['--precision', 'bf16'], '--precision applies to --verify-test-set'),
    (['--test-set-backend', 'openvino'], '--test-set-backend applies to --verify-test-set'),
    (['--batch-size', '4'], '--batch-size applies to --verify-test-set'),
    (['--verify-test-set', '--precision', 'bf16'],
     '--precision bf16 .* needs --test-set-backend openvino, got onnxruntime'),
    (['--calib', '20'], '--calib applies to --int8 and --pytorch-int8'),
    (['--pytorch-int8'], '--pytorch-int8 applies to --verify-test-set'),
    (['--verify-test-set', '--batch-size', '0'], '--batch-size must be >= 1, got 0')])
def test_flags_that_do_not_apply_are_errors(flags, message, capsys):
    import re
    from ..tools.tool_loader import load_tool
    tool = load_tool('deployment/pytorch2onnx')
    with pytest.raises(SystemExit):
        tool.parse_args(['c.py', '--out', 'x.onnx'] + flags)
    assert re.search(message, capsys.readouterr().err)
    args = tool.parse_args(['c.py', '--out', 'x.onnx', '--verify-test-set', '--batch-size',
                            '4', '--test-set-backend', 'openvino', '--precision', 'bf16'])
    assert args.batch_size == 4


def test_verify_test_set_needs_a_test_set(tmp_path):
    from mmengine.config import Config
    from mmresnet.deploy.verify import verify_dataset
    path = tmp_path / 'no_test.py'
    path.write_text("model = dict(type='X')\n")
    cfg = Config.fromfile(str(path))
    with pytest.raises(ValueError, match="no_test.py: .* needs the config's test_dataloader"):
        verify_dataset(cfg, None, str(tmp_path / 'x.onnx'))
