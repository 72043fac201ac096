"""Process-wide CPU settings for training (issue 14): wall and CPU seconds per 100 training steps of the package's
`CondCVAE` (the tutorial's size: 32 x 32 x 4 patches, latent 8, dense 256, 9 one-hot conditions, batch 64, `fit` with
`steps_per_execution=32` as `train` uses), each setting in a fresh process (they must be set before TensorFlow starts),
alternating, medians of `--repeats` runs, and the ratio against the default measured in the same run.

Settings: `default`; `tf_bf16_math` (`TF_SET_ONEDNN_FPMATH_MODE=BF16`: oneDNN does fp32 convolutions and matrix
products in bf16 where the CPU has it); `onednn_bf16_math` (`ONEDNN_DEFAULT_FPMATH_MODE=BF16`); `one_thread` (one
intra-op thread, `tf.config.threading.set_intra_op_parallelism_threads(1)`).

    python benchmarks/cpu_settings.py [--repeats 5] [--steps 200]
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys
import numpy as np

SETTINGS = {'default': {}, 'tf_bf16_math': {'TF_SET_ONEDNN_FPMATH_MODE': 'BF16'},
            'onednn_bf16_math': {'ONEDNN_DEFAULT_FPMATH_MODE': 'BF16'}, 'one_thread': {'PHENOCODER_BENCH_THREADS': '1'}}

CHILD = r"""
import json, os, sys, time
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
import numpy as np, tensorflow as tf, keras
if os.environ.get('PHENOCODER_BENCH_THREADS'): tf.config.threading.set_intra_op_parallelism_threads(int(os.environ['PHENOCODER_BENCH_THREADS']))
from phenocoder.condcvae import CondCVAE
steps = int(sys.argv[1])
keras.utils.set_random_seed(0)
m = CondCVAE(input_shape=(32, 32, 4), n_latent_dim=8, n_dense_dim=256, n_conditions=9, dropout=0.0, seed=0)
m.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=32)
rng = np.random.default_rng(0)
x = rng.random((64 * steps, 32, 32, 4), dtype=np.float32); c = np.eye(9, dtype=np.float32)[rng.integers(0, 9, 64 * steps)]
m.fit((x[:64 * 64], c[:64 * 64]), batch_size=64, epochs=1, verbose=0)        # compile and warm up
w, p = time.perf_counter(), time.process_time()
h = m.fit((x, c), batch_size=64, epochs=1, verbose=0)
print(json.dumps(dict(wall=(time.perf_counter() - w) / steps * 100, cpu=(time.process_time() - p) / steps * 100,
                      loss=float(h.history['loss'][-1]))))
"""


def one(setting:str, steps:int)->dict:
    "Seconds per 100 steps (wall, CPU) and the final loss of one fresh process under `setting`."
    env = {**os.environ, **SETTINGS[setting]}
    out = subprocess.run([sys.executable, '-c', CHILD, str(steps)], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--repeats', type=int, default=5); ap.add_argument('--steps', type=int, default=200)
    ap.add_argument('--settings', default=','.join(SETTINGS))
    a = ap.parse_args()
    names = a.settings.split(',')
    runs = {k: [] for k in names}
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    for r in range(a.repeats):
        for k in names:
            runs[k].append(one(k, a.steps))
            print(f"  run {r + 1} {k:<18} {runs[k][-1]['wall']:.2f} s wall, {runs[k][-1]['cpu']:.2f} s CPU per 100 steps", flush=True)
    base = np.median([v['wall'] for v in runs['default']]) if 'default' in runs else None
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{'setting':<18}{'wall s/100':>11}{'CPU s/100':>11}{'loss':>10}{'speed-up':>10}")
    for k, v in runs.items():
        wall, cpu, loss = (float(np.median([x[f] for x in v])) for f in ('wall', 'cpu', 'loss'))
        print(f"{k:<18}{wall:>11.2f}{cpu:>11.2f}{loss:>10.1f}" + (f"{base / wall:>9.2f}x" if base else ''))


if __name__ == '__main__':
    main()
