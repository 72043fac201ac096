"generate_dataset on the real 3D data (one well, read lazily with read_zstacks): every object kept, exact patches and statistics."
import numpy as np, pytest
from phenocoder.data import read_zstacks
from phenocoder.patches import generate_dataset, load_dataset, sample_patches


def test_real_well_dataset(real_3d, tmp_path):
    sd = read_zstacks(real_3d, samples=['G04'], progress=False)
    with pytest.warns(UserWarning, match="empty scaling range"):
        ds = generate_dataset(sd, 'g04', tmp_path, patch_size=(32, 32), progress=False)
    t = sd.tables['nuclei_features']
    assert len(ds) == t.n_obs == 1420                                # border objects are kept (padded), none dropped
    assert set(ds.table.id) == set(t.obs_names)
    assert ds.patches.shape == (1420, 32, 32, 4) and ds.patches.chunks[1:] == (32, 32, 4)
    assert ds.meta['complete'] and ds.meta['channels'] == ['C01', 'C02', 'C03', 'C04']
    assert len(ds.stats) == 4 * 52 and (ds.stats.low <= ds.stats.high).all()
    # statistics of one slice against numpy
    img = sd.images['IF_G04']
    sl = img.data[2, 20].compute().astype(float)
    row = ds.stats.query("channel == 'C03' and z == 20").iloc[0]
    np.testing.assert_allclose(row[['mean', 'std', 'median', 'min', 'max', 'low', 'high']].to_numpy(float),
                               [sl.mean(), sl.std(), np.median(sl), sl.min(), sl.max(), np.percentile(sl, 1), np.percentile(sl, 99)])
    # an interior patch against a hand cut, scaled with the recorded range
    r = ds.table[(ds.table.y > 20) & (ds.table.y < 900) & (ds.table.x > 20) & (ds.table.x < 900)].iloc[0]
    lo, hi = (np.array(ds.meta['ranges']['G04'][k]) for k in ('low', 'high'))
    raw = img.data[:, r.z, r.y - 16:r.y + 16, r.x - 16:r.x + 16].compute().transpose(1, 2, 0).astype(np.float32)
    i = int(np.flatnonzero(ds.table.id.to_numpy() == r.id)[0])
    span = np.where(hi > lo, hi - lo, np.inf)                       # a flat range (C03 of G04: 1st = 99th percentile) maps to 0
    np.testing.assert_allclose(ds.patches[i], np.clip((raw - lo) / span, 0, 1), atol=1e-6)
    # encoding's path gives the stored patches back
    again = load_dataset(tmp_path, 'g04')
    ids = again.table.id[:50].tolist()
    np.testing.assert_array_equal(sample_patches(sd, 'G04', ids, again.meta), again.patches[:50])


def test_real_masks(real_3d, tmp_path):
    """Object masks on one real well: ids checked, off-centre nuclei counted and warned about once, masks reproduced by encode's path;
    the patches turned to their nuclei's axes (align='axis') and centred on them."""
    from phenocoder.data import check_objects
    sd = read_zstacks(real_3d, samples=['H03'], progress=False)
    check_objects(sd, labels_key='nuclei')                          # every id occurs in its labels element
    with pytest.warns(UserWarning) as rec:
        ds = generate_dataset(sd, 'm', tmp_path, patch_size=(32, 32), mask='channel', mask_dilation=1, align='axis', progress=False)
    msgs = [str(w.message) for w in rec if 'do not carry their own id' in str(w.message)]
    assert len(msgs) == 1 and msgs[0].startswith("345 of 5568 objects of sample 'H03'")   # 6.2% of this well (measured)
    assert ds.patches.shape == (5568, 32, 32, 5) and ds.meta['input_channels'][-1] == 'mask'
    m = ds.patches[:][..., 4]
    assert set(np.unique(m)) <= {0.0, 1.0} and (m[:, 16, 16] == 1).mean() > 0.9      # the centre is almost always on the object
    assert ds.meta['align'] == 'axis'
    # each mask's centroid at the patch centre and its major axis along x (where the nucleus is elongated and whole in the patch)
    Y, X = np.mgrid[0:32, 0:32]
    s = m.sum((1, 2)); ok = (s > 20) & (m[:, [0, -1], :].sum((1, 2)) + m[:, :, [0, -1]].sum((1, 2)) == 0)
    cy, cx = (m * Y).sum((1, 2)) / np.maximum(s, 1), (m * X).sum((1, 2)) / np.maximum(s, 1)
    syy, sxx = (m * (Y - cy[:, None, None]) ** 2).sum((1, 2)) / np.maximum(s, 1), (m * (X - cx[:, None, None]) ** 2).sum((1, 2)) / np.maximum(s, 1)
    sxy = (m * (Y - cy[:, None, None]) * (X - cx[:, None, None])).sum((1, 2)) / np.maximum(s, 1)
    ang = np.degrees(0.5 * np.arctan2(2 * sxy, sxx - syy))
    lam = np.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2); elong = ((sxx + syy) / 2 + lam) / np.maximum((sxx + syy) / 2 - lam, 1e-9)
    assert ok.sum() > 3000
    assert np.median(np.hypot(cy - 16, cx - 16)[ok]) < 0.5                    # centred (to the mask's pixels, after turning)
    assert (np.abs(ang[ok & (elong > 1.5)]) < 10).mean() > 0.95                # elongated nuclei lie along x
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(sample_patches(sd, 'H03', ds.table.id.tolist(), ds.meta)[:40], ds.patches[:40])


def test_real_sizes(real_3d, tmp_path):
    """Patches turned and scaled towards one size (align='axis+size') on one real well: each whole nucleus's rms radius r
    becomes sqrt(r x ALIGN_SIZE x side), so the spread of sizes is halved (in log); encode's path cuts the same patches."""
    from phenocoder.patches import ALIGN_SIZE
    sd = read_zstacks(real_3d, samples=['H03'], progress=False)
    with pytest.warns(UserWarning):
        ds = generate_dataset(sd, 's', tmp_path, patch_size=(32, 32), mask='channel', align='axis+size', progress=False)
        plain = generate_dataset(sd, 'p', tmp_path, patch_size=(32, 32), mask='channel', progress=False)
    assert ds.meta['align'] == 'axis+size' and 'scaled towards one size' in repr(ds)
    def radii(m):
        "rms radius of each mask, and whether it is whole in its patch."
        Y, X = np.mgrid[0:32, 0:32]; s = m.sum((1, 2))
        cy, cx = (m * Y).sum((1, 2)) / np.maximum(s, 1), (m * X).sum((1, 2)) / np.maximum(s, 1)
        r = np.sqrt((m * ((Y - cy[:, None, None]) ** 2 + (X - cx[:, None, None]) ** 2)).sum((1, 2)) / np.maximum(s, 1))
        return r, (s > 20) & (m[:, [0, -1], :].sum((1, 2)) + m[:, :, [0, -1]].sum((1, 2)) == 0)
    (r, ok), (r0, ok0) = radii(ds.patches[:][..., 4]), radii(plain.patches[:][..., 4])
    both = ok & ok0
    assert both.sum() > 3000
    assert abs(np.median(r[both]) / np.sqrt(np.median(r0[both]) * ALIGN_SIZE * 32) - 1) < 0.03   # measured: 3.64 px from 2.96
    iqr = lambda v: np.subtract(*np.percentile(np.log(v), [75, 25]))
    assert 0.4 < iqr(r[both]) / iqr(r0[both]) < 0.6                           # size differences halved (measured: 0.49)
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(sample_patches(sd, 'H03', ds.table.id.tolist(), ds.meta)[:40], ds.patches[:40])
        # the plain dataset was cut from the windows its statistics pass kept (the image read once); encode's path reads
        # the image again: the same patches, masks included
        np.testing.assert_array_equal(sample_patches(sd, 'H03', plain.table.id.tolist(), plain.meta), plain.patches[:])
