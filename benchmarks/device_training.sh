#!/usr/bin/env bash
# Training speed on a GPU machine (issue 14): the original's way (Keras fit on in-memory patches, per-step dispatch, no
# XLA) and phenocoder's `train` (steps_per_execution=32, XLA by Keras's 'auto' rule), each timed alone while nvidia-smi
# samples GPU utilisation every 0.5 s; prints patches per second (benchmarks/training.py's table) and the utilisation
# (mean and max, %) of each side. A few minutes. Real data if present (PHENOCODER_REAL_DATA or ../shared/data/3d), else
# the bundled synthetic example (1,920 nuclei: small, so both sides are dominated by per-step overhead).
#
#   bash benchmarks/device_training.sh [epochs=5] [repeats=2]
#
# With TensorFlow (`pip install -e .`) it times `train` itself. Without it (the GPU machines lent to development sessions
# here hold PyTorch and JAX but no TensorFlow, reach no package index and take at most 64 MiB along), it falls back to
# benchmarks/device_training_jax.py: the same model on Keras's JAX backend, the original's way against ours (blocks of
# 32 steps fused in one lax.scan) and Keras's own loop, on .devdata/real32.npz if present (written here by
# `python benchmarks/device_training_jax.py --export .devdata/real32.npz`), else on 12,000 synthetic patches, for JAX_EPOCHS
# epochs (default 50: compiling the fused loop costs about 3 s, which 10 epochs do not repay). That needs
# keras, namex, optree and fastcore importable (carried as wheels: see that script's docstring).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-5}; REPEATS=${2:-2}
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
DATA_DIR=${PHENOCODER_REAL_DATA:-../shared/data/3d}
DATA=$( [ -d "$DATA_DIR" ] && echo real || echo synthetic )
export TF_CPP_MIN_LOG_LEVEL=3
command -v nvidia-smi >/dev/null || { echo "no nvidia-smi: not a GPU machine"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if ! "$PY" -c "import tensorflow as tf; print('TensorFlow sees', tf.config.list_physical_devices('GPU'))"; then
  echo "$PY cannot import TensorFlow: timing the model on Keras's JAX backend instead (benchmarks/device_training_jax.py)"
  KERAS_BACKEND=jax "$PY" -c "import jax, keras, fastcore; print('JAX sees', jax.devices())" \
    || { echo "$PY cannot import jax, keras and fastcore either: install the project (pip install -e .) or carry them"; exit 1; }
  SRC=$( [ -f .devdata/real32.npz ] && echo "--data .devdata/real32.npz" || echo "--synthetic 12000" )
  KERAS_BACKEND=jax "$PY" benchmarks/device_training_jax.py $SRC --epochs "${JAX_EPOCHS:-50}" --repeats "$REPEATS" \
    --ways original,ours,ours_keras_loop 2>&1 | grep -v '^[WIE]0000'
  exit
fi
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
