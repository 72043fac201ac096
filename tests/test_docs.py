"The documentation site typesets its formulas without network access (MathJax served by the site, checked in headless Chromium)."
import subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'docs'))
import build  # noqa: E402  (docs/build.py)


def test_untypeset_math_finds_raw_tex():
    "The DOM check tells typeset formulas from TeX left as text (what a page shows when MathJax does not load)."
    dom = ('<html><body><p>a <span class="math notranslate">\\(C^\\top A C\\)</span><br>'
           '<span class="math"><mjx-container class="MathJax"><mjx-math>C</mjx-math></mjx-container></span>'
           '<div class="math notranslate">\\[x\\]</div></p></body></html>')
    n, raw = build.untypeset_math(dom)
    assert n == 3
    assert raw == ['\\(C^\\top A C\\)', '\\[x\\]']
    assert build.untypeset_math('<p>no maths</p>') == (0, [])


@pytest.mark.skipif(build.browser() is None, reason='no Chromium/Chrome (apt-get install chromium)')
def test_site_typesets_maths_offline(tmp_path):
    "A page built with the site's Sphinx configuration typesets inline and display maths from file:// alone."
    src, out = tmp_path / 'src', tmp_path / 'html'
    src.mkdir()
    (src / 'index.md').write_text('# Maths\n\nEdge counts $C^\\top A C$ between clusters, for $n \\times n$ graphs:\n\n'
                                  '$$\nI = \\frac{n}{W} \\frac{z^\\top W z}{z^\\top z}\n$$\n')
    r = subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-W', '-q', '-c', str(ROOT / 'docs'),
                        '-d', str(tmp_path / 'doctrees'), str(src), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    html = (out / 'index.html').read_text()
    assert 'src="_static/mathjax/tex-chtml.js' in html and 'cdn.jsdelivr' not in html     # MathJax from the site itself
    assert (out / '_static' / 'mathjax' / 'output' / 'chtml' / 'fonts').is_dir()
    assert build.check_math(out) == []
    n, raw = build.untypeset_math(build.rendered_dom(out / 'index.html', build.browser()))
    assert (n, raw) == (3, [])
    (out / '_static' / 'mathjax' / 'tex-chtml.js').unlink()                               # without it: raw TeX, caught
    n, raw = build.untypeset_math(build.rendered_dom(out / 'index.html', build.browser()))
    assert n == 3 and len(raw) == 3 and raw[0].startswith('\\(C^\\top')
