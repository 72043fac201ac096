"""Benchmark of phenocoder.explorer: how long the explorer takes to answer a click, on the real 3D data.

Data: /work/shared/data/3d read by phenocoder.data.read_zstacks (3 wells, 4 x 52 x 954 x 954 uint8, 11,947 nuclei;
PHENOCODER_REAL_DATA overrides the folder), or the bundled synthetic `example_3d` when the real data is absent.
No model is trained: the "latents" are the standardised morphometric features of `nuclei_features` and the "clusters"
k-means (k=8, seeded) of them, put into a `phenocoder` table; patches (32 x 32) come from a dataset written by
`generate_dataset` to a temporary folder (its time is printed, not part of the explorer's figures).

Measured (wall clock, median of the repeats): the explorer's answer to each kind of click in the widgets, PNG rendering of
the views included: a new cluster in the same well, a new patch, "other patches", a new well (its image projection is
computed once per well and cached). Baseline in the same run: the same views drawn without the explorer's state, as a
user calling the plot functions would (a fresh `Explorer(...).static(...)` per click, its four figures rendered to PNG:
image projection, latent nearest-neighbour index and patches computed again each time). Ratios = baseline / explorer.

    python benchmarks/explorer.py --repeats 5
"""
from __future__ import annotations
import argparse, os, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent / 'shared' / 'data' / '3d'))


def _timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t


def main(repeats:int=5):
    os.environ.setdefault('MPLBACKEND', 'Agg')
    import anndata as ad
    from sklearn.cluster import KMeans
    from spatialdata.models import TableModel
    from phenocoder.data import read_zstacks, example_3d
    from phenocoder.patches import generate_dataset
    from phenocoder.explorer import Explorer
    real = (DATA / 'imgs').is_dir()
    t = time.perf_counter()
    sdata = read_zstacks(DATA, progress=False) if real else example_3d()
    src = sdata.tables['nuclei_features']
    print(f"data: {'real ' + str(DATA) if real else 'example_3d'}: {src.n_obs:,} objects in "
          f"{src.obs['well'].nunique()} wells, images {dict(sdata.images[next(iter(sdata.images))].sizes)} "
          f"(read in {time.perf_counter() - t:.1f} s)")
    x = np.asarray(src.X, dtype=np.float32)
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1)
    tab = ad.AnnData(x, obs=src.obs.copy(), obsm={k: np.asarray(v) for k, v in src.obsm.items()})
    tab.obs['leiden'] = KMeans(8, n_init=4, random_state=0).fit_predict(x).astype(str)
    tab.obs['leiden'] = tab.obs['leiden'].astype('category')
    a = src.uns['spatialdata_attrs']
    sdata.tables['phenocoder'] = TableModel.parse(tab, region=a['region'], region_key=a['region_key'], instance_key=a['instance_key'])
    tmp = Path(tempfile.mkdtemp())
    t = time.perf_counter()
    ds = generate_dataset(sdata, 'bench', tmp, patch_size=(32, 32), progress=False)
    print(f"dataset: {len(ds):,} patches 32 x 32 in {time.perf_counter() - t:.1f} s (setup, not measured below)")

    wells = list(tab.obs['well'].astype(str).unique())
    clusters = list(tab.obs['leiden'].cat.categories)
    ex = Explorer(sdata, patches=ds, n_patches=12, n_neighbors=8)
    t = time.perf_counter(); ex.widget(); first = time.perf_counter() - t
    w = ex._w
    res = {'cluster': [], 'patch': [], 'other patches': [], 'well': []}
    for r in range(repeats):
        res['cluster'].append(_timed(lambda: setattr(w['cluster'], 'value', clusters[(r + 1) % len(clusters)])))
        res['patch'].append(_timed(lambda: setattr(w['patch'], 'value', (r + 1) % max(len(ex.selected), 1))))
        res['other patches'].append(_timed(w['more'].click))
    for r in range(repeats):                    # a new well: cold the first time each well is shown, then cached
        res['well'].append(_timed(lambda: setattr(w['sample'], 'value', wells[(r + 1) % len(wells)])))
    from phenocoder.explorer import _png
    def fresh(r):
        figs = Explorer(sdata, patches=ds, n_patches=12, n_neighbors=8).static(wells[r % len(wells)], clusters[(r + 1) % len(clusters)])
        for f in figs.values(): _png(f)                             # rendered, as the widgets render theirs
    base = [_timed(lambda: fresh(r)) for r in range(repeats)]
    print(f"explorer: widgets built and first views drawn in {first:.2f} s")
    print(f"{'click':<16}{'explorer median s':>18}{'min':>8}{'max':>8}{'baseline median s':>19}{'ratio':>8}")
    b = float(np.median(base))
    for k, v in res.items():
        m = float(np.median(v))
        print(f"{k:<16}{m:>18.3f}{min(v):>8.3f}{max(v):>8.3f}{b:>19.3f}{b / m:>8.1f}")
    print(f"(baseline: a fresh Explorer(...).static(well, cluster) per click, figures rendered, {repeats} repeats)")


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=5)
    main(**vars(p.parse_args()))
