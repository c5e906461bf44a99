"""ONNX export of the project's classifiers and Faster R-CNN detectors, and its check
against PyTorch (the logic of ``tools/deployment/pytorch2onnx.py``).

    from mmresnet.deploy.export import export_onnx
    report = export_onnx('configs/demo/faster-rcnn_paper-r18-c4_demo.py', 'epoch_130.pth',
                         'work_dirs/demo/detector.onnx', verify=True,
                         image='data/demo_detection/JPEGImages/x.png')

Graphs (names fixed, so every runtime is fed alike):

- classifier (``PaperResNetClassifier``): ``input`` (N, 3, H, W), the image as the config's
  test pipeline and data preprocessor give it (mean subtracted) -> ``scores`` (N, classes),
  the softmax of the single-view test protocol;
- detector (Faster R-CNN): ``input`` (N, 3, H, W) preprocessed -> ``dets`` (N, K, 5) and
  ``labels`` (N, K), K detections an image padded with dets 0 and label -1
  (:mod:`.detector`).

The file's metadata holds ``mmresnet_task`` ('classifier' | 'detector'), ``classes``
(json, from the checkpoint's ``dataset_meta`` or the config) and ``mmresnet_config``
(the config's text), which the runtime (:mod:`.runtime`) reads.

Written with the TorchScript exporter (``torch.onnx.export(..., dynamo=False)``): it
exists in every torch >= 2.0 and needs no ``onnxscript``; on torch < 2.5 the ``dynamo``
argument does not exist and is not passed.
"""
import inspect
import json
import os
import os.path as osp
import tempfile
import warnings

import torch
import torch.nn as nn

from ..config import build_model, prepare_config
from ..utils import UsageError
from .common import (ExportError, preprocess_image, random_image, random_input,
                     require)
from .ops import MIN_OPSET
from .quantize import DEFAULT_CALIB, calibration_inputs, int8_path, quantize_file
from .verify import verify_classifier, verify_dataset, verify_detector

DEFAULT_OPSET = 17

#: What the exporter says that is expected here, ignored by category (and message):
#: the tracer on a tensor read as a Python number (shapes, box counts: the exported graph is
#: checked against PyTorch by ``verify``), and torch >= 2.9 on the TorchScript exporter
#: being the legacy one (chosen on purpose, see above) and its internal helper. Every other
#: warning is shown.
EXPORTER_WARNINGS_IGNORED = (
    (torch.jit.TracerWarning, '', ''),
    (DeprecationWarning, 'You are using the legacy TorchScript-based ONNX export', ''),
    (DeprecationWarning, 'The feature will be removed', r'torch\.onnx'),
)


# -- model -------------------------------------------------------------------------------
def task_of(model):
    from mmdet.models.detectors import BaseDetector

    from ..models.classifiers import PaperResNetClassifier
    if isinstance(model, PaperResNetClassifier):
        return 'classifier'
    if isinstance(model, BaseDetector):
        return 'detector'
    raise ValueError(f'model {type(model).__name__}: the export covers classifiers '
                     '(PaperResNetClassifier) and Faster R-CNN detectors')


def config_classes(cfg):
    """Class names of the config's test set (its ``metainfo`` or its class's
    ``METAINFO``), or ()."""
    from mmdet.registry import DATASETS
    for key in ('test_dataloader', 'val_dataloader'):
        ds = (cfg.get(key) or {}).get('dataset') or {}
        classes = (ds.get('metainfo') or {}).get('classes')
        kind = DATASETS.get(ds['type']) if isinstance(ds.get('type'), str) else None
        classes = classes or (getattr(kind, 'METAINFO', None) or {}).get('classes')
        if classes:
            return tuple(classes)
    return ()


class ClassifierForExport(nn.Module):
    """``input`` -> softmax ``scores`` of a ``PaperResNetClassifier`` (single view)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input):
        return self.model(input, mode='tensor').softmax(-1)


def export_module(model, task):
    if task == 'classifier':
        return ClassifierForExport(model).eval()
    from .detector import DetectorForExport
    return DetectorForExport(model).eval()


# -- inputs ------------------------------------------------------------------------------
def classifier_input_size(cfg, model):
    """(H, W) of a random classifier input: the test pipeline's crop, or 32 for the CIFAR
    nets and 224 for the ImageNet ones."""
    pipeline = (((cfg.get('test_dataloader') or {}).get('dataset') or {}).get('pipeline')
                or [])
    for step in pipeline:
        size = step.get('crop_size', step.get('size')) if isinstance(step, dict) else None
        if str(step.get('type', '')).endswith('CenterCrop') and size:
            return (size, size) if isinstance(size, int) else tuple(size)[::-1]
    return (32, 32) if getattr(model.backbone, 'arch', None) == 'cifar' else (224, 224)


# -- export ------------------------------------------------------------------------------
def _export_kwargs():
    params = inspect.signature(torch.onnx.export).parameters
    return dict(dynamo=False) if 'dynamo' in params else {}


def write_onnx(module, example, out, task, opset=DEFAULT_OPSET, dynamic=False,
               metadata=None):
    """Trace ``module`` on ``example`` and write ``out`` (its folder made)."""
    onnx = require('onnx')
    if task == 'detector' and opset < MIN_OPSET:
        raise ValueError(f'--opset {opset}: the detector needs opset >= {MIN_OPSET} '
                         '(RoiAlign with coordinate_transformation_mode)')
    outputs = ['scores'] if task == 'classifier' else ['dets', 'labels']
    axes = None
    if dynamic:  # detectors: K detections an image (padded) whatever the batch and size
        axes = dict(input={0: 'batch', 2: 'height', 3: 'width'}, scores={0: 'batch'}) \
            if task == 'classifier' else dict(input={0: 'batch', 2: 'height', 3: 'width'},
                                              dets={0: 'batch'}, labels={0: 'batch'})
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        for category, message, origin in EXPORTER_WARNINGS_IGNORED:
            warnings.filterwarnings('ignore', message, category, origin)
        torch.onnx.export(module, (example, ), out, input_names=['input'],
                          output_names=outputs, opset_version=opset, dynamic_axes=axes,
                          do_constant_folding=True, **_export_kwargs())
    proto = onnx.load(out)
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, out)
    return out


def metadata_of(cfg, model, task):
    classes = tuple((model.dataset_meta or {}).get('classes') or ()) or config_classes(cfg)
    return dict(mmresnet_task=task, classes=json.dumps(list(classes)),
                mmresnet_config=cfg.pretty_text)


def _example_input(cfg, model, task, image, shape):
    """(the traced input, the image it came from, a temporary image file to remove or
    None): the given image through the test pipeline; a classifier's random input of
    ``shape``; else a random image through the test pipeline."""
    if image is not None:
        return preprocess_image(cfg, model, image)[0], image, None
    if task == 'classifier':
        channels = getattr(getattr(model.backbone, 'conv1', None), 'in_channels', 3)
        return random_input(shape or (1, channels) + classifier_input_size(cfg, model)), \
            None, None
    handle, tmp_image = tempfile.mkstemp(suffix='.png', prefix='mmresnet-export-')
    os.close(handle)
    image = random_image((400, 400), tmp_image)
    return preprocess_image(cfg, model, image)[0], image, tmp_image


def _verify_float(cfg, model, module, task, out, example, image, checkpoint):
    """The float file against PyTorch on ``example`` (a classifier) or ``image``."""
    if task == 'classifier':
        return verify_classifier(module, out, example)
    try:
        return verify_detector(cfg, model, out, image)
    except ExportError as exc:
        if checkpoint is not None:
            raise
        raise ExportError(
            f'{exc} (no checkpoint: with its init weights a detector\'s RPN scores '
            'saturate at exactly 0 and 1, and each runtime orders tied scores its own way; '
            'verify a trained checkpoint)') from exc


def export_onnx(config, checkpoint=None, out='model.onnx', verify=False, image=None,
                opset=DEFAULT_OPSET, dynamic=False, cfg_options=None, shape=None,
                verify_test_set=False, test_set_backend='onnxruntime', precision='fp32',
                int8=None, calib=DEFAULT_CALIB, batch_size=None, pytorch_int8=False,
                log=print):
    """Export the config's model to ``out``; with ``verify``, run ONNX Runtime and
    PyTorch on the same input and raise :class:`ExportError` when they disagree. With
    ``int8`` ('openvino' | 'onnxruntime'), also write ``NAME.int8.onnx`` quantized for that
    runtime, calibrated on ``calib`` training images (:mod:`.quantize`).

    Args:
        shape (tuple, optional): Classifier input (N, 3, H, W) when no image is given.
            Default: (1, 3) + the test crop.
        verify_test_set (bool): Also run :func:`verify_dataset` on the config's test
            set: the evaluator's metrics of PyTorch, the file (``test_set_backend``
            'onnxruntime' | 'openvino' at ``precision``) and the int8 file side by side
            in ``batch_size`` batches (None: the config's); boxes matched per image.
        pytorch_int8 (bool): With ``verify_test_set``, a classifier: PyTorch's own int8
            (:class:`~.pt2e.Pt2eBackend`, calibrated on the same ``calib`` images)
            evaluated beside them.

    Returns:
        dict: ``out``, ``task``, ``input_shape``; with ``int8``, ``int8`` (its file, tool,
        calibration); with ``verify``, the comparison (``verify_int8``: the int8 file's,
        reported, not held to the float tolerance).
    """
    if opset < 7:
        raise ValueError(f'--opset must be >= 7, got {opset}')
    cfg = prepare_config(config, 'export', cfg_options=cfg_options)
    model = build_model(cfg, checkpoint)
    task = task_of(model)
    if pytorch_int8 and not (verify_test_set and task == 'classifier'):
        raise UsageError('pytorch_int8 (--pytorch-int8) evaluates a classifier\'s PyTorch '
                         f'int8 on the test set (with --verify-test-set); got a {task}'
                         + ('' if verify_test_set else ' without --verify-test-set'))
    if pytorch_int8:  # before the export and calibration, not after
        from .pt2e import quantizer
        try:
            quantizer()
        except ImportError as exc:
            raise UsageError(f'--pytorch-int8: {exc}; or leave --pytorch-int8 out') from exc
    example, image, tmp_image = _example_input(cfg, model, task, image, shape)
    module = export_module(model, task)
    write_onnx(module, example, out, task, opset, dynamic, metadata_of(cfg, model, task))
    report = dict(out=out, task=task, input_shape=list(example.shape), opset=opset,
                  dynamic=dynamic)
    log(f'wrote {out} ({task}, input {tuple(example.shape)}, opset {opset}'
        f'{", dynamic" if dynamic else ""})')
    int8_file = inputs = None
    if int8 or pytorch_int8:
        inputs, statement = calibration_inputs(cfg, model, calib)
    if int8:
        int8_file = int8_path(out)
        report['int8'] = dict(out=int8_file, **quantize_file(out, int8_file, inputs, int8,
                                                             task, statement, log))
    try:
        if verify and int8_file:
            report['verify_int8'] = (
                verify_classifier(module, int8_file, example, None, int8, 'int8')
                if task == 'classifier' else
                verify_detector(cfg, model, int8_file, image, backend=int8,
                                precision='int8', min_matched=None))
            log(f"int8 file on {int8}: {report['verify_int8']['summary']}")
        if verify:
            report['verify'] = _verify_float(cfg, model, module, task, out, example, image,
                                             checkpoint)
            log(f"verified with ONNX Runtime: {report['verify']['summary']}")
        if verify_test_set:
            torch_int8 = None
            if pytorch_int8:
                from .pt2e import Pt2eBackend
                torch_int8 = Pt2eBackend(module, inputs)
                report['pytorch_int8'] = dict(tool='torchao PT2E (X86InductorQuantizer)',
                                              calibration=statement)
                log(f'PyTorch int8 (PT2E): calibrated on {statement}')
            report['test_set'] = verify_dataset(
                cfg, model, out, test_set_backend, precision, int8_file=int8_file,
                int8_backend=int8, log=log, batch_size=batch_size, pytorch_int8=torch_int8)
    finally:
        if tmp_image:
            os.remove(tmp_image)
    return report


