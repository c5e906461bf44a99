"""Fig. 7 layer responses: one value per 3x3 conv, hand-checkable statistics."""
import gzip
import runpy
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from mmresnet.analysis import (format_response_table, layer_response_stds,
                               plot_layer_responses, response_layers)
from mmresnet.models import PaperResNet


ROOT = Path(__file__).resolve().parents[2]


def batches(n=3, size=8, channels=3):
    g = torch.Generator().manual_seed(1)
    return [torch.randn(4, channels, size, size, generator=g) for _ in range(n)]


@pytest.mark.parametrize('depth,plain', [(8, False), (14, True)])
def test_one_value_per_3x3_conv_cifar(depth, plain):
    net = PaperResNet(depth, arch='cifar', plain=plain, base_channels=4)
    rows = layer_response_stds(net, batches())
    # 6n+2 layers: the 3x3 stem and 6n 3x3 convs have responses, the fc has none.
    assert len(rows) == depth - 1
    n3x3 = sum(1 for m in net.modules()
               if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))
    assert len(rows) == n3x3
    assert rows[0]['name'] == 'bn1' and rows[-1]['name'] == 'layer3.%d.bn2' % (
        (depth - 2) // 6 - 1)
    assert all(r['std'] > 0 for r in rows)
    assert net.training  # put back in its mode


def test_bottleneck_only_middle_norm_and_imagenet_stem_skipped():
    net = PaperResNet(50, base_channels=4)
    names = [n for n, _ in response_layers(net)]
    assert len(names) == 16 and names[0] == 'layer1.0.bn2'  # 7x7 stem, 1x1 convs left out


def test_std_matches_direct_computation_and_bn_scale():
    net = PaperResNet(8, arch='cifar', base_channels=4)
    # After BN in eval mode with running stats (0, 1), the response of channel c is
    # gamma_c * conv + beta_c: its std over the data is |gamma_c| * std(conv_c).
    with torch.no_grad():
        net.layer1[0].bn2.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    xs = batches()
    rows = layer_response_stds(net, xs)
    net.eval()  # the hook below sees what layer_response_stds saw
    captured = []
    # a copy: the block adds the shortcut in place (as mmdet's) after the hook has run
    h = net.layer1[0].bn2.register_forward_hook(lambda m, i, o: captured.append(o.clone()))
    with torch.no_grad():
        for x in xs:
            net(x)
    h.remove()
    resp = torch.cat(captured).double().transpose(0, 1).flatten(1)
    expected = resp.std(dim=1, unbiased=False).mean().item()
    row = next(r for r in rows if r['name'] == 'layer1.0.bn2')
    assert row['std'] == pytest.approx(expected, rel=1e-6)
    assert row['std_all'] == pytest.approx(resp.flatten().std(unbiased=False).item(), rel=1e-6)


def test_plot_and_table(tmp_path):
    res = {'plain-8': layer_response_stds(PaperResNet(8, arch='cifar', plain=True,
                                                      base_channels=4), batches()),
           'ResNet-14': layer_response_stds(PaperResNet(14, arch='cifar', base_channels=4),
                                            batches())}
    out = plot_layer_responses(res, str(tmp_path / 'fig7.png'))
    assert Path(out).read_bytes()[:4] == b'\x89PNG'
    table = format_response_table(res)
    assert table.count('| 13 |') == 2 and 'Sorted by magnitude' in table
    sorted_part = table.split('Sorted by magnitude')[1]
    col = [float(line.split('|')[3]) for line in sorted_part.splitlines()
           if line.startswith('| ') and line.split('|')[1].strip().isdigit()]
    assert col == sorted(col, reverse=True) and len(col) == 13


def write_idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + b''.join(struct.pack('>I', d) for d in arr.shape)
    path.write_bytes(gzip.compress(header + arr.astype(np.uint8).tobytes()))


def test_tool_from_config_and_checkpoint(tmp_path):
    """The command line on a tiny Fashion-MNIST-layout data set and a depth-8 model."""
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmresnet  # noqa: F401
    rng = np.random.default_rng(0)
    for prefix in ('train', 't10k'):
        write_idx(tmp_path / f'{prefix}-images-idx3-ubyte.gz',
                  rng.integers(0, 255, (10, 28, 28)))
        write_idx(tmp_path / f'{prefix}-labels-idx1-ubyte.gz', np.arange(10))
    base = ROOT / 'configs/fashion_mnist/paper-resnet20_b128-64k_fashion-mnist.py'
    cfg_path = tmp_path / 'tiny.py'
    cfg_path.write_text(
        f"_base_ = ['{base}']\n"
        f"model = dict(backbone=dict(depth=8, base_channels=4))\n"
        f"test_dataloader = dict(batch_size=4, dataset=dict(data_root='{tmp_path}'))\n")
    cfg = Config.fromfile(str(cfg_path))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'ckpt.pth')
    main = runpy.run_path(str(ROOT / 'tools/analysis/layer_response.py'))['main']
    main(['--run', str(cfg_path), str(tmp_path / 'ckpt.pth'), 'tiny', '--max-images', '6',
          '--out', str(tmp_path / 'f7.png'), '--table', str(tmp_path / 'f7.md')])
    table = (tmp_path / 'f7.md').read_text()
    assert '| 7 |' in table and '| 8 |' not in table  # 6n+1 = 7 values for depth 8
    assert (tmp_path / 'f7.png').stat().st_size > 5000
