#!/usr/bin/env bash
# Every GPU figure of issue 12 in one command on a machine with a CUDA GPU and PyTorch (no network needed):
# genlab runs from this checkout (PYTHONPATH), its few other needs are common packages. Writes one JSON to
# $OUT/gpu_suite.json when OUT is set (the device tool), else benchmarks/results/gpu_suite.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src:$PWD/benchmarks${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$PY" -c "import torch, numpy, PIL, safetensors, tqdm, scipy, matplotlib" \
  || { echo "gpu_suite: install torch numpy pillow safetensors tqdm scipy matplotlib first" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
exec "$PY" benchmarks/gpu_suite.py --out "${OUT:-benchmarks/results}/gpu_suite.json" "$@"
