"""A classifier's --verify-test-set on real images: the demo's tree-crop classifier with
the validation tiles' crops as its test set (configs/demo/..._tree-crops_test_demo.py,
seeded init), exported with --int8: PyTorch, the float file and the int8 file through the
same TopKError (percent)."""
import os.path as osp

import pytest
import torch

pytest.importorskip('onnx', reason="the deploy extra (pip install 'mmresnet[deploy]') "
                    'is not installed')
pytest.importorskip('onnxruntime', reason="the deploy extra is not installed")

from mmresnet.deploy.export import export_onnx  # noqa: E402

from ..models.detector_helpers import ROOT, one_thread  # noqa: E402

CROPS = osp.join(ROOT, 'configs/demo/paper-resnet18-w16_tree-crops_test_demo.py')


def test_classifier_test_set_float_and_int8_side_by_side(tmp_path):
    torch.manual_seed(0)
    logs = []
    with one_thread():
        report = export_onnx(CROPS, out=str(tmp_path / 'crops.onnx'),
                             dynamic=True, verify_test_set=True, int8='onnxruntime',
                             calib=16, log=logs.append)
    test_set = report['test_set']
    assert report['int8']['calibration'].startswith('16 of the ')
    assert test_set['images'] > 100  # the crops of 9 tiles: trees and background
    # the float file gives PyTorch's predictions; int8 within rounding of them
    top1 = {k: test_set[k]['error/top1'] for k in ('pytorch', 'deployed', 'int8')}
    assert top1['deployed'] == pytest.approx(top1['pytorch'], abs=1e-6)
    assert abs(top1['int8'] - top1['pytorch']) < 5, top1  # percent
    assert any(line.strip().startswith('onnxruntime int8') for line in logs)


def test_pytorch_int8_beside_them(tmp_path):
    """--pytorch-int8: the classifier in PyTorch's own int8 (PT2E), calibrated on the same
    training images, evaluated by the same TopKError beside PyTorch; refused for a
    detector. The float file, of a fixed batch of 1, runs the test batches image by image
    (it stopped at the first batch of 64)."""
    from mmresnet.deploy import pt2e
    if not pt2e.available():
        pytest.skip('torchao (its PT2E quantizer) does not import here')
    torch.manual_seed(0)
    logs = []
    with one_thread():
        # a file of a fixed batch of 1 (no --dynamic): the test batches run image by image
        report = export_onnx(CROPS, out=str(tmp_path / 'crops.onnx'), shape=(1, 3, 64, 64),
                             verify_test_set=True, pytorch_int8=True, calib=16,
                             log=logs.append)
    test_set = report['test_set']
    assert report['pytorch_int8']['calibration'].startswith('16 of the ')
    top1 = {k: test_set[k]['error/top1'] for k in ('pytorch', 'deployed', 'pytorch_int8')}
    assert top1['deployed'] == pytest.approx(top1['pytorch'], abs=1e-6)
    assert 'int8' not in test_set  # no int8 file asked for
    assert abs(top1['pytorch_int8'] - top1['pytorch']) < 5, top1  # percent
    assert any(line.strip().startswith('PyTorch int8 (PT2E)') for line in logs)
    detector = osp.join(ROOT, 'configs/demo/faster-rcnn_paper-r18-c4_scratch_demo.py')
    from mmresnet.utils import UsageError  # the tools print it without a traceback
    with pytest.raises(UsageError, match='evaluates a classifier.*got a detector'):
        export_onnx(detector, out=str(tmp_path / 'd.onnx'), verify_test_set=True,
                    pytorch_int8=True)
    assert not osp.exists(tmp_path / 'd.onnx')  # refused before anything is written


def test_pytorch_int8_without_torchao_is_named_before_the_export(tmp_path, monkeypatch):
    from mmresnet.deploy import pt2e
    from mmresnet.utils import UsageError

    def absent():
        raise ImportError('int8 in PyTorch (PT2E) needs torchao, which is not installed')
    monkeypatch.setattr(pt2e, 'quantizer', absent)
    with pytest.raises(UsageError,
                       match='--pytorch-int8: .*needs torchao.*leave --pytorch-int8 out'):
        export_onnx(CROPS, out=str(tmp_path / 'c.onnx'), verify_test_set=True,
                    pytorch_int8=True)
    assert not osp.exists(tmp_path / 'c.onnx')
