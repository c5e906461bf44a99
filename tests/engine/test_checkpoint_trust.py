"""Checkpoints you can trust: every URL scheme through the safe loader, a "last good"
checkpoint that is good, strict Pretrained in every init_cfg form, no leftovers, errors
that name the file."""
import errno
import functools
import http.server
import os
import os.path as osp
import threading

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mmresnet.convert import export_backbone
from mmresnet.datasets import load_idx
from mmresnet.engine import (CheckpointFormatError, UnsafeCheckpointError, atomic_write,
                             load_checkpoint_file)
from mmresnet.engine.hooks import DivergenceError
from mmresnet.models import PaperResLayer, PaperResNet, WeightsMismatchError

from .test_checkpoint_safety import write_hostile
from .toy import toy_runner


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A hostile checkpoint on a local http server, with a fresh TORCH_HOME."""
    marker = tmp_path / 'PWNED'
    root = tmp_path / 'www'
    root.mkdir()
    write_hostile(str(root / 'evil.pth'), marker)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/evil.pth', marker, tmp_path
    server.shutdown()


def test_a_url_goes_through_the_safe_loader(served):
    url, marker, _ = served
    with pytest.raises(UnsafeCheckpointError, match='posix.system|os.system'):
        CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert not marker.exists()
    # the Pretrained init of the backbone and the export tool take the same path
    net = PaperResNet(depth=8, arch='cifar', init_cfg=dict(type='Pretrained', checkpoint=url))
    with pytest.raises(UnsafeCheckpointError):
        net.init_weights()
    with pytest.raises(UnsafeCheckpointError):
        export_backbone(url, str(served[2] / 'out.pth'))
    assert not marker.exists()


def test_a_file_already_in_the_hub_cache_is_loaded_safely(served, tmp_path):
    url, marker, _ = served
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    write_hostile(str(cache / 'cached_evil.pth'), marker)
    # no server has this name: only the cached file can answer
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(url.replace('evil.pth', 'cached_evil.pth'))
    assert not marker.exists()


def test_a_url_with_good_weights_loads(served, tmp_path):
    url, _, _ = served
    good = tmp_path / 'www' / 'good.pth'
    torch.save({'state_dict': PaperResNet(depth=8, arch='cifar').state_dict()}, good)
    ckpt = CheckpointLoader.load_checkpoint(url.replace('evil.pth', 'good.pth'))
    assert 'conv1.weight' in ckpt['state_dict']


@pytest.mark.parametrize('scheme', ['http://', 'https://', 'torchvision://', 'modelzoo://',
                                    'open-mmlab://', 'openmmlab://', 'mmcls://', 's3://',
                                    'petrel://', 'pavi://'])
def test_every_mmengine_scheme_has_a_safe_loader(scheme):
    loader = CheckpointLoader._get_checkpoint_loader(f'{scheme}bucket/x.pth')
    assert loader.__module__ == 'mmresnet.engine.checkpoint', (scheme, loader)


def test_pavi_is_refused_with_a_message():
    with pytest.raises(ValueError, match='pavi.*local path'):
        CheckpointLoader.load_checkpoint('pavi://model/x.pth')


# -- 2. a diverged model is never saved ------------------------------------------------------
def _checkpoints(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith('.pth'))


def test_lr_1000_names_a_finite_checkpoint_and_saves_no_broken_one(tmp_path):
    runner = toy_runner(tmp_path, max_iters=60, interval=1, max_keep_ckpts=100, lr=1000.0)
    with pytest.raises(DivergenceError) as err:
        runner.train()
    for name in _checkpoints(tmp_path):
        state = load_checkpoint_file(str(tmp_path / name))['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()), name
    with open(tmp_path / 'last_checkpoint') as f:
        last = f.read().strip()
    assert osp.basename(last) in str(err.value)


def test_an_explosion_that_stays_finite_is_caught(tmp_path):
    # lr 2 on the toy regression: the loss grows ~30x per iteration, finite for 25+
    runner = toy_runner(tmp_path, max_iters=60, interval=100, lr=2.0)
    with pytest.raises(DivergenceError, match='times the median'):
        runner.train()


def test_non_finite_weights_are_never_saved(tmp_path):
    runner = toy_runner(tmp_path, max_iters=4, interval=2)
    hook = next(h for h in runner.hooks if type(h).__name__ == 'StopOnNonFiniteLossHook')
    state = {'linear.weight': torch.tensor([[1.0, float('inf')]])}
    runner.train()
    with pytest.raises(DivergenceError, match='linear.weight.*not saved'):
        hook.before_save_checkpoint(runner, {'state_dict': state})


# -- 3. list-form init_cfg is as strict as the dict form ------------------------------------
@pytest.mark.parametrize('form', ['dict', 'list'])
def test_pretrained_in_any_form_refuses_unmatched_weights(tmp_path, form):
    path = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, path)
    pre = dict(type='Pretrained', checkpoint=path)
    init = pre if form == 'dict' else [dict(type='Constant', val=1, layer='_BatchNorm'), pre]
    with pytest.raises(WeightsMismatchError):
        PaperResNet(depth=8, arch='cifar', init_cfg=init).init_weights()
    head_pre = dict(type='Pretrained', checkpoint=path, prefix='layer4.')
    with pytest.raises(WeightsMismatchError):
        PaperResLayer(depth=18, base_channels=8,
                      init_cfg=head_pre if form == 'dict' else [head_pre]).init_weights()


def test_list_form_loads_matching_weights(tmp_path):
    src = PaperResNet(depth=8, arch='cifar')
    path = str(tmp_path / 'bb.pth')
    torch.save({'state_dict': src.state_dict()}, path)
    net = PaperResNet(depth=8, arch='cifar', init_cfg=[dict(type='Pretrained', checkpoint=path)])
    net.init_weights()
    assert torch.equal(net.conv1.weight, src.conv1.weight)


# -- 4. leftovers and permissions ------------------------------------------------------------
def test_a_run_removes_stale_temp_files_and_checkpoints_follow_the_umask(tmp_path):
    stale = [tmp_path / '.iter_3.pth.k2j_9xq1.tmp', tmp_path / '.last_checkpoint.ab12cd34.tmp']
    keep = tmp_path / 'notes.tmp'
    for p in stale + [keep]:
        p.write_bytes(b'x' * 100)
    old = os.umask(0o022)
    try:
        toy_runner(tmp_path, max_iters=2, interval=2).train()
    finally:
        os.umask(old)
    assert not any(p.exists() for p in stale) and keep.exists()
    assert os.stat(tmp_path / 'iter_2.pth').st_mode & 0o777 == 0o644


def test_a_full_disk_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    target = tmp_path / 'iter_1.pth'
    atomic_write(b'old', str(target))

    def full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(OSError, match=r'iter_1.pth .*MiB needed.*intact') as err:
        atomic_write(b'x' * 2**20, str(target))
    assert err.value.errno == errno.ENOSPC
    assert target.read_bytes() == b'old'
    assert [p.name for p in tmp_path.iterdir()] == ['iter_1.pth']


# -- 5. errors that name the file --------------------------------------------------------------
def test_a_text_file_as_checkpoint_is_named(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('these are not weights\n')
    with pytest.raises(CheckpointFormatError, match='notes.pth is not a PyTorch checkpoint'):
        load_checkpoint_file(str(path))


def test_random_bytes_are_not_called_code(tmp_path):
    path = tmp_path / 'noise.pth'
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    with pytest.raises(CheckpointFormatError, match='noise.pth is not a PyTorch') as err:
        load_checkpoint_file(str(path))
    assert 'execute code' not in str(err.value)


def test_an_empty_checkpoint_is_named(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    with pytest.raises(CheckpointFormatError, match='empty.pth'):
        load_checkpoint_file(str(path))


def _idx(path, ndim, dims, body, gz=False):
    import gzip
    raw = bytes([0, 0, 8, ndim]) + b''.join(int(d).to_bytes(4, 'big') for d in dims) + body
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return str(path)


def test_idx_errors_name_the_file(tmp_path):
    good = _idx(tmp_path / 'a.gz', 1, [4], bytes(4), gz=True)
    trunc = tmp_path / 'trunc-idx1-ubyte.gz'
    trunc.write_bytes(open(good, 'rb').read()[:-6])
    with pytest.raises(ValueError, match='trunc-idx1-ubyte.gz.*truncated'):
        load_idx(str(trunc))
    with pytest.raises(ValueError, match='big.idx.*255 dimensions'):
        load_idx(_idx(tmp_path / 'big.idx', 255, [], b''))


def test_out_of_range_idx_labels_name_the_file(tmp_path):
    from mmresnet.datasets import IDXDataset
    _idx(tmp_path / 'img', 3, [2, 2, 2], bytes(8))
    _idx(tmp_path / 'lab', 1, [2], bytes([0, 12]))
    with pytest.raises(ValueError, match=r'lab: labels must be in \[0, 1\]'):
        IDXDataset(str(tmp_path), 'img', 'lab', metainfo=dict(classes=('a', 'b')))


@pytest.mark.parametrize('kw, word', [
    (dict(frozen_stages='1'), 'frozen_stages'), (dict(strides=2), 'strides'),
    (dict(out_indices=3), 'out_indices'), (dict(strides=(1, 0, 2, 2)), 'strides'),
    (dict(base_channels=0), 'base_channels'), (dict(in_channels=0), 'in_channels')])
def test_bad_paper_resnet_arguments_are_named(kw, word):
    with pytest.raises(ValueError, match=word):
        PaperResNet(depth=18, **kw)
