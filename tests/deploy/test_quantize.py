"""int8 files (pytorch2onnx.py --int8): quantized for ONNX Runtime (static QDQ) and
OpenVINO (NNCF), the layers named in KEEP_FLOAT left in float, calibration taken from the
config's training set, and the precision rules of the runtimes (docs/deploy.md)."""
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('onnx', reason="the deploy extra (pip install 'mmresnet[deploy]') "
                    'is not installed')
pytest.importorskip('onnxruntime', reason="the deploy extra is not installed")

from mmresnet.deploy.export import (ClassifierForExport, export_onnx,  # noqa: E402
                                    write_onnx)
from mmresnet.deploy.quantize import (calibration_inputs, int8_path,  # noqa: E402
                                      quantize_file)
from mmresnet.deploy.runtime import make_backend, read_metadata  # noqa: E402

from ..models.detector_helpers import ROOT, one_thread  # noqa: E402
from .test_export import classifier, tiny_detector  # noqa: E402

DEMO = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
RUNTIMES = ['onnxruntime', 'openvino']


def _needs(runtime):
    if runtime == 'openvino':
        pytest.importorskip('openvino', reason='the deploy extra is not installed')
        pytest.importorskip('nncf', reason='int8 for openvino needs nncf (the deploy extra)')


def _structured(n, size, seed):
    """Smooth images (a few blobs), not white noise: activations with a real range."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size // 4, size // 4, generator=g)
    return torch.nn.functional.interpolate(x, size=(size, size), mode='bilinear')


def _activation_zero_points(graph):
    """The zero points of the quantizers of activations (not of weights)."""
    from onnx import numpy_helper
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    return [init[n.input[2]] for n in graph.node if n.op_type == 'QuantizeLinear'
            and n.input[0] not in init and len(n.input) > 2 and n.input[2] in init]


@pytest.fixture(scope='module')
def float_classifier(tmp_path_factory):
    module = ClassifierForExport(classifier(dict(depth=20, arch='cifar'), 10)).eval()
    path = str(tmp_path_factory.mktemp('int8') / 'cls.onnx')
    write_onnx(module, _structured(1, 32, 0), path, 'classifier', dynamic=True,
               metadata=dict(mmresnet_task='classifier'))
    return module, path


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_int8_classifier_keeps_its_top1(float_classifier, runtime, tmp_path):
    _needs(runtime)
    import onnx
    module, path = float_classifier
    calib = [x[None].numpy() for x in _structured(32, 32, 1)]
    out = int8_path(str(tmp_path / 'cls.onnx'))
    facts = quantize_file(path, out, calib, runtime, 'classifier', 'random blobs',
                          log=lambda *a: None)
    meta = read_metadata(out)
    assert meta['precision'] == 'int8' and meta['task'] == 'classifier'
    assert meta['int8']['runtime'] == runtime and meta['int8']['images'] == 32
    graph = onnx.load(out).graph
    convs = [n for n in graph.node if n.op_type == 'Conv']
    dq_outputs = {o for n in graph.node if n.op_type == 'DequantizeLinear' for o in n.output}
    # every conv reads int8 weights (through a DequantizeLinear) ...
    assert convs and all(n.input[1] in dq_outputs for n in convs)
    # ... the fc of the logits reads its float weights
    kept, = facts['kept_float']
    fc, = [n for n in graph.node if n.name == kept]
    assert fc.input[1] not in dq_outputs
    zero_points = _activation_zero_points(graph)
    if runtime == 'openvino':  # NNCF's default preset: symmetric activations
        assert zero_points and not any(z.any() for z in zero_points)
    x = _structured(64, 32, 2)
    with torch.no_grad():
        ref = module(x).numpy()
    got, = make_backend(out, runtime, 'int8')(x.numpy())
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 0.2  # int8 rounding, not another network
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.8


@pytest.mark.parametrize('runtime', RUNTIMES)
def test_int8_detector_keeps_heads_in_float(runtime, tmp_path):
    _needs(runtime)
    model = tiny_detector('c4')
    from mmresnet.deploy.detector import DetectorForExport
    x = _structured(1, 96, 3)
    with one_thread():
        path = write_onnx(DetectorForExport(model), x, str(tmp_path / 'det.onnx'),
                          'detector', dynamic=True, metadata=dict(mmresnet_task='detector'))
        out = int8_path(path)
        facts = quantize_file(path, out, [_structured(1, 96, s).numpy() for s in (4, 5)],
                              runtime, 'detector', 'two images', log=lambda *a: None)
        dets, labels = make_backend(out, runtime, 'int8')(x.numpy())
    assert dets.shape[0] == 1 and dets.shape[2] == 5 and labels.shape == dets.shape[:2]
    kept = ' '.join(facts['kept_float'])
    for layer in ('rpn_cls', 'rpn_reg', 'fc_cls', 'fc_reg'):
        assert f'/{layer}/' in kept
    import onnx
    graph = onnx.load(out).graph
    dq_outputs = {o for n in graph.node if n.op_type == 'DequantizeLinear' for o in n.output}
    weights = {n.name: n.input[1] in dq_outputs for n in graph.node
               if n.op_type in ('Conv', 'Gemm')}
    assert not any(weights[name] for name in facts['kept_float'])  # float weights
    assert sum(weights.values()) >= 10  # the backbone's and conv5_x's convs are int8
    # activations asymmetric on both (NNCF's 'mixed' preset, ONNX Runtime's uint8)
    assert any(z.any() for z in _activation_zero_points(graph))


def test_int8_file_and_precision_go_together(float_classifier, tmp_path):
    from mmresnet.deploy.runtime import check_backend_precision
    _, path = float_classifier
    with pytest.raises(ValueError, match='is a float file: precision int8 runs the int8'):
        make_backend(path, 'onnxruntime', 'int8')
    out = str(tmp_path / 'cls.int8.onnx')
    quantize_file(path, out, [_structured(1, 32, 1).numpy()], 'onnxruntime', 'classifier',
                  log=lambda *a: None)
    with pytest.raises(ValueError, match='is an int8 file .*--precision int8, not fp32'):
        make_backend(out, 'onnxruntime', 'fp32')
    with pytest.raises(ValueError, match="precision 'int8' with backend 'pytorch'"):
        check_backend_precision('pytorch', 'int8')
    with pytest.raises(ValueError, match="unknown int8 runtime 'tensorrt'"):
        quantize_file(path, out, [np.zeros((1, 3, 32, 32), np.float32)], 'tensorrt')


def test_calibration_comes_from_the_training_set():
    from mmresnet.config import build_model, prepare_config
    cfg = prepare_config(DEMO, 'export',
                         cfg_options={'test_dataloader.dataset.pipeline.1.scale': (96, 96)})
    model = build_model(cfg)
    inputs, statement = calibration_inputs(cfg, model, count=4)
    assert len(inputs) == 4 and all(x.shape == (1, 3, 96, 96) for x in inputs)
    assert statement.startswith('4 of the 27 training images')
    assert 'first index 0, last 26' in statement
    everything, statement = calibration_inputs(cfg, model, count=500)
    assert len(everything) == 27 and statement.startswith('27 of the 27')
    with pytest.raises(ValueError, match='--calib must be >= 1'):
        calibration_inputs(cfg, model, count=0)


def test_verify_test_set_reports_float_and_int8_side_by_side(tmp_path):
    """The tool's path on the demo config (seeded He init, a small test scale): PyTorch,
    the float file and the int8 file through the same COCO metric, boxes matched."""
    small = {'test_dataloader.dataset.pipeline.1.scale': (96, 96)}
    torch.manual_seed(0)
    logs = []
    with one_thread():
        report = export_onnx(DEMO, out=str(tmp_path / 'demo.onnx'), dynamic=True,
                             verify_test_set=True, int8='onnxruntime', calib=6,
                             cfg_options=small, log=logs.append)
    test_set = report['test_set']
    assert report['int8']['images'] == 6 and osp.isfile(report['int8']['out'])
    assert test_set['images'] == 9
    for key in ('pytorch', 'deployed', 'int8'):
        assert 'coco/bbox_mAP' in test_set[key]
    assert test_set['deployed']['coco/bbox_mAP'] == pytest.approx(
        test_set['pytorch']['coco/bbox_mAP'], abs=0.005)
    assert set(test_set['int8_match']) == {'matched', 'total', 'max_score_diff'}
    assert any('onnxruntime int8' in line for line in logs)


def test_export_tool_int8_arguments():
    from ..tools.tool_loader import load_tool
    tool = load_tool('deployment/pytorch2onnx')
    args = tool.parse_args([DEMO, '--out', 'x.onnx', '--int8'])
    assert args.int8 == 'openvino' and args.calib == 300
    args = tool.parse_args([DEMO, '--out', 'x.onnx', '--int8', 'onnxruntime', '--calib', '50'])
    assert args.int8 == 'onnxruntime' and args.calib == 50
    assert tool.parse_args([DEMO, '--out', 'x.onnx']).int8 is None
    for bad in (['--int8', 'tensorrt'], ['--int8', '--calib', '0'], ['--precision', 'int8']):
        with pytest.raises(SystemExit):
            tool.parse_args([DEMO, '--out', 'x.onnx'] + bad)


def test_int8_of_a_file_of_fixed_shapes(tmp_path):
    """A file exported without --dynamic (its input shape fixed): NNCF's full bias
    correction failed on a ResNet with projection shortcuts ('Failed to find node
    output', ONNX Runtime having fused a conv into the sum); the int8 file keeps the
    float file's shapes."""
    _needs('openvino')
    import onnx
    module = ClassifierForExport(classifier(dict(depth=18), 10)).eval()
    path = write_onnx(module, _structured(2, 32, 0), str(tmp_path / 'fixed.onnx'),
                      'classifier', metadata=dict(mmresnet_task='classifier'))
    out = int8_path(path)
    quantize_file(path, out, [_structured(2, 32, s).numpy() for s in range(4)],
                  'openvino', 'classifier', 'blobs', log=lambda *a: None)

    def dims(file):
        graph = onnx.load(file).graph
        return [[d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
                for v in (*graph.input, *graph.output)]
    assert dims(path)[0] == [2, 3, 32, 32] and dims(out) == dims(path)
    x = _structured(2, 32, 9)
    got, = make_backend(out, 'openvino', 'int8')(x.numpy())
    with torch.no_grad():
        assert np.abs(got - module(x).numpy()).max() < 0.2
