"""torchao's PT2E int8 of a classifier (:mod:`mmresnet.deploy.pt2e`): the shared ReLUs
made one call each, int8 scores close to the float ones (skipped without torchao)."""
import pytest
import torch

from mmresnet.deploy import pt2e
from mmresnet.deploy.export import ClassifierForExport

from .test_export import classifier


def test_relu_per_call_leaves_the_outputs_and_removes_the_modules():
    model = ClassifierForExport(classifier(dict(depth=20, arch='cifar'), 10)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        count = pt2e.relu_per_call(model)
        got = model(x)
    assert count > 0
    assert not any(isinstance(m, torch.nn.ReLU) for m in model.modules())
    assert torch.equal(ref, got)


def test_pt2e_int8_classifier_keeps_its_top1():
    if not pt2e.available():
        pytest.skip('torchao (its PT2E quantizer) does not import here')
    model = ClassifierForExport(classifier(dict(depth=20, arch='cifar'), 10)).eval()
    g = torch.Generator().manual_seed(0)

    def blobs(n):  # smooth images: activations with a real range
        x = torch.randn(n, 3, 8, 8, generator=g)
        return torch.nn.functional.interpolate(x, size=(32, 32), mode='bilinear')
    calib = [blobs(8) for _ in range(4)]
    run = pt2e.quantize_pt2e(model, calib[0], calib)
    x = torch.cat([blobs(8) for _ in range(8)])
    with torch.no_grad():  # the file's batch of 8 at a time
        ref, got = model(x), torch.cat([run(b) for b in x.split(8)])
    assert got.shape == ref.shape
    assert not torch.equal(got, ref)  # int8 ran, not the float model
    assert (got - ref).abs().max() < 0.2
    assert (got.argmax(1) == ref.argmax(1)).float().mean() >= 0.8
