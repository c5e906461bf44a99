"""Training never imports the deploy extra: ``import mmresnet`` loads neither
``mmresnet.deploy`` nor onnx / onnxruntime / openvino (that only apis and benchmarks
import ``mmresnet.deploy`` is a rule of tests/test_import_direction.py)."""
import ast
import re
import subprocess
import sys

import pytest

RUNTIMES = "('onnx', 'onnxruntime', 'openvino')"


def _runtime_modules(imports):
    """The runtime modules (and mmresnet.deploy) in ``sys.modules`` after ``imports``."""
    code = (f'import sys, {imports}; '
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{RUNTIMES} or m.startswith('mmresnet.deploy')))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    return set(ast.literal_eval(out))


@pytest.mark.e2e
def test_import_mmresnet_loads_no_runtime():
    # torch 2.1's own torch._dynamo imports onnxruntime where it is installed: what the
    # stack loads by itself is not the project's doing
    stack = _runtime_modules('torch, torch._dynamo, mmcv.ops, mmdet.models')
    ours = _runtime_modules('mmresnet, mmresnet.models, mmresnet.engine, mmresnet.datasets')
    assert not any(m.startswith('mmresnet.deploy') for m in ours)
    assert ours <= stack, sorted(ours - stack)


def test_a_runtime_made_for_another_torch_is_named(monkeypatch):
    """nncf >= 2.12 beside torch 2.1 fails at import with an AttributeError
    (torch.uint16): one ImportError naming the package, this torch and the fix."""
    import importlib

    import torch

    from mmresnet.deploy.common import require
    real = importlib.import_module

    def fake(name, *args, **kwargs):
        if name == 'nncf':
            raise AttributeError("module 'torch' has no attribute 'uint16'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, 'import_module', fake)
    expected = (r"int8 for openvino: 'nncf' does not import beside torch "
                rf"{re.escape(torch.__version__)}.*no attribute 'uint16'.*nncf==2\.8\.1")
    with pytest.raises(ImportError, match=expected):
        require('nncf', 'int8 for openvino')
    with pytest.raises(ImportError, match="needs the 'no_such_runtime' package"):
        require('no_such_runtime', 'a test')
