"""Parameters and multiply-adds of the paper's nets (next to Table 1 / Table 6) or of any
config's model.

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
    from ..models import PAPER_CHOICES, PaperResNet, PaperResNetClassifier
    return PaperResNetClassifier(PaperResNet(depth, arch=arch, **dict(PAPER_CHOICES, **kwargs)),
                                 num_classes)


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

    w = max([12] + [len(r['net']) + 2 for r in rows])
    lines = [f"{'net':<{w}}{'table':<9}{'input':<11}{'params (M)':>11}{'paper':>8}"
             f"{'mult-adds (G)':>15}{'paper':>8}"]
    for r in rows:
        lines.append(f"{r['net']:<{w}}{r['table']:<9}{r['input']:<11}"
                     f"{r['params_m']:>11.3f}{fmt(r['paper_params_m'], '.2f'):>8}"
                     f"{r['macs_g']:>15.3f}{fmt(r['paper_macs_g'], '.1f'):>8}")
    return '\n'.join(lines)


def infer_input_shape(cfg):
    """``(C, H, W)`` a config's model sees: C from ``model.backbone.in_channels`` (default
    3), H = W from the first crop/resize ``size`` of the test or train pipeline, else the
    arch's own size (224 ImageNet, 32 CIFAR)."""
    backbone = cfg.model.get('backbone', {})
    channels = backbone.get('in_channels', 3)
    for key in ('test_pipeline', 'train_pipeline'):
        for t in cfg.get(key, None) or []:
            size = t.get('size', t.get('crop_size'))
            if 'Crop' in str(t.get('type', '')) and size is not None:
                size = size if isinstance(size, int) else size[0]
                return (channels, size, size)
    return (channels, ) + ((32, 32) if backbone.get('arch') == 'cifar' else (224, 224))


class _FeatureForward(torch.nn.Module):
    """``model.extract_feat`` as ``forward``: what is counted for a detector, whose own
    forward needs data samples."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.extract_feat(x)


def config_complexity(config, input_shape=None, cfg_options=None):
    """Parameters and multiply-adds of any config's model.

    A classifier (``forward(inputs)`` gives logits) is counted whole; an MMDetection
    detector, whose forward needs data samples besides the image tensor, is counted through
    ``extract_feat`` (backbone + neck), which ``counted`` says. An error in the counted
    forward is raised as it is.

    Args:
        config (str | Config): Config file or object.
        input_shape (tuple, optional): (C, H, W); default :func:`infer_input_shape`.
        cfg_options (dict, optional): Overrides merged into the config first.

    Returns:
        dict: ``net`` (config name), ``input``, ``params_m``, ``macs_g``, ``counted``
        ('whole model' or 'extract_feat').
    """
    import os.path as osp

    from mmdet.models.detectors import BaseDetector

    from ..config import build_model, prepare_config
    cfg = prepare_config(config, 'analysis', cfg_options=cfg_options)
    model = build_model(cfg, seed=0)  # weights do not change a count: nothing is loaded
    shape = tuple(input_shape) if input_shape else infer_input_shape(cfg)
    if len(shape) != 3:
        raise ValueError(f'input shape must be (C, H, W), got {shape!r}')
    if isinstance(model, BaseDetector):  # its forward needs data samples: its features
        counted, macs = 'extract_feat', count_macs(_FeatureForward(model), shape)
    else:
        counted, macs = 'whole model', count_macs(model, shape)
    name = osp.splitext(osp.basename(getattr(cfg, 'filename', None) or 'config'))[0]
    return dict(net=name, table='config', input='x'.join(map(str, shape)),
                params_m=count_params(model) / 1e6, macs_g=macs / 1e9, paper_macs_g=None,
                paper_params_m=None, counted=counted)
