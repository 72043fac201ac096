"Not welded to TensorFlow: a tiny CVAE (and a conditional one with the MMD penalty) trains on the JAX backend, fused blocks of steps\ngive the same losses and weights as Keras's loop, and the package's own generate_dataset -> train -> encode runs there."
import os, subprocess, sys
import pytest

CODE = '''
import numpy as np, keras
from phenocoder.cvae import CVAE
from phenocoder.condcvae import CondCVAE
assert keras.backend.backend() == "jax", keras.backend.backend()
x = np.random.default_rng(0).uniform(size=(8, 16, 16, 2)).astype("float32")
c = np.eye(2, dtype="float32")[np.arange(8) % 2]
for m, inp in ((CVAE(input_shape=(16, 16, 2), n_latent_dim=3, n_dense_dim=8, conv_layers=(4, 8), seed=0), x),
               (CondCVAE(input_shape=(16, 16, 2), n_latent_dim=3, n_dense_dim=8, conv_layers=(4, 8), seed=0, n_conditions=2,
                         mmd_weight=10.0), (x, c))):
    m.compile(optimizer="adam")
    h = m.fit(inp, epochs=2, batch_size=4, verbose=0).history
    assert np.isfinite(h["loss"]).all() and m.encode(inp).shape == (8, 3), h
    print("ok", type(m).__name__, sorted(h))
'''


def test_jax_backend():
    pytest.importorskip('jax')
    env = {**os.environ, 'KERAS_BACKEND': 'jax', 'TF_CPP_MIN_LOG_LEVEL': '3', 'JAX_PLATFORMS': 'cpu'}
    out = subprocess.run([sys.executable, '-c', CODE], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [l for l in out.stdout.splitlines() if l.startswith('ok')]
    assert lines == ["ok CVAE ['kl_loss', 'loss', 'reconstruction_loss']",
                     "ok CondCVAE ['kl_loss', 'loss', 'mmd_loss', 'reconstruction_loss']"], out.stdout


FUSED = '''
import numpy as np, keras
from phenocoder.condcvae import CondCVAE
rng = np.random.default_rng(0)
x = rng.uniform(size=(42, 16, 16, 2)).astype("float32")       # 11 batches of 4: two blocks of 4, then 2 full + 1 partial step by step
c = np.eye(2, dtype="float32")[np.arange(42) % 2]
out = {}
for fuse in (False, True):
    keras.utils.set_random_seed(0)
    m = CondCVAE(input_shape=(16, 16, 2), n_latent_dim=3, n_dense_dim=8, conv_layers=(4, 8), seed=0, n_conditions=2,
                 dropout=0.25, mmd_weight=1.0)
    m.fuse_steps = fuse
    m.compile(optimizer="adam", steps_per_execution=4)
    h = m.fit((x, c), epochs=3, batch_size=4, shuffle=False, verbose=0).history
    out[fuse] = (h, [np.asarray(w) for w in m.get_weights()], m.train_function.__dict__.get("blocks"))
(h0, w0, b0), (h1, w1, b1) = out[False], out[True]
assert b0 is None and b1 == 6, (b0, b1)                      # Keras's own loop, then 2 fused blocks in each of 3 epochs
for k in h0: np.testing.assert_allclose(h1[k], h0[k], rtol=2e-5, err_msg=k)
for a, b in zip(w0, w1): np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
assert h1["loss"][-1] < h1["loss"][0], h1
m.fuse_steps = "yes"
try: m.make_train_function(force=True); raise AssertionError("no error")
except ValueError as e: assert "`fuse_steps` must be True, False or 'auto'; got 'yes'" in str(e), e
print("ok fused", {k: [round(v, 3) for v in h1[k]] for k in sorted(h1)})
'''


def test_jax_fused_steps():
    "`fuse_steps=True` (the default on a GPU) trains blocks in one lax.scan with the same losses and weights as Keras's loop."
    pytest.importorskip('jax')
    env = {**os.environ, 'KERAS_BACKEND': 'jax', 'TF_CPP_MIN_LOG_LEVEL': '3', 'JAX_PLATFORMS': 'cpu'}
    out = subprocess.run([sys.executable, '-c', FUSED], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert any(l.startswith('ok fused') for l in out.stdout.splitlines()), out.stdout


TRAIN = '''
import keras
from phenocoder.data import example_3d
from phenocoder import Phenocoder
assert keras.backend.backend() == "jax"
pheno = Phenocoder(table_key="nuclei_features", sample_key="well", image_key="IF", seed=0)
pheno.add_sdata(example_3d(seed=0))
pheno.generate_dataset(dataset="d1", dir_dataset="data", patch_size=(32, 32), spatial_key_index="spatial_index",
                       metadata_keys=["batch"])
pheno.initialize_model(n_latent_dim=4, n_dense_dim=32, conditions=["z", "batch"], input_shape=(32, 32, 4))
pheno.model.module.fuse_steps = True                  # as on a GPU
h = pheno.train(n_epochs=1, plot=False, verbose=0, tensorboard=False, steps_per_execution=8)
assert pheno._run.model.module.train_function.blocks >= 2, pheno._run.model.module.train_function.blocks
pheno.encode()
lat = pheno.sdata.tables["phenocoder"]
assert lat.n_obs == pheno.sdata.tables["nuclei_features"].n_obs and lat.n_vars == 4
print("ok train", h["val_loss"])
'''


def test_jax_train_workflow(tmp_path):
    "The package's `train` (tf.data feed, callbacks, checkpoints, saving) and `encode` run on the JAX backend, fused."
    pytest.importorskip('jax')
    env = {**os.environ, 'KERAS_BACKEND': 'jax', 'TF_CPP_MIN_LOG_LEVEL': '3', 'JAX_PLATFORMS': 'cpu'}
    out = subprocess.run([sys.executable, '-c', TRAIN], env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert any(l.startswith('ok train') for l in out.stdout.splitlines()), out.stdout
