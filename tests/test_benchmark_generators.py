"The benchmarks' third synthetic generator (2D cells): a well-formed SpatialData whose planted truth the package's path reads back."
import sys
from pathlib import Path
import numpy as np, pytest

sys.path.insert(0, str(Path(__file__).parents[1] / 'benchmarks'))


@pytest.fixture(scope='module')
def cells():
    from synthetic_cells import make_cells
    return make_cells(seed=3, n_samples=6, n_per_sample=40, size=128)


def test_cells_generator(cells):
    from synthetic_cells import make_cells, PHENOTYPES
    t = cells.tables['nuclei_features']
    assert sorted(cells.images) == [f'IF_W{k:02d}' for k in range(6)] and sorted(cells.labels) == [f'nuclei_W{k:02d}' for k in range(6)]
    img = cells.images['IF_W00']
    assert img.dims == ('c', 'y', 'x') and img.dtype == np.uint16 and list(img.coords['c'].values) == ['nucleus', 'membrane']
    assert set(t.obs['phenotype']) == set(PHENOTYPES) and t.obs['batch'].nunique() == 3 and t.obs['architecture'].nunique() == 2
    assert (t.obs.groupby('well', observed=True).size() >= 30).all()
    # every object's label id is in its labels element, and nearly all centres lie on the object itself
    on = []
    for w in t.obs['well'].cat.categories:
        rows = (t.obs['well'] == w).to_numpy()
        lab = np.asarray(cells.labels[f'nuclei_{w}'].data)
        ids = t.obs['label'].to_numpy()[rows]
        assert set(ids) <= set(np.unique(lab)) and len(set(ids)) == len(ids)
        y, x = t.obsm['spatial_index'][rows].T
        on.append(lab[y, x] == ids)
    assert np.concatenate(on).mean() > 0.95
    np.testing.assert_allclose(t.obsm['spatial'], t.obsm['spatial_index'] * 0.65)
    # the same seed gives the same data; another seed other data
    again = make_cells(seed=3, n_samples=6, n_per_sample=40, size=128)
    np.testing.assert_array_equal(np.asarray(again.images['IF_W04'].data), np.asarray(cells.images['IF_W04'].data))
    other = make_cells(seed=4, n_samples=6, n_per_sample=40, size=128)
    assert not np.array_equal(np.asarray(other.images['IF_W04'].data), np.asarray(cells.images['IF_W04'].data))
    with pytest.raises(ValueError, match='n_samples=4'): make_cells(n_samples=4)


def test_cells_patches(cells, tmp_path):
    "The package cuts 2D patches from it, in the table's objects; the benchmark's own pixel cut agrees on the centres."
    from phenocoder import Phenocoder
    from phenocoder.patches import load_dataset
    from synthetic_tissue import cut_patches
    pheno = Phenocoder(table_key='nuclei_features', sample_key='well', image_key='IF')
    pheno.add_sdata(cells)
    pheno.generate_dataset(dataset='c', dir_dataset=tmp_path, patch_size=(32, 32), spatial_key_index='spatial_index',
                           metadata_keys=['batch'], progress=False)
    ds = load_dataset(tmp_path, 'c')
    t = cells.tables['nuclei_features']
    assert ds.patches.shape == (t.n_obs, 32, 32, 2) and set(ds.table['id']) == set(t.obs_names)
    assert ds.table['z'].nunique() == 1                      # 2D: one slice
    px = cut_patches(cells)
    assert px.shape == (t.n_obs, 32, 32, 2) and 0 <= px.min() and px.max() <= 1
    # the centre pixel of each object is brighter in the nucleus channel than the patch's corners, in both cuts
    order = t.obs_names.get_indexer(ds.table['id'].astype(str))
    mine = np.asarray(ds.patches[:])
    assert (mine[:, 16, 16, 0] > mine[:, :4, :4, 0].mean((1, 2))).mean() > 0.9
    assert (px[order, 16, 16, 0] > px[order, :4, :4, 0].mean((1, 2))).mean() > 0.9
