#!/usr/bin/python3
"""Compare two rmtmc output files: every dataset bit-identical, every point
and summary attribute identical, except what measures the run rather than the
result (draws/seconds, and root attributes such as times, ranks, host).

usage: h5same.py A.h5 B.h5 [--other-output-settings]
(exit 0 when the same, 1 with a list of differences). --other-output-settings:
B was resumed with a config that differs in output settings that do not
change results, so its config_json and config_sha256 are left aside.
"""
import sys

import h5py
import numpy as np

SKIP_DATASETS = ("draws/seconds",)
ROOT_SAME = ("format", "config_json", "config_sha256", "seed", "complete", "draws_done", "failed_draws")


def items(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj))
    return out


def same_array(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        # bitwise: NaN == NaN, -0.0 != 0.0
        return a.tobytes() == b.tobytes()
    return bool(np.all(a == b))


def main():
    fa, fb = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
    root_same = ROOT_SAME
    if "--other-output-settings" in sys.argv[3:]:
        root_same = tuple(k for k in ROOT_SAME if k not in ("config_json", "config_sha256"))
    diffs = []
    ia, ib = items(fa), items(fb)
    if set(ia) != set(ib):
        diffs.append("objects differ: %s" % sorted(set(ia) ^ set(ib)))
    for name in sorted(set(ia) & set(ib)):
        oa, ob = ia[name], ib[name]
        if isinstance(oa, h5py.Dataset):
            if name.endswith(SKIP_DATASETS):
                continue
            if not same_array(oa[()], ob[()]):
                diffs.append("dataset %s differs" % name)
        for k in set(oa.attrs) | set(ob.attrs):
            if k not in oa.attrs or k not in ob.attrs:
                diffs.append("attribute %s/%s missing on one side" % (name, k))
            elif not same_array(oa.attrs[k], ob.attrs[k]):
                diffs.append("attribute %s/%s differs" % (name, k))
    for k in root_same:
        if k not in fa.attrs or not same_array(fa.attrs[k], fb.attrs[k]):
            diffs.append("root attribute %s differs" % k)
    for d in diffs:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
