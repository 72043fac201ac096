"""The end-to-end tutorial, executed with papermill as a user would: on the bundled data at its defaults (with the quality
floors CI checks), on the real data, and on a user's own 2D SpatialData store with other key names (short settings)."""
import json, sys
import papermill as pm
import pytest
import spatialdata
from conftest import ROOT

sys.path.insert(0, str(ROOT / 'tools'))
from check_scores import check, FLOORS

TUTORIAL = ROOT/'nbs'/'10_tutorial.ipynb'

def run_tutorial(out, **params):
    "Execute the tutorial into `out`; returns the scores it wrote and the SpatialData it saved."
    pm.execute_notebook(str(TUTORIAL), str(out/'tutorial.ipynb'), cwd=str(ROOT/'nbs'), kernel_name='python3',
                        parameters=dict(output_dir=str(out), **params), progress_bar=False)
    return json.loads((out/'scores.json').read_text()), spatialdata.read_zarr(out/'sdata.zarr')

def check_outputs(scores, sd, table_key='nuclei_features'):
    src, lat = sd.tables[table_key], sd.tables['phenocoder']
    assert lat.n_obs == src.n_obs, "every object gets a latent"
    assert list(lat.obs_names) == list(src.obs_names)
    assert lat.var_names[0] == 'phc_latent_1' and 'spatial_message_passing' in lat.layers
    assert lat.uns['spatialdata_attrs']['instance_key'] == src.uns['spatialdata_attrs']['instance_key']
    assert scores['total_seconds'] > 0

def test_papermill_reads_every_parameter(caplog):
    "Every knob of the parameters cell is one papermill can read (`papermill --help-notebook` lists it; no parse warning)."
    import ast, logging
    nb = json.loads(TUTORIAL.read_text())
    cell = next(c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', []))
    names = [t.id for node in ast.parse(''.join(cell['source'])).body if isinstance(node, ast.Assign) for t in node.targets]
    with caplog.at_level(logging.WARNING, logger='papermill'):
        found = pm.inspect_notebook(str(TUTORIAL))
    assert not [r.getMessage() for r in caplog.records if 'Unable to parse' in r.getMessage()]
    assert names and sorted(found) == sorted(names), set(names) ^ set(found)

def test_quality_floors_can_fail():
    good = {"ARI k-means latents": 0.9, "ARI k-means pixel PCA (best of 4-50 PCs)": 0.8, "batch kNN accuracy within phenotype": 0.55,
            "batch kNN accuracy within phenotype, not conditioned on batch": 0.9,
            "leave-one-sample-out accuracy architecture": 0.6, "leave-one-sample-out accuracy batch": 0.1,
            "batch kNN accuracy within phenotype, before harmonization": 0.6, "ARI k-means latents, before harmonization": 0.92,
            "phenotype kNN accuracy latents": 0.99, "ARI k-means latents' graph embedding": 0.99}
    assert check(good) == []
    assert len(check({**good, "phenotype kNN accuracy latents": 0.9})) == 1          # the latents lost phenotype information
    assert len(check({**good, "ARI k-means latents' graph embedding": 0.9})) == 1    # phenotypes no longer one connected group each
    assert len(check({**good, "batch kNN accuracy within phenotype": 0.95})) == 3      # not mixed, no better than without, worse than before harmonizing
    assert check({k: v for k, v in good.items() if 'architecture' not in k})[0].endswith("missing)")
    assert len(check({**good, "ARI k-means latents": 0.79})) == 3                    # below pixel PCA, below 0.85, 0.13 below before harmonizing
    assert len(check({**good, "batch kNN accuracy within phenotype, before harmonization": 0.5})) == 1   # harmonizing mixed less
    assert len(check({**good, "ARI k-means latents, before harmonization": 0.97})) == 1                 # ... or lost phenotypes
    assert check({k: v for k, v in good.items() if 'before harmonization' not in k})[0].endswith("missing)")   # not harmonized

def test_tutorial_on_bundled_data(tmp_path):
    scores, sd = run_tutorial(tmp_path)                     # the defaults, as the README runs it
    check_outputs(scores, sd)
    assert 'latents_z_only' in sd.tables                    # the model not conditioned on the batch, for contrast
    lat = sd.tables['phenocoder']                           # harmonized over the batch: the model's own latents kept beside
    assert lat.obsm['z_mean'].shape == lat.shape and list(lat.uns['harmonize']['keys']) == ['batch']
    assert (tmp_path / 'sample_stats.h5ad').is_file() and (tmp_path / 'subunit_stats.h5ad').is_file()
    assert check(scores) == [], check(scores)

def test_tutorial_on_real_data(tmp_path, real_3d):
    scores, sd = run_tutorial(tmp_path, data_dir=str(real_3d), n_epochs=1, dim_subunit=[200, 200, 200], min_obs_per_subunit=50)
    check_outputs(scores, sd)
    assert sd.tables['phenocoder'].n_obs == 11947

def test_tutorial_on_own_2d_store(tmp_path):
    "A SpatialData zarr store of 2D images, 2 channels, its own table, sample and batch names: the tutorial runs on it unchanged."
    sys.path.insert(0, str(ROOT / 'benchmarks'))
    from synthetic_cells import make_cells
    sd = make_cells(seed=7, n_samples=6, n_per_sample=60, size=160)
    t = sd.tables.pop('nuclei_features')
    t.obs = t.obs.rename(columns={'well': 'sample', 'batch': 'plate'})
    sd.tables['cells'] = t
    sd.write(tmp_path / 'mine.zarr')
    out = tmp_path / 'run'; out.mkdir()
    scores, res = run_tutorial(out, data_dir=str(tmp_path / 'mine.zarr'), table_key='cells', sample_key='sample', batch_key='plate',
                               n_epochs=2, radius_mp=15, radii='12,24', dim_subunit='[60, 60]', min_obs_per_subunit=10)
    check_outputs(scores, res, table_key='cells')
    cfg = json.loads((out/'phenocoder'/'models'/'condcvae'/'config.json').read_text())
    assert cfg['conditions'] == ['plate']                   # 2D: nothing to condition on but the batch
    assert 'z_only' in {p.name for p in (out/'phenocoder'/'models').iterdir()}
    assert {'ARI k-means latents', 'batch kNN accuracy within phenotype', 'leave-one-sample-out accuracy plate'} <= set(scores)
