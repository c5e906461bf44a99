"""Post-training int8 in PyTorch itself: torchao's PT2E path with its x86 quantizer,
compiled by inductor: the PyTorch deploy path of a classifier on a CPU without native
bf16, where PyTorch's float path is slower than ONNX Runtime's (measured by
``tools/benchmark.py --deploy``, its accuracy by ``pytorch2onnx.py --verify-test-set
--pytorch-int8``; docs/deploy.md).

    from mmresnet.deploy.pt2e import quantize_pt2e
    from mmresnet.deploy.common import compile_frozen
    int8 = compile_frozen(quantize_pt2e(module, example, calibration))
    scores = int8(x)                          # oneDNN's int8 kernels

The module (a classifier's export form, :class:`~.export.ClassifierForExport`) is copied,
each ReLU module a block calls several times turned into one call of the function per
use, exported (``torch.export``), annotated by ``X86InductorQuantizer`` (int8
activations per tensor, weights per channel, as oneDNN's int8 kernels take them; its
``prepare_pt2e`` folds each BN into its conv), calibrated and converted; inductor, with
frozen weights, compiles it into oneDNN's int8 kernels.
``torchao`` is optional (not in the ``deploy`` extra); :func:`available` says whether
it imports.
"""
import copy

import numpy as np
import torch

from .common import compile_frozen


def available():
    """Whether torchao's PT2E quantizer imports here."""
    try:
        quantizer()
    except ImportError:
        return False
    return True


def quantizer():
    """``(quantizer, prepare_pt2e, convert_pt2e)`` of torchao; an ImportError saying what to
    install where torchao is absent or made for another torch."""
    try:
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    except ModuleNotFoundError as exc:
        if exc.name != 'torchao':
            raise
        raise ImportError(f'int8 in PyTorch (PT2E) needs torchao, which is not installed: '
                          f'pip install --no-deps torchao (a release made for torch '
                          f'{torch.__version__}; tools/setup_env.sh installs the one this '
                          'project tested beside torch 2.13, the torch 2.1 stack has none)'
                          ) from exc
    except (ImportError, AttributeError) as exc:  # a torchao made for another torch
        raise ImportError(f'torchao does not give its PT2E quantizer beside torch '
                          f'{torch.__version__}: {exc}') from exc
    quantizer = xiq.X86InductorQuantizer()
    quantizer.set_global(xiq.get_default_x86_inductor_quantization_config())
    return quantizer, prepare_pt2e, convert_pt2e


def relu_per_call(module):
    """Each ``nn.ReLU`` child replaced by the function, in place (returns how many): a
    residual block calls its ``self.relu`` after each conv and after the sum, and the
    quantizer, which groups a module's calls into one partition, refuses that partition
    ('Input partition has more than one output node')."""
    import torch.nn.functional as F
    count = 0
    for parent in module.modules():
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.ReLU:
                del parent._modules[name]
                object.__setattr__(parent, name, F.relu)
                count += 1
    return count


def quantize_pt2e(module, example, calibration):
    """The int8 module of ``module`` (not changed) for inputs shaped like ``example``,
    calibrated on each tensor of ``calibration`` (the same shape); its int8 kernels run
    once ``torch.compile`` (inductor, frozen weights) compiles it."""
    annotator, prepare_pt2e, convert_pt2e = quantizer()
    model = copy.deepcopy(module).eval()
    relu_per_call(model)
    with torch.no_grad():
        # shapes fixed as the example's (as a static file's): a dynamic batch is
        # specialized by export when the example's batch is 1
        exported = torch.export.export(model, (example, )).module()
        prepared = prepare_pt2e(exported, annotator)
        for x in calibration:
            prepared(x)
        return convert_pt2e(prepared)


class Pt2eBackend:
    """``run(x) -> [scores]`` (numpy in and out, as the file backends of
    :mod:`.runtime`, so ``DeployedClassifier`` evaluates it): the classifier's export form
    ``module`` in PyTorch int8 (:func:`quantize_pt2e`, compiled with frozen weights),
    calibrated on ``calibration`` (``(1, C, H, W)`` float32 arrays, e.g.
    :func:`~.quantize.calibration_inputs`). Its input is the calibration's shape, a batch
    of 1, as a file exported without ``--dynamic``: ``DeployedClassifier`` runs a larger
    batch image by image (:func:`~.runtime.chunks_for`; static int8, so each image's scores
    do not depend on its batch)."""

    name = 'torch pt2e'

    def __init__(self, module, calibration):
        inputs = [torch.from_numpy(c) for c in calibration]
        self.input_shape = list(inputs[0].shape)
        self.run = compile_frozen(quantize_pt2e(module, inputs[0], inputs))

    def __call__(self, x):
        if list(x.shape) != self.input_shape:
            raise ValueError(f'PyTorch int8 (PT2E) was calibrated and compiled for input '
                             f'{tuple(self.input_shape)}, got {tuple(x.shape)}: one image '
                             'at a time, of the calibration\'s size')
        with torch.inference_mode():
            return [self.run(torch.from_numpy(np.ascontiguousarray(x, np.float32))).numpy()]
