"""Is the workflow robust, not lucky? Quality of the whole workflow at its defaults, on the bundled data and two synthetic generators, over seeds.

For each generator (`bundled` = phenocoder.data.example_3d, `tissue` = benchmarks/synthetic_tissue.make_tissue,
`shifted` = the same tissue whose phenotype shares differ 5x between the two batches, as when a treatment and the imaging
day go together: `make_tissue(composition='batch')`; `cells` = benchmarks/synthetic_cells.make_cells, 2D cells of
other shapes, 2 channels, 3 imaging plates, not in the default list) and each seed (the seed of the data and of the model), following the README / tutorial through the public `Phenocoder` methods:
generate_dataset(32 x 32, metadata_keys=['batch']) -> initialize_model(n_latent_dim=16, n_dense_dim=256, conditions=
--conditions) -> train -> encode(harmonize=--harmonize) -> PCA (up to 15 PCs) + Leiden (resolution 0.5) -> spatialgraph_stats(use_subunits=True)
-> spatialgraph_embedding(n_dim=10). Scores (phenocoder.evaluation):

- ari: k-means ARI of the planted phenotypes on the standardised latents; ari_umap: k-means on their 10-D graph
  embedding (`phenocoder.evaluation.graph_embedding`, a UMAP with min_dist 0: each phenotype's connected group drawn
  together, however curved or stretched it is in the latents); pixel_ari: the pixel-PCA baseline (best of
  4-50 PCs); leiden_ari and n_leiden: the Leiden clusters; knn_acc: leave-one-out 15-NN vote accuracy of the phenotype
  on the same latents (how much of the phenotypes they hold, whatever the clusters' shapes; chance about 0.2);
- batch_acc: leave-one-out 5-NN batch accuracy within each true phenotype; batch_chance: the same under perfect mixing
  (0.5 with equal batches; more where a phenotype's objects come mostly from one batch, as in `shifted`);
- comp_err: the largest error, over batches and phenotypes, of the phenotype shares per batch read from the Leiden
  clusters (each named by its commonest phenotype): does the clustering keep the composition each batch really has?
- ari_raw / knn_acc_raw / batch_acc_raw: the same on the model's own latent means, before the harmonization (`.obsm['z_mean']`);
- arch_acc / batch_sub_acc: leave-one-sample-out 5-NN accuracy of architecture / batch in the sub-cube embedding built from
  the latents' Leiden clusters; ceil_arch_acc / ceil_batch_acc: the same with the true phenotypes as clusters.

Prints one row per run and a table of min and median over seeds per generator; `--out` writes both as JSON.
The issue's targets (min over seeds, both generators): ari >= 0.90 and >= pixel_ari + 0.1, batch_acc <= 0.60,
arch_acc >= 0.90, batch_sub_acc <= 0.65. The batch target is read as batch_acc <= batch_chance + 0.10 (the same where
the batches are equal; on `shifted` perfect mixing gives about 0.68). Where the true phenotypes themselves tell the
batches apart (ceil_batch_acc above 0.65, as on `shifted`, about 0.85), the batches differ in biology and batch_sub_acc
has no target.

    python benchmarks/quality.py [--seeds 0,1,2,3,4] [--generators bundled,tissue,shifted] [--epochs 60]
                                 [--conditions z,batch] [--harmonize batch] [--conditioning mmd] [--mmd-weight 30] [--n-dense-dim 256] [--conv-layers 8,16,32,64,128] [--beta 0.01] [--center-sigma auto] [--align axis] [--more-resolutions 0.3] [--out quality.json] [--quick]
`--quick`: a smoke run (seed 0, 2 epochs, a small 4-sample tissue only) to check the script, not the model.
"""
from __future__ import annotations
import argparse, inspect, json, os, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
# per generator: radii (um) and sub-cube size (um) of the graph statistics, as the tutorial uses for the bundled data
SETTINGS = {'bundled': dict(radii=(25, 50), dim_subunit=(80, 80, 60), min_obs_per_subunit=20),
            'tissue': dict(radii=(15, 30), dim_subunit=(52, 52, 20), min_obs_per_subunit=20)}
SETTINGS['shifted'] = SETTINGS['tissue']
SETTINGS['cells'] = dict(radii=(12, 24), dim_subunit=(84, 84), min_obs_per_subunit=20)    # 2D: squares of 84 um
TARGETS = {'ari': ('>=', 0.90), 'batch_acc': ('<=', 0.60), 'arch_acc': ('>=', 0.90), 'batch_sub_acc': ('<=', 0.65)}


def call(method, **kw):
    "Call a public method with the keywords it accepts (the API may change); say which were dropped."
    params = inspect.signature(method).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        dropped = sorted(set(kw) - set(params))
        if dropped: print(f"  note: {method.__name__} does not take {dropped}; left out", flush=True)
        kw = {k: v for k, v in kw.items() if k in params}
    return method(**kw)


def make_data(generator:str, seed:int, quick:bool, cache:Path):
    "The SpatialData of one generator and seed."
    if generator == 'bundled':
        from phenocoder.data import example_3d
        return call(example_3d, seed=seed, cache_dir=cache, progress=False)
    if generator in ('tissue', 'shifted'):
        from synthetic_tissue import make_tissue
        small = dict(n_samples=4, n_per_sample=120) if quick else {}
        return make_tissue(seed=seed, composition='batch' if generator == 'shifted' else None, **small)
    if generator == 'cells':
        from synthetic_cells import make_cells
        return make_cells(seed=seed, **(dict(n_samples=6, n_per_sample=80) if quick else {}))
    raise ValueError(f"Unknown generator {generator!r}; expected 'bundled', 'tissue', 'shifted' or 'cells'.")


def leiden(latents, seed:int, resolution:float=0.5, key:str='leiden'):
    "PCA (up to 15 PCs) + neighbours + Leiden on the latents, as the tutorial does; writes obs[key]."
    import scanpy as sc
    sc.pp.pca(latents, n_comps=min(latents.n_vars - 1, 15), random_state=seed)
    sc.pp.neighbors(latents, random_state=seed)
    sc.tl.leiden(latents, resolution=resolution, random_state=seed, key_added=key, flavor='igraph', n_iterations=2, directed=False)


def subcube_scores(pheno, cluster_key:str, settings:dict)->tuple:
    "Sub-cube graph statistics of `cluster_key` and their embedding: leave-one-sample-out accuracy of architecture and batch."
    from phenocoder.evaluation import sample_separation
    call(pheno.spatialgraph_stats, cluster_key=cluster_key, spatial_key='spatial', radii=settings['radii'], table_key='phenocoder',
         use_subunits=True, dim_subunit=settings['dim_subunit'], min_obs_per_subunit=settings['min_obs_per_subunit'], progress=False)
    call(pheno.spatialgraph_embedding, n_dim=10, scale=True, umap=False, obs_keys=['architecture', 'batch'])
    a = pheno.adata
    skey = 'sample' if 'sample' in a.obs else pheno.sample_key
    try: return (sample_separation(a, 'architecture', skey, use_rep='X_pca')['accuracy'],
                 sample_separation(a, 'batch', skey, use_rep='X_pca')['accuracy'], a.n_obs)
    except ValueError as e:                 # e.g. too few sub-cubes: report, do not lose the other scores
        print(f"  note: sub-cube scores of {cluster_key!r} not computed: {e}", flush=True)
        return float('nan'), float('nan'), a.n_obs


def train_workflow(generator:str, seed:int, a, work:Path)->tuple:
    "The data of one generator and seed, its patches and a model trained on them as the options `a` say: (pheno, sdata, history, seconds)."
    from phenocoder import Phenocoder
    sdata = make_data(generator, seed, a.quick, work / 'cache')
    table = sdata.tables['nuclei_features']
    n_channels = sdata.images[next(iter(sdata.images))].shape[0]
    pheno = call(Phenocoder, table_key='nuclei_features', sample_key='well', image_key='IF', seed=seed)
    pheno.add_sdata(sdata)
    cut = {} if a.align is None else dict(align=None if a.align == 'none' else a.align)
    call(pheno.generate_dataset, dataset='dataset_1', dir_dataset=work / f'{generator}_{seed}', patch_size=(32, 32),
         spatial_key_index='spatial_index', metadata_keys=['batch'], progress=False, **cut)
    extra = {} if a.conditioning is None else dict(conditioning=a.conditioning)
    if a.mmd_weight is not None: extra['mmd_weight'] = a.mmd_weight
    if a.beta is not None: extra['beta'] = a.beta
    if a.batch_size is not None: extra['batch_size'] = a.batch_size
    if a.conv_layers: extra['conv_layers'] = tuple(int(f) for f in a.conv_layers.split(','))
    if a.center_sigma is not None: extra['center_sigma'] = None if a.center_sigma == 'none' else (a.center_sigma if a.center_sigma == 'auto' else float(a.center_sigma))
    conditions = a.conditions if np.shape(table.obsm['spatial_index'])[1] == 3 else [c for c in a.conditions if c != 'z']   # 2D: no z
    call(pheno.initialize_model, n_latent_dim=a.n_latent_dim, n_dense_dim=a.n_dense_dim, conditions=conditions, input_shape=(32, 32, n_channels), **extra)
    t0 = time.time()
    history = call(pheno.train, n_epochs=a.epochs, verbose=0, plot=False)
    return pheno, sdata, history, time.time() - t0


def run_one(generator:str, seed:int, a, work:Path)->dict:
    "The whole workflow on one generator and seed; its scores."
    from phenocoder.evaluation import phenotype_recovery, batch_mixing, cluster_agreement, pixel_pca_baseline, composition_recovery
    from synthetic_tissue import cut_patches
    pheno, sdata, history, t_train = train_workflow(generator, seed, a, work)
    table = sdata.tables['nuclei_features']
    latents = call(pheno.encode, **(dict(harmonize=a.harmonize) if a.harmonize else {}))
    if latents is None: latents = pheno.sdata.tables['phenocoder']
    rec = phenotype_recovery(latents, 'phenotype', seed=seed, umap_kmeans=True)
    mix = batch_mixing(latents, 'batch', 'phenotype')
    raw = 'z_mean' if 'z_mean' in latents.obsm else None
    rec_raw = phenotype_recovery(latents, 'phenotype', seed=seed, use_rep=raw)
    mix_raw = batch_mixing(latents, 'batch', 'phenotype', use_rep=raw)
    pix = pixel_pca_baseline(cut_patches(sdata), table.obs['phenotype'].to_numpy(), seed=seed)
    leiden(latents, seed)
    le = cluster_agreement(latents.obs['phenotype'], latents.obs['leiden'])
    comp = composition_recovery(latents, 'phenotype', 'leiden', 'batch')['max_error']
    settings = dict(SETTINGS[generator], **(dict(min_obs_per_subunit=5) if a.quick else {}))
    arch, bsub, n_sub = subcube_scores(pheno, 'leiden', settings)
    more = {}
    for r in a.more_resolutions:                  # the same latents clustered at other resolutions: Leiden and sub-cube scores
        leiden(latents, seed, r, key='leiden_more')
        le_r = cluster_agreement(latents.obs['phenotype'], latents.obs['leiden_more'])
        arch_r, bsub_r, _ = subcube_scores(pheno, 'leiden_more', settings)
        more.update({f'leiden_ari_r{r:g}': le_r['ari'], f'n_leiden_r{r:g}': le_r['n_clusters'], f'arch_acc_r{r:g}': arch_r, f'batch_sub_acc_r{r:g}': bsub_r})
    latents.obs['phenotype'] = latents.obs['phenotype'].astype('category')
    carch, cbsub, _ = subcube_scores(pheno, 'phenotype', settings)
    epochs = len(history['loss']) if isinstance(history, dict) and 'loss' in history else float('nan')
    return dict(generator=generator, seed=seed, n_objects=int(table.n_obs), ari=rec['kmeans_ari'], ari_umap=rec['umap_kmeans_ari'], pixel_ari=pix['best_ari'],
                leiden_ari=le['ari'], n_leiden=le['n_clusters'], knn_acc=rec['knn_accuracy'], batch_acc=mix['accuracy'], batch_chance=mix['chance'], ilisi=mix['ilisi_scaled'], comp_err=comp,
                ari_raw=rec_raw['kmeans_ari'], knn_acc_raw=rec_raw['knn_accuracy'], batch_acc_raw=mix_raw['accuracy'],
                arch_acc=arch, batch_sub_acc=bsub, ceil_arch_acc=carch, ceil_batch_acc=cbsub, n_subcubes=n_sub,
                epochs=epochs, train_s=round(t_train, 1), **more)


def summarise(rows:pd.DataFrame)->pd.DataFrame:
    "Min and median over seeds of every score, per generator, and whether the issue's targets hold."
    cols = ['ari', 'ari_umap', 'pixel_ari', 'leiden_ari', 'n_leiden', 'knn_acc', 'batch_acc', 'batch_chance', 'comp_err', 'ilisi', 'ari_raw', 'knn_acc_raw', 'batch_acc_raw', 'arch_acc', 'batch_sub_acc', 'ceil_arch_acc',
            'ceil_batch_acc', 'epochs', 'train_s']
    cols += [c for c in rows.columns if '_r' in c and c not in cols]          # --more-resolutions
    s = rows.groupby('generator')[cols].agg(['min', 'median']).T
    s.loc[('ari_minus_pixel', 'min'), :] = (rows['ari'] - rows['pixel_ari']).groupby(rows['generator']).min()
    return s


def targets(rows:pd.DataFrame)->dict:
    "Whether each target of the issue holds for the worst seed, per generator."
    out = {}
    for g, r in rows.groupby('generator'):
        t = {k: bool(r[k].min() >= v) if op == '>=' else bool(r[k].max() <= v) for k, (op, v) in TARGETS.items()}
        # batch mixing against what perfect mixing gives: the 0.60 is chance (0.5 with equal batches) + 0.10
        t['batch_acc'] = bool((r['batch_acc'] - r['batch_chance']).max() <= TARGETS['batch_acc'][1] - 0.5)
        if (r['ceil_batch_acc'] > TARGETS['batch_sub_acc'][1]).any(): del t['batch_sub_acc']   # the true phenotypes tell the batches apart
        t['ari >= pixel_ari + 0.1'] = bool((r['ari'] - r['pixel_ari']).min() >= 0.1)
        out[g] = t
    return out


def parse_args(argv=None):
    "The options (the defaults for `argv=[]`), lists parsed."
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', default='0,1,2,3,4')
    ap.add_argument('--generators', default='bundled,tissue,shifted')
    ap.add_argument('--epochs', type=int, default=60, help="maximum epochs (the tutorial's 60; early stopping may end sooner)")
    ap.add_argument('--conditions', default='z,batch', help="comma-separated conditions ('' for a plain CVAE)")
    ap.add_argument('--harmonize', default='batch', help="encode(harmonize=...): the technical batch column ('' for none)")
    ap.add_argument('--conditioning', default=None, help="'mmd', 'decoder' or 'concat' (default: the package's)")
    ap.add_argument('--mmd-weight', type=float, default=None, help="weight of the MMD penalty (default: the package's)")
    ap.add_argument('--n-dense-dim', type=int, default=256, help="size of the dense layer (the tutorial's 256)")
    ap.add_argument('--n-latent-dim', type=int, default=16, help="size of the latent space (the tutorial's 16)")
    ap.add_argument('--conv-layers', default=None, help="filters of the strided convolutions, e.g. 16,32,64,128,256 (default: the package's)")
    ap.add_argument('--batch-size', type=int, default=None, help="training batch size (default: the package's, 64)")
    ap.add_argument('--beta', type=float, default=None, help="weight of the KL term (default: the package's)")
    ap.add_argument('--center-sigma', default=None, help="centre weighting of the reconstruction loss: a number, 'auto' or 'none' (default: the package's)")
    ap.add_argument('--align', default=None, help="generate_dataset(align=...): 'axis' (turned to the objects' axes), 'axis+size' (turned and scaled to one size) or 'none' (as they lie) (default: the package's, as they lie)")
    ap.add_argument('--more-resolutions', default='', help="also score Leiden (and the sub-cube embedding from it) at these resolutions, e.g. 0.3")
    ap.add_argument('--out', default=None, help='write rows, summary and targets as JSON here')
    ap.add_argument('--quick', action='store_true', help='smoke run: seed 0, 2 epochs, a small tissue only')
    a = ap.parse_args(argv)
    if a.quick: a.seeds, a.generators, a.epochs = '0', 'tissue', 2
    a.conditions = [c for c in a.conditions.split(',') if c]
    a.more_resolutions = [float(r) for r in a.more_resolutions.split(',') if r]
    return a


def main():
    a = parse_args()
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    warnings.filterwarnings('ignore', message='.*zarr v3 autosharding.*')
    rows = []
    with tempfile.TemporaryDirectory(prefix='phenocoder_quality_') as tmp:
        for g in a.generators.split(','):
            for s in (int(x) for x in a.seeds.split(',')):
                t0 = time.time()
                rows.append(run_one(g, s, a, Path(tmp)))
                print(f"{g} seed {s} ({time.time() - t0:.0f} s): " + ', '.join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items() if k not in ('generator', 'seed')), flush=True)
    rows = pd.DataFrame(rows)
    summary, ok = summarise(rows), targets(rows)
    print(f"\nconditions {a.conditions}, harmonize {a.harmonize!r}, {a.epochs} epochs max, seeds {a.seeds}\n" + summary.round(3).to_string())
    print('\ntargets met (worst seed):\n' + pd.DataFrame(ok).to_string())
    if a.out:
        out = Path(a.out); tmp = out.with_name(out.name + '.tmp')
        tmp.write_text(json.dumps(dict(args={k: v for k, v in vars(a).items() if k not in ('out', 'quick')},
                                       rows=rows.to_dict('records'),
                                       summary={f'{k[0]}_{k[1]}': v for k, v in summary.to_dict('index').items()},
                                       targets=ok), indent=1, default=float))
        os.replace(tmp, out)
        print(f'wrote {out}')


if __name__ == '__main__':
    main()
