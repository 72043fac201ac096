"""How much of the planted phenotypes do the patches themselves hold? A supervised ceiling for issue 10's k-means target.

For each generator of `benchmarks/quality.py` and each seed: the same data and the same 32 x 32 patches the workflow cuts
(`generate_dataset` at the quality benchmark's settings), then the package's own encoder architecture
(`phenocoder.cvae.build_encoder`, latent 32, dense 256, conv_layers (8, 16, 32, 64, 128)) trained *with the phenotype
labels* (softmax head on the latent means; random flips and rotations; Adam, `--epochs`, batch 64) on 80% of the objects and
scored on the other 20%. Prints the test accuracy (all, and per batch) and the ARI of the predicted against the true
phenotypes: what an encoder of this size can read from these patches when it is told what to look for. The
unsupervised latents are judged against it (their 15-NN vote `knn_acc` and k-means ARI, in quality.py's JSON).

    python benchmarks/supervised_ceiling.py [--generators tissue,shifted,bundled] [--seeds 0,1,2,3,4] [--epochs 40]
"""
from __future__ import annotations
import argparse, sys, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))


def patches_and_labels(generator:str, seed:int, work:Path):
    "The quality benchmark's data and patches for one generator and seed: patches (n, 32, 32, c), phenotype codes, batches, names."
    from quality import make_data
    from phenocoder import Phenocoder
    from phenocoder.store import load_dataset
    sd = make_data(generator, seed, False, work / 'cache')
    pheno = Phenocoder(table_key='nuclei_features', sample_key='well', image_key='IF', seed=seed)
    pheno.add_sdata(sd)
    pheno.generate_dataset(dataset='d1', dir_dataset=work / 'ds', patch_size=(32, 32), spatial_key_index='spatial_index',
                           metadata_keys=['batch', 'phenotype'], progress=False)
    ds = load_dataset(work / 'ds', 'd1')
    lab = pd.Categorical(ds.table['phenotype'])
    return np.asarray(ds.patches[:]), lab.codes.astype(int), ds.table['batch'].astype(str).to_numpy(), list(lab.categories)


def ceiling(x, y, batch, n_classes:int, seed:int, epochs:int)->dict:
    "Train the encoder architecture with labels on 80% of the objects; scores on the other 20%."
    import keras
    from sklearn.metrics import adjusted_rand_score
    from phenocoder.cvae import build_encoder
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x)); te, tr = perm[: len(x) // 5], perm[len(x) // 5:]
    keras.utils.set_random_seed(seed)
    inp = keras.Input(x.shape[1:])
    h = keras.layers.RandomRotation(0.5, seed=seed)(keras.layers.RandomFlip(seed=seed)(inp))
    enc = build_encoder(x.shape[1:], 32, 256, seed=seed)
    z_mean = keras.Model(enc.inputs, enc.outputs[0])(h)      # the latent means only (z_log_var has no part here)
    out = keras.layers.Dense(n_classes, activation='softmax')(keras.layers.Activation('relu')(z_mean))
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(1e-3), 'sparse_categorical_crossentropy')
    model.fit(x[tr], y[tr], epochs=epochs, batch_size=64, verbose=0,
              callbacks=[keras.callbacks.ReduceLROnPlateau('loss', patience=4)])
    pred = model.predict(x[te], batch_size=256, verbose=0).argmax(1)
    ok = pred == y[te]
    return dict(accuracy=float(ok.mean()), ari=float(adjusted_rand_score(y[te], pred)), n_test=int(len(te)),
                **{f'accuracy_{b}': float(ok[batch[te] == b].mean()) for b in np.unique(batch)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--generators', default='tissue,shifted,bundled')
    ap.add_argument('--seeds', default='0,1,2,3,4')
    ap.add_argument('--epochs', type=int, default=40)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for g in a.generators.split(','):
            for s in (int(v) for v in a.seeds.split(',')):
                t = time.time()
                x, y, b, names = patches_and_labels(g, s, Path(tmp) / f'{g}_{s}')
                r = dict(generator=g, seed=s, n_objects=len(x), **ceiling(x, y, b, len(names), s, a.epochs))
                rows.append(r)
                print(f"{g} seed {s}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                    for k, v in r.items() if k not in ('generator', 'seed')) + f" ({time.time() - t:.0f} s)", flush=True)
    df = pd.DataFrame(rows)
    print("\nmin / median over seeds:")
    for g, d in df.groupby('generator', sort=False):
        print(f"  {g}: test accuracy {d['accuracy'].min():.3f} / {d['accuracy'].median():.3f}, "
              f"ARI of the predictions {d['ari'].min():.3f} / {d['ari'].median():.3f}")


if __name__ == '__main__':
    main()
