"""Training never imports the deploy extra: ``import mmresnet`` loads neither
``mmresnet.deploy`` nor onnx / onnxruntime / openvino, and only the tools' layers (apis,
benchmarks) import ``mmresnet.deploy``."""
import ast
import subprocess
import sys

from ..models.test_import_direction import PACKAGE, imported_packages


RUNTIMES = "('onnx', 'onnxruntime', 'openvino')"


def _runtime_modules(imports):
    """The runtime modules (and mmresnet.deploy) in ``sys.modules`` after ``imports``."""
    code = (f'import sys, {imports}; '
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{RUNTIMES} or m.startswith('mmresnet.deploy')))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    return set(ast.literal_eval(out))


def test_import_mmresnet_loads_no_runtime():
    # torch 2.1's own torch._dynamo imports onnxruntime where it is installed: what the
    # stack loads by itself is not the project's doing
    stack = _runtime_modules('torch, torch._dynamo, mmcv.ops, mmdet.models')
    ours = _runtime_modules('mmresnet, mmresnet.models, mmresnet.engine, mmresnet.datasets')
    assert not any(m.startswith('mmresnet.deploy') for m in ours)
    assert ours <= stack, sorted(ours - stack)


def test_only_apis_and_benchmarks_import_deploy():
    allowed = ('deploy', 'apis', 'benchmarks')
    wrong = {str(f.relative_to(PACKAGE)): sorted(n for n in imported_packages(f)
                                                  if n.startswith('mmresnet.deploy'))
             for f in sorted(PACKAGE.rglob('*.py'))
             if f.relative_to(PACKAGE).parts[0] not in allowed}
    assert not {k: v for k, v in wrong.items() if v}, wrong
    # the reader sees the imports that are there
    assert any(n.startswith('mmresnet.deploy') for n in
               imported_packages(PACKAGE / 'apis' / 'inference.py'))
