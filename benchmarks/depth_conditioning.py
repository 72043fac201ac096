"""How much of the depth (z-slice) do the latents keep on the real 3D data, by way of conditioning on z?

Real data: phenocoder.data.read_zstacks on /work/shared/data/3d (or PHENOCODER_REAL_DATA): 3 wells, 52 slices, 11,947
nuclei. One 32 x 32 patch dataset (cached in a temporary folder). For each way (`none`: no conditions; `mmd`: conditions
['z'], the default MMD penalty; `concat`: conditions ['z'], conditioning='concat') and seed: initialize_model (latent 16,
dense 256) + train(`--epochs`), then the latent means of every patch, standardised. Score: the leave-one-out 15-NN vote
of the depth bin (6 bins of slices by quantile) and its chance (the commonest bin's share); the largest |correlation| of
one latent dimension with z. `--pixels` adds the same vote on 20 pixel PCs of the patches, scaled per sample (as the
store does) and per slice (each slice to its own range, with a floor of `--floor` of the sample's range).

    python benchmarks/depth_conditioning.py [--ways none,mmd,concat] [--seeds 0,1] [--epochs 15] [--pixels]
"""
from __future__ import annotations
import argparse, json, os, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent / 'shared' / 'data' / '3d'))
WAYS = {'none': dict(conditions=[]), 'mmd': dict(conditions=['z']), 'concat': dict(conditions=['z'], conditioning='concat')}


def depth_vote(features, z, n_neighbors:int=15, n_bins:int=6)->tuple:
    "Leave-one-out k-NN vote accuracy of the depth bin from standardised `features`, and its chance."
    from phenocoder.evaluation import knn_indices, knn_vote
    zbin = pd.qcut(z, n_bins, labels=False, duplicates='drop')
    f = (features - features.mean(0)) / (features.std(0) + 1e-9)
    votes = knn_vote(zbin[knn_indices(f, n_neighbors)], zbin.max() + 1)     # the evaluation module's vote (ties: nearest)
    return float((votes == zbin).mean()), float(np.bincount(zbin).max() / len(zbin))


def pixel_votes(work:Path, floor:float)->dict:
    "Depth vote on 20 pixel PCs, patches scaled per sample and per slice (from the raw, unscaled patches)."
    from sklearn.decomposition import PCA
    from phenocoder.data import read_zstacks
    from phenocoder.patches import generate_dataset, load_dataset
    ds = generate_dataset(read_zstacks(DATA, progress=False), 'raw', work, patch_size=(32, 32), scale=False, progress=False)
    x, t, st, ch = np.asarray(ds.patches[:]), ds.table, ds.stats, ds.meta['channels']
    z, s = t['z'].to_numpy(), t['sample'].astype(str).to_numpy()
    lo = st.pivot_table(index=['sample', 'z'], columns='channel', values='low')[ch]
    hi = st.pivot_table(index=['sample', 'z'], columns='channel', values='high')[ch]
    out = {}
    for way in ('per sample', 'per slice'):
        y = np.empty_like(x)
        for smp in np.unique(s):
            L, H = lo.loc[smp].min().to_numpy(), hi.loc[smp].max().to_numpy()
            for zz in np.unique(z[s == smp]):
                i = (s == smp) & (z == zz)
                l, h = (L, H) if way == 'per sample' else (lo.loc[(smp, zz)].to_numpy(), np.maximum(hi.loc[(smp, zz)].to_numpy(), lo.loc[(smp, zz)].to_numpy() + floor * (H - L)))
                y[i] = np.clip((x[i] - l) / np.maximum(h - l, 1e-9), 0, 1)
        out[way] = depth_vote(PCA(20, random_state=0).fit_transform(y.reshape(len(y), -1)), z)[0]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ways', default='none,mmd,concat')
    ap.add_argument('--seeds', default='0,1')
    ap.add_argument('--epochs', type=int, default=15)
    ap.add_argument('--pixels', action='store_true')
    ap.add_argument('--floor', type=float, default=0.1)
    a = ap.parse_args()
    if not DATA.is_dir(): sys.exit(f"real data not found at {DATA}: nothing to measure")
    warnings.filterwarnings('ignore')
    from phenocoder.data import read_zstacks
    from phenocoder.patches import generate_dataset
    from phenocoder.training import initialize_model, train
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate_dataset(read_zstacks(DATA, progress=False), 'real', work, patch_size=(32, 32), progress=False)
        if a.pixels: print('pixel PCs:', json.dumps({k: round(v, 3) for k, v in pixel_votes(work, a.floor).items()}), flush=True)
        for seed in (int(v) for v in a.seeds.split(',')):
            for way in a.ways.split(','):
                run = initialize_model(work, 'real', 16, 256, input_shape=(32, 32, 4), name=way, overwrite=True, seed=seed, **WAYS[way])
                t = time.time(); h = train(run, n_epochs=a.epochs, plot=False, verbose=0); t = time.time() - t
                zm = run.model.get_latent_representation(np.asarray(run.patches[:]), run.table)
                z = run.table['z'].astype(int).to_numpy()
                vote, chance = depth_vote(zm, z)
                corr = np.abs(np.corrcoef(np.c_[zm, z].T)[-1, :-1]).max()
                print(f"{way:6s} seed {seed}: depth vote {vote:.3f} (chance {chance:.3f}), largest |corr| with z {corr:.3f}, "
                      f"best val loss {min(h['val_loss']):.1f}, {t:.0f} s", flush=True)


if __name__ == '__main__':
    main()
