"The end-to-end tutorial, executed with papermill as a user would (short settings), on the bundled and on the real data."
import json
import papermill as pm
import pytest
import spatialdata
from conftest import ROOT

TUTORIAL = ROOT/'nbs'/'10_tutorial.ipynb'

def run_tutorial(out, **params):
    "Execute the tutorial into `out`; returns the scores it wrote and the SpatialData it saved."
    pm.execute_notebook(str(TUTORIAL), str(out/'tutorial.ipynb'), cwd=str(ROOT/'nbs'), kernel_name='python3',
                        parameters=dict(output_dir=str(out), **params), progress_bar=False)
    return json.loads((out/'scores.json').read_text()), spatialdata.read_zarr(out/'sdata.zarr')

def check_outputs(scores, sd):
    src, lat = sd.tables['nuclei_features'], sd.tables['phenocoder']
    assert lat.n_obs == src.n_obs, "every object gets a latent"
    assert list(lat.obs_names) == list(src.obs_names)
    assert lat.var_names[0] == 'phc_latent_1' and 'spatial_message_passing' in lat.layers
    assert lat.uns['spatialdata_attrs']['instance_key'] == src.uns['spatialdata_attrs']['instance_key']
    assert scores['total_seconds'] > 0

def test_tutorial_on_bundled_data(tmp_path):
    scores, sd = run_tutorial(tmp_path, n_epochs=3)
    check_outputs(scores, sd)
    for k in ('ARI k-means latents', 'ARI k-means pixel PCA (best of 4-50 PCs)', 'silhouette architecture'): assert k in scores

def test_tutorial_on_real_data(tmp_path, real_3d):
    scores, sd = run_tutorial(tmp_path, data_dir=str(real_3d), n_epochs=1, dim_subunit=[200, 200, 200], min_obs_per_subunit=50)
    check_outputs(scores, sd)
    assert sd.tables['phenocoder'].n_obs == 11947
