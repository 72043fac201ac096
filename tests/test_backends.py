"The model is not welded to TensorFlow: a tiny CVAE (and a conditional one with the MMD penalty) trains on the JAX backend."
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
