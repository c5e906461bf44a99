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
