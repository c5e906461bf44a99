"""Safe loading through the command lines: tools/test.py, tools/train.py --resume,
tools/export_backbone.py and the converters refuse a code-carrying checkpoint, and the
payload never runs."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmresnet.models import PaperResNet

from .test_loading import Payload

pytestmark = pytest.mark.e2e  # runs tools or training end to end

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = 'configs/fashion_mnist/paper-resnet20_b128-64k_fashion-mnist.py'


@pytest.fixture(scope='module')
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('hostile')
    path = tmp / 'model.pth'
    torch.save({'state_dict': PaperResNet(8, arch='cifar').state_dict(),
                'meta': {'note': Payload(tmp / 'PWNED')}}, path)
    return path, tmp / 'PWNED'


@pytest.mark.parametrize('tool, args', [
    ('tools/test.py', [CFG, '{ckpt}', '--work-dir', '{tmp}/w1']),
    ('tools/train.py', [CFG, '--resume', '{ckpt}', '--work-dir', '{tmp}/w2']),
    ('tools/export_backbone.py', ['{ckpt}', '{tmp}/out.pth']),
    ('tools/convert/torchvision2paper.py', ['{ckpt}', '{tmp}/conv.pth']),
])
def test_tool_refuses_hostile_checkpoint(hostile, tool, args):
    if not osp.exists(osp.join(ROOT, tool)):
        pytest.skip(f'{tool} not present')
    ckpt, marker = hostile
    argv = [a.format(ckpt=ckpt, tmp=ckpt.parent) for a in args]
    # The Fashion-MNIST config needs no data to refuse: loading happens first for export /
    # convert; test/train build a tiny fake data root.
    data = ckpt.parent / 'fm'
    data.mkdir(exist_ok=True)
    _write_fake_fashion_mnist(data)
    argv += ['--cfg-options', f'train_dataloader.dataset.data_root={data}',
             f'val_dataloader.dataset.data_root={data}', f'test_dataloader.dataset.data_root={data}',
             'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
             'test_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
             'val_dataloader.persistent_workers=False', 'test_dataloader.persistent_workers=False'
             ] if tool in ('tools/test.py', 'tools/train.py') else []
    out = subprocess.run([sys.executable, tool, *argv], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode != 0
    assert 'refused to load checkpoint' in out.stderr and 'posix.system' in out.stderr, \
        out.stderr[-2000:]
    assert not marker.exists(), f'payload ran through {tool}'


def _write_fake_fashion_mnist(root):
    import gzip
    import struct

    import numpy as np
    for prefix, n in (('train', 4), ('t10k', 4)):
        for kind, arr in (('images-idx3', np.zeros((n, 28, 28), np.uint8)),
                          ('labels-idx1', np.arange(n, dtype=np.uint8))):
            header = bytes([0, 0, 8, arr.ndim]) + b''.join(struct.pack('>I', d)
                                                         for d in arr.shape)
            (root / f'{prefix}-{kind}-ubyte.gz').write_bytes(
                gzip.compress(header + arr.tobytes()))
