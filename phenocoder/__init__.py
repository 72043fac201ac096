"""Phenocoder: unsupervised phenotypic embeddings of cells from microscopy, and how they are arranged in space.

`import phenocoder` is light: it imports no submodule (TensorFlow alone takes seconds). The submodules
(`phenocoder.graph_stats`, ...) and the public names below are imported on first access (PEP 562), and so are the
`Phenocoder` workflow methods (see `phenocoder.core.WORKFLOW_METHODS`).
"""
__version__ = "0.1.0"

import importlib, pkgutil

_NAMES = {   # public name -> submodule that defines it
    'Phenocoder': 'core', 'check_key': 'core', 'check_name': 'core', 'radius_graph': 'core',
    'WORKFLOW_METHODS': 'core', 'SETTINGS': 'core',
}

def _submodules()->list:
    "Names of the submodules of this package (found on disk, so a new stage needs no entry here)."
    return [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith('_')]

def __getattr__(name):
    "Import a submodule, or the submodule defining a public name, on first access."
    if name in _NAMES: return getattr(importlib.import_module(f'{__name__}.{_NAMES[name]}'), name)
    if not name.startswith('_') and name in _submodules(): return importlib.import_module(f'{__name__}.{name}')
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(set(globals()) | set(_NAMES) | set(_submodules()))

__all__ = ['Phenocoder', 'check_key', 'check_name', 'radius_graph']
