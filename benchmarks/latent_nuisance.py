"""What spreads each phenotype in the latents of the second generator, and how k-means splits it (issue 10).

For each seed: the workflow at the defaults of `benchmarks/quality.py` on `synthetic_tissue.make_tissue(seed)` (32 x 32
patches, conditions z + batch, latent 8, dense 256, up to 60 epochs, `encode(harmonize='batch')`), then, on the
standardised latents:

- the k-means (k = 5) confusion table against the planted phenotypes and its ARI;
- per phenotype, the share of the latents' variance a linear fit explains from each planted nuisance the generator
  records: the radius at the object's own slice (and its square), the orientation (cos / sin of 1, 2 and 3 times the
  angle), the ellipticity, and all of them;
- per phenotype, the median planted radius of the objects k-means puts in the phenotype's main cluster and of those it
  puts elsewhere;
- an oracle: k-means after removing each nuisance from the latents by a per-phenotype regression (uses the truth, so no
  user can do it; it bounds what ignoring that nuisance could give).

    python benchmarks/latent_nuisance.py [--seeds 3,0] [--epochs 60]
"""
from __future__ import annotations
import argparse, os, sys, tempfile, warnings
from pathlib import Path
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))


def latents(seed:int, epochs:int, work:Path):
    "The harmonized latents (AnnData, with the source table's truth columns in `.obs`) of the defaults on the tissue."
    from phenocoder import Phenocoder
    from synthetic_tissue import make_tissue
    sd = make_tissue(seed=seed)
    pheno = Phenocoder(table_key='nuclei_features', sample_key='well', image_key='IF', seed=seed)
    pheno.add_sdata(sd)
    pheno.generate_dataset(dataset='d', dir_dataset=work, patch_size=(32, 32), spatial_key_index='spatial_index',
                           metadata_keys=['batch'], progress=False)
    pheno.initialize_model(n_latent_dim=8, n_dense_dim=256, conditions=['z', 'batch'], input_shape=(32, 32, 3))
    pheno.train(n_epochs=epochs, verbose=0, plot=False)
    lat = pheno.encode(harmonize='batch', progress=False)
    if lat is None: lat = pheno.sdata.tables['phenocoder']
    src = sd.tables['nuclei_features'].obs
    return np.asarray(lat.X, np.float64), src.loc[lat.obs_names]


def nuisances(obs:pd.DataFrame)->dict:
    "Design matrices of the planted nuisances."
    r, th = obs['true_radius'].to_numpy(), obs['true_orientation'].to_numpy()
    out = {'radius': np.column_stack([r, r ** 2])}
    for k in (1, 2, 3): out[f'orientation x{k}'] = np.column_stack([np.cos(k * th), np.sin(k * th)])
    out['ellipticity'] = obs[['true_ellipticity']].to_numpy()
    out['all'] = np.column_stack(list(out.values()))
    return out


def report(x:np.ndarray, obs:pd.DataFrame, seed:int)->dict:
    "Print the tables for one seed; return its headline figures."
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import adjusted_rand_score
    from phenocoder.evaluation import standardise
    xs, y = standardise(x), obs['phenotype'].astype(str).to_numpy()
    km = KMeans(5, n_init=10, random_state=seed).fit_predict(xs)
    ari = adjusted_rand_score(y, km)
    print(f"\nseed {seed}: k-means ARI {ari:.3f}\n" + pd.crosstab(pd.Series(y, name='phenotype'), pd.Series(km, name='k-means')).to_string())
    f, share, split = nuisances(obs), {}, {}
    r = obs['true_radius'].to_numpy()
    for p in np.unique(y):
        m = y == p; xm = xs[m]; tot = ((xm - xm.mean(0)) ** 2).sum()
        share[p] = {k: 1 - ((xm - LinearRegression().fit(d[m], xm).predict(d[m])) ** 2).sum() / tot for k, d in f.items()}
        main = pd.Series(km[m]).mode()[0]
        split[p] = dict(main=int((km[m] == main).sum()), radius_main=float(np.median(r[m][km[m] == main])),
                        elsewhere=int((km[m] != main).sum()), radius_elsewhere=float(np.median(r[m][km[m] != main])) if (km[m] != main).any() else np.nan)
    print("\nshare of the within-phenotype latent variance explained by each planted nuisance (linear fit)")
    print(pd.DataFrame(share).T.round(3).to_string())
    print("\nobjects in their phenotype's main k-means cluster and elsewhere, with their median planted radius (px)")
    print(pd.DataFrame(split).T.round(2).to_string())
    oracle = {}
    for k in ('radius', 'orientation x2', 'all'):
        xr = xs.copy()
        for p in np.unique(y):
            m = y == p
            xr[m] = xs[m] - LinearRegression().fit(f[k][m], xs[m]).predict(f[k][m]) + xs[m].mean(0)
        oracle[k] = adjusted_rand_score(y, KMeans(5, n_init=10, random_state=seed).fit_predict(standardise(xr)))
    print("\noracle: k-means ARI after removing a nuisance from the latents with the truth: " +
          ', '.join(f"{k} {v:.3f}" for k, v in oracle.items()))
    return dict(seed=seed, ari=ari, **{f'oracle_{k}': v for k, v in oracle.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', default='3,0'); ap.add_argument('--epochs', type=int, default=60)
    a = ap.parse_args()
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    warnings.filterwarnings('ignore', message='.*zarr v3 autosharding.*')
    rows = []
    with tempfile.TemporaryDirectory(prefix='phenocoder_nuisance_') as tmp:
        for s in (int(v) for v in a.seeds.split(',')):
            rows.append(report(*latents(s, a.epochs, Path(tmp) / str(s)), s))
    print('\n' + pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == '__main__':
    main()
