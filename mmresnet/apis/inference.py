"""Detection on image files with MMDetection's ``DetInferencer`` (the logic behind
tools/infer.py), on PyTorch or, with ``backend='onnxruntime' | 'openvino'``, on the file
exported by tools/deployment/pytorch2onnx.py (same pipeline, outputs and files).

    from mmresnet.apis.inference import run_inference
    written = run_inference(CONFIG, CHECKPOINT, ['img.jpg', 'folder/'], out_dir='outputs')
    # outputs/vis/img.jpg (predictions drawn), outputs/preds/img.json (every prediction)

The checkpoint loads through MMEngine's ``CheckpointLoader`` (``DetInferencer`` calls
``mmengine.runner.checkpoint._load_checkpoint``), where importing mmresnet installed the
project's safe loader: a checkpoint holding anything beyond tensors and MMEngine's own
records is refused (:class:`~mmresnet.checkpoint.UnsafeCheckpointError`), never executed.
"""
import json
import os
import os.path as osp

import mmresnet  # noqa: F401  (registers PaperResNet etc., installs the safe loader)
from mmresnet.config import check_checkpoint, prepare_config, use_scope
from mmresnet.utils import IMG_EXTENSIONS


def collect_images(paths):
    """Image files of ``paths`` (files, or folders whose images are taken, sorted).

    Raises:
        FileNotFoundError: a path does not exist (named), or a folder has no images.
        ValueError: two images share a file name (their outputs would overwrite each other).
    """
    if isinstance(paths, str):
        paths = [paths]
    images = []
    for path in paths:
        if osp.isdir(path):
            found = sorted(osp.join(path, f) for f in os.listdir(path)
                           if f.lower().endswith(IMG_EXTENSIONS)
                           and osp.isfile(osp.join(path, f)))
            if not found:
                raise FileNotFoundError(f'no images ({", ".join(IMG_EXTENSIONS)}) in folder '
                                        f'{path}')
            images += found
        elif osp.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f'image file or folder not found: {path}')
    names = {}
    for img in images:
        name = osp.splitext(osp.basename(img))[0]
        if name in names and osp.abspath(names[name]) != osp.abspath(img):
            raise ValueError(f'{names[name]} and {img} would both write vis/{name}.* and '
                             f'preds/{name}.json: give them in separate runs')
        names[name] = img
    return list(dict.fromkeys(images))


def _inferencer_class():
    from mmcv.transforms import LoadImageFromFile
    from mmdet.apis import DetInferencer
    from mmdet.registry import TRANSFORMS

    class PaperDetInferencer(DetInferencer):
        """``DetInferencer`` for the project's configs: their test pipelines read images with
        ``LoadDetImage`` (mmcv's ``LoadImageFromFile`` whose errors name the file), which
        ``DetInferencer`` does not recognise as the loading step it replaces with its own
        ``InferencerLoader``. Such a subclass of ``LoadImageFromFile`` is given back as
        ``LoadImageFromFile`` with the same arguments (the project's ``skip_bad`` dropped:
        at inference every image given must load).

        ``backend`` 'onnxruntime' or 'openvino': ``weights`` is an exported ``.onnx`` file
        and the model a :class:`~mmresnet.deploy.runtime.DeployedDetector` around it (same
        pipeline, preprocessor, drawing and files; class names from the file)."""

        def __init__(self, *args, backend='pytorch', precision='fp32', **kwargs):
            self._backend, self._precision = backend, precision
            super().__init__(*args, **kwargs)

        def _init_model(self, cfg, weights, device='cpu'):
            if self._backend == 'pytorch':
                return super()._init_model(cfg, weights, device)
            from mmresnet.deploy.runtime import (DeployedDetector, make_backend,
                                                 read_metadata)
            model = DeployedDetector(make_backend(weights, self._backend, self._precision),
                                     cfg.model.data_preprocessor)
            classes = read_metadata(weights)['classes']
            test_set = dict(cfg.test_dataloader.dataset, lazy_init=True)
            from mmdet.registry import DATASETS
            metainfo = DATASETS.build(test_set).metainfo
            model.dataset_meta = dict(
                classes=classes or tuple(metainfo.get('classes') or ()),
                palette=(self.palette if self.palette != 'none'
                         else metainfo.get('palette') or 'random'))
            return model.eval()

        def _init_pipeline(self, cfg):
            for step in cfg.test_dataloader.dataset.pipeline:
                kind = step.get('type')
                cls = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
                if (isinstance(cls, type) and issubclass(cls, LoadImageFromFile)
                        and cls is not LoadImageFromFile and kind != 'LoadImageFromFile'):
                    step['type'] = 'LoadImageFromFile'
                    step.pop('skip_bad', None)
                    break
            return super()._init_pipeline(cfg)

    return PaperDetInferencer


def build_inferencer(config, checkpoint, device=None, cfg_options=None, palette='none',
                     show_progress=False, backend='pytorch', precision='fp32'):
    """A ``DetInferencer`` of the config with the checkpoint's weights (and its
    ``meta.dataset_meta`` class names, as mmdet).

    Args:
        config (str): Detection config file.
        checkpoint (str): Checkpoint (local path or URL), loaded by the safe loader; with
            ``backend`` 'onnxruntime' or 'openvino', the ``.onnx`` file exported from it
            (tools/deployment/pytorch2onnx.py).
        backend (str): 'pytorch', 'onnxruntime' or 'openvino' (CPU). Default: 'pytorch'.
        precision (str): 'fp32', 'bf16' with openvino (its inference precision hint), or
            'int8' with the int8 file of ``pytorch2onnx.py --int8`` (either runtime).
        device (str, optional): 'cpu', 'cuda', 'cuda:1', ...; default: CUDA if available.
        cfg_options (dict, optional): Config overrides, ``key.path: value``.
        palette (str): mmdet's box colours: 'none' (the dataset's), 'random', 'coco', ...
        show_progress (bool): Progress bar over the images.
    """
    from mmresnet.deploy.runtime import check_backend_precision
    check_backend_precision(backend, precision)
    cfg = prepare_config(config, 'infer', cfg_options=cfg_options)
    check_checkpoint(checkpoint)
    if backend != 'pytorch' and not checkpoint.endswith('.onnx'):
        raise ValueError(f'backend {backend!r} runs an exported .onnx file, got {checkpoint} '
                         '(export it with tools/deployment/pytorch2onnx.py)')
    if backend == 'pytorch' and checkpoint.endswith('.onnx'):
        raise ValueError(f'{checkpoint} is an ONNX file: run it with --backend onnxruntime '
                         'or --backend openvino')
    scope = use_scope(cfg)
    from mmdet.models.detectors import BaseDetector
    from mmdet.registry import MODELS
    model_cls = MODELS.get(cfg.model.get('type'))
    if not (isinstance(model_cls, type) and issubclass(model_cls, BaseDetector)):
        raise ValueError(f'{config}: model type {cfg.model.get("type")!r} is no detector; '
                         'tools/infer.py runs detection configs (configs/faster_rcnn, '
                         'configs/demo/faster-rcnn_*)')
    if backend != 'pytorch':
        device = 'cpu'
    return _inferencer_class()(model=cfg, weights=checkpoint, device=device, scope=scope,
                               palette=palette, show_progress=show_progress,
                               backend=backend, precision=precision)


def run_inference(config, checkpoint, images, out_dir='outputs', score_thr=0.3, device=None,
                  batch_size=1, cfg_options=None, show=False, wait_time=0, palette='none',
                  backend='pytorch', precision='fp32'):
    """Detect objects in ``images`` and write what mmdet's ``DetInferencer`` writes.

    Files: ``OUT_DIR/vis/<image name>`` (the image with the predictions scored >=
    ``score_thr`` drawn) and ``OUT_DIR/preds/<image stem>.json`` (every prediction:
    ``labels``, ``scores``, ``bboxes`` as x1, y1, x2, y2 in the image's pixels).

    Args:
        images (str | list[str]): Image files and/or folders of images.
        score_thr (float): Lowest score drawn. Default: 0.3 (as mmdet).
        backend, precision: as :func:`build_inferencer` (CHECKPOINT an ``.onnx`` file
            with 'onnxruntime' / 'openvino').
        show (bool): Also show each drawn image in a window for ``wait_time`` s.
        Others: as :func:`build_inferencer`.

    Returns:
        dict: ``vis`` and ``preds`` (lists of the files written, one per image, in the
        order of the images), ``predictions`` (the inferencer's per-image dicts, with
        ``label_names``, also added to the json files), ``classes`` (the detector's class
        names, from the checkpoint's ``dataset_meta`` or the config).
    """
    files = collect_images(images)
    inferencer = build_inferencer(config, checkpoint, device=device, cfg_options=cfg_options,
                                  palette=palette, backend=backend, precision=precision)
    result = inferencer(files, batch_size=batch_size, out_dir=out_dir, no_save_pred=False,
                        pred_score_thr=score_thr, show=show, wait_time=wait_time)
    vis = [osp.join(out_dir, 'vis', osp.basename(f)) for f in files]
    preds = [osp.join(out_dir, 'preds', osp.splitext(osp.basename(f))[0] + '.json')
             for f in files]
    classes = tuple((inferencer.model.dataset_meta or {}).get('classes') or ())
    for path, pred in zip(preds, result['predictions']):
        # the class names beside mmdet's label indices, in the files and the result
        pred['label_names'] = [classes[i] if 0 <= i < len(classes) else str(i)
                               for i in pred.get('labels', [])]
        if osp.isfile(path):
            with open(path) as f:
                saved = json.load(f)
            saved['label_names'] = pred['label_names']
            with open(path, 'w') as f:
                json.dump(saved, f, ensure_ascii=False)
    return dict(vis=vis, preds=preds, predictions=result['predictions'], classes=classes)
