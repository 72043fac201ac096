"""Benchmark of phenocoder.training (issue 14): patches per second of `train` against the original's way, in one run.

Data: the real 3D example (phenocoder.data.read_zstacks on /work/shared/data/3d, or PHENOCODER_REAL_DATA; 3 wells,
11,947 nuclei), 32 x 32 x 4 patches written once by phenocoder.patches.generate_dataset into a cache folder (reused).
Model: CondCVAE on dataset + z, latent 32, dense 64, conv_layers (8, 16, 32, 64, 128), batch 64, seed r, Adam 1e-3.

- original: the same model and split, `compile(jit_compile=False, steps_per_execution=1)` (per-step dispatch, no XLA)
  and `model.fit((x, c), validation_data=..., epochs, batch_size=64, shuffle=True)` on numpy arrays in memory, no
  callbacks; wall clock of `fit`.
- phenocoder: `initialize_model(..., flip=False, rotate=False)` (the same work per batch: no augmentation) +
  `train(n_epochs, plot=False)` at its defaults (steps_per_execution=32, jit_compile='auto'; callbacks EarlyStopping,
  ReduceLROnPlateau, TensorBoard, per-epoch checkpoints; saving the model), wall clock of `train`.
  `--augmented` adds the defaults with augmentation (flip + rotate) for information.
Runs alternate (original, phenocoder, original, ...) in one process; medians of `--repeats`. Prints per run and as
medians: wall and CPU seconds, training patches per second (epochs x training patches / wall), the validation loss
after the last epoch, the speed ratio and the validation-loss difference; and the load average.
`--jit`, `--steps-per-execution` set ours' options; `--threads N` sets TensorFlow's intra-op threads (both sides).

    python benchmarks/training.py [--repeats 3] [--epochs 10] [--threads 0] [--augmented] [--data real|synthetic] [--only original|ours]
"""
from __future__ import annotations
import argparse, os, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent / 'shared' / 'data' / '3d'))
CACHE = Path(tempfile.gettempdir()) / 'phenocoder_bench_training'
KW = dict(n_latent_dim=32, n_dense_dim=64, conditions=['dataset', 'z'], batch_size=64, input_shape=(32, 32, 4))


DATASET = 'real32'


def prepare(data='real'):
    "Write the 32 x 32 patch dataset of the real data (or of the bundled synthetic example) once (cached)."
    global DATASET
    DATASET = dataset = 'real32' if data == 'real' else 'synthetic32'
    from phenocoder.patches import list_datasets
    if dataset in list_datasets(CACHE): return
    from phenocoder.data import read_zstacks, example_3d
    from phenocoder.patches import generate_dataset
    t = time.time()
    sd = read_zstacks(DATA, progress=False) if data == 'real' else example_3d(seed=0)
    generate_dataset(sd, dataset, CACHE, patch_size=(32, 32), progress=False)
    print(f"generated the patch dataset in {time.time() - t:.1f} s (not part of the measurements)", flush=True)


def run_phenocoder(epochs, seed=0, augment=False, **train_kw):
    "initialize_model + train; returns (wall s, cpu s, last val loss, run)."
    from phenocoder.training import initialize_model, train
    run = initialize_model(CACHE, DATASET, name='bench', seed=seed, flip=augment, rotate=augment, overwrite=True, **KW)
    t, c = time.time(), time.process_time()
    h = train(run, n_epochs=epochs, plot=False, verbose=0, **train_kw)
    return time.time() - t, time.process_time() - c, h['val_loss'][-1], run


def run_original(run, epochs, seed=0):
    "The original's way: plain `fit` on in-memory numpy arrays, per-step dispatch, no XLA; same model and split as `run`."
    import keras
    from phenocoder.condcvae import CondCVAE
    keras.utils.set_random_seed(seed)
    m = CondCVAE(**run.model.module.get_config())
    m.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False, steps_per_execution=1)
    xt, ct = run.patches[run.train_idx], run.onehot[run.train_idx]
    xv, cv = run.patches[run.val_idx], run.onehot[run.val_idx]
    t, c = time.time(), time.process_time()
    h = m.fit((xt, ct), validation_data=((xv, cv),), epochs=epochs, batch_size=64, shuffle=True, verbose=0).history
    return time.time() - t, time.process_time() - c, h['val_loss'][-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--threads', type=int, default=0, help='intra-op threads of TensorFlow (0: its default)')
    ap.add_argument('--steps-per-execution', type=int, default=None, help="ours (default: train's default)")
    ap.add_argument('--jit', choices=['auto', 'true', 'false'], default=None, help="ours' jit_compile (default: train's)")
    ap.add_argument('--data', choices=['real', 'synthetic'], default='real', help='synthetic: the bundled example_3d (1,920 nuclei)')
    ap.add_argument('--only', choices=['original', 'ours'], default=None, help='time one side only (device_training.sh)')
    ap.add_argument('--augmented', action='store_true', help='also time the defaults with flip + rotate')
    a = ap.parse_args()
    if a.data == 'real' and not DATA.is_dir(): sys.exit(f"real data not found at {DATA}: nothing to benchmark")
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    if a.threads:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(a.threads); tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    prepare(a.data)
    import keras
    kw = {} if a.steps_per_execution is None else dict(steps_per_execution=a.steps_per_execution)
    if a.jit: kw['jit_compile'] = {'auto': 'auto', 'true': True, 'false': False}[a.jit]
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, {os.cpu_count()} CPUs, threads {a.threads or 'default'}, "
          f"ours {kw or 'defaults'}, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    *_, run = run_phenocoder(1, **kw)                    # warm-up (imports, first tracing)
    n = len(run.train_idx)
    print(f"data: {len(run.table):,} patches {run.patches.shape[1:]}, {n:,} train / {len(run.val_idx):,} validation, "
          f"{run.onehot.shape[1]} one-hot conditions; {a.epochs} epochs of {n:,} patches", flush=True)
    names = ['original (fit, per step, no XLA)', 'phenocoder train, same work'] + (['phenocoder defaults (augmented)'] if a.augmented else [])
    res = {k: [] for k in names}
    for r in range(a.repeats):
        out = [run_original(run, a.epochs, seed=r) if a.only != 'ours' else (np.nan,) * 3,
               run_phenocoder(a.epochs, seed=r, **kw)[:3] if a.only != 'original' else (np.nan,) * 3]
        if a.augmented: out.append(run_phenocoder(a.epochs, seed=r, augment=True, **kw)[:3])
        for k, o in zip(names, out): res[k].append(o)
        print(f"repeat {r}: " + "; ".join(f"{k}: {w:.1f} s wall, {c:.1f} s CPU, {a.epochs * n / w:.0f} patches/s, val loss {v:.1f}"
                                          for k, (w, c, v) in zip(names, out)) + f"; load {os.getloadavg()[0]:.1f}", flush=True)
    med = {k: np.median(np.array(v), axis=0) for k, v in res.items()}
    w0, c0, v0 = med[names[0]]
    print(f"\nmedians over {a.repeats} repeats, {a.epochs} epochs, {n:,} training patches each:")
    print(f"| {'way':34s} | wall s | CPU s | patches/s | speed-up | CPU ratio | val loss | vs original |")
    for k, (w, c, v) in med.items():
        print(f"| {k:34s} | {w:6.1f} | {c:5.1f} | {a.epochs * n / w:9.0f} | {w0 / w:7.2f}x | {c0 / c:8.2f}x | {v:8.1f} | {100 * (v / v0 - 1):+10.2f}% |")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == '__main__':
    main()
