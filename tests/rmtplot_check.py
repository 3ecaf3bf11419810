#!/usr/bin/python3
"""Check the figures tools/rmtplot wrote for an rmtmc output file.

usage: rmtplot_check.py OUT.h5 DIR LISTING [NAME ...]

Works out from OUT.h5 (independently of rmtplot) which figures must exist:
per point the density (when density/ is there), spacings and number variance
(spacings/), gap ratios (gap_ratios/); per experiment and parameter it sweeps
(per config_json, and present in /summary) the zero mass, largest eigenvalue,
moments (when measured) and mean gap ratio; a density overlay for
experiments of 2 points or more. NAMEs, if
given, must be exactly that list. Every expected file must be listed in
LISTING (rmtplot's stdout), be a PNG larger than 10 kB, and not be one
colour. Exit 1 naming what is wrong.
"""
import json
import os
import re
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402

def slug(s):
    s = str(s).replace("[", ".").replace("]", "")
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", s).strip("-") or "x"


def swept_paths(config, exp):
    """JSON paths of the sweeps of experiment exp in the config."""
    ens = config.get("ensemble")
    for e in config.get("experiments", []):
        if e.get("name") == exp:
            ens = e.get("ensemble", ens)
    out = set()

    def walk(node, path):
        if isinstance(node, dict):
            if len(node) == 1 and set(node) & {"sweep", "linspace", "logspace"}:
                out.add(path)
            else:
                for k, v in node.items():
                    walk(v, "%s.%s" % (path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s[%d]" % (path, i))

    walk(ens, "ensemble")
    return out


def expected(path):
    out = []
    with h5py.File(path, "r") as f:
        pts = f["points"]
        exp_of = {}
        dens_of = {}
        for key in sorted(pts):
            g = pts[key]
            e = g.attrs.get("experiment", "")
            e = e.decode() if isinstance(e, bytes) else str(e)
            exp_of[int(key)] = e
            if "density/counts" in g:
                out.append("%s-%s-density.png" % (key, slug(e)))
                dens_of.setdefault(e, []).append(key)
            if "spacings/counts" in g:
                out.append("%s-%s-spacings.png" % (key, slug(e)))
            if "gap_ratios/counts" in g:
                out.append("%s-%s-gap-ratios.png" % (key, slug(e)))
            if "spacings/number_variance" in g:
                out.append("%s-%s-number-variance.png" % (key, slug(e)))
        config = json.loads(f.attrs["config_json"])
        s = f.get("summary")
        if s is not None and "point" in s:
            pt = s["point"][:]
            exps = [exp_of.get(int(p), "") for p in pt]
            mom = s["moments"][:] if "moments" in s else None
            mgr = s["mean_gap_ratio"][:] if "mean_gap_ratio" in s else None
            for e in dict.fromkeys(exps):
                rows = np.array([x == e for x in exps])
                sw = swept_paths(config, e)
                for name in sorted(s):
                    if name not in sw:
                        continue
                    v = s[name][:].astype(float)
                    sel = rows & np.isfinite(v)
                    if not sel.any():
                        continue
                    out.append("%s-zero-mass-vs-%s.png" % (slug(e), slug(name)))
                    lmax = s["lambda_max_mean"][:] if "lambda_max_mean" in s else np.full(len(pt), np.nan)
                    drawn = [("%06d/draws/lambda_max" % p) in pts and pts["%06d/draws/lambda_max" % p].size > 0
                             for p in pt[sel]]
                    if np.isfinite(lmax[sel]).any() or any(drawn):
                        out.append("%s-lambda-max-vs-%s.png" % (slug(e), slug(name)))
                    if mom is not None and mom.ndim == 2 and np.isfinite(mom[sel]).any():
                        out.append("%s-moments-vs-%s.png" % (slug(e), slug(name)))
                    if mgr is not None and np.isfinite(mgr[sel]).any():
                        out.append("%s-gap-ratio-vs-%s.png" % (slug(e), slug(name)))
        for e, keys in dens_of.items():
            if len(keys) >= 2:
                out.append("%s-densities.png" % slug(e))
    return out


def nontrivial(path):
    size = os.path.getsize(path)
    if size <= 10 * 1024:
        return "only %d bytes" % size
    img = mpimg.imread(path)
    if img.ndim < 2 or img.shape[0] < 200 or img.shape[1] < 200:
        return "image of shape %s" % (img.shape,)
    px = img.reshape(-1, img.shape[-1]) if img.ndim == 3 else img.reshape(-1, 1)
    if np.all(px == px[0]):
        return "a single colour"
    # most figures are white paper with ink: demand some of each
    ink = np.mean(np.any(np.abs(px[:, :3] - px[0, :3]) > 0.1, axis=1))
    if ink < 0.01:
        return "almost blank (%.2f%% ink)" % (100 * ink)
    return None


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    h5, d, listing = sys.argv[1:4]
    exact = sys.argv[4:]
    want = expected(h5)
    bad = []
    if exact and sorted(exact) != sorted(want):
        bad.append("the file's layout implies %s, the test expects %s" % (sorted(want), sorted(exact)))
    listed = {os.path.basename(x.strip()) for x in open(listing) if x.strip()}
    for name in want:
        p = os.path.join(d, name)
        if name not in listed:
            bad.append("%s: not in rmtplot's list of files written" % name)
        if not os.path.isfile(p):
            bad.append("%s: missing" % name)
            continue
        why = nontrivial(p)
        if why:
            bad.append("%s: %s" % (name, why))
    for name in sorted(listed):
        if not os.path.isfile(os.path.join(d, name)):
            bad.append("%s: listed but not there" % name)
    for b in bad:
        print("  " + b)
    print("  %d figures expected, %d listed" % (len(want), len(listed)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
