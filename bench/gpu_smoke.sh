#!/usr/bin/env bash
# GPU smoke test: a few bf16 + gradient-checkpointing training steps of an SVD-size model
# (bench/gpu_smoke.py; arguments are passed through). Ends with one line
#   RESULT name=gpu_smoke device=… params_m=… frames=… resolution=… batch=… sps=… peak_mem_gb=…
# or, without CUDA, `RESULT name=gpu_smoke skipped=no_cuda` (exit 0).
# Examples: bench/gpu_smoke.sh                      # auto preset, 14 frames at 320x576, batch 1
#           bench/gpu_smoke.sh --preset half --steps 8
#           bench/gpu_smoke.sh --tiny --device cpu  # quick self-test anywhere
# PYTHON overrides the interpreter (default: the repository's .venv, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x .venv/bin/python ]]; then python=.venv/bin/python; else python=python3; fi
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
fi
exec "$python" bench/gpu_smoke.py "$@"
