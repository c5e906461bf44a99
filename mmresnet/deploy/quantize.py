"""Post-training int8 of an exported file, calibrated on the config's training data.

    from mmresnet.deploy.quantize import calibration_inputs, quantize_file
    inputs, statement = calibration_inputs(cfg, model, count=300)
    quantize_file('model.onnx', 'model.int8.onnx', inputs, runtime='openvino')

The int8 file is an ONNX file in the QDQ form (``QuantizeLinear`` / ``DequantizeLinear``
pairs around the quantized layers), written for the runtime that will run it:

- ``'openvino'``: OpenVINO's NNCF (``nncf.quantize`` on the ONNX model: symmetric int8
  weights per channel, activations per tensor, symmetric for classifiers (its default
  ``performance`` preset, full bias correction) and asymmetric for detectors (its
  ``mixed`` preset, the fast bias correction)); OpenVINO turns each pair into its int8
  kernels;
- ``'onnxruntime'``: ONNX Runtime's static QDQ quantizer (``quantize_static``: int8
  weights per channel, uint8 activations from the min/max seen in calibration).

Calibration: ``count`` images of the config's *training* set, evenly spaced over it, run
through the config's *test* pipeline and the model's data preprocessor (the input the
file sees at inference), so the test set stays unseen. The layers that make a
classifier's logits and a detector's RPN / box-head outputs stay in float (:data:`KEEP_FLOAT`):
they are a small share of the compute, and an int8 rounding there moves scores and box
coordinates directly (docs/deploy.md).

The file's metadata says ``mmresnet_precision`` = ``int8``, the tool and the calibration
(``mmresnet_int8``, json); the runtime reads it (:mod:`.runtime`).
"""
import copy
import json
import os
import os.path as osp
import tempfile

import numpy as np
import torch

from .common import require

#: Images taken from the training set when ``--calib`` is not given.
DEFAULT_CALIB = 300

#: Layers kept in float, by module name as the ONNX node names carry them: the
#: classifier's fc (its logits), the RPN's objectness and box-delta convs, the box
#: head's class and box-delta fcs.
KEEP_FLOAT = dict(classifier=('/head/fc/', ),
                  detector=('/rpn_cls/', '/rpn_reg/', '/fc_cls/', '/fc_reg/'))

#: The library that quantizes for each runtime.
INT8_TOOLS = dict(openvino='nncf', onnxruntime='onnxruntime.quantization')

#: The layer types quantized (what carries the compute; the rest runs in float between).
QUANTIZED_OPS = ('Conv', 'Gemm', 'MatMul')


def _training_dataset(cfg):
    """The config's training dataset with the test pipeline (no augmentation); dataset
    wrappers (``RepeatDataset``, ``ClassBalancedDataset``) unwrapped."""
    import copy

    from mmdet.registry import DATASETS

    from ..config import use_scope
    ds_cfg = copy.deepcopy((cfg.get('train_dataloader') or {}).get('dataset'))
    if not ds_cfg:
        raise ValueError(f'{cfg.filename} has no train_dataloader.dataset: int8 '
                         'calibration takes its images from the training data')
    while 'dataset' in ds_cfg and 'pipeline' not in ds_cfg:
        ds_cfg = ds_cfg['dataset']
    ds_cfg['pipeline'] = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    use_scope(cfg)
    return DATASETS.build(ds_cfg)


def calibration_inputs(cfg, model, count=DEFAULT_CALIB):
    """``(inputs, statement)``: ``count`` training images (all of them when fewer), evenly
    spaced over the training set, each through the test pipeline and the model's data
    preprocessor as one ``(1, C, H, W)`` float32 array; the statement names them."""
    from mmengine.dataset import pseudo_collate
    if count < 1:
        raise ValueError(f'--calib must be >= 1 image, got {count}')
    dataset = _training_dataset(cfg)
    if not len(dataset):
        raise ValueError(f'{cfg.filename}: the training set is empty; int8 calibration '
                         'needs its images')
    n = min(count, len(dataset))
    indices = sorted({int(i) for i in np.linspace(0, len(dataset) - 1, n).round()})
    inputs = []
    with torch.no_grad():
        for i in indices:
            data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
            inputs.append(data['inputs'].float().numpy())
    statement = (f'{len(indices)} of the {len(dataset)} training images of '
                 f'{osp.basename(cfg.filename)} (evenly spaced, first index {indices[0]}, '
                 f'last {indices[-1]}), through the test pipeline')
    return inputs, statement


def keep_float_nodes(path, task):
    """Names of the nodes of ``path`` kept in float (:data:`KEEP_FLOAT` of ``task``)."""
    onnx = require('onnx', 'int8 quantization')
    graph = onnx.load(path, load_external_data=False).graph
    patterns = KEEP_FLOAT[task]
    return [n.name for n in graph.node
            if n.op_type in QUANTIZED_OPS and any(p in n.name for p in patterns)]


def _constants_as_initializers(model):
    """``Constant`` nodes (tensor values) moved into the graph's initializers, in place:
    NNCF's ONNX graph reads a ``Gather``'s data (a detector's base anchors) from the
    initializers only, and stops on a ``Constant`` node's output (ONNX Runtime's quantizer
    takes either form; it is given the same graph)."""
    from onnx import numpy_helper
    graph = model.graph
    for node in [n for n in graph.node if n.op_type == 'Constant']:
        value = [a for a in node.attribute if a.name == 'value']
        if value:
            array = numpy_helper.to_array(value[0].t)
            graph.initializer.append(numpy_helper.from_array(array, node.output[0]))
            graph.node.remove(node)
    return model


def _symbolic_shapes(model):
    """The graph's input and output dims made symbolic, in place; returns their types as
    they were (``{name: TypeProto}``). With a static file's fixed shapes ONNX Runtime fuses
    a bottleneck's last conv into the sum after it, and NNCF's full bias correction then
    asks the session for that conv's output, which no longer exists ('Failed to find node
    output', PaperResNet-50 at 224 px, a fixed batch of 1)."""
    types = {}
    for value in list(model.graph.input) + list(model.graph.output):
        types[value.name] = copy.deepcopy(value.type)
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            dim.ClearField('dim_value')
            dim.dim_param = f'{value.name}_dim{i}'
    return types


def _quantize_nncf(src, dst, inputs, keep, task):
    onnx = require('onnx', 'int8 quantization')
    nncf = require('nncf', 'int8 for openvino')
    dataset = nncf.Dataset(inputs, lambda x: {'input': x})
    model = _constants_as_initializers(onnx.load(src))
    types = _symbolic_shapes(model)
    # classifiers: NNCF's full bias correction (each layer's bias re-fitted to the float
    # outputs): a ResNet-20 on Fashion-MNIST lost 0.68 points of top-1 error with the fast
    # one, 0.08 with it (docs/deploy.md); detectors: the fast one (the full one fails on
    # their graph) and the 'mixed' preset, activations asymmetric (a zero point, as ONNX
    # Runtime's quantizer has them): mAP@.5 within 0.008 of fp32 on three demo detectors
    # where the symmetric default lost 0.015 on one, at the same speed (docs/deploy.md)
    detector = task != 'classifier'
    quantized = nncf.quantize(
        model, dataset, subset_size=len(inputs),
        fast_bias_correction=detector,
        preset=nncf.QuantizationPreset.MIXED if detector else None,
        ignored_scope=nncf.IgnoredScope(names=list(keep), validate=False))
    for value in list(quantized.graph.input) + list(quantized.graph.output):
        value.type.CopyFrom(types[value.name])  # the file's own shapes back
    onnx.save(quantized, dst)


def _quantize_onnxruntime(src, dst, inputs, keep, task):
    require('onnxruntime', 'int8 for onnxruntime')
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                          QuantFormat, QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(inputs)

        def get_next(self):
            x = next(self.items, None)
            return None if x is None else {'input': x}

    from onnxruntime.quantization.shape_inference import quant_pre_process
    onnx = require('onnx', 'int8 quantization')
    prepared = osp.join(osp.dirname(dst), 'prepared.onnx')
    onnx.save(_constants_as_initializers(onnx.load(src)), prepared)
    # ONNX Runtime's own preparation (its graph optimisations folded into the file): without
    # it the exporter's Identity nodes between weights and convs leave each conv a float
    # conv between Dequantize and Quantize (PaperResNet-50: 0.5x the speed of fp32, 3.5x
    # with it, one thread, batch 8)
    quant_pre_process(prepared, prepared, skip_symbolic_shape=True)
    quantize_static(prepared, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=list(QUANTIZED_OPS), nodes_to_exclude=list(keep),
                    calibrate_method=CalibrationMethod.MinMax)


def quantize_file(src, dst, inputs, runtime='openvino', task='classifier',
                  statement='', log=print):
    """Write the int8 form of the exported ``src`` to ``dst`` for ``runtime``
    ('openvino': NNCF, 'onnxruntime': ONNX Runtime's static QDQ), calibrated on
    ``inputs`` (float32 arrays of a shape the file takes); ``src``'s metadata is carried over with
    ``mmresnet_precision=int8`` and ``mmresnet_int8`` (tool, calibration, layers kept in
    float). Returns the int8 facts written."""
    from ..utils import check_choice
    check_choice('int8 runtime', runtime, tuple(INT8_TOOLS))
    if not inputs:
        raise ValueError('int8 calibration needs at least one input')
    onnx = require('onnx', 'int8 quantization')
    keep = keep_float_nodes(src, task)
    with tempfile.TemporaryDirectory(prefix='mmresnet_int8_') as tmp:
        out = osp.join(tmp, 'int8.onnx')
        (_quantize_nncf if runtime == 'openvino' else _quantize_onnxruntime)(
            src, out, inputs, keep, task)
        proto = onnx.load(out)
    facts = dict(runtime=runtime, tool=INT8_TOOLS[runtime], calibration=statement,
                 images=len(inputs), kept_float=keep)
    props = {p.key: p.value for p in onnx.load(src, load_external_data=False).metadata_props}
    props.update(mmresnet_precision='int8', mmresnet_int8=json.dumps(facts))
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    onnx.save(proto, dst)
    log(f'wrote {dst} (int8 for {runtime} by {facts["tool"]}, calibrated on {statement}; '
        f'kept in float: {", ".join(keep) or "none"})')
    return facts


def int8_path(out):
    """``model.onnx`` -> ``model.int8.onnx``: where the export writes the int8 file."""
    return out[:-len('.onnx')] + '.int8.onnx'
