"""Do the latents separate the planted phenotypes of the bundled synthetic data?

Data: phenocoder.data.example_3d() (4 wells, 4 planted phenotypes in obs 'phenotype', ~1,900 nuclei, 4 channels), 32 x 32
patches by generate_dataset (cached in a temp folder). For each training recipe: initialize_model + train (wall clock
and process CPU time; plot=False), then k-means (k = number of phenotypes, 10 inits) on the standardised latent means of
all patches, adjusted Rand index against the planted phenotypes. Baseline in the same run: the same k-means on a PCA of
the raw patch pixels (several numbers of components; the best is the one to beat). Medians over `--repeats` seeds.

    python benchmarks/training_quality.py [--repeats 3] [--recipes default,seed]
Recipes: `default` = initialize_model / train defaults (n_latent_dim 8, n_dense_dim 64, no conditions; centre-weighted
loss, rotations and mirror images, no dropout); `original-defaults` = the same with the original's dropout=0.25, flip=False;
`seed` = the original recipe (uniform reconstruction loss, learning rate 1e-3, n_latent_dim 32, 100 epochs max).
"""
from __future__ import annotations
import argparse, os, tempfile, time
from pathlib import Path
import numpy as np

CACHE = Path(tempfile.gettempdir()) / 'phenocoder_bench_quality'
RECIPES = {
    'default': (dict(n_latent_dim=8, n_dense_dim=64, conditions=[], input_shape=(32, 32, 4)), dict()),
    'original-defaults': (dict(n_latent_dim=8, n_dense_dim=64, conditions=[], input_shape=(32, 32, 4), flip=False,
                               dropout=0.25), dict()),
    'seed': (dict(n_latent_dim=32, n_dense_dim=64, conditions=[], input_shape=(32, 32, 4), center_sigma=None, flip=False,
                  rotate=False, dropout=0.25, batch_norm=False), dict(learning_rate=1e-3)),
}


def kmeans_ari(z, truth, k, seed=0):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler
    lab = KMeans(k, n_init=10, random_state=seed).fit_predict(StandardScaler().fit_transform(z))
    return adjusted_rand_score(truth, lab)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--recipes', default='default,original-defaults,seed')
    a = ap.parse_args()
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    from sklearn.decomposition import PCA
    from phenocoder.data import example_3d
    from phenocoder.patches import generate_dataset, list_datasets, load_dataset
    from phenocoder.training import initialize_model, train
    if 'ex32' not in list_datasets(CACHE):
        generate_dataset(example_3d(), 'ex32', CACHE, patch_size=(32, 32), metadata_keys=['phenotype'], progress=False)
    ds = load_dataset(CACHE, 'ex32')
    x, truth = ds.patches[:], ds.table['phenotype'].astype(str).to_numpy()
    k = len(set(truth))
    print(f"{len(x):,} patches {x.shape[1:]}, {k} phenotypes, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    flat = x.reshape(len(x), -1)
    pca = {n: kmeans_ari(PCA(n, random_state=0).fit_transform(flat), truth, k) for n in (4, 8, 16, 32, 50)}
    print('k-means on PCA of raw pixels, ARI by number of components: ' + ', '.join(f'{n}: {v:.3f}' for n, v in pca.items()))
    best_pca = max(pca.values())
    for name in a.recipes.split(','):
        init_kw, train_kw = RECIPES[name]
        rows = []
        for r in range(a.repeats):
            t, c = time.time(), time.process_time()
            run = initialize_model(CACHE, 'ex32', name=f'q_{name}', seed=r, **init_kw)
            h = train(run, plot=False, verbose=0, tensorboard=False, **train_kw)
            wall, cpu = time.time() - t, time.process_time() - c
            ari = kmeans_ari(run.model.encode(x), truth, k)
            rows.append((ari, wall, cpu, len(h['val_loss'])))
            print(f"  {name} seed {r}: ARI {ari:.3f}, {wall:.0f} s wall, {cpu:.0f} s CPU, {len(h['val_loss'])} epochs, "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
        ari, wall, cpu, ep = np.median(np.array(rows), axis=0)
        print(f"{name}: median ARI {ari:.3f} (min {min(r[0] for r in rows):.3f}) vs best pixel PCA {best_pca:.3f}; "
              f"median {wall:.0f} s wall, {cpu:.0f} s CPU, {ep:.0f} epochs")


if __name__ == '__main__':
    main()
