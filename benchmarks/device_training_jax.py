"""Training speed on a GPU through Keras's JAX backend (issue 14), for GPU machines without TensorFlow.

The GPU machines lent to development sessions here hold JAX (with CUDA) but no TensorFlow and cannot install it, so
`train` (whose feed is tf.data) cannot run there. The model itself is backend-agnostic (`CondCVAE`, no
backend-specific `train_step`), so this script times it there the way both sides fit it, on the same patches:

- original's way: `fit` on numpy arrays in memory, one step per call (`steps_per_execution=1`), batch 64. On JAX every
  step is XLA-compiled (there is no graph mode without XLA; `jit_compile=False` would run eagerly).
- ours: the same with `train`'s `steps_per_execution=32`; on a GPU, `CVAE` runs each block of 32 steps as one
  `jax.lax.scan` (`fuse_steps`, 2026-11-28); `ours_keras_loop` is the same with `fuse_steps=False` (Keras's own loop,
  one dispatch per step: what `ours` was before);
- `fused` / `fused_u8`: a whole epoch's full batches in one scan on patches kept on the GPU (`fused_fit`), a reference
  for what removing every per-step dispatch gives;
- for information: ours with bf16 mixed precision (`mixed_bfloat16`), and ours at batch 256; larger batches with a
  larger learning rate (`b256_lr4e-3`) and 3x the epochs (`*_3x_epochs`: not the same work, a GPU recipe to compare by
  wall time and validation loss);
- `*_device`: the same with the training patches put on the GPU once and each batch gathered there (a generator of
  device arrays, `fit(..., steps_per_epoch=)`), instead of Keras's host-side slicing and copying of every batch.

Same model as benchmarks/training.py (CondCVAE on dataset + z, latent 32, dense 64, conv (8, 16, 32, 64, 128)), real
3D data: 11,947 patches 32 x 32 x 4, the same train / validation split. Prints per run and as medians: wall seconds
(compilation included), steady seconds per epoch (epochs 2..n), training patches per second, the validation loss
after the last epoch and its difference to the original's, and the GPU utilisation (pynvml, every 0.1 s).

Two steps (the wheels: `pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64
-d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0 fastcore==1.12.47`, installed there with `pip install --no-index
--no-deps --target /tmp/site .whl/*.whl` and PYTHONPATH=/tmp/site; results of 2026-11-27 in benchmarks/results/):
    python benchmarks/device_training_jax.py --export .devdata/real32.npz        # here (TensorFlow, real data): the patches, 6.5 MB
    KERAS_BACKEND=jax python benchmarks/device_training_jax.py --data .devdata/real32.npz [--epochs 10] [--repeats 3]   # on the GPU
    KERAS_BACKEND=jax python benchmarks/device_training_jax.py --synthetic 12000     # no patches file: synthetic blobs
"""
from __future__ import annotations
import argparse, json, os, sys, threading, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def export(path):
    "Write the real data's patches (uint16, exact to 8e-6), one-hot conditions, split and model config (benchmarks/training.py's)."
    sys.path.insert(0, str(ROOT / 'benchmarks'))
    import training as T
    from phenocoder.training import initialize_model
    T.prepare('real')
    run = initialize_model(T.CACHE, T.DATASET, name='bench', seed=0, flip=False, rotate=False, overwrite=True, **T.KW)
    x = np.round(np.asarray(run.patches[:]) * 65535).astype(np.uint16)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = str(path) + '.tmp.npz'
    np.savez_compressed(tmp, x=x, c=run.onehot.astype(np.uint8), train=run.train_idx, val=run.val_idx,
                        config=np.array(json.dumps(run.model.module.get_config())))
    os.replace(tmp, path)
    print(f"wrote {path}: {x.shape[0]:,} patches {x.shape[1:]}, {os.path.getsize(path) / 1e6:.1f} MB")


class GPUSampler:
    "Mean and max GPU utilisation (%) and max memory used (MiB) of GPU 0 while in the `with` block (pynvml; None without it)."
    def __init__(self, every=0.1): self.every, self.u, self.mem = every, [], []
    def __enter__(self):
        try:
            import pynvml; pynvml.nvmlInit(); self.h, self.nv = pynvml.nvmlDeviceGetHandleByIndex(0), pynvml
        except Exception: self.h = None; return self
        self.stop = threading.Event(); self.t = threading.Thread(target=self._loop, daemon=True); self.t.start(); return self
    def _loop(self):
        while not self.stop.wait(self.every):
            self.u.append(self.nv.nvmlDeviceGetUtilizationRates(self.h).gpu)
            self.mem.append(self.nv.nvmlDeviceGetMemoryInfo(self.h).used / 2**20)
    def __exit__(self, *a):
        if self.h is not None: self.stop.set(); self.t.join()
    def summary(self): return (np.mean(self.u), np.max(self.u), np.max(self.mem)) if self.u else (np.nan,) * 3


def device_feed(xt, ct, batch, seed):
    "Batches gathered on the device from the training patches put there once (a fresh shuffle each epoch); (generator, steps per epoch)."
    import jax
    X, C, n, rng = jax.device_put(xt), jax.device_put(ct), len(xt), np.random.default_rng(seed)
    take = jax.jit(lambda X, C, i: (X[i], C[i]))
    def batches():
        while True:
            p = rng.permutation(n)
            for s in range(0, n, batch): yield (take(X, C, jax.device_put(p[s:s + batch])),)
    return batches(), -(-n // batch)


def synthetic(n, seed=0):
    "`n` patches 32 x 32 x 4 in the patches file's layout: Gaussian blobs of three sizes with noise, 53 one-hot conditions, 88/12 split."
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32] - 15.5
    r = rng.choice([3., 5., 7.], n)[:, None, None, None] * rng.uniform(0.8, 1.2, (n, 1, 1, 4))
    x = np.exp(-(yy[None, :, :, None] ** 2 + xx[None, :, :, None] ** 2) / (2 * r ** 2)) * rng.uniform(0.3, 0.9, (n, 1, 1, 4))
    x = np.clip(x + rng.normal(0, 0.03, x.shape), 0, 1)
    p, k = rng.permutation(n), int(0.88 * n)
    cfg = dict(input_shape=[32, 32, 4], n_latent_dim=32, n_dense_dim=64, conv_layers=[8, 16, 32, 64, 128], dropout=0.25,
               beta=0.01, seed=0, n_conditions=53)
    return dict(x=np.round(x * 65535).astype(np.uint16), c=np.eye(53, dtype=np.uint8)[rng.integers(0, 53, n)],
                train=np.sort(p[:k]), val=np.sort(p[k:]), config=np.array(json.dumps(cfg)))


def fused_fit(m, d, epochs, batch, seed, on_epoch_end, unroll=1):
    """Train `m` (compiled) for `epochs` with each epoch's full batches in ONE compiled call: the training patches are put on
    the device once, each epoch's permutation is drawn on the host (numpy, seeded), and `jax.lax.scan` runs Keras's own
    stateless `train_step` over the batches, so no step returns to Python. The last partial batch (n % batch patches) is
    one more call, so every patch is seen once an epoch, as in `fit`. The state goes back into the model after each epoch
    (for validation and callbacks); returns the validation loss after each epoch. `unroll`: steps per iteration of the
    scan's loop (on XLA's CPU backend a rolled loop ran each step 7x slower than one jitted call per step: 336 against
    44 ms; fully unrolled, 44 ms)."""
    import jax, jax.numpy as jnp
    X, C, n = jax.device_put(d['xt']), jax.device_put(d['ct']), len(d['xt'])
    steps, rng = n // batch, np.random.default_rng(seed)
    m._symbolic_build(data_batch=((d['xt'][:batch], d['ct'][:batch]),))
    def epoch(state, X, C, idx):
        def body(st, i):
            _, st = m.train_step(st, ((X[i], C[i]),))
            return st, None
        return jax.lax.scan(body, state, idx, unroll=unroll)[0]
    run_epoch = jax.jit(epoch, donate_argnums=0)
    run_rest = jax.jit(lambda st, X, C, i: m.train_step(st, ((X[i], C[i]),))[1], donate_argnums=0)
    val = []
    for e in range(epochs):
        m.reset_metrics()
        state = m._get_jax_state(trainable_variables=True, non_trainable_variables=True, optimizer_variables=True,
                                 metrics_variables=True)
        p = rng.permutation(n)
        state = run_epoch(state, X, C, jnp.asarray(p[:steps * batch].reshape(steps, batch)))
        if n > steps * batch: state = run_rest(state, X, C, jnp.asarray(p[steps * batch:]))
        m._jax_state = dict(zip(('trainable_variables', 'non_trainable_variables', 'optimizer_variables', 'metrics_variables'), state))
        m._jax_state_synced = False; m.jax_state_sync()
        val.append(float(m.evaluate((d['xv'], d['cv']), batch_size=batch, verbose=0, return_dict=True)['loss']))
        on_epoch_end()
    return {'val_loss': val}


def fit_once(d, cfg, epochs, seed, spe, batch, precision='float32', feed='host', lr=1e-3, unroll=1, fuse='auto'):
    "Fit a fresh CondCVAE; returns (wall s, steady s per epoch, last val loss, GPU mean %, GPU max %, memory MiB)."
    import keras
    from phenocoder.condcvae import CondCVAE
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(seed)
        m = CondCVAE(**cfg)
        m.fuse_steps = fuse
        m.compile(optimizer=keras.optimizers.Adam(lr), steps_per_execution=spe)
        ends = []
        cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ends.append(time.time()))
        with GPUSampler() as g:
            t = time.time()
            if feed == 'fused':
                h = fused_fit(m, d, epochs, batch, seed, lambda: ends.append(time.time()), unroll)
            elif feed == 'device':
                gen, steps = device_feed(d['xt'], d['ct'], batch, seed)
                h = m.fit(gen, steps_per_epoch=steps, validation_data=((d['xv'], d['cv']),), epochs=epochs, verbose=0,
                          callbacks=[cb]).history
            else:
                h = m.fit((d['xt'], d['ct']), validation_data=((d['xv'], d['cv']),), epochs=epochs, batch_size=batch,
                          shuffle=True, verbose=0, callbacks=[cb]).history
            wall = time.time() - t
        if feed == 'host' and spe > 1: print(f"  ({getattr(m.train_function, 'blocks', 0)} blocks of {spe} steps fused)", flush=True)
    finally: keras.mixed_precision.set_global_policy('float32')
    steady = (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else np.nan
    return (wall, steady, h['val_loss'][-1], *g.summary())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--export', help='write the patches file here and stop (needs TensorFlow and the real data)')
    ap.add_argument('--data', default=str(ROOT / '.devdata' / 'real32.npz'))
    ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--limit', type=int, default=0, help='use only the first N training patches (a quick check)')
    ap.add_argument('--ways', default='original,ours,ours_keras_loop')
    ap.add_argument('--synthetic', type=int, default=0, help='without a patches file: this many synthetic patches (blobs of 3 sizes in 53 conditions)')
    a = ap.parse_args()
    if a.export: return export(a.export)
    if a.synthetic: f = synthetic(a.synthetic)
    elif Path(a.data).is_file(): f = np.load(a.data)
    else: sys.exit(f"no patches file at {a.data}: write it first with --export, or use --synthetic N")
    import keras, jax
    x, c, cfg = f['x'].astype(np.float32) / 65535, f['c'].astype(np.float32), json.loads(str(f['config']))
    tr, va = f['train'][:a.limit or None], f['val']
    d = dict(xt=x[tr], ct=c[tr], xv=x[va], cv=c[va])
    n = len(tr)
    ways = {'original': dict(spe=1, batch=64), 'ours': dict(spe=32, batch=64), 'ours_keras_loop': dict(spe=32, batch=64, fuse=False),
            'ours_bf16': dict(spe=32, batch=64, precision='mixed_bfloat16'), 'ours_b256': dict(spe=32, batch=256),
            'original_device': dict(spe=1, batch=64, feed='device'), 'ours_device': dict(spe=32, batch=64, feed='device'),
            'fused': dict(spe=1, batch=64, feed='fused'),
            'fused_u8': dict(spe=1, batch=64, feed='fused', unroll=8),
            'fused_bf16': dict(spe=1, batch=64, feed='fused', precision='mixed_bfloat16'),
            'ours_device_bf16': dict(spe=32, batch=64, feed='device', precision='mixed_bfloat16'),
            'b256_lr2e-3': dict(spe=32, batch=256, lr=2e-3), 'b256_lr4e-3': dict(spe=32, batch=256, lr=4e-3),
            'b256_lr4e-3_3x_epochs': dict(spe=32, batch=256, lr=4e-3, epochs_x=3),
            'b512_lr4e-3_3x_epochs': dict(spe=32, batch=512, lr=4e-3, epochs_x=3)}
    names = a.ways.split(',')
    if unknown := set(names) - set(ways): sys.exit(f"unknown way(s) {sorted(unknown)}; expected some of {list(ways)}")
    print(f"keras {keras.__version__} on {keras.backend.backend()} {jax.__version__}, devices {jax.devices()}; "
          f"{n:,} train / {len(va):,} validation patches {x.shape[1:]}, {c.shape[1]} one-hot conditions; {a.epochs} epochs", flush=True)
    fit_once(d, cfg, 1, 0, 32, 64)                                   # warm-up: imports, CUDA context
    res = {k: [] for k in names}
    for r in range(a.repeats):
        for k in names:
            kw = dict(ways[k]); ep = a.epochs * kw.pop('epochs_x', 1)
            try: o = fit_once(d, cfg, ep, r, **kw)
            except Exception as e: print(f"{k} failed: {type(e).__name__}: {str(e)[:300]}", flush=True); o = (np.nan,) * 6
            res[k].append(o)
            print(f"repeat {r} {k:10s} ({ep} epochs): {o[0]:6.1f} s wall, {o[1]:.2f} s/epoch steady, {ep * n / o[0]:7.0f} patches/s, "
                  f"val loss {o[2]:.1f}, GPU {o[3]:.0f}% mean / {o[4]:.0f}% max, {o[5]:.0f} MiB", flush=True)
    import warnings; warnings.simplefilter('ignore', RuntimeWarning)   # all-NaN columns (no GPU sampler, a failed way)
    med = {k: np.nanmedian(np.array(v), axis=0) for k, v in res.items()}
    w0, s0, v0 = med[names[0]][:3]
    print(f"\nmedians over {a.repeats} repeats, {a.epochs} epochs, {n:,} training patches each (first way is the baseline):")
    print("| way | batch | epochs | wall s | s/epoch steady | patches/s | speed-up (wall) | speed-up (steady) | val loss | vs baseline | GPU mean / max % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for k, (w, s, v, um, ux, mem) in med.items():
        ep = a.epochs * ways[k].get('epochs_x', 1)
        print(f"| {k} | {ways[k]['batch']} | {ep} | {w:.1f} | {s:.2f} | {ep * n / w:,.0f} | {w0 / w:.2f}x | {s0 / s:.2f}x | {v:.1f} | "
              f"{100 * (v / v0 - 1):+.2f}% | {um:.0f} / {ux:.0f} |")


if __name__ == '__main__':
    main()
