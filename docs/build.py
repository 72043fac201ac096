#!/usr/bin/env python
"""Build the documentation site from the notebooks in `nbs/` with Sphinx + myst-nb (no Quarto needed).

    python docs/build.py              # HTML in docs/_build/html (warnings are errors)
    python docs/build.py --execute    # also run every notebook first (as nbdev_test does; cached)

Steps: (1) every notebook goes through nbdev's own doc processors (`FilterDefaults`, what `nbdev_docs`
uses before Quarto), which runs the export/import/`show_doc` cells and hides `#| hide`/`#| export`
cells; (2) the processed notebook is translated from Quarto's conventions to MyST (cell directives
become myst-nb tags, `show_doc` output becomes real page sections with cross-reference labels, nbdev's
absolute doc links become internal links); (3) `sphinx-build -W` renders them without executing
(`nb_execution_mode = 'off'`), with an index, one page per notebook and an API overview page.

Outputs come from, in order: `--execute` (each notebook run with execnb, skipping the `tst_flags`
cells as `nbdev_test` does, cached by content in docs/_build/executed), an executed copy given with
`--executed NAME=PATH` (by default the tutorial run by papermill in phenocoder_runs/tutorial/), or the
outputs stored in the notebook. Nothing is written into nbs/ (nbdev_proc_nbs would write Quarto files there).
"""
from __future__ import annotations
import argparse, ast, hashlib, json, os, re, shutil, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / 'docs'
BUILD = DOCS / '_build'
DEFAULT_EXECUTED = {'10_tutorial': ROOT / 'phenocoder_runs' / 'tutorial' / 'tutorial.ipynb'}
KERNEL_META = {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
               'language_info': {'name': 'python'}}
DIRECTIVE = re.compile(r'^\s*#\|\s*([\w-]+:?)\s*(.*)$')


def config() -> dict:
    "settings.ini's [DEFAULT] section (nbdev's config)."
    import configparser
    cp = configparser.ConfigParser()
    cp.read(ROOT / 'settings.ini')
    return dict(cp['DEFAULT'])


def find_notebooks(nbs: Path) -> list:
    "Notebooks as nbdev finds them: recursive, skipping names starting with `_` or `.`."
    return sorted(p for p in nbs.rglob('*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts))


def page_name(nb: Path, nbs: Path) -> str:
    "The page name nbdev/Quarto gives a notebook: path without the numeric prefix (`00_core` -> `core`)."
    rel = nb.relative_to(nbs).with_suffix('')
    return '/'.join(re.sub(r'^\d+[a-z]?_', '', part) for part in rel.parts)


# ---------------------------------------------------------------- execution (optional)

def _digest(nb: Path) -> str:
    h = hashlib.sha256(nb.read_bytes())
    for f in sorted((ROOT / config()['lib_path']).rglob('*.py')): h.update(f.read_bytes())
    return h.hexdigest()[:16]


def execute(nb_path: Path, skip_flags: set):
    "Run a notebook like `nbdev_test` (same skipped cells, in its folder); return it with outputs, or raise."
    from execnb.nbio import read_nb
    from execnb.shell import CaptureShell
    cache = BUILD / 'executed' / f'{nb_path.stem}-{_digest(nb_path)}.ipynb'
    if cache.exists(): return read_nb(cache)
    nb = read_nb(nb_path)       # directives stay in the sources: the doc processors need them afterwards

    def no_eval(cell):
        if cell.cell_type != 'code' or 'nbdev_export' + '(' in cell.source: return True
        d, _ = _directives(cell.source)
        return d.get('eval', '').lower() == 'false' or bool(skip_flags & d.keys())
    os.environ['IN_TEST'] = '1'
    shell = CaptureShell(nb_path)
    try: shell.run_all(nb, exc_stop=True, preproc=no_eval)
    except Exception as e: raise RuntimeError(f'{nb_path.name} failed:\n{shell.prettytb(fname=nb_path)}') from e
    from execnb.nbio import write_nb
    cache.parent.mkdir(parents=True, exist_ok=True)
    for old in cache.parent.glob(f'{nb_path.stem}-*.ipynb'): old.unlink()
    write_nb(nb, cache)
    return read_nb(cache)


# ---------------------------------------------------------------- Quarto conventions -> MyST

def _directives(src: str):
    "Split `#| key: value` lines off the top of a cell."
    lines, d = src.splitlines(), {}
    while lines and DIRECTIVE.match(lines[0]):
        k, v = DIRECTIVE.match(lines.pop(0)).groups()
        d[k.rstrip(':')] = v.strip()
    return d, '\n'.join(lines).strip('\n')


def label(name: str) -> str: return 'api-' + name.lower()


class Links:
    "Rewrite nbdev's absolute doc links (`https://host/base/page.html#anchor`) into internal references."
    def __init__(self, cfg: dict, labels: set):
        base = (cfg.get('doc_host', '') + cfg.get('doc_baseurl', '')).rstrip('/')
        self.re = re.compile(r'\[(`[^`\]]+`)\]\(' + re.escape(base) + r'/[\w/.-]*?\.html#([^)\s]+)\)') if base else None
        self.labels = labels

    def __call__(self, md: str) -> str:
        if not self.re: return md
        def sub(m):
            lab = label(m.group(2))
            return f'[{m.group(1)}](#{lab})' if lab in self.labels else m.group(0)
        return self.re.sub(sub, md)


def _show_doc_md(md: str, level: int, seen: set) -> tuple:
    "show_doc's markdown as a page section: heading at `level`, a label, a source link, no leading rule."
    md = re.sub(r'^\s*---\s*\n', '', md)
    src = re.search(r'\[source\]\(([^)]+)\)\{[^}]*\}\s*\n', md)
    if src: md = md.replace(src.group(0), '')
    m = re.search(r'^(#+) (.+)$', md, flags=re.M)
    if not m: return md, None
    name = m.group(2).strip()
    head = ('#' * level) + ' ' + name
    lab = label(name)
    new = (f'({lab})=\n' if lab not in seen else '') + head
    if src: new += f'\n\n<a class="sd-source-link reference external" href="{src.group(1)}">source</a>'
    md = md[:m.start()] + new + md[m.end():]
    md = re.sub(r'```python\n.*?```', lambda f: re.sub(r'\[(`[^`]+`)\]\([^)]*\)', r'\1', f.group(0)), md, flags=re.S)  # no links in code
    md = re.sub(r'```python\n\s*\n', '```python\n', md)       # blank lines nbdev puts around signatures
    md = re.sub(r'\n\s*\n```', '\n```', md)
    return md, name


def to_myst(nb, name: str, links: Links, seen: set, api: list) -> dict:
    "Translate an nbdev-processed notebook into one myst-nb renders cleanly."
    cells, title, level = [], None, 1
    for cell in nb.cells:
        src = ''.join(cell.get('source', '') or '')
        if cell.cell_type == 'raw' and src.lstrip().startswith('---'):           # frontmatter
            import yaml
            fm = yaml.safe_load(src.strip().strip('-')) or {}
            title = fm.get('title') or name
            md = f'# {title}\n'
            if fm.get('description'): md += f'\n> {fm["description"]}\n'
            cells.append(dict(cell_type='markdown', metadata={}, source=links(md)))
            continue
        if not src.strip() or 'AUTOGENERATED! DO NOT EDIT' in src: continue
        if cell.cell_type == 'markdown':
            for h in re.findall(r'^(#+) ', src, flags=re.M): level = len(h)
            cells.append(dict(cell_type='markdown', metadata={}, source=links(src)))
            continue
        if cell.cell_type != 'code': continue
        d, code = _directives(src)
        if d.get('include') == 'false': continue
        outs = [dict(o) for o in cell.get('outputs', [])]
        if re.match(r'^\s*show_doc\(', code) and d.get('echo') == 'false':        # API entry -> page section
            md = ''.join(next((o['data']['text/markdown'] for o in outs if 'text/markdown' in o.get('data', {})), ''))
            md, obj = _show_doc_md(md, min(level + 1, 3) if level < 3 else level, seen)
            if obj:
                if label(obj) not in seen: api.append((obj, label(obj), _first_line(md)))
                seen.add(label(obj))
            cells.append(dict(cell_type='markdown', metadata={}, source=links(md)))
            continue
        tags = list(cell.get('metadata', {}).get('tags', []))
        if d.get('echo') == 'false': tags.append('remove-input')
        if d.get('output') == 'false': tags.append('remove-output')
        if 'code-fold' in d: tags.append('hide-input')
        for o in outs:
            if o.get('output_type') == 'stream' and isinstance(o.get('text'), list): o['text'] = ''.join(o['text'])
        outs = [o for o in outs if not (o.get('output_type') == 'stream' and not o.get('text'))]
        cells.append(dict(cell_type='code', metadata={'tags': tags} if tags else {}, source=code,
                          outputs=outs, execution_count=None))
    for i, c in enumerate(cells): c['id'] = f'{re.sub(r"[^A-Za-z0-9-]", "-", name)}-{i}'
    return dict(nbformat=4, nbformat_minor=5, metadata=dict(KERNEL_META), cells=cells), title


def _first_line(md: str) -> str:
    m = re.search(r'^\*(.+)\*\s*$', md, flags=re.M)
    return m.group(1).strip() if m else ''


# ---------------------------------------------------------------- one notebook (runs in a worker process)

def process(job: dict) -> dict:
    "Process one notebook with nbdev's doc processors and translate it to MyST; returns what the index needs."
    t0 = time.time()
    nb_path = Path(job['path'])
    os.chdir(nb_path.parent)
    from execnb.nbio import read_nb
    from nbdev.processors import FilterDefaults
    res = dict(name=job['name'], path=job['path'], nb=None, error=None)
    src = Path(job['executed'] or nb_path)
    key = hashlib.sha256(src.read_bytes() + _digest(nb_path).encode() + str(job['execute']).encode()).hexdigest()[:16]
    cached = BUILD / 'proc' / f'{nb_path.stem}-{key}.json'
    if cached.exists():
        res.update(nb=json.loads(cached.read_text()), seconds=time.time() - t0, cached=True)
        return res
    try:
        if job['executed']: nb = read_nb(job['executed'])
        elif job['execute']: nb = execute(nb_path, set(job['skip_flags']))
        else: nb = read_nb(nb_path)
        os.environ['IN_TEST'] = '1'      # as nbdev's docs processing: notebooks may skip work under it
        try: FilterDefaults()(nb)
        except Exception as e:
            cause = f'\n  caused by {type(e.__cause__).__name__}: {e.__cause__}' if e.__cause__ else ''
            hint = ('\n  (nbdev runs every cell that contains an import when it renders docs: keep imports in the '
                    "notebook's import cells, apart from code that needs earlier cells)")
            raise RuntimeError(f"nbdev's doc processing (as for nbdev_docs) failed: {e}{cause}{hint}") from e
        res['nb'] = nb_json(nb)
        cached.parent.mkdir(parents=True, exist_ok=True)
        for old in cached.parent.glob(f'{nb_path.stem}-*.json'): old.unlink()
        cached.write_text(json.dumps(res['nb']))
    except Exception as e: res['error'] = str(e)
    res['seconds'] = time.time() - t0
    return res


def nb_json(nb) -> dict:
    "An execnb notebook as plain JSON-able data."
    from execnb.nbio import nb2str
    return json.loads(nb2str(nb))


# ---------------------------------------------------------------- the site

def api_page(entries: list) -> str:
    "The API overview: every documented name, by page, linked to its section."
    md = ['# API reference', '',
          'Every exported function and class, documented on the page of the notebook that defines it '
          '(signature with parameter comments, docstring, examples).', '']
    for page, title, items in entries:
        if not items: continue
        md += [f'## {title}', '', '| name | summary |', '|---|---|']
        md += ['| [`%s`](#%s) | %s |' % (obj, lab, doc.replace('|', r'\|')) for obj, lab, doc in items]
        md.append('')
    return '\n'.join(md)


def index_toctree(pages: list, has_api: bool) -> str:
    "Hidden toctrees for the side bar: tutorial, chapters, reference."
    tut = [p for p, _ in pages if 'tutorial' in p]
    chap = [p for p, _ in pages if p not in tut and p != 'index']
    md = ''
    for caption, items in (('Tutorial', tut), ('Chapters', chap), ('Reference', ['api'] if has_api else [])):
        if items: md += f'\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n' + '\n'.join(items) + '\n```\n'
    return md


def check_exports(lib: Path, documented: set) -> list:
    "Exported functions and classes (in `__all__` of every module) that have no API section."
    missing = []
    for f in sorted(lib.glob('*.py')):
        if f.name.startswith('_'): continue
        body = ast.parse(f.read_text()).body
        defs = {n.name for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        for node in body:
            if isinstance(node, ast.Assign) and any(getattr(t, 'id', '') == '__all__' for t in node.targets):
                missing += [f'{f.stem}.{n}' for n in ast.literal_eval(node.value) if n in defs and label(n) not in documented]
    return missing


# ---------------------------------------------------------------- maths typeset offline (headless browser)

def browser() -> str | None:
    "A headless-capable Chromium/Chrome on this machine (None if there is none)."
    return next((shutil.which(b) for b in ('chromium', 'chromium-browser', 'google-chrome', 'chrome') if shutil.which(b)), None)


def rendered_dom(page: Path, exe: str, wait_ms: int = 20000) -> str:
    "The DOM of a local page after its scripts ran, from headless Chromium (file:// only; the network is not needed)."
    cmd = [exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           f'--virtual-time-budget={wait_ms}', '--dump-dom', page.resolve().as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode or not r.stdout.strip(): raise RuntimeError(f'{exe} could not render {page}: {r.stderr[-500:]}')
    return r.stdout


VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}


def untypeset_math(dom: str) -> tuple:
    "(number of formulas, TeX left as text in those MathJax did not typeset) in a page's rendered DOM."
    from html.parser import HTMLParser
    class P(HTMLParser):
        def __init__(self):
            super().__init__(); self.stack, self.cur, self.found, self.raw = [], None, 0, []
        def handle_starttag(self, tag, attrs):
            if tag in VOID: return
            is_math = tag in ('span', 'div') and 'math' in (dict(attrs).get('class') or '').split() and self.cur is None
            self.stack.append((tag, 'math' if is_math else 'mjx' if tag.startswith('mjx-') else ''))
            if is_math: self.found += 1; self.cur = {'text': '', 'mjx': False}
            if tag == 'mjx-container' and self.cur is not None: self.cur['mjx'] = True
        def handle_data(self, data):
            if self.cur is not None and not any(k == 'mjx' for _, k in self.stack): self.cur['text'] += data
        def handle_endtag(self, tag):
            if tag in VOID or all(t != tag for t, _ in self.stack): return
            while self.stack:
                t, k = self.stack.pop()
                if k == 'math':
                    if not self.cur['mjx'] or self.cur['text'].strip(): self.raw.append(self.cur['text'].strip() or '(empty)')
                    self.cur = None
                if t == tag: break
    p = P(); p.feed(dom)
    return p.found, p.raw


def check_math(out_dir: Path, max_pages: int = 3) -> list:
    "Pages (up to `max_pages`) with formulas, rendered in a headless browser: every formula typeset by the local MathJax."
    exe = browser()
    if exe is None: raise RuntimeError('No Chromium/Chrome to check the maths with (apt-get install chromium).')
    pages = [p for p in sorted(out_dir.glob('*.html')) if 'class="math' in p.read_text(errors='ignore')][:max_pages]
    if not pages: print('  maths: no page with formulas')
    problems = []
    for page in pages:
        html = page.read_text(errors='ignore')
        if re.search(r'<script[^>]+src="https?://[^"]*mathjax', html, flags=re.I): problems.append(f'{page.name}: MathJax from the network')
        n, raw = untypeset_math(rendered_dom(page, exe))
        if not n: problems.append(f'{page.name}: no formulas in the rendered page')
        if raw: problems.append(f'{page.name}: {len(raw)} of {n} formulas not typeset, e.g. {raw[0][:60]!r}')
        print(f'  maths: {page.name}: {n - len(raw)} of {n} formulas typeset')
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--execute', action='store_true', help='run every notebook first (cached; tst_flags cells skipped)')
    ap.add_argument('--executed', action='append', default=[], metavar='NAME=PATH',
                    help='use an executed copy of notebook NAME (stem, e.g. 10_tutorial), e.g. from papermill')
    ap.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1), help='notebooks processed in parallel')
    ap.add_argument('--out', default=str(BUILD / 'html'), help='output folder')
    ap.add_argument('--no-strict', action='store_true', help='skip notebooks that fail; Sphinx warnings are not errors')
    ap.add_argument('--only', default='*', metavar='GLOB', help='only these notebooks (e.g. "0[0-3]_*"); index always')
    ap.add_argument('--check-math', choices=('auto', 'yes', 'no'), default='auto',
                    help='check in headless Chromium that formulas are typeset offline (auto: when Chromium is installed)')
    args = ap.parse_args(argv)
    t0 = time.time()
    cfg = config()
    nbs = ROOT / cfg.get('nbs_path', 'nbs')
    executed = {k: v for k, v in DEFAULT_EXECUTED.items() if v.exists()}
    for item in args.executed:
        k, _, v = item.partition('=')
        if not Path(v).exists(): sys.exit(f'--executed: {v} does not exist')
        executed[k] = Path(v).resolve()
    skip = cfg.get('tst_flags', '').split()
    jobs = [dict(path=str(p), name=page_name(p, nbs), execute=args.execute, skip_flags=skip,
                 executed=str(executed[p.stem]) if p.stem in executed else None)
            for p in find_notebooks(nbs) if p.match(args.only) or p.stem == 'index']
    if not jobs: sys.exit(f'No notebooks in {nbs}')
    print(f'Processing {len(jobs)} notebooks with {args.jobs} workers'
          + (' (executing)' if args.execute else '') + (f'; executed copies: {list(executed)}' if executed else ''))
    # workers import this file as the module `build` (notebook shells replace `__main__`, which pickling by
    # `__main__.process` would need)
    os.environ['PYTHONPATH'] = os.pathsep.join([str(DOCS), str(ROOT), os.environ.get('PYTHONPATH', '')])
    sys.path.insert(0, str(DOCS))
    import build
    with ProcessPoolExecutor(args.jobs, mp_context=get_context('spawn')) as ex:
        done = list(ex.map(build.process, jobs))
    for d in done:
        print(f"  {d['name']:<20} {d['seconds']:6.1f} s" + ('  FAILED' if d['error'] else ' (cached)' if d.get('cached') else ''))
    failed = [d for d in done if d['error']]
    for d in failed: print(f"\nerror: {Path(d['path']).relative_to(ROOT)}: {d['error']}\n", file=sys.stderr)
    if failed and not args.no_strict: sys.exit(f'{len(failed)} notebook(s) failed; nothing built.')
    done = [d for d in done if not d['error']]

    # labels first (links between pages need every page's API names), then translation
    src = BUILD / 'src'
    shutil.rmtree(src, ignore_errors=True); src.mkdir(parents=True)
    from execnb.nbio import dict2nb
    labels = set()
    for d in done:
        for c in d['nb']['cells']:
            s = ''.join(c.get('source', '') or '')
            if re.match(r'(\s*#\|.*\n)*\s*show_doc\(', s):
                md = ''.join(next((o['data']['text/markdown'] for o in c.get('outputs', [])
                                   if 'text/markdown' in o.get('data', {})), ''))
                m = re.search(r'^#+ (.+)$', md, flags=re.M)
                if m: labels.add(label(m.group(1).strip()))
    links, seen, pages, api = Links(cfg, labels), set(), [], []
    for d in done:
        items = []
        nb, title = to_myst(dict2nb(d['nb']), d['name'], links, seen, items)
        out = src / f"{d['name']}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        pages.append((d['name'], title or d['name']))
        api.append((d['name'], title or d['name'], items))
        if d['name'] == 'index': index_nb = (out, nb)
        else: out.write_text(json.dumps(nb, indent=1))
    has_api = any(items for *_, items in api)
    if has_api: (src / 'api.md').write_text(api_page(api))
    toc = index_toctree(pages, has_api)
    if any(p == 'index' for p, _ in pages):
        out, nb = index_nb
        nb['cells'].append(dict(cell_type='markdown', metadata={}, source=toc, id='index-toctree'))
        out.write_text(json.dumps(nb, indent=1))
    else:
        (src / 'index.md').write_text(f"# {cfg.get('title', 'Documentation')}\n\n> {cfg.get('description', '')}\n{toc}")
    missing = check_exports(ROOT / cfg['lib_path'], seen) if args.only == '*' and len(done) == len(jobs) else []
    if missing: print(f"warning: exported but not documented: {', '.join(missing)}")

    out_dir = Path(args.out).resolve()
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-c', str(DOCS), '-j', 'auto', '-q',
           '-d', str(BUILD / 'doctrees'), str(src), str(out_dir)]
    if not args.no_strict: cmd[3:3] = ['-W', '--keep-going']
    if missing and not args.no_strict: sys.exit(1)
    r = subprocess.run(cmd, cwd=ROOT)
    if r.returncode: sys.exit(f'sphinx-build failed ({r.returncode})')
    if args.check_math == 'yes' or (args.check_math == 'auto' and browser()):
        problems = check_math(out_dir)
        if problems: sys.exit('maths not typeset offline:\n  ' + '\n  '.join(problems))
    elif args.check_math == 'auto': print('(maths not checked: no Chromium; apt-get install chromium)')
    print(f'Site: {out_dir}/index.html  ({time.time() - t0:.0f} s)')


if __name__ == '__main__':
    main()
