"""Checkpoints you can trust: a "last good" checkpoint that is good (the divergence guard
and the atomic checkpoint hook), strict Pretrained in every init_cfg form, no leftovers,
errors that name the file."""
import os
import os.path as osp

import pytest
import torch

from mmresnet.checkpoint import WeightsMismatchError, load_checkpoint_file
from mmresnet.datasets import load_idx
from mmresnet.engine.hooks import DivergenceError
from mmresnet.models import PaperResLayer, PaperResNet

from .toy import toy_runner


# -- 1. a diverged model is never saved ------------------------------------------------------
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


def test_stock_hook_would_lose_checkpoint_ordering(tmp_path):
    """Our hook deletes the stale checkpoint only after the new one is written."""
    runner = toy_runner(tmp_path, max_iters=4, interval=2, max_keep_ckpts=1)
    runner.train()
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['iter_4.pth']


def test_nan_loss_stops_with_iteration_and_keeps_last_good(tmp_path):
    runner = toy_runner(tmp_path, max_iters=10, interval=2, nan_at_iter=5)
    with pytest.raises(DivergenceError, match='iteration 5') as err:
        runner.train()
    assert 'iter_4.pth' in str(err.value)
    with open(tmp_path / 'last_checkpoint') as f:
        last = f.read()
    ckpt = load_checkpoint_file(last)
    assert ckpt['meta']['iter'] == 4
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values())
    assert not osp.exists(tmp_path / 'iter_6.pth')


# -- 2. list-form init_cfg is as strict as the dict form ------------------------------------
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


# -- 3. leftovers and permissions ------------------------------------------------------------
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


# -- 4. errors that name the file --------------------------------------------------------------
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
