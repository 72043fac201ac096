"""Rows of each sample (`phenocoder.core.sample_rows`) against one mask per sample, the way the stages found them before.

A plate of S wells with N objects in shuffled order: the baseline reads the whole sample column once per sample
(`np.flatnonzero(values == s)` for each s: N x S string comparisons), `sample_rows` groups it once (factorize + a
stable argsort). Both give the same ascending rows (checked). Prints seconds (median of --repeat) and the ratio.

Second table: the streamed training feed (`phenocoder.training._stream`) reads a window of 8 chunks at a time and
needs the positions of those chunks' rows among the training rows: one `np.isin` pass over all training rows per
window (before) against the positions grouped once by `sample_rows` (now); one epoch's selections, same rows checked.

    python benchmarks/sample_rows.py [--repeat 3]
"""
from __future__ import annotations
import argparse, time
import numpy as np
import pandas as pd
from phenocoder.core import sample_rows


def timed(f, repeat):
    out, ts = None, []
    for _ in range(repeat):
        t = time.perf_counter(); out = f(); ts.append(time.perf_counter() - t)
    return out, float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--repeat', type=int, default=3); a = ap.parse_args()
    print(f"{'objects':>10}{'samples':>9}{'masks s':>10}{'grouped s':>11}{'ratio':>8}")
    for n, S in [(100_000, 40), (1_000_000, 384), (3_000_000, 1152)]:
        values = np.repeat([f'well_{i:04d}' for i in range(S)], n // S + 1)[:n]
        np.random.default_rng(0).shuffle(values)
        samples = list(pd.unique(values))
        base, t0 = timed(lambda: [np.flatnonzero(values == s) for s in samples], a.repeat)
        ours, t1 = timed(lambda: sample_rows(values, samples), a.repeat)
        assert all(np.array_equal(b, ours[s]) for b, s in zip(base, samples)), 'rows differ'
        print(f"{n:>10,}{S:>9,}{t0:>10.2f}{t1:>11.3f}{t0 / t1:>7.0f}x")
    print(f"\n{'patches':>10}{'windows':>9}{'isin s':>10}{'grouped s':>11}{'ratio':>8}   (one epoch, chunks of 256, windows of 8)")
    for n in (1_000_000, 4_000_000):
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(int(n * 1.1), n, replace=False)); chunk_of = idx // 256
        ids = rng.permutation(np.unique(chunk_of)); parts = [np.sort(ids[w:w + 8]) for w in range(0, len(ids), 8)]
        base, t0 = timed(lambda: [idx[np.isin(chunk_of, p)] for p in parts], a.repeat)
        def grouped():
            at = sample_rows(chunk_of)
            return [idx[np.sort(np.concatenate([at[c] for c in p.tolist()]))] for p in parts]
        ours, t1 = timed(grouped, a.repeat)
        assert all(np.array_equal(b, o) for b, o in zip(base, ours)), 'rows differ'
        print(f"{n:>10,}{len(parts):>9,}{t0:>10.2f}{t1:>11.3f}{t0 / t1:>7.0f}x")


if __name__ == '__main__':
    main()
