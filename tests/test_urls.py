"Datasets and model folders on fsspec URLs (`memory://`, `file://`): training streams the store from the URL, the model is uploaded complete-last and read back checked."
import uuid
import numpy as np, pytest

fsspec = pytest.importorskip('fsspec')
from phenocoder import Phenocoder
from phenocoder.data import example_3d
from phenocoder.model import PhenoModel, model_exists
from phenocoder.store import CheckedPatches
from phenocoder.training import load_model, checkpoint_dir

MODEL = dict(n_latent_dim=4, n_dense_dim=8, conditions=['z'], input_shape=(16, 16, 4), conv_layers=(4, 8), seed=3)


@pytest.fixture(scope='module')
def sdata(): return example_3d()


@pytest.fixture
def mem():
    "A fresh memory:// folder, removed afterwards."
    root = f'memory://phenocoder-test-{uuid.uuid4().hex[:8]}'
    yield root
    fs = fsspec.filesystem('memory')
    if fs.exists(root[len('memory://'):]): fs.rm(root[len('memory://'):], recursive=True)


def _workflow(sdata, dir_dataset):
    "Dataset, 2 epochs streamed from the store (max_memory_gb=0), encoding, and the model read back with load_model."
    pheno = Phenocoder(seed=3).add_sdata(sdata)
    pheno.generate_dataset('d', dir_dataset, patch_size=(16, 16), n_patches=96, chunk_size=20, progress=False)
    run = pheno.initialize_model(**MODEL, max_memory_gb=0)
    assert isinstance(run.patches, CheckedPatches)                   # streamed chunk by chunk, not read into memory
    pheno.train(n_epochs=2, plot=False, verbose=0, tensorboard=False)
    assert not checkpoint_dir(run.model_dir).exists()                 # the local checkpoints are removed once the model is saved
    z = pheno.encode(progress=False).X
    back = load_model(run.model_dir)
    zb = back.get_latent_representation(run.patches[:], run.table)
    return run.model_dir, np.asarray(z), zb


def test_training_from_urls_same_as_local(sdata, tmp_path, mem):
    "The same seed gives the same latents (1e-5) whether the dataset and model live in a folder, at file:// or at memory://."
    local = _workflow(sdata, tmp_path / 'local')
    for url in (f'file://{tmp_path}/viafile', f'{mem}/data'):
        where, z, zb = _workflow(sdata, url)
        np.testing.assert_allclose(z, local[1], atol=1e-5, rtol=0)
        np.testing.assert_allclose(zb, local[2], atol=1e-5, rtol=0)
    assert where == f'{mem}/data/models/condcvae' and model_exists(where)
    fs = fsspec.filesystem('memory')
    assert sorted(p.rsplit('/', 1)[-1] for p in fs.find(where[len('memory://'):])) == ['config.json', 'model.keras']
    assert (tmp_path / 'viafile' / 'models' / 'condcvae' / 'model.keras').is_file()   # file://: a plain local folder


def _tiny():
    from phenocoder.cvae import CVAE
    net = CVAE(input_shape=(16, 16, 2), n_latent_dim=3, n_dense_dim=8, conv_layers=(4, 8), seed=0)
    return PhenoModel(net, {'name': 'tiny', 'model_class': 'CVAE', 'model': net.get_config(), 'conditions': [], 'trained': True})


@pytest.mark.parametrize('kind', ['memory', 'file'])
def test_save_load_round_trip(kind, tmp_path, mem):
    pm, x = _tiny(), np.random.default_rng(0).uniform(size=(5, 16, 16, 2)).astype('float32')
    url = f'{mem}/m/tiny' if kind == 'memory' else f'file://{tmp_path}/m/tiny'
    pm.save(url)
    back = PhenoModel.load(url)
    np.testing.assert_allclose(back.get_latent_representation(x), pm.get_latent_representation(x), atol=1e-6)
    assert str(back.path) == url.replace('file://', '') and model_exists(url)
    with pytest.raises(FileExistsError, match='A trained model exists'): pm.save(url)


def test_corrupted_upload_refused(mem):
    url = f'{mem}/m/tiny'; _tiny().save(url)
    fs, w = fsspec.filesystem('memory'), f'{url[len("memory://"):]}/model.keras'
    b = bytearray(fs.cat_file(w)); b[len(b) // 2] ^= 0xFF; fs.pipe_file(w, bytes(b))    # same size, one byte flipped
    with pytest.raises(ValueError, match=f"'{url}/model.keras' is damaged"): PhenoModel.load(url)


def _tiny_other():
    "Another tiny model (other weights), to tell an old save from a new one."
    from phenocoder.cvae import CVAE
    net = CVAE(input_shape=(16, 16, 2), n_latent_dim=3, n_dense_dim=8, conv_layers=(4, 8), seed=1)
    return PhenoModel(net, {'name': 'tiny', 'model_class': 'CVAE', 'model': net.get_config(), 'conditions': [], 'trained': True})


def _dying(monkeypatch, method:str):
    "Make the memory filesystem's `method` (put_file: staging; copy: copying into place) fail on config.json."
    from fsspec.implementations.memory import MemoryFileSystem
    orig = getattr(MemoryFileSystem, method)
    def dying(self, a, b, *x, **k):
        if b.endswith('config.json'): raise ConnectionError('network gone')
        return orig(self, a, b, *x, **k)
    monkeypatch.setattr(MemoryFileSystem, method, dying)


def test_interrupted_upload_keeps_or_finishes(mem, monkeypatch):
    "A replacement that dies while uploading keeps the old model; one that dies while copying into place is finished on the next read."
    url, x = f'{mem}/m/tiny', np.random.default_rng(0).uniform(size=(5, 16, 16, 2)).astype('float32')
    old, new = _tiny(), _tiny_other(); old.save(url)
    z_old, z_new = old.get_latent_representation(x), new.get_latent_representation(x)
    assert np.abs(z_old - z_new).max() > 1e-3
    _dying(monkeypatch, 'put_file')
    with pytest.raises(ConnectionError): new.save(url, overwrite=True)
    monkeypatch.undo()
    assert model_exists(url)
    np.testing.assert_allclose(PhenoModel.load(url).get_latent_representation(x), z_old, atol=1e-6)   # the old model, untouched
    _dying(monkeypatch, 'copy')
    with pytest.raises(ConnectionError): new.save(url, overwrite=True)
    monkeypatch.undo()
    fs, p = fsspec.filesystem('memory'), url[len('memory://'):]
    assert not fs.exists(f'{p}/config.json')                                        # half copied into place ...
    assert model_exists(url)                                                        # ... and finished from the staged copy
    np.testing.assert_allclose(PhenoModel.load(url).get_latent_representation(x), z_new, atol=1e-6)
    fs.rm_file(f'{p}/config.json')                                                  # no staged copy left: not a model
    assert not model_exists(url)
    with pytest.raises(FileNotFoundError, match=f"No config.json in '{url}'.*upload did not complete"): PhenoModel.load(url)
    new.save(url); assert PhenoModel.load(url).path == url                          # no complete model there: saved without overwrite


def test_tensorboard_logs_follow_a_url_dataset(sdata, mem):
    "With the dataset on a URL, the TensorBoard logs are written locally, then copied beside it; config.json names the copy."
    pheno = Phenocoder(seed=3).add_sdata(sdata)
    pheno.generate_dataset('d', f'{mem}/data', patch_size=(16, 16), n_patches=64, progress=False)
    run = pheno.initialize_model(**MODEL)
    pheno.train(n_epochs=1, plot=False, verbose=0)
    logs = f'{mem}/data/tensorboard_logs/condcvae'
    assert load_model(run.model_dir).config['tensorboard_logs'] == logs
    fs = fsspec.filesystem('memory')
    copied = [p for p in fs.find(logs[len('memory://'):]) if 'tfevents' in p]
    assert copied and {p.rsplit('/', 2)[-2] for p in copied} == {'train', 'validation'}
