"""Parameters and multiply-adds of the paper's nets, measured next to Table 1 / Table 6.

Multiply-adds are counted with MMEngine's FLOP counter (``mmengine.analysis``, an fvcore
port), which counts one multiply-add per "flop" for convolutions and linear layers, the
paper's convention. Normalisation, ReLU, pooling and additions are left out of the count
(as the paper's figures leave them out): only conv and linear layers are counted.
"""
import torch

# Table 1: multiply-adds (x1e9) of the 224x224 ImageNet nets with a 1000-way fc.
PAPER_IMAGENET_MACS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}
# Table 6: parameters (x1e6) of the CIFAR-10 nets with a 10-way fc.
PAPER_CIFAR_PARAMS = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7, 1202: 19.4}


def count_params(model):
    """Number of parameters (trainable or not; buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model, input_shape):
    """Multiply-adds of one forward pass on a ``(1, *input_shape)`` input (conv + linear).

    Args:
        model (nn.Module): The network; it is put in eval mode.
        input_shape (tuple): (C, H, W).
    """
    from mmengine.analysis import FlopAnalyzer
    model.eval()
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, torch.zeros(1, *input_shape))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        # Only weighted layers: the paper's complexity figures count conv and fc.
        counted = {k: v for k, v in analyzer.by_operator().items()
                   if k in ('conv', 'linear', 'addmm', 'matmul')}
    return sum(counted.values())


def build_paper_net(depth, arch, num_classes, **kwargs):
    """A whole classification net (backbone + pool + fc) for counting."""
    from ..models import BackboneWithHead, PaperResNet
    return BackboneWithHead(PaperResNet(depth, arch=arch, **kwargs), num_classes)


def paper_complexity_rows(imagenet_depths=tuple(PAPER_IMAGENET_MACS),
                          cifar_depths=tuple(PAPER_CIFAR_PARAMS), imagenet_style='caffe'):
    """Measure every paper net; one dict per net with the measured and paper figures.

    ImageNet nets are counted caffe-style by default: the paper's own models put the
    stride on the first 1x1 conv, which makes the bottleneck nets cheaper than
    torchvision's "v1.5" ('pytorch' style).
    """
    rows = []
    for depth in imagenet_depths:
        net = build_paper_net(depth, 'imagenet', 1000, style=imagenet_style)
        rows.append(dict(net=f'ResNet-{depth}', table='Table 1', input='3x224x224',
                         params_m=count_params(net) / 1e6,
                         macs_g=count_macs(net, (3, 224, 224)) / 1e9,
                         paper_macs_g=PAPER_IMAGENET_MACS.get(depth), paper_params_m=None))
    for depth in cifar_depths:
        net = build_paper_net(depth, 'cifar', 10)
        rows.append(dict(net=f'ResNet-{depth}', table='Table 6', input='3x32x32',
                         params_m=count_params(net) / 1e6,
                         macs_g=count_macs(net, (3, 32, 32)) / 1e9, paper_macs_g=None,
                         paper_params_m=PAPER_CIFAR_PARAMS.get(depth)))
    return rows


def format_rows(rows):
    """Render measured-vs-paper rows as a fixed-width text table."""

    def fmt(v, spec):
        return '-' if v is None else format(v, spec)

    lines = [f"{'net':<12}{'table':<9}{'input':<11}{'params (M)':>11}{'paper':>8}"
             f"{'mult-adds (G)':>15}{'paper':>8}"]
    for r in rows:
        lines.append(f"{r['net']:<12}{r['table']:<9}{r['input']:<11}"
                     f"{r['params_m']:>11.3f}{fmt(r['paper_params_m'], '.2f'):>8}"
                     f"{r['macs_g']:>15.3f}{fmt(r['paper_macs_g'], '.1f'):>8}")
    return '\n'.join(lines)
