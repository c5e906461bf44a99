"""Post-training int8 in PyTorch itself: torchao's PT2E path with its x86 quantizer,
compiled by inductor (measured by ``tools/benchmark.py --deploy``; docs/speed.md).

    from mmresnet.deploy.pt2e import quantize_pt2e
    torch._inductor.config.freezing = True    # weights as constants (inference only)
    int8 = torch.compile(quantize_pt2e(module, example, calibration))
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

import torch

from .common import require


def available():
    """Whether torchao's PT2E quantizer imports here."""
    try:
        _quantizer()
    except ImportError:
        return False
    return True


def _quantizer():
    require('torchao', 'int8 in PyTorch (PT2E)')
    try:
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
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
    quantizer, prepare_pt2e, convert_pt2e = _quantizer()
    model = copy.deepcopy(module).eval()
    relu_per_call(model)
    with torch.no_grad():
        # shapes fixed as the example's (as a static file's): a dynamic batch is
        # specialized by export when the example's batch is 1
        exported = torch.export.export(model, (example, )).module()
        prepared = prepare_pt2e(exported, quantizer)
        for x in calibration:
            prepared(x)
        return convert_pt2e(prepared)
