"Import weight: `import phenocoder` and the model-free modules load no deep-learning framework; workflow methods load on first use."
import json, subprocess, sys
import pytest
from conftest import ROOT

HEAVY = ('tensorflow', 'keras', 'jax', 'torch')
PLOTTING_AND_ANALYSIS = ('scanpy', 'squidpy', 'umap', 'matplotlib.pyplot', 'anndata', 'spatialdata')

def fresh(code:str)->dict:
    "Run `code` in a fresh interpreter; it ends by printing a JSON object, which is returned."
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])

def loaded(names)->str:
    "Code that prints which of `names` are in sys.modules, as JSON."
    return f"import sys, json; print(json.dumps([m for m in {list(names)!r} if m in sys.modules]))"

@pytest.mark.parametrize('stmt', ['import phenocoder', 'import phenocoder.graph_stats', 'import phenocoder.embedding',
                                  'from phenocoder import Phenocoder, check_key, radius_graph'])
def test_light_imports(stmt):
    "None of the heavy frameworks, nor scanpy/squidpy/pyplot/anndata, is imported by importing these."
    assert fresh(f"{stmt}\n{loaded(HEAVY + PLOTTING_AND_ANALYSIS)}") == []

def test_workflow_method_without_tensorflow():
    "A bare `from phenocoder import Phenocoder` gives every workflow method; a model-free one loads no framework."
    got = fresh("from phenocoder import Phenocoder\np = Phenocoder()\nassert callable(p.spatialgraph_stats)\n"
                "assert callable(Phenocoder.spatialgraph_embedding)\n" + loaded(HEAVY))
    assert got == []

def test_lazy_package_attributes():
    "Submodules and public names are there on first access and in dir(); a wrong name is an AttributeError."
    got = fresh("import phenocoder, json\nnames = dir(phenocoder)\nok = phenocoder.graph_stats.spatialgraph_stats is not None\n"
                "try: phenocoder.graph_stat; bad = False\nexcept AttributeError as e: bad = 'graph_stat' in str(e)\n"
                "print(json.dumps([ok, bad, [n for n in ('graph_stats', 'core', 'training', 'Phenocoder') if n in names],"
                " phenocoder.Phenocoder.__module__]))")
    assert got == [True, True, ['graph_stats', 'core', 'training', 'Phenocoder'], 'phenocoder.core']

def test_registry_matches_attached_methods():
    "WORKFLOW_METHODS lists exactly the methods the stage modules attach, each with the module that attaches it."
    import importlib, pkgutil, phenocoder
    from phenocoder.core import Phenocoder, WORKFLOW_METHODS
    for m in pkgutil.iter_modules(phenocoder.__path__):
        if not m.name.startswith('_'): importlib.import_module(f'phenocoder.{m.name}')
    patched = {n: f.__module__ for n, f in vars(Phenocoder).items()
               if callable(f) and not n.startswith('_') and getattr(f, '__module__', '') != 'phenocoder.core'}
    assert patched == {n: f'phenocoder.{mod}' for n, (mod, _) in WORKFLOW_METHODS.items()}
    for n in WORKFLOW_METHODS: assert n in Phenocoder.__doc__, n
