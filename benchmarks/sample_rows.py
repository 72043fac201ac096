"""Rows of each sample (`phenocoder.core.sample_rows`) against one mask per sample, the way the stages found them before.

A plate of S wells with N objects in shuffled order: the baseline reads the whole sample column once per sample
(`np.flatnonzero(values == s)` for each s: N x S string comparisons), `sample_rows` groups it once (factorize + a
stable argsort). Both give the same ascending rows (checked). Prints seconds (median of --repeat) and the ratio.

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


if __name__ == '__main__':
    main()
