"Sphinx configuration of the documentation site; `python docs/build.py` prepares the sources and runs Sphinx."
import configparser
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
html_static_path = ['_static']
html_css_files = ['phenocoder.css']
html_show_sourcelink = False
html_copy_source = False
