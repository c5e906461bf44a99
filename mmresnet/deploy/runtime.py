"""Running an exported file: ONNX Runtime and OpenVINO behind one call, and the detector
around them (the config's pipeline and preprocessor before, boxes mapped back after).

    from mmresnet.deploy.runtime import make_backend
    run = make_backend('model.onnx', 'openvino', precision='bf16')
    scores, = run(x)                 # x: (N, 3, H, W) float32 numpy, preprocessed

Backends: ``'onnxruntime'`` (CPU execution provider) and ``'openvino'`` (CPU plugin, with
``precision`` 'fp32' or 'bf16': OpenVINO's ``INFERENCE_PRECISION_HINT``, asked for only
where :func:`mmresnet.engine.precision.decide_precision` runs bf16 (a CPU with AVX512-BF16 /
AMX, ``MMRESNET_CPU_BF16`` not 0); elsewhere fp32, with a warning saying why). ``precision``
'int8' runs the int8 file of ``pytorch2onnx.py --int8`` (:mod:`.quantize`) on either.
"""
import json
import os.path as osp
import warnings

import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from ..engine.precision import decide_precision
from ..utils import DEPLOY_BACKENDS, DEPLOY_PRECISIONS, check_choice
from .common import require

#: The backends that run an exported file (``DEPLOY_BACKENDS`` less PyTorch itself).
FILE_BACKENDS = DEPLOY_BACKENDS[1:]


def check_backend_precision(backend, precision, backends=DEPLOY_BACKENDS):
    """``backend`` one of ``backends``, ``precision`` fp32 with every backend, bf16 with
    openvino only (its inference precision hint), int8 with the file backends (an int8
    file written by ``pytorch2onnx.py --int8``)."""
    check_choice('backend', backend, backends)
    check_choice('precision', precision, DEPLOY_PRECISIONS)
    if precision == 'bf16' and backend != 'openvino':
        raise ValueError(f'precision {precision!r} with backend {backend!r}: fp32 with every '
                         "backend, bf16 with openvino's inference precision hint "
                         '(--backend openvino), int8 with onnxruntime or openvino')
    if precision == 'int8' and backend not in FILE_BACKENDS:
        raise ValueError(f'precision {precision!r} with backend {backend!r}: int8 runs the '
                         'int8 file of pytorch2onnx.py --int8 with --backend onnxruntime '
                         'or openvino')


def check_file_precision(path, precision):
    """An int8 file (metadata ``mmresnet_precision``) runs at precision int8 only, and
    int8 runs an int8 file only: each mistake named with its remedy."""
    is_int8 = read_metadata(path)['precision'] == 'int8'
    if precision == 'int8' and not is_int8:
        raise ValueError(f'{path} is a float file: precision int8 runs the int8 file that '
                         'tools/deployment/pytorch2onnx.py --int8 writes (NAME.int8.onnx)')
    if precision != 'int8' and is_int8:
        raise ValueError(f'{path} is an int8 file (pytorch2onnx.py --int8): run it with '
                         f'--precision int8, not {precision}')


def runs_in(precision):
    """The precision that runs when ``precision`` is asked for on this CPU: bf16 only where
    :func:`~mmresnet.engine.precision.decide_precision` says so; otherwise fp32, with a
    warning naming why."""
    if precision != 'bf16':
        return precision
    decided = decide_precision('cpu', 'bf16')
    if decided.name != 'bf16':
        warnings.warn(f'precision bf16: running {decided.describe()}', UserWarning,
                      stacklevel=3)
    return decided.name


def _check_file(path):
    if not osp.isfile(path):
        raise FileNotFoundError(f'ONNX file not found: {path}')
    if not path.endswith('.onnx'):
        raise ValueError(f'{path}: the onnxruntime and openvino backends read an .onnx file '
                         '(tools/deployment/pytorch2onnx.py writes one)')


class OnnxRuntimeBackend:
    """``run(x) -> [outputs]`` with ONNX Runtime's CPU execution provider."""

    name = 'onnxruntime'

    def __init__(self, path, threads=None):
        _check_file(path)
        ort = require('onnxruntime', 'the onnxruntime backend')
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.path = path
        self.session = ort.InferenceSession(path, options,
                                            providers=['CPUExecutionProvider'])
        self.input_shape = self.session.get_inputs()[0].shape

    def __call__(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        try:
            return self.session.run(None, {'input': x})
        except Exception as exc:  # ORT raises its own classes
            raise RuntimeError(f'{self.path} (onnxruntime) on input {x.shape}: {exc}; the '
                               f'file takes {self.input_shape} (export with --dynamic for '
                               'other sizes)') from exc


class OpenVINOBackend:
    """``run(x) -> [outputs]`` with OpenVINO's CPU plugin; ``precision`` 'bf16' sets
    ``INFERENCE_PRECISION_HINT`` (weights stay fp32 in the file)."""

    name = 'openvino'

    def __init__(self, path, precision='fp32', threads=None):
        _check_file(path)
        check_choice('precision', precision, DEPLOY_PRECISIONS)
        precision = runs_in(precision)
        ov = require('openvino', 'the openvino backend')
        # int8: the quantized layers run int8, those the file keeps in float run fp32
        config = {'INFERENCE_PRECISION_HINT': dict(fp32='f32', bf16='bf16',
                                                   int8='f32')[precision],
                  'PERFORMANCE_HINT': 'LATENCY'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = threads
        self.path, self.precision = path, precision
        self.compiled = ov.Core().compile_model(path, 'CPU', config)
        self.request = self.compiled.create_infer_request()
        self.input_shape = self.compiled.inputs[0].get_partial_shape()

    def __call__(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        try:
            result = self.request.infer({0: x})
        except Exception as exc:
            raise RuntimeError(f'{self.path} (openvino) on input {x.shape}: {exc}; the file '
                               f'takes {self.input_shape} (export with --dynamic for other '
                               'sizes)') from exc
        return [np.asarray(result[port]) for port in self.compiled.outputs]


def make_backend(path, backend, precision='fp32', threads=None):
    """An ONNX file's runner: ``backend`` 'onnxruntime' or 'openvino'; ``precision`` int8
    with an int8 file only (and an int8 file at int8 only)."""
    check_backend_precision(backend, precision, FILE_BACKENDS)
    check_file_precision(path, precision)
    if backend == 'onnxruntime':
        return OnnxRuntimeBackend(path, threads)
    return OpenVINOBackend(path, precision, threads)


def read_metadata(path):
    """The file's metadata written by the export: ``task``, ``classes`` (tuple),
    ``config`` (text), ``precision`` ('int8' for an int8 file, else 'fp32') and ``int8``
    (the quantization's facts, dict), each None where absent."""
    onnx = require('onnx', 'reading an ONNX file')
    _check_file(path)
    props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    classes = props.get('classes')
    return dict(task=props.get('mmresnet_task'),
                classes=tuple(json.loads(classes)) if classes else None,
                config=props.get('mmresnet_config'),
                precision=props.get('mmresnet_precision', 'fp32'),
                int8=json.loads(props['mmresnet_int8']) if 'mmresnet_int8' in props else None)


def fixed_batch(backend):
    """The batch size ``backend``'s file takes, or None where it is dynamic
    (``--dynamic``)."""
    dim = backend.input_shape[0]
    if hasattr(dim, 'is_dynamic'):  # OpenVINO's Dimension
        return None if dim.is_dynamic else dim.get_length()
    return dim if isinstance(dim, int) else None


def chunks_for(backend, inputs):
    """The preprocessed batch ``inputs`` as float32 numpy, in the chunks ``backend``'s file
    takes: the whole batch, or image by image where the file has a fixed batch of another
    size (exported without ``--dynamic``)."""
    x = inputs.float().cpu().numpy()
    batch = fixed_batch(backend)
    return [x] if batch in (None, len(x)) else [x[i:i + 1] for i in range(len(x))]


def split_detections(dets, labels):
    """Each image's rows of a detector file's outputs (N, K, 5) and (N, K), without
    the padding (label -1; files of the one-image layout have none)."""
    return [(d[l >= 0], l[l >= 0]) for d, l in zip(dets, labels)]


def preprocess(preprocessor, data):
    """``preprocessor(data, False)`` for the test batches of mmdet's ``DetDataPreprocessor``
    (a list of (C, H, W) images), equal to it value for value in fewer passes: each image
    written once as float32 into the padded batch, then normalised in place (mmengine
    takes a pass for each of the conversion, the subtraction, the division and the
    stacking: 7 ms of an 800 x 800 image, one thread, 2026-12-06). Any other preprocessor
    or input runs the preprocessor itself."""
    from mmdet.models.data_preprocessors import DetDataPreprocessor
    from mmdet.models.utils import samplelist_boxtype2tensor
    from mmengine.utils import is_seq_of
    inputs = data['inputs']
    if (type(preprocessor) is not DetDataPreprocessor or not is_seq_of(inputs, torch.Tensor)
            or any(x.dim() != 3 for x in inputs)
            or len({x.shape[0] for x in inputs}) != 1
            or (preprocessor._enable_normalize
                and preprocessor.mean.shape[0] not in (1, inputs[0].shape[0]))):
        return preprocessor(data, False)
    pad_shapes = preprocessor._get_pad_shape(data)
    data = preprocessor.cast_data(data)
    inputs, samples = data['inputs'], data.get('data_samples')
    divisor = preprocessor.pad_size_divisor
    height, width = (-(-max(x.shape[axis] for x in inputs) // divisor) * divisor
                     for axis in (1, 2))
    batch = torch.full((len(inputs), inputs[0].shape[0], height, width),
                       float(preprocessor.pad_value), dtype=torch.float32,
                       device=inputs[0].device)
    for image, x in zip(batch, inputs):
        if preprocessor._channel_conversion:
            x = x[[2, 1, 0], ...]
        region = image[:, :x.shape[1], :x.shape[2]]
        region.copy_(x)
        if preprocessor._enable_normalize:
            region.sub_(preprocessor.mean).div_(preprocessor.std)
    if samples is not None:  # as DetDataPreprocessor.forward
        for sample, pad_shape in zip(samples, pad_shapes):
            sample.set_metainfo({'batch_input_shape': (height, width),
                                 'pad_shape': pad_shape})
        if preprocessor.boxtype2tensor:
            samplelist_boxtype2tensor(samples)
    return {'inputs': batch, 'data_samples': samples}


class DeployedDetector(BaseModel):
    """A detector whose network is an exported file: the config's data preprocessor
    (a module here; it pads a batch to one size), then the backend on the batch (image
    by image where the file takes a fixed batch of another size), then each image's
    boxes without padding, clipped to its resized shape and mapped back to its pixels
    (mmdet's ``rescale=True``). ``test_step`` returns ``DetDataSample`` as mmdet's
    detectors, so MMEngine's loops, mmdet's metrics and ``DetInferencer`` take it as a
    model."""

    def __init__(self, backend, data_preprocessor):
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor)
        self.backend = backend
        self.dataset_meta = None

    def test_step(self, data):
        """As mmengine's ``BaseModel.test_step``, through :func:`preprocess`."""
        return self._run_forward(preprocess(self.data_preprocessor, data), mode='predict')

    def run(self, inputs):
        """``[(dets (k, 5), labels (k,))]`` of each image of the preprocessed batch."""
        out = []
        for chunk in chunks_for(self.backend, inputs):
            dets, labels = self.backend(chunk)[:2]
            out += split_detections(torch.from_numpy(dets), torch.from_numpy(labels))
        return out

    def forward(self, inputs, data_samples=None, mode='predict'):
        if mode != 'predict':
            raise ValueError(f'a deployed detector only predicts, got mode {mode!r}')
        results = []
        samples = data_samples or [DetDataSample() for _ in range(len(inputs))]
        for sample, (dets, labels) in zip(samples, self.run(inputs)):
            boxes = dets[:, :4]
            if 'img_shape' in sample:
                h, w = sample.img_shape[:2]
                boxes = torch.stack([boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h),
                                     boxes[:, 2].clamp(0, w), boxes[:, 3].clamp(0, h)],
                                    dim=1)
            if 'scale_factor' in sample:
                boxes = boxes / boxes.new_tensor(sample.scale_factor).repeat(2)
            out = sample.clone() if isinstance(sample, DetDataSample) else DetDataSample()
            out.pred_instances = InstanceData(bboxes=boxes, scores=dets[:, 4],
                                              labels=labels.long())
            results.append(out)
        return results


class DeployedClassifier(BaseModel):
    """A classifier whose network is an exported file: the config's data preprocessor,
    then the backend's ``scores``; ``test_step`` returns the samples with ``pred_score``
    and ``pred_label`` as :class:`~mmresnet.models.classifiers.PaperResNetClassifier`
    (single view), so the test evaluator takes it as the model."""

    def __init__(self, backend, data_preprocessor):
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor)
        self.backend = backend

    def forward(self, inputs, data_samples=None, mode='predict'):
        from mmengine.structures import BaseDataElement
        if mode != 'predict':
            raise ValueError(f'a deployed classifier only predicts, got mode {mode!r}')
        scores = torch.cat([torch.from_numpy(self.backend(chunk)[0])
                            for chunk in chunks_for(self.backend, inputs)])
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(scores))]
        for sample, score in zip(data_samples, scores):
            sample.pred_score = score
            sample.pred_label = score.argmax()
        return data_samples
