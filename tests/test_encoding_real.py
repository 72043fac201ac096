"encode on the real 3D data (one well, read lazily): every object gets a latent, border objects included; deterministic; message passing per well."
import numpy as np
import spatialdata
from phenocoder.data import read_zstacks
from phenocoder.patches import generate_dataset
from phenocoder.cvae import CVAE
from phenocoder.encoding import encode, spatial_message_passing


def test_real_well_encode(real_3d, tmp_path):
    sd = read_zstacks(real_3d, samples=['G04'], progress=False)
    t = sd.tables['nuclei_features']
    ds = generate_dataset(sd, 'g04', tmp_path, patch_size=(32, 32), n_patches=300, progress=False)
    model = CVAE(input_shape=(32, 32, 4), n_latent_dim=8, n_dense_dim=16, conv_layers=(8, 16), seed=0)
    lat = encode(sd, model, ds.meta, spatial_message_passing_radius=50, progress=False)
    assert lat.n_obs == t.n_obs == 1420 and (lat.obs_names == t.obs_names).all()
    assert list(lat.var_names) == [f'phc_latent_{i}' for i in range(1, 9)] and np.isfinite(lat.X).all()
    # objects closer than half a patch to the image border (the original dropped them) have latents too
    yx, (h, w) = t.obsm['spatial_index'][:, :2], sd.images['IF_G04'].shape[-2:]
    border = (yx.min(1) < 16) | (yx[:, 0] + 16 > h) | (yx[:, 1] + 16 > w)
    assert border.sum() > 0 and np.isfinite(lat.X[border]).all()
    # the 300 training patches give the same latents as encode (same cutting and scaling)
    np.testing.assert_allclose(lat[ds.table.id.to_numpy()].X, model.encoder.predict(ds.patches[:], verbose=0)[0], atol=1e-5)
    np.testing.assert_array_equal(encode(sd, model, ds.meta, key_added=None, progress=False).X, lat.X)
    ref = spatial_message_passing(lat, 50, sample_key='well', copy=True).layers['spatial_message_passing']
    np.testing.assert_allclose(lat.layers['spatial_message_passing'], ref)
    assert lat.uns['spatialdata_attrs'] == t.uns['spatialdata_attrs']     # annotates the same labels
    # the latent table round-trips through zarr (with the labels it annotates)
    spatialdata.SpatialData(labels={'nuclei_G04': sd.labels['nuclei_G04']}, tables={'phenocoder': lat}).write(tmp_path / 'lat.zarr')
    back = spatialdata.read_zarr(tmp_path / 'lat.zarr').tables['phenocoder']
    np.testing.assert_array_equal(back.X, lat.X)
    np.testing.assert_array_equal(back.layers['spatial_message_passing'], lat.layers['spatial_message_passing'])
