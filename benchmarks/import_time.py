"""Import time of `phenocoder` and its model-free modules, against TensorFlow and Keras measured in the same run.

Each figure is the median of `--repeats` fresh interpreters running only the import (the interpreter's own start-up,
`python -c pass`, is measured too and subtracted): wall time, and CPU time (user + system of the child), which is the
fairer figure on a busy machine. Also prints whether a deep-learning framework got imported.

Run: `python benchmarks/import_time.py [--repeats 5]`
"""
from __future__ import annotations
import argparse, json, os, resource, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ['phenocoder', 'phenocoder.graph_stats', 'phenocoder.embedding', 'phenocoder.core', 'keras', 'tensorflow']
FRAMEWORKS = ('tensorflow', 'keras', 'jax', 'torch')

def one(stmt:str)->tuple:
    "Wall and CPU time of a fresh interpreter running `stmt`, and the frameworks it left in sys.modules."
    code = f"{stmt}\nimport sys, json; print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))"
    cpu = lambda: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN))
    t, c = time.perf_counter(), cpu()
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True)
    return time.perf_counter() - t, cpu() - c, json.loads(out.stdout.strip().splitlines()[-1])

def median_time(stmt:str, repeats:int)->tuple:
    "Median wall and CPU times of `repeats` fresh runs, and the frameworks seen."
    runs = [one(stmt) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[-1][2]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeats', type=int, default=5)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, median of {args.repeats} fresh processes")
    base, cbase, _ = median_time('pass', args.repeats)
    print(f"{'interpreter start-up':34s} wall {base:5.2f} s, CPU {cbase:5.2f} s (subtracted below)")
    stmts = [f'import {t}' for t in TARGETS] + ['from phenocoder import Phenocoder; Phenocoder().spatialgraph_stats']
    for stmt in stmts:
        t, c, fw = median_time(stmt, args.repeats)
        name = stmt.split('; ')[-1] if ';' in stmt else stmt
        print(f"{name:34s} wall {t - base:5.2f} s, CPU {c - cbase:5.2f} s   frameworks loaded: {', '.join(fw) or 'none'}")

if __name__ == '__main__':
    main()
