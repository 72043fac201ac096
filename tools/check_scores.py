#!/usr/bin/env python3
"""Quality floors of the tutorial's `scores.json` (bundled data, default settings): a regression cannot land silently.

    python tools/check_scores.py phenocoder_runs/tutorial/scores.json

Floors, not targets: each leaves a margin under what the defaults reach, so floating-point drift across machines passes
and a real loss of quality fails. The bundled data has only four wells (two per architecture, two per batch), so
leave-one-sample-out accuracy there has a chance level near 1/3 and cannot reach the 0.9 that the 8-sample quality
benchmark (benchmarks/quality.py) asks for; the floor asks that the architecture be told apart far better than the batch.
Exit status 1 names every floor missed."""
import json, sys
from pathlib import Path

FLOORS = [  # (description, test on the scores)
    ("latents recover phenotypes better than pixel PCA (k-means ARI; seed 0 reaches 0.93 against 0.83)",
     lambda s: s["ARI k-means latents"] > s["ARI k-means pixel PCA (best of 4-50 PCs)"]),
    ("k-means ARI of the latents >= 0.85 (5 seeds of the defaults: 0.93-0.96)", lambda s: s["ARI k-means latents"] >= 0.85),
    ("k-means on the latents' graph embedding finds the phenotypes: ARI >= 0.95 (5 seeds of the defaults: 0.988-0.997)",
     lambda s: s["ARI k-means latents' graph embedding"] >= 0.95),
    ("the latents hold the phenotypes: 15-NN phenotype vote accuracy >= 0.95 (5 seeds of the defaults: 0.994-0.997)",
     lambda s: s["phenotype kNN accuracy latents"] >= 0.95),
    ("batch conditioning mixes the batches: batch kNN accuracy within phenotype <= 0.65",
     lambda s: s["batch kNN accuracy within phenotype"] <= 0.65),
    ("conditioning on the batch removes more of it than not conditioning on it",
     lambda s: s["batch kNN accuracy within phenotype"] < s.get("batch kNN accuracy within phenotype, not conditioned on batch", 1.0)),
    ("harmonizing the batch mixes it further and keeps the phenotypes (k-means ARI within 0.05 of before)",
     lambda s: s["batch kNN accuracy within phenotype"] <= s["batch kNN accuracy within phenotype, before harmonization"]
         and s["ARI k-means latents"] >= s["ARI k-means latents, before harmonization"] - 0.05),
    ("the sub-cube embedding tells the architecture better than the batch (leave-one-sample-out accuracy, margin 0.3)",
     lambda s: s["leave-one-sample-out accuracy architecture"] >= s["leave-one-sample-out accuracy batch"] + 0.3),
    ("... and the batch no better than chance would: accuracy <= 0.70", lambda s: s["leave-one-sample-out accuracy batch"] <= 0.70),
]


def check(scores:dict)->list:
    "The descriptions of the floors `scores` misses (a missing score counts as missed)."
    missed = []
    for what, ok in FLOORS:
        try: good = bool(ok(scores))
        except KeyError as e: good, what = False, f"{what} (score {e} missing)"
        if not good: missed.append(what)
    return missed


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "phenocoder_runs/tutorial/scores.json")
    scores = json.loads(path.read_text())
    missed = check(scores)
    for what, _ in FLOORS: print(("MISSED " if what in missed or any(m.startswith(what) for m in missed) else "ok     ") + what)
    if missed: sys.exit(f"{len(missed)} quality floor(s) missed in {path}")
