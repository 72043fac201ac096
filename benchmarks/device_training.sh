#!/usr/bin/env bash
# Training speed on a GPU machine (issue 14): the original's way (Keras fit on in-memory patches, per-step dispatch, no
# XLA) and phenocoder's `train` (steps_per_execution=32, XLA by Keras's 'auto' rule), each timed alone while nvidia-smi
# samples GPU utilisation every 0.5 s; prints patches per second (benchmarks/training.py's table) and the utilisation
# (mean and max, %) of each side. A few minutes. Real data if present (PHENOCODER_REAL_DATA or ../shared/data/3d), else
# the bundled synthetic example (1,920 nuclei: small, so both sides are dominated by per-step overhead).
#
#   bash benchmarks/device_training.sh [epochs=5] [repeats=2]
#
# Needs TensorFlow on the GPU machine (`train` feeds through tf.data). The GPU machines lent to development sessions
# here (read 2026-11-27) hold PyTorch and JAX but no TensorFlow, reach no package index and take at most 64 MiB along
# (an installed TensorFlow is 1.9 GB): run it on a machine where `pip install -e .` works. On those machines,
# benchmarks/device_training_jax.py times the same model on Keras's JAX backend instead (see its docstring).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-5}; REPEATS=${2:-2}
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
DATA_DIR=${PHENOCODER_REAL_DATA:-../shared/data/3d}
DATA=$( [ -d "$DATA_DIR" ] && echo real || echo synthetic )
export TF_CPP_MIN_LOG_LEVEL=3
command -v nvidia-smi >/dev/null || { echo "no nvidia-smi: not a GPU machine"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c "import tensorflow as tf; print('TensorFlow sees', tf.config.list_physical_devices('GPU'))" \
  || { echo "$PY cannot import TensorFlow: install the project first (pip install -e .)"; exit 1; }
OUT=$(mktemp -d)
for side in original ours; do
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > "$OUT/$side.csv" &
  SMI=$!
  "$PY" benchmarks/training.py --data "$DATA" --epochs "$EPOCHS" --repeats "$REPEATS" --only "$side" 2>&1 \
    | grep -E '^\||^repeat|^data|^keras|^median' || true
  kill "$SMI"; wait "$SMI" 2>/dev/null || true
  awk -F', ' -v s="$side" '{u+=$1; n++; if ($1>m) m=$1; if ($2>g) g=$2} END {if (n) printf "GPU utilisation %s: mean %.0f%%, max %d%% over %d samples (0.5 s); memory used max %d MiB\n", s, u/n, m, n, g}' "$OUT/$side.csv"
done
rm -rf "$OUT"
