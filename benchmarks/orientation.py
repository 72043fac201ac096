"""Ways tried to keep an object's orientation out of the latents, none kept (training chapter, "A third generator"; "Turning patches to their objects' axes"; "Latents asked to ignore the pose").

    python benchmarks/orientation.py any-angle --generators cells [--seeds 0,1,2,3,4] [--out f.json]
        the quality benchmark (`quality.py`, same options) with the training feed also turning every patch by a random
        angle in [-45, 45) degrees (bilinear, mirrored at the border) after its random quarter turn and mirror image;
    python benchmarks/orientation.py averaging --generators cells,tissue,bundled [--seeds 0,1,2]
        trains the quality benchmark's model at the defaults, then scores the latent means as they are and averaged over
        the patch's 4 quarter turns (and all 8 symmetries), each harmonized over the batch afterwards: k-means ARI, Leiden
        ARI as the workflow clusters (15 PCs, resolution 0.5), the 15-NN phenotype vote and the batch kNN accuracy.

    python benchmarks/orientation.py cubic --generators bundled --seeds 0,4 --align axis [--out f.json]
        the quality benchmark with patches turned to their objects' axes (`--align axis`), resampled with Catmull-Rom
        (bicubic, 16 taps) instead of the package's bilinear resampling (training chapter, "Turning patches to their
        objects' axes"): does the smoothing of bilinear resampling cost the texture phenotypes?

    python benchmarks/orientation.py round-kept --generators bundled,cells --align axis [--min-ratio 1.3] [--out f.json]
        the same with objects less than `--min-ratio` times as long as wide (from their mask's moments) cut as they lie:
        a round object's axis is noise, so only elongated ones are turned and centred.

    python benchmarks/orientation.py partial-size --generators tissue,cells --align axis+size [--power 0.5] [--out f.json]
        patches turned and scaled (`--align axis+size`) by the factor `size_factors` gives, to the power `--power`: size
        differences shrunk (halved in log at 0.5), not removed, so the latents may still tell a small phenotype. Measured
        with `--power 0.5` when `size_factors` gave the full factor; the package's `align='axis+size'` now does exactly
        this (`SIZE_POWER = 0.5`), and `--power 2` on top of it returns to the full factor (up to float rounding), the
        variant measured in `results/quality_align_axis_size_full_experiment_*.json`.

    python benchmarks/orientation.py quarter --generators cells,bundled,tissue --align axis [--out f.json]
        patches turned without resampling: cut as they lie, then turned by the multiple of 90 degrees and mirrored (both
        lossless) that brings their object's axis (from the mask's moments) to 0-45 degrees from x; trained with half
        turns and mirror images as `align='axis'` is. Texture stays sharp; the angle left is at most 45 degrees.

    python benchmarks/orientation.py invariance --generators cells,tissue,bundled [--weight 3] [--centre middle|pixel]
        [--shift 1] [--same-pass] [--out f.json]
        the quality benchmark with an invariance term in the loss: every training patch is also encoded as a second view,
        turned by a random angle (any angle) about the patch's middle (`--centre pixel`: about the object's centre pixel,
        h // 2) and shifted by up to `--shift` px along each axis (bilinear, mirrored at the border); `--weight` times the
        squared difference of the two views' latent means, each dimension over its batch variance (outside the
        gradient), is added to the loss. The first view's latent means come from a second encoder pass on the patch
        (the same numbers; `--same-pass`: those of the model's own forward pass, the same maths in another order).
        The decoder still redraws the patch as it lies. Training chapter, "Latents asked to ignore the pose".

Experiment code: `invariance` wraps `phenocoder.cvae.CVAE.__init__`, `call` and `compute_loss`; `any-angle` replaces `phenocoder.training._augment`, `cubic` replaces `phenocoder.patches.rotate_windows`,
`round-kept` wraps `phenocoder.patches.object_frames`, `partial-size` `phenocoder.patches.size_factors`, `quarter` `phenocoder.patches._aligned_cut`, for the run;
nothing in the package changes.
"""
from __future__ import annotations
import argparse, math, sys, tempfile
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def any_angle():
    "Patch the feed's augmentation with a random rotation by any angle, then run quality.main with the remaining arguments."
    import tensorflow as tf
    import phenocoder.training as tr
    quarter = tr._augment
    def augment(x, seed, perms):
        y = quarter(x, seed, perms)
        s = tf.shape(y); h, w = tf.cast(s[1], tf.float32), tf.cast(s[2], tf.float32)
        th = tf.random.stateless_uniform((s[0],), seed=seed[::-1] + 1, minval=-math.pi / 4, maxval=math.pi / 4)
        c, sn = tf.cos(th), tf.sin(th); cx, cy = tf.floor(w / 2), tf.floor(h / 2)      # about the cut centre
        t = tf.stack([c, -sn, cx - c * cx + sn * cy, sn, c, cy - sn * cx - c * cy, tf.zeros_like(c), tf.zeros_like(c)], 1)
        return tf.raw_ops.ImageProjectiveTransformV3(images=y, transforms=t, output_shape=s[1:3], fill_value=0.,
                                                     interpolation='BILINEAR', fill_mode='REFLECT')
    tr._augment = augment
    import quality
    quality.main()


def _catmull_rom(t):
    "Catmull-Rom weights of the 4 taps at offsets -1, 0, 1, 2 for fractional positions t (last axis: the taps)."
    t2, t3 = t * t, t * t * t
    return np.stack([-0.5 * t3 + t2 - 0.5 * t, 1.5 * t3 - 2.5 * t2 + 1, -1.5 * t3 + 2 * t2 + 0.5 * t, 0.5 * t3 - 0.5 * t2], -1)


def cubic():
    "Patch the turned cut's resampling with Catmull-Rom (bicubic), then run quality.main with the remaining arguments."
    import phenocoder.patches as P
    def rotate_windows(win, sy, sx):
        n, H, W, C = win.shape
        x0, y0 = np.clip(np.floor(sx), 1, W - 3), np.clip(np.floor(sy), 1, H - 3)
        wx, wy = _catmull_rom(np.clip(sx - x0, 0, 1)), _catmull_rom(np.clip(sy - y0, 0, 1))
        i = (y0.astype(np.int64) * W + x0.astype(np.int64) + (np.arange(n) * (H * W))[:, None, None]).reshape(-1)
        flat = np.ascontiguousarray(win).reshape(n * H * W, C)
        out = np.zeros((*sx.shape, C), np.float32)
        for a in range(4):
            row = np.zeros((*sx.shape, C), np.float32)
            for b in range(4):
                row += np.take(flat, i + (a - 1) * W + (b - 1), axis=0).reshape(*sx.shape, C).astype(np.float32) * wx[..., b:b + 1]
            out += row * wy[..., a:a + 1]
        return out
    P.rotate_windows = rotate_windows
    import quality
    quality.main()


def round_kept(min_ratio:float):
    "Keep the cut centre and angle 0 for objects rounder than `min_ratio`, then run quality.main with the remaining arguments."
    import phenocoder.patches as P
    frames = P.object_frames
    def object_frames(m, max_shift):
        cy, cx, th = frames(m, max_shift)
        n, H, W = m.shape
        w = m.reshape(n, -1).astype(np.float64); s = np.maximum(w.sum(1), 1.0)
        yy, xx = (g.ravel() for g in np.mgrid[0:H, 0:W].astype(np.float64))
        dy, dx = yy[None] - (w @ yy / s)[:, None], xx[None] - (w @ xx / s)[:, None]
        syy, sxx, sxy = ((w * a * b).sum(1) / s for a, b in ((dy, dy), (dx, dx), (dx, dy)))
        half, r = (sxx + syy) / 2, np.hypot((sxx - syy) / 2, sxy)
        keep = (half + r) < min_ratio ** 2 * np.maximum(half - r, 1e-12)          # axis ratio under min_ratio
        return np.where(keep, H // 2, cy), np.where(keep, W // 2, cx), np.where(keep, 0.0, th)
    P.object_frames = object_frames
    import quality
    quality.main()


def partial_size(power:float):
    "Scale each object by its `align='axis+size'` factor to the power `power` (0.5: size differences halved in log), then run quality.main."
    import phenocoder.patches as P
    full = P.size_factors
    P.size_factors = lambda m, max_shift, side: (full(m, max_shift, side) ** power).astype(np.float32)
    import quality
    quality.main()


def quarter():
    "Replace the turned cut by quarter turns and mirror images to 0-45 degrees (run with `--align axis`), then run quality.main."
    import phenocoder.patches as P
    def aligned_cut(sl, lab, yx, ids, size, low, high, fill, mask, dilation, info, sized=False):
        if mask or sized: raise SystemExit("quarter: run with --align axis and no mask")
        h, w = size
        p = P._cut_slice(sl, yx, size, low, high, fill)
        _, _, th = P.object_frames(P.object_masks(P._cut_slice(lab, yx, (h, w))[..., 0], ids, 0, info), max(h, w) // 4)
        k = np.rint(th / (np.pi / 2)).astype(int)            # np.rot90 by k turns the axis by -k x 90 degrees
        out = np.empty_like(p)
        for kk in np.unique(k): out[k == kk] = np.rot90(p[k == kk], kk, axes=(1, 2))
        flip = th - k * np.pi / 2 < 0                          # mirrored in y: the angle left changes sign, to 0-45 degrees
        out[flip] = out[flip][:, ::-1]
        return out
    P._aligned_cut = aligned_cut
    import quality
    quality.main()


def invariance(weight:float, centre:str, shift:float, same_pass:bool):
    "Add the invariance term (see the module docstring) to the model's loss, then run quality.main."
    import keras
    from keras import ops
    import phenocoder.cvae as cv
    def view(x, gen):
        n, h, w = ops.shape(x)[0], int(x.shape[1]), int(x.shape[2])
        th = keras.random.uniform((n,), -math.pi, math.pi, seed=gen)
        d = keras.random.uniform((n, 2), -shift, shift, seed=gen)
        c, s = ops.cos(th), ops.sin(th)
        cx, cy = ((w - 1) / 2, (h - 1) / 2) if centre == 'middle' else (float(w // 2), float(h // 2))
        zero = ops.zeros_like(c)    # output (x, y) reads input (c x - s y + tx, s x + c y + ty)
        t = ops.stack([c, -s, cx - c * cx + s * cy + d[:, 0], s, c, cy - s * cx - c * cy + d[:, 1], zero, zero], axis=1)
        return ops.image.affine_transform(x, t, interpolation='bilinear', fill_mode='reflect', data_format='channels_last')
    init, call, loss = cv.CVAE.__init__, cv.CVAE.call, cv.CVAE.compute_loss
    def __init__(self, *a, **k):
        init(self, *a, **k)
        self._view_seed = keras.random.SeedGenerator(0 if self.seed is None else self.seed + 23)
        self._invariance_tracker = keras.metrics.Mean(name='invariance_loss')
    def patched_call(self, inputs, training=False):
        if not training: return call(self, inputs, training)
        x, c = self._split(inputs)
        if same_pass:               # the latent means of the model's own pass (its first loss after KL and MMD is added here)
            enc, kept = self._enc, {}
            def spy(x_, c_, training_=False):
                out = enc(x_, c_, training_); kept.setdefault('m', out[0]); return out
            self._enc = spy
            try: out = call(self, inputs, training)
            finally: del self._enc
            m1 = kept['m']
        else:
            out = call(self, inputs, training)
            m1 = self._enc(x, c, training)[0]
        m2 = self._enc(view(x, self._view_seed), c, training)[0]
        self.add_loss(ops.mean(ops.square(m1 - m2) / ops.stop_gradient(ops.var(m1, axis=0) + 1e-6)))
        return out
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total = loss(self, x, y, y_pred, sample_weight, training)
        ls = self.losses
        if len(ls) > 1 + int(self._uses_mmd):                   # KL, MMD (if any), then the invariance term
            term = ops.cast(ls[-1], 'float32'); self._invariance_tracker.update_state(term)
            total = total + weight * term
        return total
    cv.CVAE.__init__, cv.CVAE.call, cv.CVAE.compute_loss = __init__, patched_call, compute_loss
    print(f"invariance term: weight {weight}, turned about the {'patch middle' if centre == 'middle' else 'centre pixel'}, shifted up to {shift} px"
          f"{', first view from the same pass' if same_pass else ''}", flush=True)
    import quality
    quality.main()


def averaging(generators:list, seeds:list):
    "Latent means as they are against averaged over the patch's symmetries, each harmonized; one line per way."
    import anndata as ad, pandas as pd
    import quality as Q
    from phenocoder.patches import load_dataset
    from phenocoder.encoding import harmonize_latents
    from phenocoder.evaluation import phenotype_recovery, batch_mixing, cluster_agreement
    defaults = Q.parse_args([])                                  # the quality benchmark's model, at its defaults
    for gen in generators:
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix='phenocoder_orientation_') as tmp:
                p, sdata, _, _ = Q.train_workflow(gen, seed, defaults, Path(tmp))
                ds = load_dataset(p.data_dir, 'dataset_1'); x = np.asarray(ds.patches[:]); t = ds.table
                obs = sdata.tables['nuclei_features'].obs.loc[t['id'].astype(str).to_numpy()]
                z = lambda patches: p.model.get_latent_representation(patches, t)
                quarter = [z(np.rot90(x, k, axes=(1, 2))) for k in range(4)]
                mirror = [z(np.rot90(x[:, :, ::-1], k, axes=(1, 2))) for k in range(4)]
                for name, lat in (('as they are', quarter[0]), ('4 quarter turns', np.mean(quarter, 0)),
                                  ('8 symmetries', np.mean(quarter + mirror, 0))):
                    a = ad.AnnData(lat.astype('float32'), obs=pd.DataFrame({'phenotype': obs['phenotype'].astype(str).to_numpy(),
                                   'batch': obs['batch'].astype(str).to_numpy()}, index=[str(i) for i in range(len(lat))]))
                    harmonize_latents(a, 'batch', seed=seed)
                    r = phenotype_recovery(a, 'phenotype', seed=seed)
                    Q.leiden(a, seed)
                    le = cluster_agreement(a.obs['phenotype'], a.obs['leiden'])
                    print(f"{gen} seed {seed} {name:16s} k-means {r['kmeans_ari']:.3f}  Leiden {le['ari']:.3f} ({le['n_clusters']})  "
                          f"vote {r['knn_accuracy']:.3f}  batch {batch_mixing(a, 'batch', 'phenotype')['accuracy']:.3f}", flush=True)


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'any-angle':
        sys.argv.pop(1); any_angle()
    elif len(sys.argv) > 1 and sys.argv[1] == 'cubic':
        sys.argv.pop(1); cubic()
    elif len(sys.argv) > 1 and sys.argv[1] == 'round-kept':
        sys.argv.pop(1); ratio = 1.3
        if '--min-ratio' in sys.argv:
            k = sys.argv.index('--min-ratio'); ratio = float(sys.argv[k + 1]); del sys.argv[k:k + 2]
        round_kept(ratio)
    elif len(sys.argv) > 1 and sys.argv[1] == 'partial-size':
        sys.argv.pop(1); power = 0.5
        if '--power' in sys.argv:
            k = sys.argv.index('--power'); power = float(sys.argv[k + 1]); del sys.argv[k:k + 2]
        partial_size(power)
    elif len(sys.argv) > 1 and sys.argv[1] == 'quarter':
        sys.argv.pop(1); quarter()
    elif len(sys.argv) > 1 and sys.argv[1] == 'invariance':
        sys.argv.pop(1)
        ap = argparse.ArgumentParser(add_help=False)
        ap.add_argument('--weight', type=float, default=3.); ap.add_argument('--centre', choices=('middle', 'pixel'), default='middle')
        ap.add_argument('--shift', type=float, default=1.); ap.add_argument('--same-pass', action='store_true')
        a, rest = ap.parse_known_args(sys.argv[1:]); sys.argv[1:] = rest
        invariance(a.weight, a.centre, a.shift, a.same_pass)
    elif len(sys.argv) > 1 and sys.argv[1] == 'averaging':
        ap = argparse.ArgumentParser(description='latent means averaged over the patch symmetries')
        ap.add_argument('--generators', default='cells'); ap.add_argument('--seeds', default='0,1,2')
        a = ap.parse_args(sys.argv[2:])
        averaging(a.generators.split(','), [int(s) for s in a.seeds.split(',')])
    else: sys.exit(__doc__)
