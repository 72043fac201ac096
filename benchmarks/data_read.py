"""Reading z-stack folders with `phenocoder.data.read_zstacks`: wall time and peak memory.

Run: python benchmarks/data_read.py [--repeats 3]
Prints, for the real example (../shared/data/3d or $PHENOCODER_REAL_DATA, skipped when absent) and the synthetic example:
- read_zstacks (lazy: file headers + tables) in a fresh process, median of repeats, with peak traced Python memory
  (tracemalloc) and the process's max resident set size;
- materialising one well's full image through the lazy array vs. a baseline that reads the same files with imageio into a
  preallocated array (same run), and the ratio;
- generating the synthetic example (make_example_3d).
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

CHILD = r'''
import json, resource, sys, time, tracemalloc
from pathlib import Path
t0 = time.perf_counter()
from phenocoder.data import read_zstacks
t_import = time.perf_counter() - t0
rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
tracemalloc.start()
t0, c0 = time.perf_counter(), time.process_time()
sd = read_zstacks(sys.argv[1], progress=False)
t_read, c_read = time.perf_counter() - t0, time.process_time() - c0
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
t = sd.tables['nuclei_features']
print(json.dumps({'import_s': t_import, 'read_s': t_read, 'cpu_s': c_read, 'tracemalloc_peak_mb': peak / 2**20,
                  'maxrss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'rss_import_mb': rss_import, 'n_obs': t.n_obs,
                  'n_images': len(sd.images)}))
'''

def median(xs): xs = sorted(xs); return xs[len(xs) // 2]

def read_in_fresh_process(folder, repeats):
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, '-c', CHILD, str(folder)], capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return {k: median([r[k] for r in runs]) for k in runs[0]}

def materialise_vs_baseline(folder, repeats):
    import numpy as np, imageio.v3 as iio
    from phenocoder.data import read_zstacks, list_zstack_files
    sd = read_zstacks(folder, progress=False)
    well = sorted(sd.images)[0].split('_', 1)[1]
    files = list_zstack_files(folder, 'imgs')
    files = files[files.well == well].sort_values(['c', 'z'])
    shape = sd.images[f'IF_{well}'].shape
    t_lazy, t_base = [], []
    for _ in range(repeats):
        t0 = time.perf_counter(); a = np.asarray(sd.images[f'IF_{well}'].data.compute(scheduler='threads')); t_lazy.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = np.empty(shape, np.uint8).reshape(-1, *shape[2:])
        for i, p in enumerate(files.path): b[i] = iio.imread(p)
        t_base.append(time.perf_counter() - t0)
        assert (a.reshape(b.shape) == b).all()
    return well, shape, median(t_lazy), median(t_base)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--repeats', type=int, default=3); args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    real = Path(os.environ.get('PHENOCODER_REAL_DATA', root.parent/'shared'/'data'/'3d'))
    from phenocoder.data import make_example_3d
    with tempfile.TemporaryDirectory() as tmp:
        gen = []
        for i in range(args.repeats):
            t0 = time.perf_counter(); make_example_3d(Path(tmp)/f'ex{i}', seed=0); gen.append(time.perf_counter() - t0)
        print(f'make_example_3d (4 wells, 4 x 5 x 200 x 200, ~1,900 nuclei): median {median(gen):.2f} s over {args.repeats}')
        sets = [('synthetic example', Path(tmp)/'ex0')] + ([('real example', real)] if real.exists() else [])
        for name, folder in sets:
            r = read_in_fresh_process(folder, args.repeats)
            print(f'{name}: read_zstacks {r["read_s"]:.2f} s wall, {r["cpu_s"]:.2f} s CPU (median of {args.repeats} fresh processes; import {r["import_s"]:.1f} s), '
                  f'{r["n_obs"]:,} objects, {r["n_images"]} images; peak traced memory {r["tracemalloc_peak_mb"]:.1f} MiB, '
                  f'process max RSS {r["maxrss_mb"]:.0f} MiB ({r["rss_import_mb"]:.0f} MiB after importing phenocoder)')
            well, shape, tl, tb = materialise_vs_baseline(folder, args.repeats)
            print(f'  materialise IF_{well} {shape}: lazy array .compute(scheduler="threads") {tl:.2f} s vs imageio loop baseline {tb:.2f} s '
                  f'(ratio {tl / tb:.2f})')
        if not real.exists(): print(f'real example not found at {real}: skipped')

if __name__ == '__main__': main()
