#!/usr/bin/python3
"""Checks of the free-probability density curves of tools/rmtplot.

usage: rmtplot_theory.py RMTMC SRCDIR

1. Exact laws: for gram chains (square: Fuss-Catalan; rectangular), products
   of two Wisharts and Wishart x Wigner, the computed density integrates to
   1 - atom within 1e-3 and its moments 1..3 (1..4 for Wishart x Wigner) agree
   within 1e-3 (relative; absolute where the moment is 0) with the exact
   free-probability moments (power series of the same S-transform equation;
   for square chains also the Fuss-Catalan numbers binom((k+1)m, m)/(km+1)).
2. A small rmtmc run (products and a dense percolated Wigner, n = 300-400):
   the moments of each curve agree within 1e-3 with the moments_theory rmtmc
   writes, its atom equals zero_mass_theory, and the histogram (6 draws, 60
   bins; 14 draws for Wishart x Wigner) against the curve has a chi-square per bin below 0.5 (Poisson
   variance, bins with >= 10 expected counts, the atom's bin left out).
   Independent samples would give about 1; eigenvalues of one draw are
   rigid (a bin's count fluctuates far less than Poisson), so a correct
   curve gives 0.1-0.3 here, finite-n edge effects included; the curve
   stretched by 10 % gives 0.5-1.5 (checked above 0.5, except for gram
   laws, see below), and a wrong law (negative controls: the last gram
   factor left out, Wishart x Wigner with q = 1 instead of 0.5) gives 4-60,
   checked to be above 3.
"""
import importlib.machinery
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import h5py

rmtmc, src = sys.argv[1], sys.argv[2]
loader = importlib.machinery.SourceFileLoader("rmtplot", os.path.join(src, "tools", "rmtplot"))
spec = importlib.util.spec_from_loader("rmtplot", loader)
rp = importlib.util.module_from_spec(spec)
loader.exec_module(rp)

fails = []


def check(ok, what):
    print("%s: %s" % ("ok" if ok else "FAIL", what))
    if not ok:
        fails.append(what)


def integrate(fn, hi, symmetric=False, p=8, n=3000):
    """int x^k fn(x) dx, k = 0..4, over [0, hi] (or [-hi, hi]): x = s^p tames
    the x^(-k/(k+1)) singularity of a k-factor square chain at 0."""
    s = np.linspace(0, hi ** (1.0 / p), n + 1)[1:]
    x = s ** p
    w = p * s ** (p - 1)
    y = fn(x) * w
    ym = fn(-x) * w if symmetric else None
    out = []
    for k in range(5):
        v = np.trapz(np.r_[0, y * x ** k], np.r_[0, s])
        if symmetric:
            v += (-1) ** k * np.trapz(np.r_[0, ym * x ** k], np.r_[0, s])
        out.append(v)
    return np.array(out)


def close(a, b, tol=1e-3):
    return abs(a - b) <= tol * max(abs(b), 1.0) if b == 0 else abs(a / b - 1) <= tol


# 1. exact laws
for k in (1, 2, 3):
    fc = [math.comb((k + 1) * m, m) / (k * m + 1) for m in (1, 2, 3)]
    sm = rp.sfree_moments([1.0] * k, 3)
    check(np.allclose(sm, fc, rtol=1e-12), "series moments of %d square factors = Fuss-Catalan %s" % (k, fc))
for r in ([1, 1], [1, 1, 1], [2.0], [2.0, 4.0 / 3.0], [0.75, 0.5], [4, 0.5], [1, 0.25, 4]):
    atom = max(0.0, 1 - 1 / max(r))
    hi = 1.01 * np.prod([(1 + math.sqrt(v)) ** 2 for v in r])
    m = integrate(lambda x: rp.sfree_density(x, r), hi)
    ex = rp.sfree_moments(r, 3)
    check(abs(m[0] - (1 - atom)) <= 1e-3, "r = %s: mass %.6f vs 1 - atom %.6f" % (r, m[0], 1 - atom))
    check(all(close(m[j], ex[j - 1]) for j in (1, 2, 3)),
          "r = %s: moments %s vs exact %s" % (r, np.round(m[1:4], 5), ex))
for q in (0.5, 1.0, 2.0, 4.0):
    atom = max(0.0, 1 - 1 / q)
    hi = 1.01 * 2 * (1 + math.sqrt(q)) ** 2
    m = integrate(lambda x: rp.wishart_wigner_density(x, q), hi, symmetric=True)
    ex = rp.wishart_wigner_moments(q, 4)
    check(abs(m[0] - (1 - atom)) <= 1e-3, "wishart x wigner q = %s: mass %.6f vs %.6f" % (q, m[0], 1 - atom))
    check(all(close(m[j], ex[j - 1]) for j in (1, 2, 3, 4)),
          "wishart x wigner q = %s: moments %s vs exact %s" % (q, np.round(m[1:], 5), ex))

# 2. a small run
cfg = {"name": "theory", "seed": 11, "draws": 6, "statistics": {"density": {"bins": 60, "range": "auto"},
                                                                 "zero_mass": {"tolerance": "auto"}, "moments": 4},
       "experiments": [
           {"name": "gram-rect", "ensemble": {"type": "product", "form": "gram", "factors": [
               {"type": "gaussian", "rows": 200, "cols": 400}, {"type": "gaussian", "rows": 300}]}},
           {"name": "gram-thin-first", "ensemble": {"type": "product", "form": "gram", "factors": [
               {"type": "gaussian", "rows": 400, "cols": 300}, {"type": "gaussian", "rows": 600}]}},
           {"name": "gram-square3", "ensemble": {"type": "product", "form": "gram", "factors": [
               {"type": "gaussian", "rows": 300, "cols": 300}, {"type": "gaussian", "rows": 300},
               {"type": "gaussian", "rows": 300}]}},
           {"name": "wishart-wishart", "ensemble": {"type": "product", "form": "similar", "factors": [
               {"type": "wishart", "n": 400, "ratio": 2}, {"type": "wishart", "ratio": 0.5}]}},
           # 14 draws: its auto range is the spectrum's (+-2.9), 2.2 times narrower
           # than the product of norms it was once, so its 60 bins hold 2.2 times
           # fewer counts each, and 6 draws would leave the stretched curve's
           # chi-square (the negative control) below 0.5
           {"name": "wishart-wigner", "draws": 14, "ensemble": {"type": "product", "form": "similar", "factors": [
               {"type": "wishart", "n": 400, "ratio": 0.5}, {"type": "wigner", "percolation": {"p": 0.5}}]}},
           {"name": "wigner-dense", "ensemble": {"type": "wigner", "n": 400, "percolation": {"p": 0.3}}}]}
tmp = tempfile.mkdtemp()
with open(os.path.join(tmp, "t.json"), "w") as f:
    json.dump(cfg, f)
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
subprocess.run(["mpiexec", "--oversubscribe", "-n", "2", rmtmc, "run", os.path.join(tmp, "t.json"), "-o",
                os.path.join(tmp, "t.h5"), "--progress", "none"], check=True, env=env, stdout=subprocess.DEVNULL)

with h5py.File(os.path.join(tmp, "t.h5"), "r") as f:
    run = rp.Run(f, os.path.join(tmp, "t.h5"))
    for idx, key, g in run.points:
        p = run.theory_params(run.params(g))
        exp = rp._attr(g, "experiment")
        th = rp.density_theory(p)
        check(th is not None, "%s: a density curve" % exp)
        if th is None:
            continue
        fn, lab, atom = th
        mt = np.atleast_1d(np.asarray(g.attrs["moments_theory"], dtype=float))
        sym = p.get("type") == "wigner" or any(fc.get("type") == "wigner" for fc in p.get("factors", []))
        edges = g["density/edges"][()]
        hi = 1.01 * max(abs(edges[0]), abs(edges[-1]))
        m = integrate(fn, hi, symmetric=sym)
        check(abs(m[0] - (1 - atom)) <= 1e-3 and abs(atom - g.attrs["zero_mass_theory"]) <= 1e-12,
              "%s: mass %.6f, atom %.4g (rmtmc %.4g)" % (exp, m[0], atom, g.attrs["zero_mass_theory"]))
        K = min(3 if not sym else 4, mt.size)
        check(all(close(m[j], mt[j - 1]) for j in range(1, K + 1)),
              "%s: curve moments %s vs rmtmc moments_theory %s" % (exp, np.round(m[1:K + 1], 5), mt[:K]))
        # chi-square per bin of the histogram against the curve
        counts = g["density/counts"][()].astype(float)
        total = counts.sum() + float(g["density/below"][()]) + float(g["density/above"][()])

        def chi2(fun):
            # expected counts from the curve's cumulative mass (x = s^8 grid
            # from 0 each way, exact near the singularities at 0)
            sg = np.linspace(0, hi ** 0.125, 3001)
            xg = sg ** 8
            yp = fun(xg) * 8 * sg ** 7
            ym = fun(-xg) * 8 * sg ** 7 if sym else np.zeros_like(yp)
            cp = np.r_[0, np.cumsum(np.diff(sg) * 0.5 * (yp[1:] + yp[:-1]))]
            cm = np.r_[0, np.cumsum(np.diff(sg) * 0.5 * (ym[1:] + ym[:-1]))]
            cdf = np.where(edges >= 0, np.interp(np.abs(edges), xg, cp), -np.interp(np.abs(edges), xg, cm))
            e = total * np.diff(cdf)
            c = counts.copy()
            j = np.searchsorted(edges, 0.0, side="right") - 1
            keep = e >= 10
            if atom > 0 and 0 <= j < c.size:  # the bin of the atom: left out
                keep[j] = False
            return float(np.sum((c[keep] - e[keep]) ** 2 / e[keep]) / keep.sum()), int(keep.sum())

        # chi2/bin is ~0.1-0.25 here for the right curve (level repulsion makes
        # bin counts vary far less than Poisson), so the bound is 0.5. The
        # same curve stretched by 10 % (a wrong scale) must exceed it, except
        # for gram laws: their mass piles up at 0 under a power-law
        # divergence, which a stretch changes by only ~5 % per bin (chi2/bin
        # 0.18-0.26 at 6 draws); their scale is pinned by the curve's moments
        # against moments_theory above, and by the exact m1 in
        # tests/test_ensembles.c.
        c2, nb = chi2(fn)
        check(c2 < 0.5, "%s: chi2/bin %.2f over %d bins (< 0.5)" % (exp, c2, nb))
        if not (p.get("type") == "product" and p["form"] == "gram"):
            c2s, _ = chi2(lambda x: fn(x / 1.1) / 1.1)
            check(c2s > 0.5, "%s: negative control, the curve stretched by 10 %%: chi2/bin %.2f (> 0.5)" % (exp, c2s))
        if p.get("type") == "product" and p["form"] == "gram":
            r = [float(p["factors"][0]["cols"]) / float(fc["rows"]) for fc in p["factors"]][:-1]
            c2w, _ = chi2(lambda x: rp.sfree_density(x, r))
            check(c2w > 3, "%s: negative control, last factor left out: chi2/bin %.1f (> 3)" % (exp, c2w))
        if exp == "wishart-wigner":
            c2w, _ = chi2(lambda x: rp.wishart_wigner_density(x, 1.0))
            check(c2w > 3, "%s: negative control, q = 1 instead of 0.5: chi2/bin %.1f (> 3)" % (exp, c2w))

# 3. A density range that starts at 0 (a sparse Wishart on [0, 10]): the
# zeros that came out just below 0 are in density/below, the others in the
# first bin. rmtplot draws the zeros apart as the atom, so it must take them
# from both: nothing left below (every negative eigenvalue of a PSD matrix
# is a zero), and the first bin's density that of the stored non-zero
# eigenvalues (|x| > 1e-8; the auto tolerance is ~1e-13 here). Taking all
# zeros from the first bin drew 0.89 where the eigenvalues give 1.98.
# A sparse Wigner on [0, 10] (not positive semi-definite): its below holds
# negative eigenvalues too, so none of it is taken as zeros.
cfg0 = {"name": "zero-edge", "seed": 2020, "draws": 20,
        "statistics": {"density": {"bins": 100, "range": [0, 10]}}, "output": {"eigenvalues": True},
        "experiments": [
            {"name": "wishart", "ensemble": {"type": "wishart", "n": 300, "ratio": 1, "percolation": {"mean_degree": 2}}},
            {"name": "wigner", "ensemble": {"type": "wigner", "n": 300, "percolation": {"mean_degree": 2}}}]}
with open(os.path.join(tmp, "z.json"), "w") as f:
    json.dump(cfg0, f)
subprocess.run(["mpiexec", "--oversubscribe", "-n", "2", rmtmc, "run", os.path.join(tmp, "z.json"), "-o",
                os.path.join(tmp, "z.h5"), "--progress", "none"], check=True, env=env, stdout=subprocess.DEVNULL)
with h5py.File(os.path.join(tmp, "z.h5"), "r") as f:
    run = rp.Run(f, os.path.join(tmp, "z.h5"))
    for idx, key, g in run.points:
        raw_below = float(g["density/below"][()])
        edges, dens, atom, total, below, above = rp.density_data(run, g)
        if rp._attr(g, "experiment") == "wigner":
            check(below == raw_below > 0, "zero-edge, wigner: below %d kept (%d in the file)" % (below, raw_below))
            continue
        ev = g["eigenvalues"][()].ravel()
        ref = np.histogram(ev[np.abs(ev) > 1e-8], bins=edges)[0] / (total * np.diff(edges))
        check(raw_below > 0 and below == 0, "zero-edge: %d zeros below 0 in the file, %d left below" % (raw_below, below))
        check(abs(dens[0] - ref[0]) <= 0.02 * ref[0] and np.allclose(dens[1:], ref[1:]),
              "zero-edge: first bin %.4f, from the eigenvalues %.4f (2 %%)" % (dens[0], ref[0]))
        check(abs(atom - (ev.size - np.count_nonzero(np.abs(ev) > 1e-8)) / total) <= 0.01,
              "zero-edge: atom %.4f" % atom)

print("%d failure(s)" % len(fails))
sys.exit(1 if fails else 0)
