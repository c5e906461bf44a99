"""One restricted unpickler and one allow-list for every load, on every supported torch;
truncated or bit-flipped checkpoints get errors that name the file.

Both implementations of the rule run on the running torch where it has both: torch's own
``weights_only`` loader with the allow-list (torch >= 2.6), and the project's unpickler as
``torch.load``'s ``pickle_module`` (what torch 2.0-2.5 use)."""
import ast
import collections
import io
import os
import os.path as osp
import pickle
import random

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmresnet.checkpoint import (CheckpointFormatError, UnsafeCheckpointError,
                                 load_checkpoint_file, safe_pickle, write_checkpoint)
from mmresnet.checkpoint.safe_pickle import RestrictedUnpickler
from mmresnet.models import PaperResNet

from ..engine.toy import toy_runner
from .test_loading import Payload

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMPLEMENTATIONS = ['project unpickler'] + (
    ['torch weights_only'] if safe_pickle.torch_has_safe_globals() else [])


@pytest.fixture(params=IMPLEMENTATIONS)
def implementation(request, monkeypatch):
    """Every project load of the test runs through one implementation of the rule."""
    restricted = request.param == 'project unpickler'
    monkeypatch.setattr(safe_pickle, 'torch_has_safe_globals', lambda: not restricted)
    return request.param


def _mmengine_like_checkpoint():
    hub = HistoryBuffer()
    for v in (1.0, 2.0, 4.0):
        hub.update(v)
    return {'state_dict': PaperResNet(8, arch='cifar').state_dict(),
            'meta': {'arr': np.arange(3, dtype=np.int16), 'scalar': np.float32(2.5),
                     'dtype': torch.bfloat16, 'device': torch.device('cpu'),
                     'bf16': torch.ones(2, dtype=torch.bfloat16),
                     'counts': collections.Counter(a=2), 'ids': {3, 4}},
            'message_hub': {'log_scalars': {'train/loss': hub}},
            'param': torch.nn.Parameter(torch.zeros(2))}


def test_the_allow_list_loads_what_mmengine_saves(tmp_path, implementation):
    """HistoryBuffer (and its getattr of statistics), numpy arrays and scalars, dtypes,
    devices, bf16 tensors, Parameters, in the zip and the legacy format."""
    ckpt = _mmengine_like_checkpoint()
    for legacy in (False, True):
        path = tmp_path / f'ok_{legacy}.pth'
        torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
        out = load_checkpoint_file(str(path))
        assert out['message_hub']['log_scalars']['train/loss'].mean() == pytest.approx(7 / 3)
        assert out['meta']['arr'].dtype == np.int16 and out['meta']['scalar'] == 2.5
        assert out['meta']['dtype'] is torch.bfloat16
        assert out['meta']['counts'] == {'a': 2} and out['meta']['ids'] == {3, 4}
        assert out['meta']['bf16'].dtype == torch.bfloat16
        assert isinstance(out['param'], torch.nn.Parameter)
        for k, v in ckpt['state_dict'].items():
            assert torch.equal(out['state_dict'][k], v), k


def test_a_trained_runners_checkpoint_resumes(tmp_path, implementation):
    runner = toy_runner(tmp_path, max_iters=2, interval=2)
    runner.train()
    resumed = toy_runner(tmp_path / 'again', max_iters=4, interval=2)
    resumed.resume(str(tmp_path / 'iter_2.pth'))
    assert resumed.iter == 2


def _loaders(path, tmp_path):
    """Every checkpoint loading path of the project, as callables on one file."""
    yield 'load_checkpoint_file', lambda: load_checkpoint_file(str(path))
    yield 'mmengine _load_checkpoint', lambda: _load_checkpoint(str(path))
    yield 'init_cfg Pretrained', lambda: PaperResNet(8, arch='cifar', init_cfg=dict(
        type='Pretrained', checkpoint=str(path))).init_weights()
    yield 'runner load_from', lambda: toy_runner(tmp_path / 'w1', max_iters=2).load_checkpoint(
        str(path))
    yield 'runner resume', lambda: toy_runner(tmp_path / 'w2', max_iters=2).resume(str(path))


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_hostile_checkpoint_refused_by_every_path(tmp_path, implementation, legacy):
    marker = tmp_path / 'PWNED'
    path = tmp_path / 'hostile.pth'
    torch.save({'state_dict': PaperResNet(8, arch='cifar').state_dict(),
                'meta': {'x': Payload(marker)}}, path,
               _use_new_zipfile_serialization=not legacy)
    for name, load in _loaders(path, tmp_path):
        with pytest.raises(UnsafeCheckpointError) as err:
            load()
        assert str(path) in str(err.value), name
        assert 'posix.system' in str(err.value) and 'nothing was executed' in str(err.value)
        assert err.value.global_name == 'posix.system'
        assert not marker.exists(), f'payload ran through {name}'


class Reduce:
    """Pickles as the call ``reduce`` names."""

    def __init__(self, reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


@pytest.mark.parametrize('reduce, name', [
    ((eval, ("__import__('os').system('false')", )), 'builtins.eval'),
    ((getattr, (HistoryBuffer, '__init__')), 'builtins.getattr'),
    ((__import__('subprocess').Popen, (['true'], )), 'subprocess.Popen'),
])
def test_other_payloads_are_refused(tmp_path, implementation, reduce, name):
    path = tmp_path / 'p.pth'
    torch.save({'x': Reduce(reduce)}, path)
    with pytest.raises(UnsafeCheckpointError, match=name.replace('.', r'\.')):
        load_checkpoint_file(str(path))


def test_the_unpickler_itself_refuses_before_anything_runs(tmp_path):
    marker = tmp_path / 'RAN'
    data = pickle.dumps({'x': Payload(marker)})
    for with_torch in (True, False):
        with pytest.raises(UnsafeCheckpointError, match='posix.system'):
            RestrictedUnpickler(io.BytesIO(data), name='blob', with_torch=with_torch).load()
    # without torch's rebuilders (MSRA / CIFAR readers) a pickled tensor is refused too
    with pytest.raises(UnsafeCheckpointError, match='torch'):
        RestrictedUnpickler(io.BytesIO(pickle.dumps(torch.zeros(1))), with_torch=False).load()
    assert not marker.exists()
    pickle.loads(data)  # the payload is real: unrestricted, it runs
    assert marker.exists()


def test_msra_and_cifar_readers_refuse_through_the_same_rule(tmp_path):
    from mmresnet.convert import load_msra_blobs
    from mmresnet.datasets.classification import load_cifar_batch
    marker = tmp_path / 'PWNED'
    for name in ('R-50.pkl', 'data_batch_1'):
        with open(tmp_path / name, 'wb') as f:
            pickle.dump({b'data': Payload(marker), 'blobs': Payload(marker)}, f, protocol=2)
    with pytest.raises(UnsafeCheckpointError, match=r'R-50\.pkl.*posix\.system'):
        load_msra_blobs(str(tmp_path / 'R-50.pkl'))
    with pytest.raises(UnsafeCheckpointError, match=r'data_batch_1.*posix\.system'):
        load_cifar_batch(str(tmp_path / 'data_batch_1'))
    assert not marker.exists()


def test_cifar_batch_with_numpy_scalars_loads(tmp_path):
    """numpy.core.multiarray.scalar (numpy 1.x spelling) / numpy._core (2.x) are allowed."""
    from mmresnet.datasets.classification import load_cifar_batch
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with open(tmp_path / 'test_batch', 'wb') as f:
        pickle.dump({b'data': data, b'labels': [np.int64(3), np.int64(7)]}, f, protocol=2)
    images, labels = load_cifar_batch(str(tmp_path / 'test_batch'))
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [3, 7]
    raw = (tmp_path / 'test_batch').read_bytes()
    assert b'multiarray' in raw and b'scalar' in raw


def test_one_unpickler_and_one_allow_list_in_the_package():
    """No other Unpickler subclass, find_class, pickle.load or torch.load in mmresnet/ or
    tools/: every load goes through safe_pickle."""
    found = []
    for folder in ('mmresnet', 'tools'):
        for dirpath, _, files in os.walk(osp.join(ROOT, folder)):
            for f in files:
                if not f.endswith('.py') or '.mim' in dirpath:
                    continue
                path = osp.join(dirpath, f)
                rel = osp.relpath(path, ROOT)
                tree = ast.parse(open(path, encoding='utf-8').read())
                for node in ast.walk(tree):
                    if isinstance(node, ast.ClassDef) and any(
                            'Unpickler' in ast.dump(b) for b in node.bases):
                        found.append((rel, f'class {node.name}'))
                    if isinstance(node, ast.FunctionDef) and node.name == 'find_class':
                        found.append((rel, 'find_class'))
                    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                            and (node.value.id, node.attr) in (
                                ('pickle', 'load'), ('pickle', 'loads'), ('torch', 'load'),
                                ('pickle', 'Unpickler')):
                        found.append((rel, f'{node.value.id}.{node.attr}'))
    safe = osp.join('mmresnet', 'checkpoint', 'safe_pickle.py')
    assert {w for r, w in found if r == safe} == {'class RestrictedUnpickler', 'find_class',
                                                   'torch.load', 'pickle.Unpickler'}
    assert [x for x in found if x[0] != safe] == []


# -- truncated and bit-flipped files ---------------------------------------------------------
def _damaged(data, seed, flips=120, cuts=40):
    rng = random.Random(seed)
    for n in range(0, len(data), max(1, len(data) // cuts)):
        yield f'cut at {n}', data[:n]
    for _ in range(flips):
        pos = rng.randrange(len(data))
        d = bytearray(data)
        d[pos] ^= 1 << rng.randrange(8)
        yield f'bit flip at {pos}', bytes(d)


@pytest.mark.parametrize('fmt', ['zip', 'legacy', 'safetensors'])
def test_truncated_or_bit_flipped_files_are_named(tmp_path, implementation, fmt):
    """Every damaged copy either loads (a flip in tensor bytes or in an unused byte, which
    neither format can see) or raises CheckpointFormatError / UnsafeCheckpointError naming
    the file: never a raw error of pickle, zipfile or safetensors."""
    state = {'w': torch.randn(4, 3), 'b': torch.zeros(3)}
    ckpt = {'state_dict': state, 'meta': {'epoch': 3}}
    src = tmp_path / f'src.{"safetensors" if fmt == "safetensors" else "pth"}'
    if fmt == 'safetensors':
        write_checkpoint(ckpt, str(src))
    else:
        torch.save(ckpt, src, _use_new_zipfile_serialization=fmt == 'zip')
    data = src.read_bytes()
    errors = {}
    for what, damaged in _damaged(data, seed=len(data)):
        path = tmp_path / f'damaged{src.suffix}'
        path.write_bytes(damaged)
        try:
            load_checkpoint_file(str(path))
        except (CheckpointFormatError, UnsafeCheckpointError) as e:
            assert str(path) in str(e), (what, str(e))
            assert 'Traceback' not in str(e)
            errors[what] = type(e).__name__
        except Exception as e:  # noqa: BLE001 -- the failure this test looks for
            pytest.fail(f'{fmt}, {what}: raw {type(e).__name__}: {e}')
    cuts = [w for w, _ in _damaged(data, 0, flips=0)]
    assert all(w in errors for w in cuts)  # every truncation is an error, empty included
    assert any(w.startswith('bit flip') for w in errors)


@pytest.mark.parametrize('spelling', ['numpy.core.multiarray', 'numpy._core.multiarray'])
def test_arrays_pickled_by_either_numpy_major_load(spelling):
    """numpy 1.x writes numpy.core.*, numpy 2.x numpy._core.*: files of either load on the
    running numpy."""
    data = pickle.dumps({'a': np.arange(5, dtype=np.int32), 's': np.float64(1.5)}, protocol=2)
    for written in (b'numpy.core.multiarray', b'numpy._core.multiarray'):
        data = data.replace(written + b'\n', spelling.encode() + b'\n')
    assert spelling.encode() + b'\n' in data
    out = safe_pickle.load_pickle(io.BytesIO(data), 'arrays.pkl')
    assert out['a'].tolist() == [0, 1, 2, 3, 4] and out['s'] == 1.5
