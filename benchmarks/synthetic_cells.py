"""A third synthetic data set, 2D cells, unlike both `phenocoder.data.example_3d` and `synthetic_tissue.make_tissue`,
to judge the workflow on data it was not developed on.

What differs from the other two:

- 2D images (c, y, x), no z-slices, so no `z` to condition on; uint16 with a 100-count camera offset;
- 2 channels: `nucleus` (the object) and `membrane` (a ring around it);
- 4 phenotypes chosen to differ in shape more than in brightness: `round`, `elongated` (aspect ratio 2.6, at any
  angle), `speckled` (round, with bright puncta) and `small_bright`; the size of all but `small_bright` varies by
  +-13% within a phenotype;
- 12 samples: 3 imaging plates crossed with 2 architectures (`clustered`: each quadrant holds mostly one phenotype;
  `random`), 2 samples of each;
- the batch effect of 3 plates: blur 0.6 / 1.4 / 2.2 px, gain 1.0 / 1.4 / 0.7, background 0.05 / 0.15 / 0.02, noise
  0.02 / 0.04 / 0.06 (of the full range).

    make_cells(seed=0, n_samples=12) -> SpatialData   # images IF_{s} (c, y, x), labels nuclei_{s}, table nuclei_features

The table records each object's planted `phenotype`, `angle` (radians) and `radius` (px) in `.obs`.
"""
from __future__ import annotations
import numpy as np
import pandas as pd
from scipy import ndimage

PHENOTYPES = ('round', 'elongated', 'speckled', 'small_bright')
CHANNELS = ('nucleus', 'membrane')
PIXEL_SIZE = 0.65                      # um per pixel
_PLATES = dict(blur=(0.6, 1.4, 2.2), gain=(1.0, 1.4, 0.7), background=(0.05, 0.15, 0.02), noise=(0.02, 0.04, 0.06))


def _centres(rng, size:int, n:int, min_dist:float=14.0)->np.ndarray:
    "Up to `n` random object centres at least `min_dist` px apart, `min_dist` from the border (dart throwing)."
    out = []
    for _ in range(40 * n):
        c = rng.uniform(min_dist, size - min_dist, 2)
        if all(np.hypot(*(c - d)) >= min_dist for d in out): out.append(c)
        if len(out) == n: break
    return np.array(out)


def _draw(img, lab, i, c, p, rng, yy, xx):
    "Draw object `i` of phenotype `p` centred at `c` into `img` (2, h, w) and `lab`; return its angle and radius."
    a, r = rng.uniform(0, np.pi), rng.uniform(5.0, 6.5)
    ax = {'elongated': (r * 1.6, r / 1.6), 'small_bright': (3.5, 3.5)}.get(p, (r, r))
    dy, dx = yy - c[0], xx - c[1]
    u, v = dy * np.cos(a) + dx * np.sin(a), -dy * np.sin(a) + dx * np.cos(a)
    inside = ((u / ax[0]) ** 2 + (v / ax[1]) ** 2 <= 1) & (lab == 0)
    lab[inside] = i
    img[0][inside] += 0.9 if p == 'small_bright' else 0.5
    img[1][((u / (ax[0] + 3)) ** 2 + (v / (ax[1] + 3)) ** 2 <= 1) & ~inside] += 0.3
    if p == 'speckled':
        h, w = lab.shape
        for py, px in (c + rng.normal(0, r / 2, (rng.integers(6, 12), 2))).astype(int):
            py, px = min(max(py, 0), h - 1), min(max(px, 0), w - 1)
            img[0][max(py - 1, 0):py + 2, max(px - 1, 0):px + 2] += 0.5
    return a, (3.5 if p == 'small_bright' else r)


def make_cells(
    seed:int=0,             # seed of everything (layout, shapes, noise)
    n_samples:int=12,       # samples (>= 6): plate x architecture crossed
    n_per_sample:int=220,   # objects asked for per sample
    size:int=384,           # image height = width (px)
):
    "The third synthetic data set as SpatialData: images IF_{s} (c, y, x), labels nuclei_{s} (y, x), table nuclei_features."
    import anndata as ad
    from spatialdata import SpatialData
    from spatialdata.models import Image2DModel, Labels2DModel, TableModel
    if n_samples < 6: raise ValueError(f"n_samples={n_samples}: expected at least 6 (3 plates x 2 architectures).")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images, labels, rows = {}, {}, []
    for k in range(n_samples):
        well, plate, arch = f'W{k:02d}', k % 3, ('clustered', 'random')[(k // 3) % 2]
        cents = _centres(rng, size, n_per_sample)
        if arch == 'clustered':       # each quadrant mostly (80%) one phenotype
            q = (cents[:, 0] > size / 2).astype(int) * 2 + (cents[:, 1] > size / 2)
            ph = np.where(rng.random(len(cents)) < 0.8, q, rng.integers(0, 4, len(cents)))
        else: ph = rng.integers(0, 4, len(cents))
        img, lab = np.zeros((2, size, size)), np.zeros((size, size), np.int32)
        drawn = [_draw(img, lab, i, c, PHENOTYPES[p], rng, yy, xx) for i, (c, p) in enumerate(zip(cents, ph), 1)]
        b = {key: v[plate] for key, v in _PLATES.items()}
        img = ndimage.gaussian_filter(img, (0, b['blur'], b['blur'])) * b['gain'] + b['background']
        img = np.clip(img + rng.normal(0, b['noise'], img.shape), 0, 1)
        images[f'IF_{well}'] = Image2DModel.parse((img * 4000 + 100).astype(np.uint16), dims=('c', 'y', 'x'), c_coords=list(CHANNELS))
        labels[f'nuclei_{well}'] = Labels2DModel.parse(lab, dims=('y', 'x'))
        ids = np.unique(lab)[1:]                     # an object fully covered by earlier ones has no pixels: not in the table
        com = np.rint(np.array(ndimage.center_of_mass(lab > 0, lab, ids))).astype(int)
        angle, radius = np.array(drawn).T
        rows.append(pd.DataFrame(dict(well=well, batch=f'plate{plate}', architecture=arch,
                                      phenotype=np.array(PHENOTYPES)[ph[ids - 1]], angle=angle[ids - 1], radius=radius[ids - 1],
                                      label=ids, region=f'nuclei_{well}', y=com[:, 0], x=com[:, 1])))
    obs = pd.concat(rows, ignore_index=True)
    obs.index = [f'{w}_{i}' for w, i in zip(obs['well'], obs['label'])]
    for col in ('well', 'batch', 'architecture', 'phenotype', 'region'): obs[col] = obs[col].astype('category')
    t = ad.AnnData(obs=obs.drop(columns=['y', 'x']))
    t.obsm['spatial_index'] = obs[['y', 'x']].to_numpy()
    t.obsm['spatial'] = obs[['y', 'x']].to_numpy() * PIXEL_SIZE
    t = TableModel.parse(t, region=sorted(labels), region_key='region', instance_key='label')
    return SpatialData(images=images, labels=labels, tables={'nuclei_features': t})
