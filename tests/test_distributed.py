"Per-sample stages on a dask.distributed LocalCluster (2 worker processes): the same results as the serial path, clear errors."
import os, signal, subprocess, sys, time, zlib
from pathlib import Path
import numpy as np, pytest

distributed = pytest.importorskip('distributed')
from phenocoder.data import example_3d
from phenocoder.patches import generate_dataset
from phenocoder.store import load_dataset, list_datasets


@pytest.fixture(scope='module')
def client():
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope='module')
def sdata(tmp_path_factory):
    "The bundled example, written to zarr and read back (workers read its images from the store)."
    import spatialdata
    path = tmp_path_factory.mktemp('sd') / 'example.zarr'
    example_3d().write(path)
    return spatialdata.read_zarr(path)


def crcs(folder):
    "CRC-32 of every file of a dataset's patch store."
    return {p.relative_to(folder).as_posix(): zlib.crc32(p.read_bytes()) for p in sorted((folder / 'patches.zarr').rglob('*')) if p.is_file()}


def test_generate_dataset_same_as_serial(client, sdata, tmp_path):
    kw = dict(patch_size=(16, 16), chunk_size=37, progress=False)       # 37: chunks shared by neighbouring samples
    ser = generate_dataset(sdata, 'ser', tmp_path, **kw)
    dist = generate_dataset(sdata, 'dist', tmp_path, client=client, **kw)
    np.testing.assert_array_equal(ser.patches[:], dist.patches[:])
    assert crcs(ser.path) == crcs(dist.path)                            # chunk for chunk the same bytes
    assert ser.table.equals(dist.table.assign(dataset='ser')) and ser.stats.equals(dist.stats)
    assert {k: v for k, v in ser.meta.items() if k not in ('dataset', 'uid', 'files')} == \
           {k: v for k, v in dist.meta.items() if k not in ('dataset', 'uid', 'files')}
    masked = dict(kw, mask='object', n_patches=300, scale_per_sample=False)
    a, b = (generate_dataset(sdata, n, tmp_path, client=c, **masked) for n, c in (('m1', None), ('m2', 'active')))
    np.testing.assert_array_equal(a.patches[:], b.patches[:])
    for align in ('axis', 'axis+size'):                                  # workers read the labels to turn (and scale) the patches too
        turned = dict(kw, align=align, n_patches=300)
        a, b = (generate_dataset(sdata, n, tmp_path, client=c, **turned) for n, c in (('t1', None), ('t2', client)))
        assert a.meta['align'] == b.meta['align'] == align
        np.testing.assert_array_equal(a.patches[:], b.patches[:])


def test_runs_of_samples_same_as_serial(client, sdata, tmp_path, monkeypatch):
    "Tasks of two consecutive samples each (one run per worker): the same bytes, the same statistics."
    import phenocoder.patches as pp
    from phenocoder.distributed import task_groups
    seen = []
    def one_per_thread(sizes, n_threads): seen.append(r := task_groups(sizes, n_threads, per_thread=1)); return r
    monkeypatch.setattr(pp, 'task_groups', one_per_thread)
    monkeypatch.setattr(pp, 'split_large', lambda bounds, breaks, share: list(zip(bounds[:-1], bounds[1:])))   # whole samples
    kw = dict(patch_size=(16, 16), chunk_size=37, progress=False)
    ser, dist = generate_dataset(sdata, 'ser', tmp_path, **kw), generate_dataset(sdata, 'runs', tmp_path, client=client, **kw)
    assert seen == [[(0, 2), (2, 4)]]                                   # one round: each task computes its samples' statistics as it cuts them
    assert crcs(ser.path) == crcs(dist.path) and ser.stats.equals(dist.stats) and ser.meta['ranges'] == dist.meta['ranges']
    glob = dict(kw, scale_per_sample=False)                              # one range for all samples: statistics first, then patches
    ser, dist = generate_dataset(sdata, 'ser', tmp_path, **glob), generate_dataset(sdata, 'runs', tmp_path, client=client, **glob)
    assert seen[1:] == [[(0, 2), (2, 4)]] * 2
    assert crcs(ser.path) == crcs(dist.path) and ser.stats.equals(dist.stats) and ser.meta['ranges'] == dist.meta['ranges']


def test_split_and_whole_samples_same_as_serial(client, sdata, tmp_path, monkeypatch):
    "The first sample cut in blocks of z-slices (its statistics computed first), the others whole (statistics as they are cut)."
    import phenocoder.patches as pp
    calls = []
    def split_first(bounds, breaks, share):
        calls.append(len(bounds) - 1)
        (a, b), rest = (whole := list(zip(bounds[:-1], bounds[1:])))[0], whole[1:]
        cuts = [int(a)] + [int(p) for p in breaks if a < p < b]
        return list(zip(cuts, cuts[1:] + [int(b)])) + rest
    monkeypatch.setattr(pp, 'split_large', split_first)
    for extra in ({}, dict(mask='channel', mask_dilation=1), dict(align='axis+size')):   # raw windows kept; with masks; turned (read again)
        kw = dict(patch_size=(16, 16), chunk_size=11, progress=False, **extra)
        calls.clear()
        ser, dist = generate_dataset(sdata, 'ser', tmp_path, **kw), generate_dataset(sdata, 'mix', tmp_path, client=client, **kw)
        assert calls == [4, 1]                                           # the cut's units of 4 samples, then the statistics of the split one only
        assert crcs(ser.path) == crcs(dist.path) and ser.stats.equals(dist.stats) and ser.meta['ranges'] == dist.meta['ranges']
        assert list(dist.meta['ranges']) == ser.meta['samples']


def test_blocks_of_z_slices_same_as_serial(client, sdata, tmp_path, monkeypatch):
    "One sample split into blocks of z-slices (statistics and patches, masked, chunks shared between blocks): the serial bytes."
    import phenocoder.patches as pp
    from phenocoder.distributed import split_large
    seen = []
    def record(bounds, breaks, share): seen.append(r := split_large(bounds, breaks, share)); return r
    monkeypatch.setattr(pp, 'split_large', record)
    kw = dict(patch_size=(16, 16), chunk_size=7, n_samples=1, mask='channel', progress=False, seed=1)
    ser, dist = generate_dataset(sdata, 'ser', tmp_path, **kw), generate_dataset(sdata, 'zb', tmp_path, client=client, **kw)
    (sample,) = ser.meta['samples']; nz = sdata.images[f'IF_{sample}'].shape[1]
    cut_units, stats_units = seen                                            # the units of the cut are chosen first
    assert nz == 5 and stats_units == [(z, z + 1) for z in range(nz)]         # 2 threads x 4 tasks: a share of 5/8 slice, so one slice each
    z = dist.table['z'].to_numpy()
    assert len(cut_units) > 1 and all(z[a] != z[a - 1] for a, _ in cut_units[1:])     # blocks start where the z-slice changes
    assert crcs(ser.path) == crcs(dist.path) and ser.stats.equals(dist.stats) and ser.meta['ranges'] == dist.meta['ranges']


def test_blank_patches_marked_on_workers(client, tmp_path):
    "Blank patches are marked as the workers cut them: the serial path's warning, the rows `blank_patches` finds in the store."
    import warnings, spatialdata
    from spatialdata.models import Image3DModel
    from phenocoder.patches import blank_patches
    sd = example_3d(); name = sorted(sd.images)[1]
    img = np.asarray(sd.images[name].values).copy(); img[:, :2] = 0        # two empty slices in one sample
    sd.images[name] = Image3DModel.parse(img, dims=('c', 'z', 'y', 'x'), c_coords=list(sd.images[name].coords['c'].values))
    sd.write(tmp_path / 'blank.zarr'); sd = spatialdata.read_zarr(tmp_path / 'blank.zarr')
    got = {}
    for n, c in (('ser', None), ('dist', client)):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            ds = generate_dataset(sd, n, tmp_path, patch_size=(16, 16), chunk_size=37, progress=False, client=c)
        got[n] = [str(x.message) for x in w if 'have blank patches' in str(x.message)]
        marked = blank_patches(ds)
        assert marked.any() and not marked.all() and set(ds.table.loc[marked, 'sample']) == {name.removeprefix('IF_')}
        assert len(got[n]) == 1 and got[n][0].startswith(f"{int(marked.sum()):,} of {len(marked):,} objects"), got[n]
    assert got['ser'] == got['dist']


def test_in_memory_sdata_refused(client):
    with pytest.raises(ValueError, match=r"sdata.write\('data.zarr'\)"):
        generate_dataset(example_3d(), 'x', '/nonexistent', patch_size=(16, 16), client=client, progress=False)


def test_worker_cannot_read(client, sdata, tmp_path):
    "A store the workers cannot read the images from: the error names the path and the worker."
    import shutil, spatialdata
    broken = tmp_path / 'broken.zarr'
    shutil.copytree(sdata.path, broken)
    sd = spatialdata.read_zarr(broken)
    (broken / 'images' / 'IF_A01' / 's0' / 'zarr.json').unlink()       # unreadable for the workers (the client opened it before)
    with pytest.raises(Exception, match=rf"Worker tcp://\S+ cannot read .*{broken}") as e:
        generate_dataset(sd, 'x', tmp_path, patch_size=(16, 16), client=client, progress=False)
    assert list_datasets(tmp_path) == [] and not [p for p in tmp_path.iterdir() if p.name.startswith('.x.tmp')]


def _sleep_square(x, seconds=0.2):
    time.sleep(seconds); return x * x


def test_run_tasks_streamed_arguments(client):
    "Task arguments built while the first tasks run: results in order; an error while building cancels what was submitted."
    from phenocoder.distributed import run_tasks
    assert run_tasks(client, _sleep_square, ((i,) for i in range(5)), progress=False) == [0, 1, 4, 9, 16]
    def args():
        yield (1, 20); yield (2, 20)                                   # tasks of 20 s each, already running
        raise KeyError('table rows of sample B')
    t = time.time()
    with pytest.raises(KeyError, match='sample B'):
        run_tasks(client, _sleep_square, args(), progress=False)
    while any(client.processing().values()) and time.time() < t + 10: time.sleep(0.1)
    assert not any(client.processing().values()) and time.time() < t + 10   # cancelled: not left running for 20 s


def test_encode_same_as_serial(client, sdata, tmp_path):
    "Latents of a trained, saved conditional model: workers load it from its folder and equal the serial path within 1e-5."
    from phenocoder import Phenocoder
    pheno = Phenocoder().add_sdata(sdata)
    pheno.generate_dataset('d1', tmp_path, patch_size=(16, 16), n_patches=128, progress=False)
    pheno.initialize_model(n_latent_dim=4, n_dense_dim=8, conditions=['dataset', 'z'], input_shape=(16, 16, 4), conv_layers=(4, 8))
    pheno.train(n_epochs=1, plot=False, verbose=0, tensorboard=False)
    assert pheno.model.path is not None
    ser = pheno.encode(progress=False, key_added='ser').copy()
    dist = pheno.encode(progress=False, key_added='dist', client=client)
    assert (ser.obs_names == dist.obs_names).all() and np.isfinite(dist.X).all()
    np.testing.assert_allclose(dist.X, ser.X, atol=1e-5, rtol=0)
    np.testing.assert_allclose(dist.obsm['z_log_var'], ser.obsm['z_log_var'], atol=1e-5, rtol=0)
    # harmonize runs on the client over all gathered latents: the same as harmonizing the serial latents
    from phenocoder.encoding import encode, harmonize_latents
    hz = pheno.encode(progress=False, key_added='dist_h', client=client, harmonize='batch')
    np.testing.assert_allclose(hz.obsm['z_mean'], ser.X, atol=1e-5, rtol=0)
    np.testing.assert_allclose(hz.X, harmonize_latents(ser.copy(), 'batch', seed=pheno.seed).X, atol=1e-3, rtol=0)
    from phenocoder.model import PhenoModel
    unsaved = PhenoModel(pheno.model.module, dict(pheno.model.config))
    with pytest.raises(ValueError, match='needs a saved PhenoModel'):
        encode(sdata, unsaved, progress=False, key_added=None, client=client)
    # a model folder on a URL (local:// goes through fsspec like s3://): workers download it, check it and load it
    url = f'local://{tmp_path}/remote/model'
    unsaved.save(url)
    on_url = encode(sdata, PhenoModel.load(url), progress=False, key_added=None, client=client)
    np.testing.assert_allclose(on_url.X, ser.X, atol=1e-5, rtol=0)
    unsaved.save('memory://phenocoder-dist/model')
    with pytest.raises(ValueError, match="cannot load the model from 'memory://phenocoder-dist/model'"):
        encode(sdata, unsaved, progress=False, key_added=None, client=client)


def test_client_dies_mid_run(client, sdata, tmp_path):
    "A client killed after its workers wrote their chunks, before the shared chunks and meta.json: nothing reads as complete."
    code = f"""
import time, spatialdata
from distributed import Client
import phenocoder.patches as pp
def stall(*a, **k): print('WORKERS DONE', flush=True); time.sleep(120)
pp.write_edge_chunks = stall
pp.generate_dataset(spatialdata.read_zarr({str(sdata.path)!r}), 'dead', {str(tmp_path)!r}, patch_size=(16, 16), chunk_size=37,
                    progress=False, client=Client({client.scheduler.address!r}))
"""
    p = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    try: assert p.stdout.readline().strip() == 'WORKERS DONE'
    finally: p.kill(); p.wait()
    assert [q for q in tmp_path.iterdir() if q.name.startswith('.dead.tmp')]      # its partial copy is there, hidden
    assert list_datasets(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="No dataset 'dead'"): load_dataset(tmp_path, 'dead')
    generate_dataset(sdata, 'dead', tmp_path, patch_size=(16, 16), n_patches=40, progress=False)   # the next run cleans it up
    assert list_datasets(tmp_path) == ['dead'] and not [q for q in tmp_path.iterdir() if q.name.startswith('.dead.tmp')]


def test_spatialgraph_stats_same_as_serial(client, sdata):
    "One task per sample, or per subunit: the same statistics, bit for bit."
    from phenocoder.graph_stats import spatialgraph_stats
    t = sdata.tables['nuclei_features'].copy()
    t.obs['cl'] = t.obs['phenotype'].astype(str).astype('category')
    for kw in (dict(), dict(use_subunits=True, dim_subunit=(60, 60, 60), min_obs_per_subunit=20, max_obs_per_subunit=80)):
        a = spatialgraph_stats(t, 'cl', sample_key='well', radii=(15, 30), progress=False, **kw)
        b = spatialgraph_stats(t, 'cl', sample_key='well', radii=(15, 30), progress=False, client=client, **kw)
        assert a.n_obs > 3 and a.X.any()
        np.testing.assert_array_equal(a.X, b.X)
        assert a.obs.equals(b.obs) and list(a.var_names) == list(b.var_names)


def test_encode_turned_patches(client, sdata, tmp_path):
    "A model trained on patches turned to their objects' axes: encode turns them the same way, serially and on the workers."
    from phenocoder import Phenocoder
    from phenocoder.patches import load_dataset
    pheno = Phenocoder().add_sdata(sdata)
    pheno.generate_dataset('d1', tmp_path, patch_size=(16, 16), n_patches=96, align='axis', progress=False)
    pheno.initialize_model(n_latent_dim=4, n_dense_dim=8, conditions=[], input_shape=(16, 16, 4), conv_layers=(4, 8))
    pheno.train(n_epochs=1, plot=False, verbose=0, tensorboard=False)
    assert pheno.model.config['align'] == 'axis'
    ser = pheno.encode(progress=False, key_added='ser').copy()
    dist = pheno.encode(progress=False, key_added='dist', client=client)
    assert ser.uns['ser']['params']['align'] == 'axis'
    np.testing.assert_allclose(dist.X, ser.X, atol=1e-5, rtol=0)
    ds = load_dataset(tmp_path, 'd1')                                   # the stored (turned) patches give the same latents
    stored = pheno.model.get_latent_representation(np.asarray(ds.patches[:]), ds.table)
    np.testing.assert_allclose(ser[ds.table['id'].astype(str).to_numpy()].X, stored, atol=1e-5, rtol=0)
