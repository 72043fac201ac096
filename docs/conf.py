"Sphinx configuration of the documentation site; `python docs/build.py` prepares the sources and runs Sphinx."
import configparser, importlib.util
from pathlib import Path

_cfg = configparser.ConfigParser()
_cfg.read(Path(__file__).resolve().parents[1] / 'settings.ini')
_cfg = _cfg['DEFAULT']

project = 'Phenocoder'
author = _cfg['author']
copyright = _cfg['copyright']
release = version = _cfg['version']

extensions = ['myst_nb']
nb_execution_mode = 'off'             # outputs come from build.py (--execute, executed copies, or stored outputs)
nb_output_stderr = 'remove'           # library log noise (TensorFlow, numba) is not documentation
nb_merge_streams = True
myst_enable_extensions = ['dollarmath', 'colon_fence', 'html_image']
myst_heading_anchors = 3
exclude_patterns = ['**/.ipynb_checkpoints']
suppress_warnings = []

try:
    import furo  # noqa: F401
    html_theme = 'furo'
    html_theme_options = {'source_repository': _cfg['git_url'], 'source_branch': _cfg['branch'], 'source_directory': 'nbs/',
                          'top_of_page_buttons': []}
except ImportError:                    # the site still builds with Sphinx's default theme
    html_theme = 'alabaster'
html_title = f'Phenocoder {release}'

# MathJax is served by the site itself, so pages typeset their formulas without network access: the MathJax 3 files
# that the `sphinx-mathjax-offline` package ships (a dev dependency) are copied to _static/mathjax. (Its own Sphinx
# extension is not used: it does not declare parallel-read safety, which `-W` turns into an error.)
_mj = importlib.util.find_spec('sphinx-mathjax-offline')
if _mj is None or not (Path(_mj.origin).parent / 'static' / 'mathjax' / 'tex-chtml.js').exists():
    raise RuntimeError("MathJax for offline pages is missing: install the dev dependencies (pip install -e '.[dev]', "
                       "which includes sphinx-mathjax-offline).")
mathjax_path = 'mathjax/tex-chtml.js'
html_static_path = ['_static', str(Path(_mj.origin).parent / 'static')]
html_css_files = ['phenocoder.css']
html_show_sourcelink = False
html_copy_source = False
