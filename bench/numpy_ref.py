#!/usr/bin/python3
"""bench/numpy_ref.py -- the numpy script a user would write instead of rmtmc.

Runs DRAWS draws of one ensemble and measures, per draw, what the rmtmc
config of bench/vs-numpy asks for: a density histogram (100 bins on the
theoretical support widened by 5 % per side, plus below/above), the zero
mass (|lambda| <= n eps max|lambda|), moments (1/n) tr H^k for k = 1..4 and
lambda_min/lambda_max. Eigenvalues by numpy.linalg.eigvalsh (LAPACK dsyevd,
values only, at every n).

  wigner   H = (G + G^T) / sqrt(2n), G n x n standard normal
  wishart  W = Z Z^T / t, Z n x t, t = n / 2 (ratio 2), computed like rmtmc
           through the t x t matrix Z^T Z (numpy uses SYRK for z.T @ z)
           plus n - t exact zeros: the same algorithm, not the naive n x n
  gram     P^T P with P = F2 F1, F1, F2 n x n with entries N(0, 1/n)

Usage: numpy_ref.py ENSEMBLE N DRAWS [--procs P] [--threads T] [--seed S]
  --procs P    P processes (multiprocessing, fork), draws split round-robin,
               histograms summed at the end (default 1)
  --threads T  OpenBLAS threads per process (set before numpy is imported;
               default 1)
Prints one JSON line: ensemble, n, draws, procs, threads, loop_s (from the
first draw to the merged result, pool start-up included, interpreter
start-up and imports excluded), and the means of m2, lambda_max and the
zero mass as a sanity check against rmtmc's.
"""
import argparse
import json
import math
import os
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("ensemble", choices=["wigner", "wishart", "gram"])
ap.add_argument("n", type=int)
ap.add_argument("draws", type=int)
ap.add_argument("--procs", type=int, default=1)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--seed", type=int, default=2020)
args = ap.parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402  (after the thread settings)

BINS, K = 100, 4
N = args.n
T = N // 2 if args.ensemble == "wishart" else N


def support():
    if args.ensemble == "wigner":
        a, b = -2.0, 2.0
    elif args.ensemble == "wishart":
        a, b = 0.0, (1.0 + math.sqrt(N / T)) ** 2
    else:
        a, b = 0.0, 27.0 / 4.0
    m = 0.05 * (b - a)
    return a - m, b + m


LO, HI = support()


def spectrum(rng):
    if args.ensemble == "wigner":
        g = rng.standard_normal((N, N))
        return np.linalg.eigvalsh((g + g.T) * (1.0 / math.sqrt(2.0 * N)))
    if args.ensemble == "wishart":
        z = rng.standard_normal((N, T)) * (1.0 / math.sqrt(T))
        return np.concatenate((np.zeros(N - T), np.linalg.eigvalsh(z.T @ z)))
    f1 = rng.standard_normal((N, N)) * (1.0 / math.sqrt(N))
    f2 = rng.standard_normal((N, N)) * (1.0 / math.sqrt(N))
    p = f2 @ f1
    return np.linalg.eigvalsh(p.T @ p)


def work(job):
    """Draws job[0], job[0] + job[1], ...: summed counts and per-draw figures."""
    first, step = job
    counts = np.zeros(BINS, dtype=np.int64)
    below = above = 0
    figs = []  # (zero_fraction, lambda_min, lambda_max, m1..mK)
    eps = np.finfo(float).eps
    for d in range(first, args.draws, step):
        rng = np.random.default_rng([args.seed, d])
        w = spectrum(rng)
        counts += np.histogram(w, bins=BINS, range=(LO, HI))[0]
        below += int(np.count_nonzero(w < LO))
        above += int(np.count_nonzero(w > HI))
        aw = np.abs(w)
        tol = N * eps * aw.max()
        mom, p = [], np.ones_like(w)
        for _ in range(K):
            p = p * w
            mom.append(p.mean())
        figs.append([np.count_nonzero(aw <= tol) / N, w.min(), w.max()] + mom)
    return counts, below, above, figs


t0 = time.perf_counter()
if args.procs == 1:
    parts = [work((0, 1))]
else:
    import multiprocessing as mp

    with mp.get_context("fork").Pool(args.procs) as pool:
        parts = pool.map(work, [(k, args.procs) for k in range(args.procs)])
counts = sum(p[0] for p in parts)
figs = np.array([f for p in parts for f in p[3]])
loop_s = time.perf_counter() - t0
assert int(counts.sum()) + sum(p[1] + p[2] for p in parts) == N * args.draws
print(json.dumps({
    "ensemble": args.ensemble, "n": N, "draws": args.draws, "procs": args.procs, "threads": args.threads,
    "loop_s": round(loop_s, 6), "zero_mass": float(figs[:, 0].mean()), "lambda_max": float(figs[:, 2].mean()),
    "m2": float(figs[:, 4].mean()),
}), flush=True)
