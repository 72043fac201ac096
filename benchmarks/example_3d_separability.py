"""How separable are the planted phenotypes of the synthetic example (`phenocoder.data.example_3d`)?

Run: python benchmarks/example_3d_separability.py [--patch 16] [--epochs 30] [--seed 0]
Cuts one patch per nucleus at its `spatial_index` (own z-slice; per-well, per-channel 1st-99.9th percentile scaling), then
prints the adjusted Rand index (ARI) against the ground-truth `phenotype` of:
- baseline: k-means (k=4) and a Gaussian mixture on PCA (10 and 50 components) of the raw patch pixels;
- supervised ceilings: 3-fold logistic-regression accuracy on PCA-10 and on the CVAE latents;
- a plain CVAE (phenocoder.cvae.CVAE, 3 strided conv layers, 16 latent dims) trained `--epochs` epochs on CPU, k-means on
  its standardised latent means (`--epochs 0` skips it).
Later stages aim at ARI >= 0.85 from latents, above the PCA baseline; this prints where the data stands.
"""
import argparse, os, tempfile, time
import numpy as np

def patches(sd, size):
    t = sd.tables['nuclei_features']
    out, y, h = [], [], size // 2
    for w in t.obs['well'].cat.categories:
        im = np.asarray(sd.images[f'IF_{w}'].data).astype(np.float32)
        lo, hi = np.percentile(im, 1, axis=(1, 2, 3)), np.percentile(im, 99.9, axis=(1, 2, 3))
        im = np.clip((im - lo[:, None, None, None]) / (hi - lo)[:, None, None, None], 0, 1)
        im = np.pad(im, ((0, 0), (0, 0), (h, h), (h, h)))
        m = (t.obs['well'] == w).to_numpy()
        out += [im[:, z, r:r + size, c:c + size].transpose(1, 2, 0) for r, c, z in t.obsm['spatial_index'][m]]
        y += list(t.obs['phenotype'][m])
    return np.stack(out).astype(np.float32), np.array(y)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--patch', type=int, default=16); ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    from sklearn.decomposition import PCA
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler
    from sklearn.metrics import adjusted_rand_score as ari
    from phenocoder.data import example_3d
    with tempfile.TemporaryDirectory() as tmp:
        X, y = patches(example_3d(seed=a.seed, cache_dir=tmp), a.patch)
    print(f'{len(X)} patches of {X.shape[1:]} (seed {a.seed})')
    for nc in (10, 50):
        Z = PCA(nc, random_state=0).fit_transform(X.reshape(len(X), -1))
        print(f'  PCA-{nc} + k-means ARI {ari(y, KMeans(4, n_init=10, random_state=0).fit_predict(Z)):.3f}, '
              f'+ GMM ARI {ari(y, GaussianMixture(4, random_state=0).fit(Z).predict(Z)):.3f}')
        if nc == 10: print(f'  PCA-10 logistic regression accuracy {cross_val_score(LogisticRegression(max_iter=2000), Z, y, cv=3).mean():.3f}')
    if a.epochs:
        import keras
        from phenocoder.cvae import CVAE
        keras.utils.set_random_seed(0)
        m = CVAE(input_shape=X.shape[1:], n_latent_dim=16, n_dense_dim=64, conv_layers=(16, 32, 64), seed=0)
        m.compile(optimizer=keras.optimizers.Adam(1e-3))
        t0 = time.perf_counter(); m.fit(X, epochs=a.epochs, batch_size=64, verbose=0); dt = time.perf_counter() - t0
        Z = StandardScaler().fit_transform(m.encode(X))
        print(f'  CVAE ({a.epochs} epochs, {dt:.0f} s): k-means ARI {ari(y, KMeans(4, n_init=10, random_state=0).fit_predict(Z)):.3f}, '
              f'logistic regression accuracy {cross_val_score(LogisticRegression(max_iter=2000), Z, y, cv=3).mean():.3f}')

if __name__ == '__main__': main()
