#!/usr/bin/env bash
# Run a command as on a CPU with AVX2 and no more: every CPUID the command's processes run
# answers without AVX-512, AVX512_BF16, VNNI and AMX (tools/avx2_only.c, preloaded), so
# PyTorch, oneDNN, ONNX Runtime and OpenVINO choose the kernels of an AVX2-only CPU.
# Needs Linux's CPUID faulting (the `cpuid_fault` flag of /proc/cpuinfo) and gcc.
#
#   bash tools/avx2_only.sh python tools/benchmark.py --deploy ...
#   bash tools/avx2_only.sh python tools/demo.py          # README command 1, no bf16
#   bash tools/avx2_only.sh python -m pytest ...
#
# What stays: the core's own speed (caches, clock); a real AVX2 CPU differs there.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: bash tools/avx2_only.sh COMMAND [ARGS...]" >&2; exit 2; }
grep -qw cpuid_fault /proc/cpuinfo || {
  echo "[avx2_only] this CPU or kernel has no CPUID faulting" \
       "(no 'cpuid_fault' in /proc/cpuinfo): cannot mask its flags" >&2; exit 3; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=${XDG_CACHE_HOME:-$HOME/.cache}/mmresnet/avx2_only.so
if [ ! -f "$lib" ] || [ "$here/avx2_only.c" -nt "$lib" ]; then
  mkdir -p "$(dirname "$lib")"
  gcc -O2 -shared -fPIC -o "$lib" "$here/avx2_only.c" -ldl
fi
LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"
