"""Benchmark of phenocoder.training: the data feed's cost over a plain `model.fit` on patches already in memory.

Data: the real 3D example (phenocoder.data.read_zstacks on /work/shared/data/3d, or PHENOCODER_REAL_DATA; 3 wells,
11,947 nuclei), 32 x 32 x 4 patches written once by phenocoder.patches.generate_dataset into a cache folder (reused).
Model: CondCVAE, latent 32, dense 64, conv_layers (8, 16, 32, 64, 128), batch 64, 10 epochs, conditions
['dataset', 'z'], seed 0, Adam 1e-3.

- phenocoder: `initialize_model(...)` + `train(n_epochs=10, plot=False)` (feeds from the patch store, split by sample,
  callbacks: EarlyStopping, ReduceLROnPlateau, TensorBoard; saving the model and config.json), wall clock; with
  `rotate=False` (the same work per batch as the floor: the original feed's semantics) and with the defaults
  (`rotate=True`: random 90-degree rotations computed in the tf.data pipeline).
- floor: the same model and split, `model.fit((x, c), validation_data=..., epochs=10, batch_size=64, shuffle=True)` on
  numpy arrays already in memory, no callbacks, wall clock of `fit`.
Runs alternate (floor, phenocoder, floor, ...); medians of `--repeats`. Prints times, the ratio, the feed overhead
(ratio - 1) and the validation loss after the 10 epochs. The original took 48-52 s for this configuration.

    python benchmarks/training.py [--repeats 3] [--epochs 10]
"""
from __future__ import annotations
import argparse, os, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent / 'shared' / 'data' / '3d'))
CACHE = Path(tempfile.gettempdir()) / 'phenocoder_bench_training'
KW = dict(n_latent_dim=32, n_dense_dim=64, conditions=['dataset', 'z'], batch_size=64, input_shape=(32, 32, 4))


def prepare(dataset='real32'):
    "Write the 32 x 32 patch dataset of the real data once (cached)."
    from phenocoder.patches import list_datasets
    if dataset in list_datasets(CACHE): return
    from phenocoder.data import read_zstacks
    from phenocoder.patches import generate_dataset
    t = time.time()
    sd = read_zstacks(DATA, progress=False)
    generate_dataset(sd, dataset, CACHE, patch_size=(32, 32), progress=False)
    print(f"generated the patch dataset in {time.time() - t:.1f} s (not part of the measurements)", flush=True)


def run_phenocoder(epochs, seed=0, rotate=False):
    from phenocoder.training import initialize_model, train
    t = time.time()
    run = initialize_model(CACHE, 'real32', name='bench', seed=seed, rotate=rotate, **KW)
    h = train(run, n_epochs=epochs, plot=False, verbose=0)
    return time.time() - t, h['val_loss'][-1], len(h['val_loss']), run


def run_floor(run, epochs, seed=0):
    "Plain fit on in-memory numpy arrays: same model class / arguments / split as `run`."
    import keras
    from phenocoder.condcvae import CondCVAE
    keras.utils.set_random_seed(seed)
    m = CondCVAE(**run.model.get_config())
    m.compile(optimizer=keras.optimizers.Adam(1e-3))
    xt, ct = run.patches[run.train_idx], run.onehot[run.train_idx]
    xv, cv = run.patches[run.val_idx], run.onehot[run.val_idx]
    t = time.time()
    h = m.fit((xt, ct), validation_data=((xv, cv),), epochs=epochs, batch_size=64, shuffle=True, verbose=0).history
    return time.time() - t, h['val_loss'][-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--epochs', type=int, default=10)
    a = ap.parse_args()
    if not DATA.is_dir(): sys.exit(f"real data not found at {DATA}: nothing to benchmark")
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    prepare()
    import keras
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at start", flush=True)
    _, _, _, run = run_phenocoder(1)                     # warm-up (imports, graph tracing)
    print(f"data: {len(run.table):,} patches {run.patches.shape[1:]}, {len(run.train_idx):,} train / {len(run.val_idx):,} "
          f"validation (validation samples {run.config['split']['val_samples']}), {run.onehot.shape[1]} one-hot conditions",
          flush=True)
    res = {'floor': ([], []), 'phenocoder rotate=False': ([], []), 'phenocoder defaults (rotate=True)': ([], [])}
    for r in range(a.repeats):
        tf_, vf = run_floor(run, a.epochs, seed=r)
        t0, v0, n0, run = run_phenocoder(a.epochs, seed=r, rotate=False)
        t1, v1, n1, _ = run_phenocoder(a.epochs, seed=r, rotate=True)
        for k, (t, v) in zip(res, [(tf_, vf), (t0, v0), (t1, v1)]): res[k][0].append(t); res[k][1].append(v)
        print(f"repeat {r}: floor {tf_:.1f} s (val loss {vf:.1f}); phenocoder rotate=False {t0:.1f} s, {n0} epochs "
              f"(val loss {v0:.1f}); defaults {t1:.1f} s, {n1} epochs (val loss {v1:.1f}); load {os.getloadavg()[0]:.1f}", flush=True)
    mf = np.median(res['floor'][0])
    print(f"\nmedian over {a.repeats} repeats, {a.epochs} epochs:")
    for k, (ts, vs) in res.items():
        mt = np.median(ts)
        print(f"  {k:36s} {mt:6.1f} s ({mt / a.epochs:.2f} s/epoch), ratio to floor {mt / mf:.3f} "
              f"({100 * (mt / mf - 1):+.1f}%), val loss {np.median(vs):.1f}, vs original 48-52 s: {50 / mt:.1f}x")


if __name__ == '__main__':
    main()
