#!/usr/bin/env bash
# Create the project-local virtual environment (.venv) with the stack mmresnet is tested on:
# CPU PyTorch 2.13.0, mmcv 2.1.0 built with its compiled ops, mmdet 3.3.0, mmengine 0.10.7.
# Re-running is fast: each step is skipped when already satisfied, and the mmcv wheel is built
# once per machine and kept in ~/.cache/mmresnet/wheels (shared by every clone).
#
# STACK=torch2.1 bash tools/setup_env.sh: the stack most MMDetection 3.3 users have, in
# .venv-torch2.1: torch 2.1.2 from PyPI (its CUDA build, which runs on a CPU; ~2.5 GB with
# its libraries), numpy < 2, mmcv 2.1.0 compiled against that torch (its own wheel cache,
# ~/.cache/mmresnet/wheels/torch2.1: a wheel built for one torch does not load on another),
# mmdet 3.3.0, mmengine 0.10.7 (docs/get_started.md, "A second stack").
set -euo pipefail
cd "$(dirname "$0")/.."
STACK=${STACK:-main}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mmresnet
case "$STACK" in
  main)
    TORCH_VERSION=2.13.0; NUMPY_SPEC=numpy; VENV=${VENV:-.venv}
    # torch 2.13 wants setuptools >= 77; MMEngine 0.10's package-scope lookups
    # (mmresnet::, mmdet::) import pkg_resources, which setuptools >= 81 no longer ships.
    SETUPTOOLS_SPEC="setuptools>=77.0.3,<81"
    NNCF_VERSION=3.4.0
    TORCHAO_VERSION=0.18.0  # PT2E int8 in PyTorch (benchmark entry, mmresnet.deploy.pt2e)
    WHEELS=${MMRESNET_WHEELS:-$CACHE/wheels} ;;
  torch2.1)
    TORCH_VERSION=2.1.2; NUMPY_SPEC="numpy<2"; VENV=${VENV:-.venv-torch2.1}
    SETUPTOOLS_SPEC="setuptools<70"
    # nncf >= 2.12 reads torch.uint16 (torch >= 2.3) at import whenever torch is installed
    NNCF_VERSION=2.8.1
    TORCHAO_VERSION=  # torchao's PT2E quantizer needs a newer torch: its tests skip
    WHEELS=${MMRESNET_WHEELS:-$CACHE/wheels/torch2.1} ;;
  *) echo "[setup] unknown STACK=$STACK; allowed values: main, torch2.1" >&2; exit 2 ;;
esac
PY=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
VPY="$VENV/bin/python"
# every install repeats the stack's pins, so that no dependency moves torch or numpy
pip_install() { "$VPY" -m pip install --disable-pip-version-check -q "$@" \
  torch==$TORCH_VERSION "$NUMPY_SPEC" 2>&1 | grep -v "is ignored: it is neither" || true; }
has() { "$VPY" -c "$1" >/dev/null 2>&1; }

# torch: pin the version; for the main stack the CPU build (any looser spec pulls a
# multi-GB CUDA build on this machine).
if ! has "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')"; then
  pip_install wheel ninja "$SETUPTOOLS_SPEC"
fi

# mmcv with its compiled ops (RoIAlign, NMS; mmcv-lite lacks them). Built once per machine.
if ! has "import mmcv.ops"; then
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    echo "[setup] building mmcv 2.1.0 with ops for torch $TORCH_VERSION (6-20 minutes on 2 cores, once per machine)"
    # MMCV_SRC: a local mmcv-2.1.0 source archive (the PyPI file) for machines without PyPI.
    SRC=${MMCV_SRC:-mmcv==2.1.0}
    # built with the stack's own setuptools (SETUPTOOLS_SPEC, installed with torch above):
    # mmcv 2.1.0's setup.py builds with 77-80 (main) and < 70 (torch2.1) alike.
    # --no-cache-dir: pip's own cache would hand back a wheel built against another torch
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} "$VPY" -m pip wheel -q \
      --disable-pip-version-check --no-cache-dir --no-deps --no-build-isolation \
      -w "$WHEELS" "$SRC"
  fi
  pip_install "$WHEELS"/mmcv-2.1.0-*.whl
fi

# MMEngine 0.10 resolves package scopes (mmresnet::, mmdet::) through pkg_resources
has "import pkg_resources" || pip_install "$SETUPTOOLS_SPEC"

if ! has "import mmdet, mmengine, pytest, matplotlib, safetensors, mmresnet"; then
  pip_install mmdet==3.3.0 mmengine==0.10.7 pytest matplotlib safetensors
  pip_install --no-deps -e .
fi
has "import mmcv.ops, mmdet, safetensors, mmresnet" || { echo "[setup] FAILED: stack does not import" >&2; exit 1; }
"$VPY" -c "import torch, mmcv, mmdet, mmengine; print('[setup] ok: torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmdet', mmdet.__version__, '| mmengine', mmengine.__version__)"

# --- own-data tests: hypothesis (the annotation readers' mutation test) and Chromium (the
# --- run report opened headless, tests/analysis/test_report.py; skipped without it) -------
has "import hypothesis" || pip_install hypothesis
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
    echo "[setup] installing chromium (Debian's package) for the report test"
    { $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
      || { $SUDO apt-get update -q >/dev/null 2>&1 \
           && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }; } \
      || echo "[setup] chromium not installed: the report test will be skipped"
  else
    echo "[setup] no apt-get (or no root): chromium not installed, the report test will be skipped"
  fi
fi

# --- deploy extra (mmresnet[deploy]): ONNX export and its runtimes, for tools/deployment/,
# tools/infer.py --backend and their tests (skipped where absent); training never needs them.
# nncf: OpenVINO's post-training int8 (pytorch2onnx.py --int8)
if ! has "import onnx, onnxruntime, openvino, nncf"; then
  pip_install onnx==1.23.2 onnxruntime==1.32.0 openvino==2026.4.1 "nncf==$NNCF_VERSION"  # the versions tested
fi
# torchao: PyTorch's own int8 (PT2E), optional; --no-deps: it needs nothing else at run time
if [ -n "$TORCHAO_VERSION" ] && ! has "import torchao"; then
  pip_install --no-deps "torchao==$TORCHAO_VERSION"
fi
