"""Benchmark of `phenocoder.graph_stats.spatialgraph_stats`.

1. Real 3D data (../shared/data/3d, 3 wells, 11,947 nuclei), ~13 Leiden clusters of the scaled raw features,
   radii (25, 50) um, all groups, at sample level and at subunit level (200, 200, 200) um:
   phenocoder (median of repeats) against a same-run baseline that computes the same statistics the way the
   original did (squidpy's spatial_neighbors / interaction_matrix / centrality_scores (networkx) / spatial_autocorr per
   sample, networkx components of dense radius graphs for the hulls). The values of both are compared too.
2. One synthetic sample of 10^5 objects (~10 and ~20 neighbours at the two radii, 10 spatially coherent clusters,
   all groups), run in a fresh process: wall time and peak resident memory.
3. The memory guard of `radius_graph`: the time of its estimate (sampled neighbour counts) against building the graph
   without it, at 10^5 and 10^6 uniform 3D points (~20 neighbours), and the estimate against the true size.

Run: `python benchmarks/graph_stats.py [--repeats 5] [--baseline-repeats 1] [--n-synthetic 100000] [--skip-baseline]
[--guard-sizes 100000 1000000] [--only-guard]`
"""
from __future__ import annotations
import argparse, os, resource, subprocess, sys, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent / 'shared' / 'data' / '3d'))
FEATURES = ['area', 'eccentricity', 'intensity_mean-0', 'intensity_mean-1', 'intensity_mean-2', 'intensity_mean-3',
            'major_axis_length', 'minor_axis_length']
RADII = (25, 50)


def load_real(folder=DATA):
    "Per-object table of the 3D example (AnnData): the reader of phenocoder.data when it exists, else from the CSVs."
    import anndata as ad
    try:
        from phenocoder.data import read_zstacks
        table = read_zstacks(folder).tables['nuclei_features']
        return ad.AnnData(np.asarray(table.X, dtype=np.float64), obs=table.obs[['well']].copy(),
                          var=table.var.copy(), obsm={'spatial': np.asarray(table.obsm['spatial'])}), 'phenocoder.data.read_zstacks'
    except Exception as e:  # reader missing (or failing): build the table from the per-slice CSVs
        reason = type(e).__name__
    frames = [pd.read_csv(f) for f in sorted((folder / 'tables').glob('*.csv'))]
    df = pd.concat([f for f in frames if len(f)], ignore_index=True)
    df = df.groupby(['well', 'label'], sort=True).mean(numeric_only=True).reset_index()
    spatial = np.c_[df['centroid-0'] * 0.322, df['centroid-1'] * 0.322, (df['z_stack'] - 1) * 10]
    obs = pd.DataFrame({'well': pd.Categorical(df['well']), 'label': df['label'].values},
                       index=(df['well'] + '_' + df['label'].astype(str)).values)
    return (ad.AnnData(df[FEATURES].to_numpy(np.float64), obs=obs, var=pd.DataFrame(index=FEATURES), obsm={'spatial': spatial}),
            f'CSV tables (reader unavailable: {reason})')


def leiden_clusters(adata, resolution=0.48, seed=0):
    "Leiden clusters of the scaled raw features (scanpy), stored as categorical obs 'leiden'."
    import scanpy as sc
    tmp = adata.copy()
    sc.pp.scale(tmp)
    sc.pp.pca(tmp, n_comps=min(7, tmp.n_vars - 1), random_state=seed)
    sc.pp.neighbors(tmp, random_state=seed)
    sc.tl.leiden(tmp, resolution=resolution, flavor='igraph', n_iterations=2, directed=False, random_state=seed)
    adata.obs['leiden'] = tmp.obs['leiden'].values
    return adata


# ---------------------------------------------------------------- baseline: the original's way, dense + networkx
def baseline_unit(a, radii, min_nds=10, min_degree=3):
    "Statistics of one unit the way the original computed them: squidpy + networkx, dense radius graphs for hulls."
    import networkx as nx, squidpy as sq
    from scipy.spatial import ConvexHull, QhullError
    from sklearn.neighbors import radius_neighbors_graph
    from phenocoder.graph_stats import CHULL_METRICS, CENTRALITY_SCORES
    cats = [str(c) for c in a.obs['leiden'].cat.categories]
    out = {}
    for r in radii:
        p = f'radius:{r}_stat:'
        sq.gr.spatial_neighbors(a, radius=r, coord_type='generic', spatial_key='spatial')
        for norm, t in ((False, ''), (True, '_norm')):
            m = np.nan_to_num(sq.gr.interaction_matrix(a, 'leiden', normalized=norm, copy=True))
            out.update({f'{p}interactions_interaction{t}_{x}_{y}': m[i, j] for i, x in enumerate(cats) for j, y in enumerate(cats)})
        present = a.obs['leiden'].cat.remove_unused_categories()
        b = a.copy(); b.obs['leiden'] = present
        cen = sq.gr.centrality_scores(b, 'leiden', copy=True, n_jobs=1)
        out.update({f'{p}centrality_centrality_{x}_{s}': cen.loc[x, s] for x in cen.index for s in CENTRALITY_SCORES})
        deg = np.asarray(a.obsp['spatial_connectivities'].toarray().sum(0)).ravel()
        out[f'{p}connectivity_mean'], out[f'{p}connectivity_std'] = deg.mean(), deg.std()
        for x in cats:
            d = deg[(a.obs['leiden'] == x).values]
            out[f'{p}connectivity_mean_degree_{x}'] = d.mean() if len(d) else 0
            out[f'{p}connectivity_std_degree_{x}'] = d.std() if len(d) else 0
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            mor = sq.gr.spatial_autocorr(a, mode='moran', n_perms=None, copy=True)['I']
            out.update({f'{p}moran_features_moranI_{v}': mor[v] for v in a.var_names})
            oh = a.copy(); oh = type(a)(pd.get_dummies(a.obs['leiden']).astype(float).values, obsp=a.obsp,
                                        var=pd.DataFrame(index=cats))
            mor = sq.gr.spatial_autocorr(oh, mode='moran', n_perms=None, copy=True)['I']
            out.update({f'{p}moran_clusters_moranI_{x}': mor[x] for x in cats})
        xyz = np.asarray(a.obsm['spatial'])
        centre = xyz.mean(0)
        for grp, keep in [('chull_all', np.ones(a.n_obs, bool))] + [(f'chull_cluster:{x}', (a.obs['leiden'] == x).values) for x in cats]:
            pts = xyz[keep]
            rows = []
            if len(pts):
                dense = radius_neighbors_graph(pts, r, mode='connectivity', include_self=False).toarray()
                G = nx.from_numpy_array(dense)
                G.remove_nodes_from([v for v, dg in dict(G.degree).items() if dg < min_degree])
                for comp in nx.connected_components(G):
                    if len(comp) < min_nds: continue
                    q = pts[sorted(comp)]
                    try: h = ConvexHull(q)
                    except QhullError: continue
                    rows.append((h.volume, h.area, len(q), np.linalg.norm(q.mean(0) - centre), len(q) / h.volume))
            m = np.array(rows).reshape(-1, 5)
            for j, met in enumerate(CHULL_METRICS):
                out[f'{p}{grp}_{met}_mean'] = m[:, j].mean() if len(m) else 0
                out[f'{p}{grp}_{met}_sd'] = m[:, j].std(ddof=1) if len(m) > 1 else 0
            out[f'{p}{grp}_n_obs_chull'] = len(m)
    return pd.Series(out).fillna(0)


def baseline(adata, units, names):
    "Baseline over all units (list of (name, row indices))."
    return pd.DataFrame({n: baseline_unit(adata[idx].copy(), RADII) for n, idx in zip(names, units)}).T


# ---------------------------------------------------------------- synthetic sample
def synthetic(n=100_000, n_clusters=10, seed=0):
    "One 3D sample: uniform positions, clusters = Voronoi patches of 200 random seeds (10% label noise), 4 features."
    import anndata as ad
    rng = np.random.default_rng(seed)
    box = np.array([1.0, 1.0, 0.25]) * (n / 1e5) ** (1 / 3) * 1000   # ~1e-3 objects per um^3 at n = 1e5 scale-free
    xyz = rng.uniform(0, box, (n, 3))
    from scipy.spatial import cKDTree
    seeds = rng.uniform(0, box, (200, 3))
    lab = rng.integers(0, n_clusters, 200)[cKDTree(seeds).query(xyz)[1]]
    noise = rng.random(n) < 0.1
    lab[noise] = rng.integers(0, n_clusters, noise.sum())
    X = np.c_[xyz[:, 0] / 100 + rng.normal(size=n), rng.normal(size=(n, 3))]
    obs = pd.DataFrame({'well': 'synthetic', 'leiden': pd.Categorical(lab.astype(str))}, index=np.arange(n).astype(str))
    density = n / np.prod(box)
    radii = tuple(float(np.round((k / (4 / 3 * np.pi * density)) ** (1 / 3), 2)) for k in (10, 20))
    return ad.AnnData(X, obs=obs, obsm={'spatial': xyz}), radii


def synthetic_child(n, repeats=3):
    "Run in a fresh process: time (median of `repeats`) and peak memory of one call on the synthetic sample."
    import tracemalloc
    from phenocoder.graph_stats import spatialgraph_stats
    from phenocoder.core import radius_graph
    a, radii = synthetic(n)
    degs = [radius_graph(a.obsm['spatial'], r).nnz / a.n_obs for r in radii]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    run = lambda: spatialgraph_stats(a, sample_key='well', radii=radii, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        med, ts, res = timed(run, repeats)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        tracemalloc.start()
        run()
        traced = tracemalloc.get_traced_memory()[1] / 2**30
        tracemalloc.stop()
    print(f"synthetic: {a.n_obs:,} objects, 10 clusters, radii {radii} (mean degree {degs[0]:.1f}, {degs[1]:.1f}), "
          f"all groups -> {res.n_vars} columns")
    print(f"synthetic: median {med:.1f} s of {len(ts)} ({', '.join(f'{t:.1f}' for t in ts)}), CPU {timed.cpu:.1f} s; peak RSS of the whole process "
          f"{rss:.2f} GiB (imports + data before the calls: {rss0:.2f} GiB); peak numpy/python allocations traced during "
          f"one call {traced:.2f} GiB")

def guard_overhead(n, repeats=3, seed=0):
    "Time of the memory guard's estimate against building the radius graph without it, at `n` uniform 3D points."
    from scipy.spatial import cKDTree
    from phenocoder.core import radius_graph, estimate_graph_entries, check_graph_memory
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(0, 1000 * (n / 1e5) ** (1 / 3), (n, 3))
    radius = float((20 / (4 / 3 * np.pi * n / np.ptp(xyz, 0).prod())) ** (1 / 3))   # ~20 neighbours
    build, _, g = timed(lambda: radius_graph(xyz, radius, max_bytes=np.inf), repeats)
    tree = cKDTree(xyz)
    guard, _, est = timed(lambda: estimate_graph_entries(tree, radius, seed=seed), repeats)
    check, _, _ = timed(lambda: check_graph_memory(tree, radius), repeats)
    print(f"memory guard: {n:,} points, radius {radius:.1f} ({g.nnz / n:.1f} neighbours): graph built in {build:.3f} s; "
          f"estimate {guard * 1e3:.1f} ms = {100 * guard / build:.2f}% of that (whole check {100 * check / build:.2f}%); "
          f"estimated {est:,.0f} entries vs {g.nnz:,} built ({100 * (est / g.nnz - 1):+.1f}%)")

def timed(f, repeats):
    "Median wall time, all wall times, median CPU time (this process, all threads) and the last result of `repeats` calls."
    ts, cpu, out = [], [], None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = f()
        ts.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    timed.cpu = float(np.median(cpu))
    return float(np.median(ts)), ts, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--baseline-repeats', type=int, default=1)
    ap.add_argument('--n-synthetic', type=int, default=100_000)
    ap.add_argument('--skip-baseline', action='store_true')
    ap.add_argument('--skip-synthetic', action='store_true')
    ap.add_argument('--synthetic-child', type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument('--guard-sizes', type=int, nargs='*', default=[100_000, 1_000_000])
    ap.add_argument('--only-guard', action='store_true')
    args = ap.parse_args()
    if args.synthetic_child: return synthetic_child(args.synthetic_child)
    for n in args.guard_sizes: guard_overhead(n)
    if args.only_guard: return
    warnings.filterwarnings('ignore')
    import scanpy as sc; sc.settings.verbosity = 0   # silence squidpy's per-call INFO lines in the baseline
    from phenocoder.graph_stats import spatialgraph_stats, partition_samples
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    if DATA.exists():
        adata, source = load_real()
        leiden_clusters(adata)
        print(f"real data from {source}: {adata.n_obs:,} objects in {adata.obs.well.nunique()} samples, "
              f"{adata.obs.leiden.nunique()} leiden clusters, {adata.n_vars} features")
        for level, kw in (('sample', {}), ('subunit (200, 200, 200)', dict(use_subunits=True, dim_subunit=(200, 200, 200),
                                                                         min_obs_per_subunit=10))):
            run = lambda: spatialgraph_stats(adata, sample_key='well', radii=RADII, progress=False, **kw)
            med, ts, res = timed(run, args.repeats)
            cpu = timed.cpu
            print(f"[{level}] phenocoder: median {med:.2f} s of {len(ts)} ({', '.join(f'{t:.2f}' for t in ts)}), "
                  f"CPU {cpu:.2f} s; {res.n_obs} rows x {res.n_vars} columns")
            orig = {'sample': 14.0}.get(level, 43.0)
            print(f"[{level}] vs the original's reported {orig:.0f} s: {orig / med:.1f}x faster")
            if args.skip_baseline: continue
            units, obs = partition_samples(adata.obsm['spatial'], adata.obs['well'].astype(str).values, progress=False,
                                           **{k: v for k, v in kw.items() if k != 'min_obs_per_subunit'},
                                           min_obs_per_subunit=kw.get('min_obs_per_subunit', 100))
            keep = [n for n in obs.index if n in res.obs_names]
            units = [u for u, n in zip(units, obs.index) if n in res.obs_names]
            bmed, bts, bres = timed(lambda: baseline(adata, units, keep), args.baseline_repeats)
            print(f"[{level}] baseline (squidpy + networkx + dense hull graphs, same statistics): median {bmed:.2f} s "
                  f"of {len(bts)}, CPU {timed.cpu:.2f} s -> phenocoder is {bmed / med:.1f}x faster (CPU time: {timed.cpu / cpu:.1f}x)")
            ours = res.to_df().loc[keep]
            common = [c for c in bres.columns if c in ours.columns]
            diff = (ours[common] - bres[common].astype(float)).abs().max()
            for grp in ('interactions', 'centrality', 'connectivity', 'moran_features', 'moran_clusters', 'chull'):
                sel = [c for c in common if f'_stat:{grp}' in c]
                if sel: print(f"[{level}]   max |phenocoder - baseline| {grp}: {diff[sel].max():.2e} over {len(sel)} columns")
    else:
        print(f"real data not found at {DATA}: skipped")
    if not args.skip_synthetic:
        subprocess.run([sys.executable, __file__, '--synthetic-child', str(args.n_synthetic)], check=True)


if __name__ == '__main__':
    main()
