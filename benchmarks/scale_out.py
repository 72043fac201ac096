"""Scale-out benchmark: `generate_dataset`, `encode` and `spatialgraph_stats` serially, and on a dask.distributed
LocalCluster of 1 and of 2 worker processes (one thread each), on a 16-sample set: the bundled example's 4 wells
repeated under new names (each image optionally tiled `--tile` x `--tile` in (y, x), objects repeated with it, so a
sample holds more work). The set is written once to a zarr store under `--work` (workers read images from it).

Workers start without dask's `MALLOC_TRIM_THRESHOLD_=65536` (`--dask-malloc-trim` keeps it): with it, glibc serves every
large numpy temporary by a fresh mmap, and the workers spent about 1.6x the CPU of the same work in one process here.

For each configuration, a warm-up call of each stage runs first (worker start-up, imports, opening the store, loading
the model), then the timed call. Results must be identical across configurations (patches and statistics bit for bit,
latents within 1e-5): checked, and the run fails otherwise. Printed: seconds per stage, the speed-up of 2 workers over
1 worker, the cost per 10^6 objects projected from the measured per-object rate (time / objects x 10^6), and the load
average of the machine before and after. The machine may be shared: with `--repeat k`, each figure is the median of k
calls during which other processes used at most 10% of a core (whole-machine busy time from /proc/stat minus this
process's and the workers' CPU time); calls above that are discarded and retried (30 calls at most, then the medians of
all calls). The counts of discarded calls and the others' share in the calls kept are printed under each stage.

    python benchmarks/scale_out.py                    # 16 samples, tile 2 (7,680 objects), 32 x 32 patches
    python benchmarks/scale_out.py --tile 1 --json out.json
    python benchmarks/scale_out.py --stages generate_dataset --repeat 3   # one stage (no model trained), medians of 3 calls
    python benchmarks/scale_out.py --source real --stages generate_dataset   # the real data's wells in quadrants: 12 samples
    python benchmarks/scale_out.py --part within      # one sample of 10^4 .. 10^6 objects through spatialgraph_stats

Part `within` (issue 13.6): one sample of n uniformly random 3D points (8 clusters, 5 variables, density chosen so the
two radii give about 10 and 14 neighbours), all stat groups; each n in a fresh subprocess, printing seconds and the
process's peak resident memory (target at 10^6: under 60 s and 8 GB).
"""
from __future__ import annotations
import argparse, json, os, shutil, tempfile, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent / 'shared' / 'data' / '3d'))


def _write_set(path:Path, images:dict, labels:dict, tables:list)->Path:
    "Write images, labels and the concatenated table rows as one SpatialData zarr store at `path` (into a temporary folder, then renamed)."
    import anndata as ad, spatialdata
    from spatialdata.models import TableModel
    table = ad.concat(tables, merge='same'); table.uns = {}
    table.obs['region'] = table.obs['region'].astype('category')
    table = TableModel.parse(table, region=sorted(labels), region_key='region', instance_key='label')
    tmp = path.parent / f'.{path.name}.tmp-{os.getpid()}'
    shutil.rmtree(tmp, ignore_errors=True)
    spatialdata.SpatialData(images=images, labels=labels, tables={'nuclei_features': table}).write(tmp)
    os.rename(tmp, path)
    return path


def tiled_set(work:Path, n_copies:int=4, tile:int=2)->Path:
    "Write the bundled wells repeated `n_copies` times (names `<well>_r<k>`), each image tiled `tile` x `tile`, to zarr."
    import pandas as pd
    from spatialdata.models import Image3DModel, Labels3DModel
    from phenocoder.data import example_3d
    path = work / f'scale_{n_copies}x_tile{tile}.zarr'
    if path.exists(): return path
    src = example_3d(); t = src.tables['nuclei_features']
    images, labels, tables = {}, {}, []
    span = float(np.asarray(t.obsm['spatial'])[:, :2].max()) + 100     # physical offset of a tile: no graph edge crosses tiles
    for s in pd.unique(t.obs['well'].astype(str)):
        img, lab = src.images[f'IF_{s}'], src.labels[f'nuclei_{s}']
        im = np.tile(np.asarray(img.data), (1, 1, tile, tile)); lb = np.asarray(lab.data)
        H, W = lb.shape[-2:]; m = int(lb.max()) + 1
        lb = np.block([[lb + (i * tile + j) * m * (lb > 0) for j in range(tile)] for i in range(tile)])
        rows = t[t.obs['well'].astype(str) == s]
        for k in range(n_copies):
            name = f'{s}_r{k}'
            images[f'IF_{name}'] = Image3DModel.parse(im, dims=('c', 'z', 'y', 'x'), c_coords=[str(c) for c in img.coords['c'].values])
            labels[f'nuclei_{name}'] = Labels3DModel.parse(lb, dims=('z', 'y', 'x'))
            for i in range(tile):
                for j in range(tile):
                    r = rows.copy()
                    r.obs_names = [f'{o}_{name}_{i}{j}' for o in r.obs_names]
                    r.obs['well'] = name; r.obs['region'] = f'nuclei_{name}'
                    r.obs['label'] = r.obs['label'].astype(int) + (i * tile + j) * m
                    idx = np.array(r.obsm['spatial_index'], copy=True); idx[:, 0] += i * H; idx[:, 1] += j * W
                    phys = np.array(r.obsm['spatial'], dtype=float, copy=True); phys[:, 0] += i * span; phys[:, 1] += j * span
                    r.obsm['spatial_index'], r.obsm['spatial'] = idx, phys
                    tables.append(r)
    return _write_set(path, images, labels, tables)


def real_quadrants(work:Path)->Path:
    """The real 3D data's three wells, each cut into its four quadrants (12 samples of 52 slices of about 477 x 477, all
    11,947 nuclei, each object with its quadrant), written once to zarr: samples with real images, each the size of a
    small well, and many more image bytes per object than the bundled wells (52 slices against 5)."""
    import pandas as pd
    from spatialdata.models import Image3DModel, Labels3DModel
    from phenocoder.data import read_zstacks
    path = work / 'real_quadrants.zarr'
    if path.exists(): return path
    if not DATA.exists(): raise SystemExit(f"--source real needs the real data at {DATA} (or PHENOCODER_REAL_DATA).")
    src = read_zstacks(DATA, progress=False); t = src.tables['nuclei_features']
    images, labels, tables = {}, {}, []
    for w in pd.unique(t.obs['well'].astype(str)):
        im, lb = np.asarray(src.images[f'IF_{w}'].data), np.asarray(src.labels[f'nuclei_{w}'].data)
        H, W = lb.shape[-2:]; rows = t[t.obs['well'].astype(str) == w]; yx = np.rint(np.asarray(rows.obsm['spatial_index'])[:, :2])
        for i, (y0, y1) in enumerate(((0, H // 2), (H // 2, H))):
            for j, (x0, x1) in enumerate(((0, W // 2), (W // 2, W))):
                name = f'{w}_q{i}{j}'
                images[f'IF_{name}'] = Image3DModel.parse(im[:, :, y0:y1, x0:x1], dims=('c', 'z', 'y', 'x'),
                                                          c_coords=[str(c) for c in src.images[f'IF_{w}'].coords['c'].values])
                labels[f'nuclei_{name}'] = Labels3DModel.parse(lb[:, y0:y1, x0:x1], dims=('z', 'y', 'x'))
                r = rows[(yx[:, 0] >= y0) & (yx[:, 0] < y1) & (yx[:, 1] >= x0) & (yx[:, 1] < x1)].copy()
                r.obs_names = [f'{o}_{name}' for o in r.obs_names]
                r.obs['well'] = name; r.obs['region'] = f'nuclei_{name}'
                idx = np.array(r.obsm['spatial_index'], dtype=float, copy=True); idx[:, 0] -= y0; idx[:, 1] -= x0
                r.obsm['spatial_index'] = idx
                tables.append(r)
    return _write_set(path, images, labels, tables)


def cpu_seconds(client)->float:
    "CPU seconds used so far by this process and, with a client, by its worker processes."
    return time.process_time() + (sum(client.run(time.process_time).values()) if client is not None else 0.0)


def busy_seconds():
    "CPU seconds the whole machine has been busy so far (Linux /proc/stat), or None where that cannot be read."
    try:
        with open('/proc/stat') as f: v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError): return None
    return (sum(v) - v[3] - v[4]) / os.sysconf('SC_CLK_TCK')


OTHERS_MAX = 0.1    # a timed call counts as clean when other processes used at most this share of one core meanwhile


def timed(f, client=None, repeat:int=1, max_tries:int=30):
    """(result, (wall seconds, CPU seconds of this process and the workers, share of a core other processes used)) of
    `f()`: medians of `repeat` clean calls, calls during which other processes used more than `OTHERS_MAX` of a core
    being discarded (the machine may be shared); after `max_tries` calls, the medians of all calls."""
    clean, all_ = [], []
    for _ in range(max_tries):
        b, c, t = busy_seconds(), cpu_seconds(client), time.perf_counter()
        r = f()
        wall, cpu = time.perf_counter() - t, cpu_seconds(client) - c
        others = 0.0 if b is None else max(busy_seconds() - b - cpu, 0.0) / wall
        all_.append((wall, cpu, others))
        if others <= OTHERS_MAX: clean.append(all_[-1])
        if len(clean) >= repeat: break
        if others > OTHERS_MAX: time.sleep(2)
    use = clean if len(clean) >= repeat else all_
    return r, tuple(float(v) for v in np.median(use, axis=0)) + (len(all_) - len(clean),)


STAGES = ('generate_dataset', 'encode', 'spatialgraph_stats')


def run_stages(sd, work:Path, model, client, tag:str, patch:int, stages=STAGES, repeat:int=1)->dict:
    "Warm-up then timed call of each stage in `stages` with `client` (None: serial); results and seconds."
    from phenocoder.patches import generate_dataset
    from phenocoder.encoding import encode, _load_saved, _saved_model
    from phenocoder.graph_stats import spatialgraph_stats
    t = sd.tables['nuclei_features']
    out, res = {}, {}
    if 'generate_dataset' in stages:
        generate_dataset(sd, f'warm_{tag}', work, patch_size=(patch, patch), n_samples=2, progress=False, client=client)
        ds, out['generate_dataset'] = timed(lambda: generate_dataset(sd, f'ds_{tag}', work, patch_size=(patch, patch), progress=False, client=client), client, repeat)
        res['patches'] = np.asarray(ds.patches[:])
    if 'encode' in stages:
        if client is not None: client.run(_load_saved, *_saved_model(model))     # warm-up: each worker loads the model once
        lat, out['encode'] = timed(lambda: encode(sd, model, key_added=None, progress=False, client=client), client, repeat)
        res['latents'] = lat.X.copy()
    if 'spatialgraph_stats' in stages:
        tt = t.copy(); tt.obs['cl'] = tt.obs['phenotype'].astype(str).astype('category')
        spatialgraph_stats(tt[tt.obs['well'].isin(tt.obs['well'].unique()[:2])].copy(), 'cl', sample_key='well', radii=(15,), progress=False, client=client)
        st, out['spatialgraph_stats'] = timed(lambda: spatialgraph_stats(tt, 'cl', sample_key='well', radii=(15, 30), progress=False, client=client), client, repeat)
        res['stats'] = st.X.copy()
    return dict(seconds=out, **res)


WITHIN = """
import resource, sys, time, numpy as np, pandas as pd, anndata as ad
from phenocoder.graph_stats import spatialgraph_stats
n = int(sys.argv[1]); rng = np.random.default_rng(0)
side = (n / 0.01) ** (1 / 3)                      # 0.01 objects per unit^3: ~10 neighbours within 6.2, ~14 within 7
a = ad.AnnData(rng.normal(size=(n, 5)), obs=pd.DataFrame({'cl': pd.Categorical(rng.integers(0, 8, n).astype(str))}),
               obsm={'spatial': rng.uniform(0, side, (n, 3))})
t = time.perf_counter(); spatialgraph_stats(a, 'cl', radii=(6.2, 7.0), progress=False)
print(n, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
"""


def within(sizes=(10_000, 100_000, 1_000_000)):
    "Seconds and peak memory of spatialgraph_stats on one sample of each size (a fresh process each)."
    import subprocess, sys
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'objects':>10}{'seconds':>10}{'peak GB':>10}{'s per 1e6':>12}")
    for n in sizes:
        out = subprocess.run([sys.executable, '-c', WITHIN, str(n)], capture_output=True, text=True, check=True).stdout.split()
        t, gb = float(out[1]), float(out[2])
        print(f"{n:>10,}{t:>10.1f}{gb:>10.2f}{t / n * 1e6:>12.1f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main():
    global OTHERS_MAX
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tile', type=int, default=2); ap.add_argument('--patch', type=int, default=32)
    ap.add_argument('--source', choices=('bundled', 'real'), default='bundled',
                    help="'bundled': the bundled wells repeated and tiled; 'real': the real 3D data's wells cut into quadrants (generate_dataset only)")
    ap.add_argument('--work', default=str(Path(tempfile.gettempdir()) / 'phenocoder_scale_out'))
    ap.add_argument('--stages', default=','.join(STAGES), help='comma-separated stages to run (default: all three)')
    ap.add_argument('--dask-malloc-trim', action='store_true',
                    help="start workers with dask's default MALLOC_TRIM_THRESHOLD_=65536 (default here: unset, as nbs/12_scale.ipynb advises)")
    ap.add_argument('--repeat', type=int, default=1, help='timed calls per stage and configuration (their medians are printed)')
    ap.add_argument('--others-max', type=float, default=OTHERS_MAX, help='share of a core other processes may use in a clean call')
    ap.add_argument('--json', default=None); ap.add_argument('--part', choices=('scale_out', 'within'), default='scale_out')
    a = ap.parse_args()
    OTHERS_MAX = a.others_max
    if a.part == 'within': return within()
    import dask, spatialdata
    from distributed import Client, LocalCluster
    if not a.dask_malloc_trim: dask.config.set({'distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_': None})
    from phenocoder import Phenocoder
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()
    if a.source == 'real' and a.stages != 'generate_dataset': raise SystemExit("--source real runs --stages generate_dataset only.")
    sd = spatialdata.read_zarr(tiled_set(work, 4, a.tile) if a.source == 'bundled' else real_quadrants(work))
    n_obj, n_samples = sd.tables['nuclei_features'].n_obs, sd.tables['nuclei_features'].obs['well'].nunique()
    stages = tuple(s for s in STAGES if s in a.stages.split(','))
    pheno = Phenocoder().add_sdata(sd)                       # a small model, trained one epoch and saved (workers load it)
    if 'encode' in stages:
        shutil.rmtree(work / 'model', ignore_errors=True)
        pheno.generate_dataset('train', work / 'model', patch_size=(a.patch, a.patch), n_patches=500, progress=False)
        pheno.initialize_model(n_latent_dim=8, n_dense_dim=32, conditions=[], input_shape=(a.patch, a.patch, 4), conv_layers=(8, 16, 32))
        pheno.train(n_epochs=1, plot=False, verbose=0, tensorboard=False)
    res = {'serial': run_stages(sd, work, pheno.model, None, 'serial', a.patch, stages, a.repeat)}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                          local_directory=str(work / 'dask')) as cl, Client(cl) as c:
            res[f'{n} worker'] = run_stages(sd, work, pheno.model, c, f'w{n}', a.patch, stages, a.repeat)
    ref = res['serial']
    for k, r in res.items():
        if 'patches' in ref: assert np.array_equal(r['patches'], ref['patches']), f'patches differ: {k}'
        if 'stats' in ref: assert np.array_equal(r['stats'], ref['stats']), f'statistics differ: {k}'
        if 'latents' in ref: assert np.abs(r['latents'] - ref['latents']).max() <= 1e-5, f'latents differ: {k}'
    load1 = os.getloadavg()
    print(f"{n_samples} samples, {n_obj:,} objects, {a.patch} x {a.patch} patches; os.cpu_count()={os.cpu_count()}; "
          f"load average before {load0[0]:.2f}, after {load1[0]:.2f} (1 min)")
    print(f"workers: MALLOC_TRIM_THRESHOLD_={dask.config.get('distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_')}")
    print("results identical across runs: patches and statistics bit for bit, latents within 1e-5")
    print(f"medians of {a.repeat} timed call(s) per stage and configuration during which other processes used at most "
          f"{OTHERS_MAX:.0%} of a core (discarded calls, and the others' share in the calls kept, in the last table)")
    print("wall seconds (CPU seconds of the client and worker processes); per 10^6 objects: projected from the wall time")
    print("bound: the most 2 workers could gain on 2 cores, from CPU time alone: 1-worker wall / (2-worker CPU seconds / 2);"
          " 1 worker already uses more than one core (a writer thread compresses while the task cuts), which caps it")
    print(f"{'stage':<20}{'serial':>14}{'1 worker':>14}{'2 workers':>14}{'2w / 1w':>9}{'bound':>7}{'s/1e6 serial':>14}{'s/1e6 2w':>10}")
    rows = {}
    for st in stages:
        (s0, c0, o0, d0), (s1, c1, o1, d1), (s2, c2, o2, d2) = (res[k]['seconds'][st] for k in ('serial', '1 worker', '2 worker'))
        bound = s1 / max(c2 / min(2, os.cpu_count() or 1), 1e-9)      # 1-worker wall over the 2-worker run's CPU spread on 2 cores
        rows[st] = dict(serial=s0, w1=s1, w2=s2, cpu=[c0, c1, c2], others=[o0, o1, o2], discarded=[d0, d1, d2], speedup=s1 / s2, bound=bound,
                        per_million_2w=s2 / n_obj * 1e6, per_million_serial=s0 / n_obj * 1e6)
        print(f"{st:<20}" + ''.join(f"{w:>7.2f} ({c:>4.1f})" for w, c in ((s0, c0), (s1, c1), (s2, c2))) +
              f"{s1 / s2:>8.2f}x{bound:>6.2f}x{s0 / n_obj * 1e6:>14.0f}{s2 / n_obj * 1e6:>10.0f}")
        print(f"{'  discarded; others':<20}" + ''.join(f"{int(d):>6};{o:>6.0%} " for d, o in ((d0, o0), (d1, o1), (d2, o2))))
    if a.json: Path(a.json).write_text(json.dumps(dict(n_objects=n_obj, n_samples=n_samples, load=[load0, load1], malloc_trim_threshold=dask.config.get('distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_'), stages=rows), indent=1))


if __name__ == '__main__':
    main()
