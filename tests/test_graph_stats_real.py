"Spatial graph statistics on the real 3D data: agreement with squidpy on a real sample, subunits on all samples."
import warnings
import numpy as np
import pandas as pd
import pytest
import anndata as ad
from conftest import REAL_3D
from phenocoder.core import radius_graph
from phenocoder.graph_stats import spatialgraph_stats, CENTRALITY_SCORES

FEATURES = ['area', 'eccentricity', 'intensity_mean-0', 'intensity_mean-1', 'intensity_mean-2', 'intensity_mean-3',
            'major_axis_length', 'minor_axis_length']

@pytest.fixture(scope='module')
def nuclei():
    "Per-nucleus table of the real data from its per-slice CSVs (mean over slices), labelled by 6 area x intensity bins."
    if not (REAL_3D / 'tables').is_dir(): pytest.skip(f"real 3D data not found at {REAL_3D}")
    real = REAL_3D
    frames = [pd.read_csv(f) for f in sorted((real / 'tables').glob('*.csv'))]
    df = pd.concat([f for f in frames if len(f)]).groupby(['well', 'label']).mean(numeric_only=True).reset_index()
    lab = pd.qcut(df['area'], 3, labels=False).astype(str) + '_' + pd.qcut(df['intensity_mean-0'], 2, labels=False).astype(str)
    obs = pd.DataFrame({'well': pd.Categorical(df['well']), 'cl': pd.Categorical(lab)}, index=(df['well'] + '_' + df['label'].astype(str)).values)
    xyz = np.c_[df['centroid-0'] * 0.322, df['centroid-1'] * 0.322, (df['z_stack'] - 1) * 10]
    return ad.AnnData(df[FEATURES].to_numpy(float), obs=obs, var=pd.DataFrame(index=FEATURES), obsm={'spatial': xyz})

def test_real_counts(nuclei):
    assert nuclei.n_obs == 11_947
    assert nuclei.obs.well.value_counts().to_dict() == {'H03': 5568, 'A06': 4959, 'G04': 1420}

@pytest.mark.parametrize('radius', [25, 50])
def test_agrees_with_squidpy_on_real_sample(nuclei, radius):
    sq = pytest.importorskip('squidpy')
    a = nuclei[nuclei.obs.well == 'G04'].copy()
    ours = spatialgraph_stats(a, 'cl', sample_key='well', radii=(radius,), progress=False).to_df().loc['G04']
    a.obsp['spatial_connectivities'] = radius_graph(a.obsm['spatial'], radius)
    cats, p = list(a.obs.cl.cat.categories), f'radius:{radius}_stat:'
    for norm, t in ((False, ''), (True, '_norm')):
        m = sq.gr.interaction_matrix(a, 'cl', normalized=norm, copy=True)
        mine = np.array([[ours[f'{p}interactions_interaction{t}_{x}_{y}'] for y in cats] for x in cats])
        np.testing.assert_allclose(mine, m, atol=1e-12)
    cen = sq.gr.centrality_scores(a, 'cl', copy=True, n_jobs=1)
    mine = np.array([[ours[f'{p}centrality_centrality_{x}_{s}'] for s in CENTRALITY_SCORES] for x in cats])
    np.testing.assert_allclose(mine, cen.loc[cats, list(CENTRALITY_SCORES)].values, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        mor = sq.gr.spatial_autocorr(a, mode='moran', n_perms=None, copy=True)['I']
    np.testing.assert_allclose([ours[f'{p}moran_features_moranI_{v}'] for v in FEATURES], mor[FEATURES].values, atol=1e-12)

def test_subunits_on_all_real_samples(nuclei):
    res = spatialgraph_stats(nuclei, 'cl', sample_key='well', radii=(25, 50), use_subunits=True, dim_subunit=(200, 200, 200),
                             min_obs_per_subunit=50, max_obs_per_subunit=300, progress=False)
    assert res.n_obs > 20 and set(res.obs.well) == {'A06', 'G04', 'H03'}
    assert res.obs.subunit_n_obs.between(50, 300).all()
    assert np.isfinite(res.X).all() and (res.X[:, res.var_names.str.contains('n_obs_chull')] >= 0).all()
