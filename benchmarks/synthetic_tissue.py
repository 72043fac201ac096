"""A second synthetic tissue, deliberately unlike the bundled `phenocoder.data.example_3d`, to judge the workflow on data
it was not developed on.

What differs from example_3d (4 wells, 4 uint8 channels, 5 slices 10 um apart, 4 phenotypes on a 2 x 2 niche map, batch =
gain/offset/gamma/blur/Gaussian noise):

- 8 samples (any number >= 4): architecture (`segregated`: 16 small same-phenotype niches; `mixed`: uniform)
  crossed with the imaging batch (`day1`, `day2`), so neither predicts the other;
- 5 phenotypes with other shapes and textures: `bilobed` (two overlapping lobes), `hollow` (a DNA ring with a dark core),
  `granular` (puncta in and around the nucleus in GRN), `lobulated` (a wavy outline, bright lamina), `condensed` (small,
  very bright, with a diffuse GRN halo); object size varies by +-20 % within a phenotype;
- 3 channels (`DNA`, `LMN`, `GRN`), uint16 (12-bit), 3 z-slices 4 um apart, 0.8 um pixels, crowded (about 280 objects in
  192 x 192 pixels, overlaps allowed up to 8 %);
- the batch effect: channel bleed-through, per-channel gain, offset and gamma, optical blur, an illumination gradient and
  vignetting, Poisson (shot) plus read noise.

    make_tissue(seed=0, n_samples=8) -> SpatialData   # images IF_{s} (c, z, y, x), labels nuclei_{s}, table nuclei_features
    make_tissue(seed=0, composition='batch')          # the same, but the phenotype shares differ 5x between the batches
                                                      # (`SHIFTED_SHARES`): batches that hold different biology

Run as a script to print how separable the phenotypes are from pixels and how visible the batch is:

    python benchmarks/synthetic_tissue.py [--seeds 0,1,2]
"""
from __future__ import annotations
import argparse
import numpy as np
import pandas as pd
from scipy import ndimage

PHENOTYPES = ('bilobed', 'hollow', 'granular', 'lobulated', 'condensed')
CHANNELS = ('DNA', 'LMN', 'GRN')
PIXEL_SIZE, Z_STEP = 0.8, 4.0          # um per pixel, um between slices
# radius (px), channel levels (DNA, LMN, GRN), z semi-axis range (um)
_PHENO = {
    'bilobed':   dict(r=6.0, levels=(0.60, 0.35, 0.05), rz=(4, 7)),
    'hollow':    dict(r=7.0, levels=(0.75, 0.25, 0.05), rz=(4, 7)),
    'granular':  dict(r=6.0, levels=(0.35, 0.10, 0.80), rz=(4, 7)),
    'lobulated': dict(r=6.5, levels=(0.30, 0.70, 0.10), rz=(4, 7)),
    'condensed': dict(r=3.8, levels=(1.00, 0.05, 0.25), rz=(3, 5)),
}
# per batch: channel bleed-through matrix, gain, offset, gamma (per channel), blur (px), illumination gradient and
# vignetting strength, photons per unit intensity (shot noise), read noise sd
_BATCH = {
    'day1': dict(mix=np.eye(3), gain=(1.0, 1.0, 1.0), offset=(0.02, 0.02, 0.02), gamma=(1.0, 1.0, 1.0), blur=0.5,
                 gradient=0.0, vignette=0.0, photons=900, read=0.006),
    'day2': dict(mix=np.array([[1, 0, 0], [0.3, 1, 0], [0, 0.25, 1.0]]), gain=(1.3, 0.75, 1.1), offset=(0.12, 0.06, 0.10),
                 gamma=(1.5, 0.65, 1.2), blur=1.6, gradient=0.5, vignette=0.3, photons=120, read=0.03),
}


def _radius_profile(p:str, rng)->dict:
    "Shape parameters of one object of phenotype `p`."
    d = _PHENO[p]
    r = d['r'] * rng.lognormal(0, 0.12) * rng.uniform(0.8, 1.2)
    k = rng.poisson(9) + 4 if p == 'granular' else 0
    ang, rad = rng.uniform(0, 2 * np.pi, k), rng.uniform(0.2, 1.5, k)
    return dict(p=p, r=r, theta=rng.uniform(0, 2 * np.pi), ecc=rng.uniform(1.0, 1.25), rz=rng.uniform(*d['rz']),
                levels=np.array(d['levels']) * rng.lognormal(0, 0.12, 3), phase=rng.uniform(0, 2 * np.pi, 2),
                puncta=np.column_stack([rad * np.cos(ang), rad * np.sin(ang)]), punct_amp=rng.uniform(0.5, 1.0, k),
                tex_seed=int(rng.integers(2**31)))


def _rho(o:dict, u:np.ndarray, v:np.ndarray, s:float)->np.ndarray:
    "Normalised radius (1 = the outline) of object `o` at rotated offsets (u, v), cross-section scale `s`."
    r = o['r'] * s
    if o['p'] == 'bilobed':
        return np.minimum(np.hypot(u - 0.55 * r, v), np.hypot(u + 0.55 * r, v)) / (0.85 * r)
    rho = np.hypot(u, v * o['ecc']) / r
    if o['p'] == 'lobulated':
        phi = np.arctan2(v, u)
        rho = rho / (1 + 0.22 * np.cos(3 * phi + o['phase'][0]) + 0.12 * np.cos(5 * phi + o['phase'][1]))
    return rho


def _render(o:dict, dy:np.ndarray, dx:np.ndarray, s:float, k:int)->tuple:
    "Mask and (3, h, w) intensities of object `o` on local offsets (dy, dx) at cross-section scale `s`, slice `k`."
    c, si = np.cos(o['theta']), np.sin(o['theta'])
    u, v = dx * c + dy * si, -dx * si + dy * c
    rho = _rho(o, u, v, s)
    soft = np.clip((1 - rho) * o['r'] * s + 0.5, 0, 1)
    tex = ndimage.gaussian_filter(np.random.default_rng(o['tex_seed'] + k).standard_normal(rho.shape), 0.8)
    tex = 1 + 0.18 * tex / (tex.std() + 1e-9)
    lev, out = o['levels'] * (0.6 + 0.4 * s), np.zeros((3, *rho.shape), np.float32)
    dna = soft * tex
    if o['p'] == 'hollow': dna = dna * np.clip((rho - 0.35) / 0.25, 0.08, 1)
    out[0], out[1] = lev[0] * dna, lev[1] * soft * (0.6 + 0.4 * np.clip(rho, 0, 1) ** 2) * tex
    if o['p'] == 'granular':
        r = o['r'] * s
        for (pu, pv), a in zip(o['puncta'], o['punct_amp']):
            out[2] += lev[2] * a * np.exp(-((u - pu * r) ** 2 + (v - pv * r) ** 2) / (2 * 0.8 ** 2))
    elif o['p'] == 'condensed': out[2] = lev[2] * np.exp(-np.clip(rho - 1, 0, None) ** 2 / 2.5 ** 2) * (rho < 3.5)
    else: out[2] = lev[2] * soft * tex
    return rho <= 1, out


def _slices(o:dict, zc:float, n_z:int)->list:
    "(slice, scale) pairs of an object centred at slice coordinate `zc` (cross-sections of at least half its radius)."
    out = []
    for k in range(n_z):
        q = ((k - zc) * Z_STEP / o['rz']) ** 2
        if q < 0.75: out.append((k, float(np.sqrt(1 - q))))
    return out


def _centres(rng, arch:str, p:int, n:int, size:int, owner:np.ndarray, home:float=0.85)->np.ndarray:
    "`n` candidate centres for an object of phenotype `p`: in a niche of its phenotype (segregated: a 4 x 4 grid of niches,"
    " niche g belongs to phenotype owner[g]; a share `home` of the objects stay at home) or anywhere (mixed)."
    if arch == 'mixed' or rng.uniform() >= home: return rng.uniform(4, size - 4, (n, 2))
    g = rng.choice(np.flatnonzero(owner == p), n)
    return np.clip((np.column_stack([g // 4, g % 4]) + rng.uniform(0.05, 0.95, (n, 2))) * size / 4, 4, size - 4)


def _place(rng, o:dict, cy:float, cx:float, zc:float, lab:np.ndarray)->list|None:
    "Footprints [(slice, scale, box, mask, intensities)] of `o` at (cy, cx, zc), or None if it overlaps others by > 8 %."
    n_z, h, w = lab.shape
    half = int(np.ceil(3.6 * o['r'])) + 1
    y0, y1, x0, x1 = max(int(cy) - half, 0), min(int(cy) + half + 1, h), max(int(cx) - half, 0), min(int(cx) + half + 1, w)
    dy, dx = np.mgrid[y0:y1, x0:x1] + 0.5
    fps = []
    for k, s in _slices(o, zc, n_z):
        m, val = _render(o, dy - cy, dx - cx, s, k)
        box = (slice(y0, y1), slice(x0, x1))
        if m.sum() == 0 or (lab[k][box][m] != 0).mean() > 0.08: return None
        fps.append((k, s, box, m, val))
    return fps or None


def _sample(rng, arch:str, n:int, size:int, n_z:int, tries:int=40, shares=None)->tuple:
    "Place `n` objects in one sample: float image (c, z, y, x), labels (z, y, x), per-object truth; `shares`: phenotype shares (default: equal)."
    if shares is None: phen = rng.permutation(np.arange(n) % len(PHENOTYPES))
    else:
        cnt = np.floor(np.asarray(shares) / np.sum(shares) * n).astype(int); cnt[np.argmax(cnt)] += n - cnt.sum()
        phen = rng.permutation(np.repeat(np.arange(len(PHENOTYPES)), cnt))
    objs = [_radius_profile(PHENOTYPES[p], rng) for p in phen]
    ids = rng.choice(np.arange(1, 20 * n), n, replace=False).astype(np.uint32)   # sparse, unordered ids
    img, lab = np.zeros((3, n_z, size, size), np.float32), np.zeros((n_z, size, size), np.uint32)
    rows, owner = [], rng.permutation(np.arange(16) % len(PHENOTYPES))   # the phenotype of each of 16 niches
    for i in np.argsort([-o['r'] for o in objs], kind='stable'):
        for cy, cx in _centres(rng, arch, phen[i], tries, size, owner):
            zc = rng.integers(n_z) + rng.uniform(-0.3, 0.3)
            fps = _place(rng, objs[i], cy, cx, zc, lab)
            if fps: break
        else: continue
        for k, s, box, m, val in fps:
            lb = lab[k][box]; lb[m & (lb == 0)] = ids[i]
            img[:, k][(slice(None), *box)] += val
        zi = int(np.clip(np.floor(zc + 0.5), 0, n_z - 1))
        rows.append(dict(label=int(ids[i]), phenotype=PHENOTYPES[phen[i]], cy=cy, cx=cx, z=zi, zc=zc, radius=objs[i]['r'],
                         theta=objs[i]['theta'], ecc=objs[i]['ecc'], rz=objs[i]['rz'],
                         y_idx=int(cy), x_idx=int(cx)))
    return img, lab, pd.DataFrame(rows)


def _illumination(size:int, b:dict, rng)->np.ndarray:
    "A (y, x) illumination field: a linear gradient in a random direction times a radial vignette."
    yy, xx = (np.mgrid[:size, :size] + 0.5) / size - 0.5
    t = rng.uniform(0, 2 * np.pi)
    return (1 + b['gradient'] * (yy * np.cos(t) + xx * np.sin(t))) * (1 - b['vignette'] * 2 * (yy ** 2 + xx ** 2))


def _image_batch(rng, img:np.ndarray, batch:str)->np.ndarray:
    "Apply the batch's optics and camera to a clean float image; 12-bit uint16."
    b = _BATCH[batch]
    img = np.einsum('dc,czyx->dzyx', b['mix'], img)
    img = ndimage.gaussian_filter(img, (0, 0, b['blur'], b['blur']))
    bg = ndimage.gaussian_filter(rng.standard_normal(img.shape[:1] + (1,) + img.shape[2:]), (0, 0, 16, 16))
    img = np.clip(img + 0.03 + 0.01 * bg / bg.std(), 0, None) * _illumination(img.shape[-1], b, rng)
    img = np.clip(img, 0, None) ** np.array(b['gamma'])[:, None, None, None]
    img = img * np.array(b['gain'])[:, None, None, None] + np.array(b['offset'])[:, None, None, None]
    img = rng.poisson(np.clip(img, 0, None) * b['photons']) / b['photons'] + rng.normal(0, b['read'], img.shape)
    return np.clip(np.floor(img * 2000 + 0.5), 0, 4095).astype(np.uint16)


def _features(truth:pd.DataFrame, lab:np.ndarray, im:np.ndarray)->np.ndarray:
    "Per-object area (px, own slice) and mean intensity per channel in the own slice, from the labels (vectorised)."
    out = np.zeros((len(truth), 1 + im.shape[0]), np.float32)
    for z in np.unique(truth['z']):
        m = (truth['z'] == z).to_numpy()
        ids = truth['label'].to_numpy()[m]
        area = ndimage.sum_labels(np.ones_like(lab[z], np.float32), lab[z], ids)
        out[m, 0] = area
        for c in range(im.shape[0]):
            out[m, 1 + c] = ndimage.sum_labels(im[c, z].astype(np.float32), lab[z], ids) / np.maximum(area, 1)
    return out


def sample_design(n_samples:int=8)->pd.DataFrame:
    "Sample names with architecture crossed with batch (both balanced; every combination at least once for n >= 4)."
    if n_samples < 4: raise ValueError(f"n_samples={n_samples!r}: at least 4 are needed to cross 2 architectures with 2 batches.")
    i = np.arange(n_samples)
    return pd.DataFrame({'well': [f'T{j + 1:02d}' for j in i], 'architecture': np.where(i % 2 == 0, 'segregated', 'mixed'),
                         'batch': np.where((i // 2) % 2 == 0, 'day1', 'day2')})


# phenotype shares per batch with `make_tissue(composition='batch')`: the batch is confounded with a composition shift
# (as when a treatment and the imaging day go together), 5x between the batches for the rarest and commonest phenotypes
SHIFTED_SHARES = {'day1': (0.40, 0.25, 0.15, 0.12, 0.08), 'day2': (0.08, 0.12, 0.15, 0.25, 0.40)}


def make_tissue(
    seed:int=0,             # seed of everything (layout, shapes, noise)
    n_samples:int=8,        # samples (>= 4), architecture x batch crossed
    n_per_sample:int=280,   # objects asked for per sample (a few may not fit)
    size:int=192,           # image height = width (px)
    n_z:int=3,              # z-slices
    composition:str|None=None,  # None: equal phenotype shares everywhere; 'batch': the shares differ by batch (`SHIFTED_SHARES`)
):
    "The second synthetic tissue as SpatialData: images IF_{s} (c, z, y, x), labels nuclei_{s} (z, y, x), table nuclei_features."
    import anndata as ad
    import dask.array as da
    from spatialdata import SpatialData
    from spatialdata.models import Image3DModel, Labels3DModel, TableModel
    if composition not in (None, 'batch'): raise ValueError(f"composition={composition!r}: expected None or 'batch'.")
    design, images, labels, tabs = sample_design(n_samples), {}, {}, []
    for j, (well, arch, batch) in enumerate(design.itertuples(index=False)):
        rng = np.random.default_rng([seed, j])
        img, lab, truth = _sample(rng, arch, n_per_sample, size, n_z, shares=SHIFTED_SHARES[batch] if composition else None)
        im = _image_batch(rng, img, batch)
        images[f'IF_{well}'] = Image3DModel.parse(da.from_array(im, chunks=(1, 1, size, size)), dims=('c', 'z', 'y', 'x'), c_coords=list(CHANNELS))
        labels[f'nuclei_{well}'] = Labels3DModel.parse(da.from_array(lab, chunks=(1, size, size)), dims=('z', 'y', 'x'))
        truth = truth.sort_values('label').reset_index(drop=True)
        truth['x_feat'] = list(_features(truth, lab, im))
        truth['well'], truth['architecture'], truth['batch'] = well, arch, batch
        tabs.append(truth)
    return SpatialData(images=images, labels=labels, tables={'nuclei_features': _table(pd.concat(tabs, ignore_index=True), design)})


def _own_radius(t:pd.DataFrame)->np.ndarray:
    "Each object's planted radius (px) at the cross-section of its own slice `z` (its table row's slice)."
    q = ((t['z'].to_numpy() - t['zc'].to_numpy()) * Z_STEP / t['rz'].to_numpy()) ** 2
    return (t['radius'].to_numpy() * np.sqrt(np.clip(1 - q, 0, 1))).astype(np.float64)


def _table(t:pd.DataFrame, design:pd.DataFrame):
    "The parsed object table: obs (well, region, label, z_stack, truth incl. planted radius / orientation / ellipticity), X, obsm."
    import anndata as ad
    from spatialdata.models import TableModel
    wells, regions = list(design['well']), [f'nuclei_{w}' for w in design['well']]
    obs = pd.DataFrame({'well': pd.Categorical(t['well'], categories=wells),
                        'region': pd.Categorical([f'nuclei_{w}' for w in t['well']], categories=regions),
                        'label': t['label'].to_numpy(np.int64), 'z_stack': t['z'].to_numpy(np.float64) + 1,
                        'phenotype': pd.Categorical(t['phenotype'], categories=list(PHENOTYPES)),
                        'architecture': pd.Categorical(t['architecture']), 'batch': pd.Categorical(t['batch']),
                        'true_radius': _own_radius(t), 'true_orientation': t['theta'].to_numpy(), 'true_ellipticity': t['ecc'].to_numpy()},
                       index=pd.Index([f'{w}_{l}' for w, l in zip(t['well'], t['label'])], dtype=str))
    idx = t[['y_idx', 'x_idx', 'z']].to_numpy(np.int64)
    spatial = np.column_stack([t['cy'] * PIXEL_SIZE, t['cx'] * PIXEL_SIZE, t['zc'].clip(0, None) * Z_STEP]).astype(np.float64)
    var = pd.DataFrame(index=pd.Index(['area'] + [f'intensity_mean_{c}' for c in CHANNELS], dtype=str))
    a = ad.AnnData(X=np.stack(t['x_feat'].to_list()).astype(np.float32), obs=obs, var=var,
                   obsm={'spatial': spatial, 'spatial_index': idx, 'spatial_2d': spatial[:, :2].copy()})
    a.uns['phenocoder_units'] = {'spatial': 'um (y, x, z)', 'spatial_2d': 'um (y, x)', 'spatial_index': 'image index (y, x, z)',
                                 'pixel_size': PIXEL_SIZE, 'z_step': Z_STEP, 'downsample': 1.0}
    return TableModel.parse(a, region=regions, region_key='region', instance_key='label')


def cut_patches(sdata, size:int=32, percentile:float=1.0)->np.ndarray:
    "One (size, size, c) patch per table row at its own z-slice (2D images: the image), each sample scaled per channel to [low, high] percentiles."
    t, h, out = sdata.tables['nuclei_features'], size // 2, []
    for w in t.obs['well'].cat.categories:
        im = np.asarray(sdata.images[f'IF_{w}'].data).astype(np.float32)
        if im.ndim == 3: im = im[:, None]                     # (c, y, x): one slice
        lo, hi = np.percentile(im, [percentile, 100 - percentile], axis=(1, 2, 3))
        im = np.clip((im - lo[:, None, None, None]) / (hi - lo)[:, None, None, None], 0, 1)
        im = np.pad(im, ((0, 0), (0, 0), (h, h), (h, h)))
        idx = t.obsm['spatial_index'][(t.obs['well'] == w).to_numpy()]
        y, x, z = (idx if idx.shape[1] == 3 else np.column_stack([idx, np.zeros(len(idx), int)])).T
        out.append(np.stack([im[:, zz, yy:yy + size, xx:xx + size].transpose(1, 2, 0) for yy, xx, zz in zip(y, x, z)]))
    order = np.concatenate([np.flatnonzero((t.obs['well'] == w).to_numpy()) for w in t.obs['well'].cat.categories])
    out = np.concatenate(out)
    res = np.empty((t.n_obs, *out.shape[1:]), np.float32); res[order] = out
    return res


def pixel_report(sdata, seed:int=0)->dict:
    "Pixel-level difficulty: pixel-PCA k-means ARI of the phenotypes, and 5-NN batch accuracy within phenotype on 10 pixel PCs."
    import anndata as ad
    from sklearn.decomposition import PCA
    from phenocoder.evaluation import pixel_pca_baseline, batch_mixing
    t, x = sdata.tables['nuclei_features'], cut_patches(sdata)
    base = pixel_pca_baseline(x, t.obs['phenotype'].to_numpy(), seed=seed)
    a = ad.AnnData(obs=t.obs[['phenotype', 'batch']].copy(), obsm={'X_pix': PCA(10, random_state=seed).fit_transform(x.reshape(len(x), -1))})
    mix = batch_mixing(a, 'batch', 'phenotype', use_rep='X_pix')
    return dict(n_objects=t.n_obs, pixel_pca_ari=base['best_ari'], pixel_pca_best_n=base['best_n_components'],
                pixel_batch_accuracy=mix['accuracy'], batch_chance=mix['chance'])


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', default='0,1,2')
    ap.add_argument('--n-samples', type=int, default=8)
    a = ap.parse_args()
    rows = {s: pixel_report(make_tissue(seed=int(s), n_samples=a.n_samples), seed=int(s)) for s in a.seeds.split(',')}
    print(pd.DataFrame(rows).T.round(3).to_string())
