"""What export, runtime and verification share: the ``deploy`` extra's imports, an image
file through a config's test pipeline, random inputs, predictions as numpy."""
import os.path as osp

import numpy as np
import torch


class ExportError(RuntimeError):
    """The export or its check failed (the message says which and by how much)."""


def require(package, purpose='ONNX export'):
    """Import ``package`` (onnx, onnxruntime, openvino) or raise naming the extra."""
    import importlib
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ImportError(f'{purpose} needs the {package!r} package: '
                          "pip install 'mmresnet[deploy]' (onnx, onnxruntime, openvino, nncf)"
                          ) from exc
    except AttributeError as exc:  # built for a newer torch: nncf >= 2.12 on torch < 2.3
        import torch
        raise ImportError(f'{purpose}: {package!r} does not import beside torch '
                          f'{torch.__version__} ({exc}); install a version made for this '
                          "torch (with torch 2.1: pip install 'nncf==2.8.1')") from exc


def compile_frozen(module):
    """``torch.compile(module)`` for inference with its weights frozen as constants
    (inductor's ``freezing``: BN folded, weights prepacked for oneDNN; a global inductor
    setting, set for the process): the compiled entries of ``tools/benchmark.py --deploy``
    and PyTorch's int8 (:mod:`.pt2e`)."""
    import torch._inductor.config as inductor_config
    inductor_config.freezing = True
    return torch.compile(module)


def preprocess_image(cfg, model, image):
    """``(input (1, 3, H, W), data_sample)`` of an image file through the config's test
    pipeline (annotations not loaded) and the model's data preprocessor."""
    with torch.no_grad():
        data = model.data_preprocessor(test_batch(cfg.test_dataloader.dataset.pipeline,
                                                  image), False)
    samples = data.get('data_samples')
    return data['inputs'], (samples[0] if samples else None)


def test_batch(pipeline, image):
    """A batch of one image file through a test pipeline (its annotation loading left
    out), as a dataloader gives it to ``test_step``."""
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    if not osp.isfile(image):
        raise FileNotFoundError(f'image file not found: {image}')
    steps = [dict(s) for s in pipeline if 'Annotations' not in str(s.get('type'))]
    data = Compose(steps)(dict(img_path=image, img_id=0))
    if data is None:
        raise ValueError(f'{image}: the test pipeline gave nothing for this image')
    return pseudo_collate([data])


def random_input(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g)


def random_image(size, path, seed=0):
    """A random image (height, width) written to ``path`` (for detector checks without
    an image)."""
    import mmcv
    rng = np.random.default_rng(seed)
    mmcv.imwrite(rng.integers(0, 256, (*size, 3), dtype=np.uint8), path)
    return path


def instances_as_numpy(pred):
    return dict(bboxes=pred.bboxes.numpy(), scores=pred.scores.numpy(),
                labels=pred.labels.numpy())
