"""MSRA ResNet weights in Detectron's .pkl format -> PaperResNet (tools/convert/msra2paper.py)."""
import os
import pickle
import runpy
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from mmresnet.convert import (check_msra_outputs, convert_msra_blobs, infer_msra_depth,
                              load_msra_blobs, msra_blob_names)
from mmresnet.checkpoint import CheckpointFormatError, UnsafeCheckpointError

ROOT = Path(__file__).resolve().parents[2]
NUM_CLASSES = 10
RECIPE = dict(arch=dict(arch='imagenet', depth=50, style='caffe', shortcut='B', plain=False,
                        base_channels=64, in_channels=3),
              normalisation=dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0],
                                 channel_order='bgr'))


def tool_main():
    """``main(argv)`` of tools/convert/msra2paper.py."""
    return runpy.run_path(str(ROOT / 'tools/convert/msra2paper.py'),
                          run_name='msra2paper')['main']


def _blob_prefix(key):
    """Detectron's blob prefix of a PaperResNet conv / BN module name (test-side mapping)."""
    if key in ('conv1', 'bn1'):
        return {'conv1': 'conv1', 'bn1': 'res_conv1_bn'}[key]
    layer, block, rest = key.split('.', 2)
    p = f'res{int(layer[5:]) + 1}_{block}_'
    return p + {'conv1': 'branch2a', 'conv2': 'branch2b', 'conv3': 'branch2c',
                'bn1': 'branch2a_bn', 'bn2': 'branch2b_bn', 'bn3': 'branch2c_bn',
                'downsample.0': 'branch1', 'downsample.1': 'branch1_bn'}[rest]


@pytest.fixture(scope='module')
def source():
    """A random caffe-style PaperResNet-50 + 10-class fc (random BN statistics, so that a
    wrong BN mapping shows) and its weights as Detectron blobs (BN folded into s / b)."""
    from mmresnet.models import PaperResNet, PaperResNetClassifier
    torch.manual_seed(0)
    net = PaperResNetClassifier(PaperResNet(50, style='caffe'), NUM_CLASSES)
    g = torch.Generator().manual_seed(1)
    blobs = OrderedDict()
    for name, m in net.backbone.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            blobs[_blob_prefix(name) + '_w'] = m.weight.detach().numpy().copy()
        elif isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=g) * 0.5 + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            s = m.weight / torch.sqrt(m.running_var + m.eps)
            b = m.bias - m.running_mean * s
            blobs[_blob_prefix(name) + '_s'] = s.detach().numpy().copy()
            blobs[_blob_prefix(name) + '_b'] = b.detach().numpy().copy()
    with torch.no_grad():
        net.head.fc.weight.normal_(0, 0.01, generator=g)
        net.head.fc.bias.normal_(0, 0.1, generator=g)
    blobs['pred_w'] = net.head.fc.weight.detach().numpy().copy()
    blobs['pred_b'] = net.head.fc.bias.detach().numpy().copy()
    net.eval()
    x = torch.randn(2, 3, 64, 64, generator=g)
    with torch.no_grad():
        feats, logits = net.backbone(x), net(x)
    return dict(net=net, blobs=blobs, x=x, feats=feats, logits=logits)


def write_pickle(path, obj, protocol=2):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
    return path


def test_backbone_form_from_blobs_wrapper(source, tmp_path, capsys):
    from mmresnet.models import PaperResNet
    blobs = dict(source['blobs'])
    blobs['conv1_w_momentum'] = np.zeros_like(blobs['conv1_w'])  # solver state: ignored
    src = write_pickle(tmp_path / 'R-50.pkl', {'blobs': blobs, 'cfg': 'MODEL: ...'})
    dst = tmp_path / 'r50_backbone.pth'
    meta = tool_main()([str(src), str(dst)])  # --form backbone is the default
    assert meta['max_abs_diff'] < 1e-4 and meta['checked'] == 'logits'
    assert 'max |diff|' in capsys.readouterr().out
    ckpt = torch.load(dst, weights_only=True)
    assert not any(k.startswith(('backbone.', 'head.', 'fc.')) for k in ckpt['state_dict'])
    assert ckpt['meta']['recipe'] == RECIPE
    assert {k: ckpt['meta'][k] for k in ('source', 'depth', 'arch', 'style', 'shortcut',
                                         'in_channels', 'num_classes')} == dict(
        source='msra', depth=50, arch='imagenet', style='caffe', shortcut='B',
        in_channels=3, num_classes=NUM_CLASSES)
    # The way detectors load it: strict Pretrained init.
    net = PaperResNet(50, style='caffe', init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    net.init_weights()
    net.eval()
    with torch.no_grad():
        feats = net(source['x'])
    for out, ref in zip(feats, source['feats']):
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    # Its recipe refuses the pytorch-style backbone and the torchvision normalisation.
    from mmdet.models.data_preprocessors import DetDataPreprocessor

    from mmresnet.checkpoint import RecipeMismatchError
    from mmresnet.models.utils import (check_normalisation,
                                       normalisation_recipe)
    with pytest.raises(RecipeMismatchError, match="style: checkpoint 'caffe', model 'pytorch'"):
        PaperResNet(50, style='pytorch',
                    init_cfg=dict(type='Pretrained', checkpoint=str(dst))).init_weights()
    rgb = normalisation_recipe(DetDataPreprocessor(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
    with pytest.raises(RecipeMismatchError, match='channel_order'):
        check_normalisation(RECIPE['normalisation'], rgb, str(dst), 'opt out')
    check_normalisation(RECIPE['normalisation'], normalisation_recipe(DetDataPreprocessor(
        mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)), str(dst), '')


def test_classifier_form_from_plain_dict(source, tmp_path):
    from mmresnet.models import PaperResNet, PaperResNetClassifier
    blobs = dict(source['blobs'])
    blobs['fc1000_w'], blobs['fc1000_b'] = blobs.pop('pred_w'), blobs.pop('pred_b')
    src = write_pickle(tmp_path / 'R-50-plain.pkl', blobs)
    dst = tmp_path / 'r50_cls.pth'
    meta = tool_main()([str(src), str(dst), '--form', 'classifier'])
    assert meta['max_abs_diff'] < 1e-4
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['recipe'] == RECIPE and ckpt['meta']['num_classes'] == NUM_CLASSES
    assert all(k.startswith(('backbone.', 'head.fc.')) for k in ckpt['state_dict'])
    net = PaperResNetClassifier(PaperResNet(50, style='caffe'), NUM_CLASSES)
    net.load_state_dict(ckpt['state_dict'], strict=True)
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(net(source['x']), source['logits'], atol=1e-4, rtol=1e-4)
    bn = ckpt['state_dict']['backbone.layer3.2.bn2.running_var']
    assert torch.allclose(bn, torch.full_like(bn, 1 - 1e-5))


def test_check_catches_a_wrong_mapping(source):
    blobs = {k: v for k, v in source['blobs'].items() if not k.startswith('pred')}
    conv = convert_msra_blobs(blobs)
    assert conv['meta']['num_classes'] is None and not conv['head']
    assert check_msra_outputs(blobs, conv, size=32) < 1e-4  # compares res5 features
    # Scale and bias swapped in one BN: loads strictly, computes something else.
    bn = conv['backbone']
    bn['layer2.1.bn2.weight'], bn['layer2.1.bn2.bias'] = (bn['layer2.1.bn2.bias'],
                                                          bn['layer2.1.bn2.weight'])
    with pytest.raises(AssertionError, match='differs from the functional reference'):
        check_msra_outputs(blobs, conv, size=32)


@pytest.mark.parametrize('depth,blocks', [(50, (3, 4, 6, 3)), (101, (3, 4, 23, 3)),
                                          (152, (3, 8, 36, 3))])
def test_depth_inferred_from_the_layout(depth, blocks):
    from mmresnet.models import PaperResNet
    names = msra_blob_names(depth)
    assert infer_msra_depth(dict.fromkeys(names)) == depth
    assert sum(n.endswith('_branch2a_w') for n in names) == sum(blocks)
    # One blob for each parameter of PaperResNet(depth, style='caffe') (the BN running
    # statistics are made up): shapes only, no memory.
    with torch.device('meta'):
        net = PaperResNet(depth, style='caffe')
    assert len(names) == sum(1 for _ in net.parameters())


@pytest.mark.parametrize('protocol', [0, 2, 4])
def test_hostile_pickle_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / 'MARKER'

    class Payload:

        def __reduce__(self):
            return os.system, (f'touch {marker}', )

    src = write_pickle(tmp_path / 'evil.pkl',
                       {'blobs': {'conv1_w': np.zeros(3, np.float32), 'x': Payload()}},
                       protocol)
    with pytest.raises(UnsafeCheckpointError, match=r'(posix|os)\.system') as err:
        tool_main()([str(src), str(tmp_path / 'out.pth')])
    assert 'evil.pkl' in str(err.value)
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()


def _dummy_blobs(depth=50):
    return {n: np.zeros(1, np.float32) for n in msra_blob_names(depth)}


def test_missing_unknown_and_misshapen_blobs_named(tmp_path):
    main = tool_main()
    blobs = _dummy_blobs()
    del blobs['res4_3_branch2b_bn_s']
    src = write_pickle(tmp_path / 'broken.pkl', blobs)
    with pytest.raises(ValueError, match=r"broken\.pkl: blob 'res4_3_branch2b_bn_s' .*"
                                         r'missing; expected conv1_w'):
        main([str(src), str(tmp_path / 'out.pth')])
    blobs = {**_dummy_blobs(), 'fpn_inner_res5_2_sum_w': np.zeros(1, np.float32)}
    src = write_pickle(tmp_path / 'fpn.pkl', {'blobs': blobs})
    with pytest.raises(ValueError, match=r"fpn\.pkl: unknown blob 'fpn_inner_res5_2_sum_w'; "
                                         r'.*res\{2\.\.5\}_\{j\}_branch2'):
        main([str(src), str(tmp_path / 'out.pth')])
    src = write_pickle(tmp_path / 'tiny.pkl', _dummy_blobs(101))
    with pytest.raises(ValueError, match=r"tiny\.pkl: blob 'conv1_w' has shape \(1,\), the "
                                         r'MSRA ResNet-101 has \(64, 3, 7, 7\)'):
        main([str(src), str(tmp_path / 'out.pth')])
    with pytest.raises(ValueError, match='needs the classifier blobs'):
        main([str(src), str(tmp_path / 'out.pth'), '--form', 'classifier'])
    with pytest.raises(ValueError, match=r'blocks per stage .*\(3, 4, 5, 3\)'):
        infer_msra_depth({n: 0 for n in _dummy_blobs() if not n.startswith('res4_5_')})
    assert not (tmp_path / 'out.pth').exists()


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 wrote its ``str`` (BINSTRING), as in Detectron's files."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def test_python2_pickle_and_non_pickles(tmp_path):
    import io
    arrays = OrderedDict(conv1_w=np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
                         res_conv1_bn_s=np.float32([0.5, 2.0]))
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump({'blobs': arrays})
    data = buf.getvalue().replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n')
    assert b'_codecs' not in data and b'numpy.core.multiarray' in data
    (tmp_path / 'py2.pkl').write_bytes(data)
    blobs = load_msra_blobs(tmp_path / 'py2.pkl')
    assert list(blobs) == list(arrays)
    assert all(np.array_equal(blobs[k], arrays[k]) and blobs[k].dtype == np.float32
               for k in arrays)
    (tmp_path / 'notes.pkl').write_text('not a pickle\n')
    with pytest.raises(CheckpointFormatError, match=r'notes\.pkl is not a Detectron'):
        load_msra_blobs(tmp_path / 'notes.pkl')
    torch.save({'conv1.weight': torch.zeros(1)}, tmp_path / 'tv.pth')
    with pytest.raises(CheckpointFormatError, match='torchvision2paper'):
        load_msra_blobs(tmp_path / 'tv.pth')
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        load_msra_blobs(tmp_path / 'nope.pkl')


def test_safetensors_output(source, tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmresnet.checkpoint import is_safetensors_file
    src = write_pickle(tmp_path / 'R-50.pkl', dict(source['blobs']))
    dst = tmp_path / 'r50_backbone.weights'  # not the suffix: --format decides
    tool_main()([str(src), str(dst), '--format', 'safetensors', '--no-check'])
    assert is_safetensors_file(dst)
    ckpt = CheckpointLoader.load_checkpoint(str(dst))  # no torch.load
    assert ckpt['meta']['recipe'] == RECIPE and ckpt['meta']['source'] == 'msra'
    assert torch.equal(ckpt['state_dict']['conv1.weight'],
                       torch.from_numpy(source['blobs']['conv1_w']))
