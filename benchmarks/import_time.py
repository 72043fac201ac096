"""Import time of `phenocoder` and its model-free modules, against TensorFlow and Keras measured in the same run.

Each figure is the median wall time of `--repeats` fresh interpreters running only the import (the interpreter's own
start-up, `python -c pass`, is measured too and subtracted). Also prints whether a deep-learning framework got imported.

Run: `python benchmarks/import_time.py [--repeats 5]`
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ['phenocoder', 'phenocoder.graph_stats', 'phenocoder.embedding', 'phenocoder.core', 'keras', 'tensorflow']
FRAMEWORKS = ('tensorflow', 'keras', 'jax', 'torch')

def one(stmt:str)->tuple:
    "Wall time of a fresh interpreter running `stmt`, and the frameworks it left in sys.modules."
    code = f"{stmt}\nimport sys, json; print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))"
    t = time.perf_counter()
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True)
    return time.perf_counter() - t, json.loads(out.stdout.strip().splitlines()[-1])

def median_time(stmt:str, repeats:int)->tuple:
    "Median wall time of `repeats` fresh runs, and the frameworks seen."
    runs = [one(stmt) for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), runs[-1][1]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=5)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, median of {args.repeats} fresh processes")
    base, _ = median_time('pass', args.repeats)
    print(f"{'interpreter start-up':28s} {base:6.2f} s (subtracted below)")
    for target in TARGETS:
        t, fw = median_time(f'import {target}', args.repeats)
        print(f"{'import ' + target:28s} {t - base:6.2f} s   frameworks loaded: {', '.join(fw) or 'none'}")
    t, fw = median_time('from phenocoder import Phenocoder; Phenocoder().spatialgraph_stats', args.repeats)
    print(f"{'Phenocoder().spatialgraph_stats':28s} {t - base:6.2f} s   frameworks loaded: {', '.join(fw) or 'none'}")

if __name__ == '__main__':
    main()
