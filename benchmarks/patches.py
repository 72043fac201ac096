"""Benchmarks for phenocoder.patches (`generate_dataset`).

Part `real`: the real 3D data read by phenocoder.data.read_zstacks (/work/shared/data/3d: 3 wells, 4 x 52 x 954 x 954 uint8, 11,947 nuclei), 32 x 32 patches,
written to a temporary folder. The images are loaded into memory first (PNG decoding is not part of the measurement: it is
the reader's cost, and it is the same for any patch code). Every measurement runs in a fresh subprocess; time = wall clock
of the call, "extra" = the process's peak resident memory during the call (VmHWM reset just before it) minus its resident
memory before the call (the loaded data, interpreter and imports), "total" = the process's whole peak; CPU s = process\nCPU time of the call (all threads). One extra run straight from read_zstacks' lazy PNG-backed images shows the cost with decoding.
Baseline, in the same run: the original's approach (statistics from a float64 copy of the whole z-stack with
np.percentile / np.median / np.std per slice, then a per-object Python loop that looks each object's row up with a
full-table filter, cuts, scales and writes one .npy per object, dropping border objects). It runs on well A06 only
(4,959 nuclei) and is extrapolated to the 3 wells (statistics x 3, per-object loop x 11,947 / 4,959): labelled as such.
Part `read`: the real data's patches read once (the statistics pass keeps each slice's raw windows for the cut, the
default) against read twice (`phenocoder.patches.RAW_BUDGET = 0`: the statistics pass, then the cut reads the image
again, as before 2026-11-29), alternating, for images in memory, in a SpatialData zarr store (written once to the cache
folder, read back with `spatialdata.read_zarr`) and lazily from read_zstacks' PNG files, and patches turned to their
objects' axes (`align`; once: the statistics pass keeps the slices that hold objects, one sample at a time); the stores
must be identical.
Part `synthetic`: one 4 x 8 x 2048 x 2048 uint8 z-stack with 10^4, 3x10^4, 10^5 random objects, 32 x 32 patches:
patches per second of `generate_dataset` (statistics + cutting + scaling + zarr writing) and of `extract_patches` alone.

    python benchmarks/patches.py                       # both parts, 3 repeats
    python benchmarks/patches.py --part synthetic --repeats 5
    python benchmarks/patches.py --part read --repeats 3
Environment: PHENOCODER_REAL_DATA overrides the data folder; the real part is skipped when it does not exist.
"""
from __future__ import annotations
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get('PHENOCODER_REAL_DATA', ROOT.parent / 'shared' / 'data' / '3d'))
CACHE = Path(tempfile.gettempdir()) / 'phenocoder_bench_patches'
PATCH = (32, 32)


def _status(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'): return int(line.split()[1]) * 1024
    return 0


def _reset_peak():
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
    except OSError: pass


# ---------------------------------------------------------------- real data (cached as .npy so workers load it quickly)
def prepare_real():
    "Read the z-stacks with phenocoder.data.read_zstacks once; cache the decoded images (CACHE/{well}.npy) and the table."
    if (CACHE / 'table.h5ad').exists() and (CACHE / 'labels_A06.npy').exists(): return
    from phenocoder.data import read_zstacks
    CACHE.mkdir(parents=True, exist_ok=True)
    sd = read_zstacks(DATA, progress=False)
    for name, im in sd.images.items():
        np.save(CACHE / f"{name.split('_', 1)[1]}.npy", im.data.compute())
        (CACHE / 'channels.json').write_text(json.dumps([str(c) for c in im.coords['c'].values]))
    for name, lab in sd.labels.items(): np.save(CACHE / f"labels_{name.split('_', 1)[1]}.npy", lab.data.compute())
    sd.tables['nuclei_features'].write_h5ad(CACHE / 'table.h5ad')


def real_sdata(wells=None, lazy=False):
    "The real data as read_zstacks builds it; images in memory (dask arrays, one chunk per channel and z-slice, like the reader's)."
    import anndata as ad, dask.array as da
    from spatialdata import SpatialData
    from spatialdata.models import Image3DModel, Labels3DModel, TableModel
    if lazy:
        from phenocoder.data import read_zstacks
        return read_zstacks(DATA, samples=wells, progress=False)
    t = ad.read_h5ad(CACHE / 'table.h5ad')
    if wells is not None:
        t = t[t.obs['well'].astype(str).isin(wells)].copy()
        t.obs['region'] = t.obs['region'].cat.remove_unused_categories()
    t.uns['spatialdata_attrs']['region'] = [str(r) for r in t.obs['region'].cat.categories]   # a list (h5ad gives an array)
    ch = json.loads((CACHE / 'channels.json').read_text())
    images, labels = {}, {}
    for w in t.obs['well'].astype(str).unique():
        a = np.load(CACHE / f'{w}.npy')
        images[f'IF_{w}'] = Image3DModel.parse(da.from_array(a, chunks=(1, 1, *a.shape[2:])), dims=('c', 'z', 'y', 'x'), c_coords=ch)
        lab = np.load(CACHE / f'labels_{w}.npy')
        labels[f'nuclei_{w}'] = Labels3DModel.parse(da.from_array(lab, chunks=(1, *lab.shape[1:])), dims=('z', 'y', 'x'))
    return SpatialData(images=images, labels=labels, tables={'nuclei_features': t})


def zarr_sdata():
    "The real data as a SpatialData zarr store (written once into the cache folder), opened lazily with `spatialdata.read_zarr`."
    import spatialdata
    path = CACHE / 'real3d.zarr'
    if not path.exists():
        tmp = CACHE / f'real3d.zarr.tmp-{os.getpid()}'
        shutil.rmtree(tmp, ignore_errors=True); real_sdata().write(tmp); tmp.rename(path)
    return spatialdata.read_zarr(path)


def baseline(sdata, out, patch=PATCH, q=1):
    "The original's approach (see module docstring); returns (statistics seconds, per-object loop seconds, n objects)."
    import pandas as pd
    tab = sdata.tables['nuclei_features'].obs.copy()
    idx = sdata.tables['nuclei_features'].obsm['spatial_index']
    tab['y'], tab['x'], tab['z'] = idx[:, 0], idx[:, 1], idx[:, 2]
    t_stats = t_loop = 0.0
    h, w = patch
    for s in pd.unique(tab.well.astype(str)):
        t0 = time.perf_counter()
        img = sdata.images[f'IF_{s}'].values.astype(np.float64)            # full stack as float64
        rows = []
        for c in range(img.shape[0]):
            for z in range(img.shape[1]):
                sl = img[c, z]
                med = np.median(sl)
                rows.append(dict(sample=s, c=c, z=z, mean=sl.mean(), std=sl.std(), median=med, mad=np.median(np.abs(sl - med)),
                                 min=sl.min(), max=sl.max(), low=np.percentile(sl, q), high=np.percentile(sl, 100 - q)))
        st = pd.DataFrame(rows)
        lo = st.groupby('c').low.min().to_numpy(); hi = st.groupby('c').high.max().to_numpy()
        t1 = time.perf_counter(); t_stats += t1 - t0
        names = tab.index[tab.well.astype(str) == s]
        for name in names:
            r = tab[tab.index == name].iloc[0]                               # full-table filter per object
            y, x, z = int(r.y), int(r.x), int(r.z)
            if y - h // 2 < 0 or x - w // 2 < 0 or y + h // 2 > img.shape[2] or x + w // 2 > img.shape[3]: continue
            p = img[:, z, y - h // 2: y + h // 2, x - w // 2: x + w // 2].transpose(1, 2, 0)
            p = np.clip((p - lo) / (hi - lo), 0, 1).astype(np.float32)
            np.save(Path(out) / f'{name}.npy', p)
        t_loop += time.perf_counter() - t1
        del img
    return t_stats, t_loop, len(tab)


def synthetic_sdata(n, seed=0, shape=(4, 8, 2048, 2048)):
    "One random uint8 z-stack and n objects at random (y, x, z)."
    import anndata as ad, pandas as pd, dask.array as da
    from spatialdata import SpatialData
    from spatialdata.models import Image3DModel, Labels3DModel, TableModel
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    img = Image3DModel.parse(da.from_array(a, chunks=(1, 1, *shape[2:])), dims=('c', 'z', 'y', 'x'),
                             c_coords=[f'C{i + 1:02d}' for i in range(shape[0])])
    obs = pd.DataFrame({'well': pd.Categorical(['S'] * n), 'region': pd.Categorical(['nuclei_S'] * n), 'label': np.arange(1, n + 1)})
    obs.index = [f'S_{i}' for i in range(1, n + 1)]
    t = ad.AnnData(np.zeros((n, 1), np.float32), obs=obs)
    t.obsm['spatial_index'] = np.c_[rng.integers(0, shape[2], n), rng.integers(0, shape[3], n), rng.integers(0, shape[1], n)]
    t = TableModel.parse(t, region='nuclei_S', region_key='region', instance_key='label')
    return SpatialData(images={'IF_S': img}, tables={'nuclei_features': t})


# ---------------------------------------------------------------- one measurement per subprocess
def worker(job):
    from phenocoder.patches import generate_dataset, extract_patches
    out = Path(tempfile.mkdtemp(prefix='phc_bench_'))
    try:
        if job['kind'] == 'read':
            import phenocoder.patches as P
            if job['twice']: P.RAW_BUDGET = 0
            sd = real_sdata(lazy=True) if job['images'] == 'png' else zarr_sdata() if job['images'] == 'zarr' else real_sdata()
        elif job['kind'] in ('ours', 'baseline', 'lazy', 'masked'):
            sd = real_sdata(job.get('wells'), lazy=job['kind'] == 'lazy')
        else:
            sd = synthetic_sdata(job['n'])
        rss0 = _status('VmRSS'); _reset_peak()
        t0, c0 = time.perf_counter(), time.process_time()
        if job['kind'] == 'baseline':
            ts, tl, n = baseline(sd, out)
            res = dict(stats_s=ts, loop_s=tl, n=n)
        else:
            import warnings; warnings.simplefilter('ignore')
            kw = dict(mask=job['mask'], mask_dilation=job.get('dilation', 0)) if job['kind'] == 'masked' else {}
            if 'align' in job: kw['align'] = job['align']
            ds = generate_dataset(sd, 'bench', out, patch_size=PATCH, progress=False, **kw)
            res = dict(n=len(ds))
        res['time_s'], res['cpu_s'] = time.perf_counter() - t0, time.process_time() - c0
        res['extra_mb'] = (_status('VmHWM') - rss0) / 2**20
        res['total_mb'] = _status('VmHWM') / 2**20
        res['loaded_mb'] = rss0 / 2**20
        if job.get('keep'):                           # the read part compares the stores of its two ways (not measured)
            import hashlib
            res['digest'] = hashlib.sha256(np.ascontiguousarray(ds.patches[:]).tobytes()).hexdigest()
        if job['kind'] == 'synthetic':            # then extract_patches alone (in memory, no statistics, no writing)
            im, c = sd.images['IF_S'], sd.tables['nuclei_features'].obsm['spatial_index']
            t0 = time.perf_counter()
            extract_patches(im, c, PATCH, low=[10] * 4, high=[240] * 4)
            res['extract_s'] = time.perf_counter() - t0
        return res
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run(job):
    p = subprocess.run([sys.executable, __file__, '--worker', json.dumps(job)], capture_output=True, text=True, cwd=ROOT)
    if p.returncode: raise RuntimeError(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def med(rs, k): return float(np.median([r[k] for r in rs]))


def part_real(repeats):
    if not DATA.exists():
        print(f"real data not found at {DATA}: skipping the real-data part"); return
    t0 = time.perf_counter(); prepare_real(); print(f"(real data read with read_zstacks and cached in {time.perf_counter() - t0:.1f} s: not measured)")
    ours = [run(dict(kind='ours')) for _ in range(repeats)]
    base = run(dict(kind='baseline', wells=['A06']))
    lazy = run(dict(kind='lazy'))
    n_all, n_sub = ours[0]['n'], base['n']
    f = n_all / n_sub
    base_ext, base_cpu_ext = base['stats_s'] * 3 + base['loop_s'] * f, base['cpu_s'] * (3 * base['stats_s'] + f * base['loop_s']) / base['time_s']
    print(f"\n== real 3D data: {n_all:,} nuclei, 3 wells x 4 x 52 x 954 x 954 uint8, patches {PATCH}; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times are inflated on a busy machine; CPU seconds less so) ==")
    print(f"ours  generate_dataset, images in memory ({repeats} runs): median {med(ours, 'time_s'):.2f} s wall "
          f"(runs {', '.join('%.2f' % r['time_s'] for r in ours)}), {med(ours, 'cpu_s'):.2f} CPU s, "
          f"{n_all / med(ours, 'time_s'):,.0f} patches/s")
    print(f"      peak memory over the loaded data: median +{med(ours, 'extra_mb'):.0f} MB "
          f"(runs {', '.join('+%.0f' % r['extra_mb'] for r in ours)}; loaded process {med(ours, 'loaded_mb'):.0f} MB, whole peak {med(ours, 'total_mb'):.0f} MB)")
    print(f"ours  generate_dataset straight from read_zstacks' lazy images (PNG decoding twice inside the call, 1 run): "
          f"{lazy['time_s']:.2f} s wall, {lazy['cpu_s']:.2f} CPU s, peak +{lazy['extra_mb']:.0f} MB")
    print(f"baseline (original's approach) measured on well A06 ({n_sub:,} nuclei, 1 run): statistics {base['stats_s']:.2f} s, "
          f"per-object loop {base['loop_s']:.2f} s ({base['cpu_s']:.2f} CPU s), peak memory +{base['extra_mb']:.0f} MB over the loaded data")
    print(f"baseline EXTRAPOLATED to the 3 wells (statistics x 3, loop x {f:.2f}): {base_ext:.1f} s wall, {base_cpu_ext:.1f} CPU s")
    print(f"ratios: {base_ext / med(ours, 'time_s'):.1f}x faster (wall), {base_cpu_ext / med(ours, 'cpu_s'):.1f}x less CPU than the "
          f"extrapolated baseline; {base['extra_mb'] / max(med(ours, 'extra_mb'), 1):.1f}x less extra peak memory than the baseline on one well")


def part_mask(repeats):
    "Object masks on the real data against unmasked patches, measured alternately in the same run."
    if not DATA.exists():
        print(f"real data not found at {DATA}: skipping the mask part"); return
    prepare_real()
    jobs = [dict(kind='ours'), dict(kind='ours', align='axis'), dict(kind='ours', align='axis+size'), dict(kind='masked', mask='object'),
            dict(kind='masked', mask='object', dilation=2), dict(kind='masked', mask='channel', dilation=2)]
    res = [[] for _ in jobs]
    for _ in range(repeats):
        for j, r in zip(jobs, res): r.append(run(j))
    print(f"\n== object masks and patches turned to the objects' axes (and scaled to one size), real 3D data ({res[0][0]['n']:,} nuclei, patches {PATCH}, images and labels in memory, {repeats} runs each, alternating) ==")
    for j, r in zip(jobs, res):
        name = (f"mask=None align={j.get('align')!r}" if j['kind'] == 'ours' else f"mask={j['mask']!r} dilation={j.get('dilation', 0)}")
        print(f"{name:<44} median {med(r, 'time_s'):.2f} s wall, {med(r, 'cpu_s'):.2f} CPU s; ratio vs first row "
              f"{med(r, 'time_s') / med(res[0], 'time_s'):.2f}x wall, {med(r, 'cpu_s') / med(res[0], 'cpu_s'):.2f}x CPU; peak +{med(r, 'extra_mb'):.0f} MB")


def part_read(repeats):
    "Patches read once (the default) against read twice (RAW_BUDGET = 0), alternating: three forms of the real images, as cut and turned."
    if not DATA.exists():
        print(f"real data not found at {DATA}: skipping the read part"); return
    prepare_real(); zarr_sdata()
    print(f"\n== the image read once or twice by generate_dataset, real 3D data, patches {PATCH}, {repeats} runs each, alternating ==")
    for images, align in (('memory', None), ('zarr', None), ('png', None), ('memory', 'axis'), ('zarr', 'axis'), ('zarr', 'axis+size')):
        res = {t: [] for t in (True, False)}
        for _ in range(repeats):
            for twice in (True, False): res[twice].append(run(dict(kind='read', images=images, twice=twice, keep=True, **({'align': align} if align else {}))))
        if len({r['digest'] for rs in res.values() for r in rs}) != 1: raise RuntimeError(f"{images}: the stores differ")
        (a, b) = (res[True], res[False])
        print(f"{images + (' ' + align if align else ''):<15} read twice {med(a, 'time_s'):.2f} s wall ({med(a, 'cpu_s'):.2f} CPU s, peak +{med(a, 'extra_mb'):.0f} MB); "
              f"read once {med(b, 'time_s'):.2f} s ({med(b, 'cpu_s'):.2f} CPU s, peak +{med(b, 'extra_mb'):.0f} MB); "
              f"{med(a, 'time_s') / med(b, 'time_s'):.2f}x wall, {med(a, 'cpu_s') / med(b, 'cpu_s'):.2f}x CPU; stores identical")


def part_synthetic(repeats, sizes):
    print(f"\n== synthetic: one 4 x 8 x 2048 x 2048 uint8 z-stack, random objects, patches {PATCH} ==")
    print(f"{'objects':>9} {'generate_dataset s':>19} {'CPU s':>6} {'patches/s':>10} {'extra MB':>9} {'extract_patches s':>18} {'patches/s':>10}")
    for n in sizes:
        g = e = [run(dict(kind='synthetic', n=n)) for _ in range(repeats)]
        print(f"{n:>9,} {med(g, 'time_s'):>19.2f} {med(g, 'cpu_s'):>6.2f} {n / med(g, 'time_s'):>10,.0f} {med(g, 'extra_mb'):>9.0f} "
              f"{med(e, 'extract_s'):>18.3f} {n / med(e, 'extract_s'):>10,.0f}")
    print("(generate_dataset includes the statistics of the 32 slices, a constant cost, and writing the zarr store)")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--part', default='all', choices=['all', 'real', 'synthetic', 'mask', 'read'])
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--sizes', type=int, nargs='+', default=[10_000, 30_000, 100_000])
    ap.add_argument('--worker')
    a = ap.parse_args()
    if a.worker: print(json.dumps(worker(json.loads(a.worker)))); sys.exit()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    if a.part in ('all', 'real'): part_real(a.repeats)
    if a.part in ('all', 'mask'): part_mask(a.repeats)
    if a.part in ('all', 'read'): part_read(a.repeats)
    if a.part in ('all', 'synthetic'): part_synthetic(a.repeats, a.sizes)
