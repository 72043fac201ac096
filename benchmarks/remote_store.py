"""Remote-store benchmark: what writing and loading a patch dataset on an object-store URL costs in requests and in time
when every request waits on the network.

The store is simulated: an in-memory fsspec filesystem whose reads wait `--latency` ms per request (`cat_file`, `info`
and `size`: a GET or a HEAD), and whose recursive listing (`find`) costs one request per 1,000 keys, as S3's
ListObjectsV2 does. Writes are not delayed (both ways write the same files). A dataset of `--patches` patches in chunks
of `--chunk` rows is written with `phenocoder.store.write_store` to `slowmem://`, then:

- read back for the commit record (size and CRC-32 of every file): the package's `_remote_records`, `REMOTE_THREADS`
  requests at a time, against the baseline measured in the same run, one request after another (the earlier code);
- checked on load (the size of every recorded file): the package's one listing, against one `size` request per file;
- read once, chunk by chunk, as training's first epoch streams it: through the package's `VerifiedStore` (each chunk's
  CRC-32 checked on the bytes zarr fetched), against the earlier way, a plain zarr read plus a second request per chunk
  for its checksum.

Printed: requests, seconds, and the speed-up of each against its baseline (medians of `--repeat` runs).

    python benchmarks/remote_store.py                      # 1,000 chunks, 5 ms a request
    python benchmarks/remote_store.py --latency 20 --patches 64000 --chunk 32
"""
from __future__ import annotations
import argparse, math, statistics, threading, time, zlib
import numpy as np
import pandas as pd
import fsspec
from fsspec.implementations.memory import MemoryFileSystem


class SlowMem(MemoryFileSystem):
    "Memory filesystem with a network's latency on reads; counts requests."
    protocol, latency, requests, lock = 'slowmem', 0.005, 0, threading.Lock()
    @classmethod
    def _strip_protocol(cls, path):
        return MemoryFileSystem._strip_protocol(path[len('slowmem://'):] if str(path).startswith('slowmem://') else path)
    def _wait(self, n=1):
        with SlowMem.lock: SlowMem.requests += n
        time.sleep(SlowMem.latency * n)
    def cat_file(self, path, *a, **k): self._wait(); return super().cat_file(path, *a, **k)
    def info(self, path, **k): self._wait(); return super().info(path, **k)
    def size(self, path): return self.info(path)['size']
    def find(self, path, *a, **k):
        out = super().find(path, *a, **k)
        self._wait(max(1, math.ceil(len(out) / 1000)))              # a flat listing, 1,000 keys a page
        return out


def write(n:int, chunk:int, name:str):
    from phenocoder.store import write_store, FORMAT
    x = np.random.default_rng(0).random((n, 8, 8, 2)).astype(np.float32)
    meta = dict(format=FORMAT, dataset=name, patch_size=[8, 8], channels=['a', 'b'], n_patches=n, samples=['s'],
                scale=False, scale_per_sample=True, scale_percentile=1)
    def fill(arr, cl): arr[:] = x
    lat, SlowMem.latency = SlowMem.latency, 0.0                        # writing itself is not what is timed
    try: write_store('slowmem://bench', meta, pd.DataFrame({'sample': ['s'] * n, 'id': [f'o{i}' for i in range(n)]}),
                     pd.DataFrame({'sample': ['s']}), fill, chunk_size=chunk)
    finally: SlowMem.latency = lat


def timed(f):
    SlowMem.requests = 0; t = time.perf_counter(); out = f()
    return out, time.perf_counter() - t, SlowMem.requests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--patches', type=int, default=16_000); ap.add_argument('--chunk', type=int, default=16)
    ap.add_argument('--latency', type=float, default=5.0, help='milliseconds per read request')
    ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    fsspec.register_implementation('slowmem', SlowMem, clobber=True)
    from phenocoder import store
    write(a.patches, a.chunk, 'd')
    SlowMem.latency = a.latency / 1000
    fs = fsspec.filesystem('slowmem'); meta = store._remote_meta(fs, '/bench/d'); base = f"/bench/d/{meta['data']}"
    n_files = len(meta['files'])
    print(f"{a.patches:,} patches in {n_files:,} files (chunks of {a.chunk}); {a.latency:g} ms a read request; "
          f"{store.REMOTE_THREADS} concurrent requests")

    def baseline_records(): return {p[len(base) + 1:]: [len(b := fs.cat_file(p)), zlib.crc32(b)] for p in sorted(fs.find(base))}
    def baseline_sizes(): return {rel: fs.size(f'{base}/{rel}') for rel in meta['files']}
    import zarr
    plain = zarr.open_array(f'slowmem://bench/d/{meta["data"]}/patches.zarr', mode='r')
    def baseline_read():
        out = []
        for i in range(0, plain.shape[0], a.chunk):
            b = fs.cat_file(f"{base}/{store.chunk_file(i // a.chunk, 4)}")
            assert zlib.crc32(b) == meta['files'][store.chunk_file(i // a.chunk, 4)][1]
            out.append(plain[i:i + a.chunk])
        return np.concatenate(out)
    def ours_read():
        p = store.open_patches(f'slowmem://bench/d/{meta["data"]}', meta['files'])
        return np.concatenate([p[i:i + a.chunk] for i in range(0, p.shape[0], a.chunk)])
    rows = []
    for what, old, new in (('commit record (read back, CRC-32)', baseline_records, lambda: store._remote_records(fs, base)),
                           ('load check (sizes)', baseline_sizes, lambda: store.load_dataset('slowmem://bench', 'd')),
                           ('first read of every chunk', baseline_read, ours_read)):
        t_old, t_new = [], []
        for _ in range(a.repeat):
            ro, so, qo = timed(old); rn, sn, qn = timed(new)
            t_old.append(so); t_new.append(sn)
        if what.startswith('commit'): assert ro == rn, 'records differ'
        if what.startswith('first'): assert np.array_equal(ro, rn), 'patches differ'
        rows.append((what, qo, statistics.median(t_old), qn, statistics.median(t_new)))
    print(f"{'step':<36}{'baseline requests':>18}{'s':>8}{'ours requests':>15}{'s':>8}{'speed-up':>10}")
    for what, qo, so, qn, sn in rows:
        print(f"{what:<36}{qo:>18,}{so:>8.2f}{qn:>15,}{sn:>8.2f}{so / sn:>9.1f}x")
    print("(the load check's 'ours' is the whole load_dataset: listing, sizes, the 3 checksummed files, the tables, the array's metadata)")


if __name__ == '__main__': main()
