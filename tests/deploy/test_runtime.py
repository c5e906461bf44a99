"""tools/infer.py --backend onnxruntime | openvino: the exported demo detector gives the
boxes PyTorch gives, through the same pipeline, drawing and files."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

pytest.importorskip('onnx', reason="the deploy extra (pip install 'mmresnet[deploy]') "
                    'is not installed')
pytest.importorskip('onnxruntime', reason="the deploy extra is not installed")

from mmresnet.deploy.export import export_onnx  # noqa: E402
from mmresnet.deploy.verify import match_detections  # noqa: E402

from ..tools.tool_loader import load_tool  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
IMAGE = osp.join(ROOT, 'data/demo_detection/JPEGImages/OSBS_029.jpg')
SMALL = ['test_dataloader.dataset.pipeline.1.scale=(192,192)']
CLASSES = ('tree', )


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """The demo detector (seeded He init),
    saved as tools/train.py saves it, and its export (checked by --verify)."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmresnet  # noqa: F401
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    model.init_weights()
    with torch.no_grad():  # box scores spread over 0.5-0.8 (default init: all about 1)
        model.roi_head.bbox_head.fc_cls.weight.normal_(0, 3e-4)
    folder = tmp_path_factory.mktemp('deploy')
    ckpt = str(folder / 'detector.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': CLASSES}}}, ckpt)
    options = dict(s.split('=', 1) for s in SMALL)
    options = {k: eval(v) for k, v in options.items()}
    report = export_onnx(CONFIG, ckpt, str(folder / 'detector.onnx'), verify=True,
                         image=IMAGE, cfg_options=options, log=lambda *a: None)
    assert report['task'] == 'detector' and report['input_shape'] == [1, 3, 192, 192]
    return ckpt, report['out'], report['verify']


def test_verify_matches_mmdet(exported):
    _, _, verify = exported
    assert verify['total'] > 0 and verify['matched'] >= 0.95 * verify['total']


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_infer_backends_give_pytorch_boxes(exported, backend, tmp_path):
    if backend == 'openvino':
        pytest.importorskip('openvino', reason='the deploy extra is not installed')
    ckpt, onnx_file, _ = exported
    infer = load_tool('infer')
    outs = {}
    for name, model, extra in (('pytorch', ckpt, []),
                               (backend, onnx_file, ['--backend', backend])):
        out = tmp_path / name
        written = infer.main([CONFIG, model, IMAGE, '--out-dir', str(out), '--device', 'cpu',
                              '--cfg-options', *SMALL] + extra)
        assert osp.isfile(written['vis'][0])
        with open(written['preds'][0]) as f:
            outs[name] = {k: np.asarray(v) for k, v in json.load(f).items()}
    ref, got = outs['pytorch'], outs[backend]
    assert set(got['label_names']) <= set(CLASSES)
    m = match_detections(ref, got, score_thr=0.3, iou=0.9)
    assert m['total'] > 0 and m['matched'] >= 0.95 * m['total'], m
    # OpenVINO's CPU plugin runs fp32 with its own kernels: the scores drift a little more
    assert m['max_score_diff'] < (1e-3 if backend == 'onnxruntime' else 1e-2), m


def test_backend_arguments_are_checked(exported):
    from mmresnet.apis.inference import build_inferencer
    ckpt, onnx_file, _ = exported
    with pytest.raises(ValueError, match='onnxruntime'):
        build_inferencer(CONFIG, ckpt, backend='tensorrt')
    with pytest.raises(ValueError, match='.onnx'):
        build_inferencer(CONFIG, ckpt, backend='onnxruntime')
    with pytest.raises(ValueError, match='--backend'):
        build_inferencer(CONFIG, onnx_file)
    with pytest.raises(ValueError, match='bf16'):
        build_inferencer(CONFIG, onnx_file, backend='onnxruntime', precision='bf16')


@pytest.mark.parametrize('backend, precision, match', [
    ('onnxruntime', 'bf16', r"precision 'bf16' with backend 'onnxruntime': fp32 with every"),
    ('pytorch', 'bf16', r"precision 'bf16' with backend 'pytorch'"),
    ('tensorrt', 'fp32', r"unknown backend 'tensorrt'; allowed values: \('pytorch', "),
    ('pytorch', 'int8', r"precision 'int8' with backend 'pytorch': int8 runs the int8 file"),
    ('openvino', 'fp16',
     r"unknown precision 'fp16'; allowed values: \('fp32', 'bf16', 'int8'\)")])
def test_backend_and_precision_are_checked_alike_by_tool_and_runtime(backend, precision,
                                                                      match, tmp_path):
    from mmresnet.apis.inference import build_inferencer
    from mmresnet.deploy.runtime import make_backend
    with pytest.raises(ValueError, match=match):
        build_inferencer('unused.py', 'unused.onnx', backend=backend, precision=precision)
    if backend != 'pytorch':
        with pytest.raises(ValueError, match=match.replace("\\('pytorch', ", '')):
            make_backend(str(tmp_path / 'x.onnx'), backend, precision)


@pytest.mark.parametrize('runtime', ['onnxruntime', 'openvino'])
def test_infer_runs_the_int8_file(exported, runtime, tmp_path):
    """tools/infer.py --precision int8 on the file of --int8 for each runtime, calibrated
    on the config's training tiles: PyTorch's score distribution within int8 rounding
    (this seeded detector's boxes are near-ties that int8 reorders; the boxes of a trained
    detector are held by --verify-test-set, docs/deploy.md)."""
    pytest.importorskip('openvino', reason='the deploy extra is not installed')
    if runtime == 'openvino':
        pytest.importorskip('nncf', reason='int8 for openvino needs nncf (the deploy extra)')
    from mmresnet.deploy.quantize import int8_path
    ckpt, _, _ = exported
    options = {k: eval(v) for k, v in (s.split('=', 1) for s in SMALL)}
    report = export_onnx(CONFIG, ckpt, str(tmp_path / 'det.onnx'), int8=runtime, calib=8,
                         cfg_options=options, log=lambda *a: None)
    assert report['int8']['out'] == int8_path(report['out'])
    assert report['int8']['calibration'].startswith('8 of the 27 training images')
    infer = load_tool('infer')
    outs = {}
    for name, model, extra in (('pytorch', ckpt, []),
                               ('int8', report['int8']['out'],
                                ['--backend', runtime, '--precision', 'int8'])):
        written = infer.main([CONFIG, model, IMAGE, '--out-dir', str(tmp_path / name),
                              '--device', 'cpu', '--cfg-options', *SMALL] + extra)
        with open(written['preds'][0]) as f:
            outs[name] = {k: np.asarray(v) for k, v in json.load(f).items()}
    ref, got = (np.sort(outs[k]['scores'])[::-1][:50] for k in ('pytorch', 'int8'))
    assert len(ref) == len(got) == 50 and set(outs['int8']['label_names']) <= set(CLASSES)
    assert np.abs(ref - got).max() < 0.05, np.abs(ref - got).max()
    with pytest.raises(ValueError, match='is an int8 file'):
        infer.main([CONFIG, report['int8']['out'], IMAGE, '--out-dir', str(tmp_path / 'x'),
                    '--backend', runtime])
