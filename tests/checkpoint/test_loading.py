"""Safe loading (allow-list, never weights_only=False) on every path and every URL scheme
MMEngine knows; files that are no checkpoint get errors that name them."""
import functools
import http.server
import io
import os
import pickle
import threading

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmresnet.checkpoint import CheckpointFormatError, UnsafeCheckpointError, load_checkpoint_file
from mmresnet.checkpoint.safe_pickle import torch_has_safe_globals
from mmresnet.convert import export_backbone
from mmresnet.models import PaperResNet

from ..engine.toy import toy_runner


class Payload:
    """Pickles as os.system(<touch marker>): what a hostile checkpoint carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class GetattrPayload:
    """Pickles as getattr(HistoryBuffer, '__init__'): probes the getattr stand-in."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def write_hostile(path, marker):
    state = PaperResNet(8, arch='cifar').state_dict()
    torch.save({'state_dict': state, 'meta': {'x': Payload(marker)}}, path)


def test_mmengine_checkpoint_with_history_buffer_loads_safely(tmp_path):
    runner = toy_runner(tmp_path, max_iters=2, interval=2)
    runner.train()
    loads = [load_checkpoint_file]
    if torch_has_safe_globals():  # torch >= 2.6: its default (weights_only=True) + allow-list
        loads.append(torch.load)
    for load in loads:
        ckpt = load(tmp_path / 'iter_2.pth')
        buf = ckpt['message_hub']['log_scalars']['train/loss']
        assert isinstance(buf, HistoryBuffer) and len(buf.data[0]) == 2
        assert buf.mean() == pytest.approx(float(buf.data[0].mean()))


def test_getattr_stand_in_refuses_other_attributes(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetattrPayload()}, path)
    with pytest.raises(UnsafeCheckpointError, match='refused'):
        load_checkpoint_file(path)


def _loaders(path):
    """Every loading path of the project, as callables on one file."""
    yield 'load_checkpoint_file', lambda: load_checkpoint_file(path)
    yield 'mmengine _load_checkpoint', lambda: _load_checkpoint(str(path))
    yield 'init_cfg Pretrained', lambda: PaperResNet(8, arch='cifar', init_cfg=dict(
        type='Pretrained', checkpoint=str(path))).init_weights()


def test_hostile_checkpoint_refused_and_payload_never_runs(tmp_path):
    marker = tmp_path / 'PWNED'
    path = tmp_path / 'hostile.pth'
    write_hostile(path, marker)
    for name, load in _loaders(path):
        with pytest.raises(pickle.UnpicklingError) as err:
            load()
        assert str(path) in str(err.value), name
        assert 'posix.system' in str(err.value), name
        assert not marker.exists(), f'payload ran through {name}'


def test_payload_is_real_under_unrestricted_pickle(tmp_path):
    """Guards the test above: the same object really runs code when unpickled freely."""
    marker = tmp_path / 'RAN'
    data = pickle.dumps(Payload(marker))
    pickle.loads(data)  # our own object, in a temp dir: proves the payload works
    assert marker.exists()


def test_runner_load_from_and_resume_refuse_hostile(tmp_path):
    marker = tmp_path / 'PWNED'
    path = tmp_path / 'hostile.pth'
    write_hostile(path, marker)
    runner = toy_runner(tmp_path / 'wd', max_iters=2)
    with pytest.raises(pickle.UnpicklingError):
        runner.load_checkpoint(str(path))
    with pytest.raises(pickle.UnpicklingError):
        runner.resume(str(path))
    assert not marker.exists()


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
    path = tmp_path / 'trunc.pth'
    buf = io.BytesIO()
    torch.save({'a': torch.zeros(100)}, buf)
    path.write_bytes(buf.getvalue()[:200])
    with pytest.raises(RuntimeError, match='corrupt or truncated'):
        load_checkpoint_file(path)
    with pytest.raises(FileNotFoundError, match='not found'):
        load_checkpoint_file(tmp_path / 'missing.pth')


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
    assert loader.__module__ == 'mmresnet.checkpoint.loading', (scheme, loader)


def _good_and_evil(served, prefix=''):
    """The served URLs of a good checkpoint (its keys under ``prefix``) and a hostile one,
    the good one's weights, the hostile one's marker."""
    url, marker, tmp_path = served
    state = PaperResNet(depth=8, arch='cifar').state_dict()
    torch.save({'state_dict': {prefix + k: v for k, v in state.items()}},
               tmp_path / 'www' / 'good.pth')
    return url.replace('evil.pth', 'good.pth'), url, state, marker


@pytest.mark.parametrize('scheme, table', [
    ('torchvision://', 'get_torchvision_models'), ('modelzoo://', 'get_torchvision_models'),
    ('open-mmlab://', 'get_external_models'), ('openmmlab://', 'get_external_models'),
    ('mmcls://', 'get_mmcls_models')])
def test_model_zoo_schemes_load_through_the_safe_loader(served, monkeypatch, scheme, table):
    # mmcls checkpoints are classifiers: MMEngine keeps their backbone.* keys, unprefixed
    good, evil, state, marker = _good_and_evil(served,
                                               'backbone.' if scheme == 'mmcls://' else '')
    import mmengine.runner.checkpoint as mmengine_checkpoint
    monkeypatch.setattr(mmengine_checkpoint, table, lambda: dict(good=good, evil=evil))
    ckpt = CheckpointLoader.load_checkpoint(f'{scheme}good', map_location='cpu')
    assert ckpt['state_dict'].keys() == state.keys()
    assert torch.equal(ckpt['state_dict']['conv1.weight'], state['conv1.weight'])
    with pytest.raises(UnsafeCheckpointError, match='posix.system|os.system'):
        CheckpointLoader.load_checkpoint(f'{scheme}evil', map_location='cpu')
    assert not marker.exists()
    with pytest.raises(KeyError, match=f'{scheme}nope: unknown model name'):
        CheckpointLoader.load_checkpoint(f'{scheme}nope')


def test_open_mmlab_file_under_the_mmengine_home_loads_safely(served, monkeypatch):
    _, marker, tmp_path = served
    home = tmp_path / 'mmengine_home'
    (home / 'zoo').mkdir(parents=True)
    write_hostile(str(home / 'zoo' / 'evil.pth'), marker)
    torch.save({'state_dict': PaperResNet(depth=8, arch='cifar').state_dict()},
               home / 'zoo' / 'good.pth')
    monkeypatch.setenv('MMENGINE_HOME', str(home))
    import mmengine.runner.checkpoint as mmengine_checkpoint
    monkeypatch.setattr(mmengine_checkpoint, 'get_external_models',
                        lambda: dict(good='zoo/good.pth', evil='zoo/evil.pth'))
    assert 'conv1.weight' in CheckpointLoader.load_checkpoint('open-mmlab://good')['state_dict']
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint('open-mmlab://evil')
    assert not marker.exists()


class FakeObjectStore:
    """An object store (the backend MMEngine builds for s3:// and petrel://): bytes by key."""
    objects = {}

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def get(self, filepath):
        if filepath not in self.objects:
            raise FileNotFoundError(filepath)
        return self.objects[filepath]

    def get_text(self, filepath, encoding='utf-8'):
        return self.get(filepath).decode(encoding)


@pytest.mark.parametrize('prefix', ['s3://', 'petrel://', 'cluster1:s3://'])
def test_object_store_schemes_load_through_the_safe_loader(tmp_path, monkeypatch, prefix):
    from mmengine.fileio.backends import registry_utils

    from mmresnet.checkpoint.files import checkpoint_bytes
    monkeypatch.setitem(registry_utils.backends, 'petrel', FakeObjectStore)
    state = PaperResNet(depth=8, arch='cifar').state_dict()
    marker = tmp_path / 'PWNED'
    write_hostile(str(tmp_path / 'evil.pth'), marker)
    monkeypatch.setattr(FakeObjectStore, 'objects', {
        f'{prefix}bucket/good.pth': checkpoint_bytes({'state_dict': state}, 'pth'),
        f'{prefix}bucket/good.safetensors': checkpoint_bytes({'state_dict': state},
                                                             'safetensors'),
        f'{prefix}bucket/evil.pth': (tmp_path / 'evil.pth').read_bytes()})
    for name in ('good.pth', 'good.safetensors'):
        ckpt = CheckpointLoader.load_checkpoint(f'{prefix}bucket/{name}', map_location='cpu')
        assert torch.equal(ckpt['state_dict']['conv1.weight'], state['conv1.weight']), name
    with pytest.raises(UnsafeCheckpointError, match='posix.system|os.system'):
        CheckpointLoader.load_checkpoint(f'{prefix}bucket/evil.pth')
    assert not marker.exists()


def test_pavi_is_refused_with_a_message():
    with pytest.raises(ValueError, match='pavi.*local path'):
        CheckpointLoader.load_checkpoint('pavi://model/x.pth')


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
