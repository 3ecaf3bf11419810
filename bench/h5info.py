#!/usr/bin/python3
"""bench/h5info.py OUT.h5 -- one JSON line about an rmtmc output for the
benchmarks: draws done, the sum and median of the per-draw seconds
(draws/seconds: fill + solve + statistics of each draw, as timed by the rank
that ran it), and per point-0 sanity figures (means of m2, lambda_max and
the zero mass) to compare with a reference implementation."""
import json
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    secs = np.concatenate([g["draws/seconds"][:] for g in f["points"].values()])
    s = f["summary"]
    out = {
        "draws": int(f.attrs["draws_done"]),
        "ranks": int(f.attrs["mpi_ranks"]),
        "solver": f.attrs["solver"].decode() if isinstance(f.attrs["solver"], bytes) else str(f.attrs["solver"]),
        "sum_draw_s": float(secs.sum()),
        "median_draw_s": float(np.median(secs)),
        "zero_mass": float(s["zero_mass_mean"][0]),
        "lambda_max": float(s["lambda_max_mean"][0]),
        "m2": float(s["moments"][0, 1]) if "moments" in s and s["moments"].shape[1] > 1 else float("nan"),
    }
    # the master's own accounting (rmtmc from git 42487e4 on)
    for k in ("master_draws_received", "master_busy_seconds", "master_run_seconds"):
        if k in f.attrs:
            out[k] = f.attrs[k].item()
print(json.dumps(out))
