"""A model is never lost: a process killed (SIGKILL) while a new model of the same name is initialised, trained or saved
leaves the previous model loadable and unchanged, and the interrupted run resumes from its checkpoint."""
import os, subprocess, sys, textwrap
import numpy as np
import pytest

SETUP = '''
import os, signal, sys, numpy as np
from pathlib import Path
import keras
from phenocoder.data import example_3d
from phenocoder.patches import generate_dataset
from phenocoder.training import initialize_model, train
import phenocoder.model as pm
root = Path(sys.argv[1])
def args(): return dict(dir_dataset=root, datasets='d', n_latent_dim=3, n_dense_dim=8, conditions=['z'],
                        input_shape=(16, 16, 4), conv_layers=(4, 8), batch_size=32, name='m')
def die(): os.kill(os.getpid(), signal.SIGKILL)
'''

PHASES = {
    'first': '''
generate_dataset(example_3d(), 'd', root, patch_size=(16, 16), n_patches=240, progress=False)
train(initialize_model(**args()), n_epochs=2, plot=False, verbose=0, tensorboard=False)
print('trained')
''',
    'after_init': '''
initialize_model(**args(), overwrite=True); die()
''',
    'mid_epoch': '''
class Kill(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.params and batch == 2 and len(getattr(self, 'seen', [])) >= 1: die()
    def on_epoch_end(self, epoch, logs=None): self.seen = getattr(self, 'seen', []) + [epoch]
train(initialize_model(**args(), overwrite=True), n_epochs=4, plot=False, verbose=0, tensorboard=False, callbacks=[Kill()],
      steps_per_execution=1)   # one step per call: batch callbacks at every step, so the kill lands inside epoch 2
''',
    'writing_model': '''
orig = pm.write_json
def write_json(path, obj):
    if Path(path).name == 'config.json' and '.tmp-' in str(path): die()   # model.keras written, config not yet
    orig(path, obj)
pm.write_json = write_json
train(initialize_model(**args(), overwrite=True), n_epochs=1, plot=False, verbose=0, tensorboard=False)
''',
    'between_renames': '''
def swap_in(tmp, dest):
    os.rename(dest, Path(dest).parent / f'.{Path(dest).name}.old-crash'); die()
pm.swap_in = swap_in
train(initialize_model(**args(), overwrite=True), n_epochs=1, plot=False, verbose=0, tensorboard=False)
''',
    'resume': '''
h = train(initialize_model(**args(), overwrite=True), n_epochs=3, plot=False, verbose=0, tensorboard=False, resume=True)
print('resumed', len(h['loss']))
''',
}


def run(phase, root):
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3'}
    code = textwrap.dedent(SETUP) + textwrap.dedent(PHASES[phase])
    return subprocess.run([sys.executable, '-c', code, str(root)], capture_output=True, text=True, env=env, timeout=600)


def latents(root):
    from phenocoder.model import PhenoModel
    from phenocoder.patches import load_dataset
    m, ds = PhenoModel.load(root / 'models' / 'm'), load_dataset(root, 'd')
    return m.get_latent_representation(ds.patches[:], ds.table), (root / 'models' / 'm' / 'model.keras').read_bytes()


def test_sigkill_never_loses_the_model(tmp_path):
    out = run('first', tmp_path)
    assert out.returncode == 0 and 'trained' in out.stdout, out.stderr[-3000:]
    z0, bytes0 = latents(tmp_path)
    for phase in ('after_init', 'mid_epoch', 'writing_model', 'between_renames'):
        out = run(phase, tmp_path)
        assert out.returncode == -9, (phase, out.returncode, out.stderr[-3000:])      # killed, not failed
        z, b = latents(tmp_path)                                                        # loads (recovering if needed)
        assert b == bytes0, phase
        np.testing.assert_array_equal(z, z0)
        left = sorted(p.name for p in (tmp_path / 'models').iterdir())
        assert left[-1] == 'm' and all(n.startswith('.m.') for n in left[:-1]), (phase, left)
    # the killed mid-epoch run left checkpoints; the later runs restarted from scratch, the last one resumes to the end
    out = run('resume', tmp_path)
    assert out.returncode == 0 and 'resumed 3' in out.stdout, out.stderr[-3000:]
    z, b = latents(tmp_path)
    assert b != bytes0 and not np.allclose(z, z0)
    assert sorted(p.name for p in (tmp_path / 'models').iterdir()) == ['m']
