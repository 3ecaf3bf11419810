#!/bin/bash
# ScaLAPACK process grids inside the farm: the same config with
# ranks_per_draw 1, 2, 3, 4 (grids 1x1, 1x2, 1x3, 2x2) agrees to 1e-10
# (Wigner, Wishart and products in all three forms)
# relative to the spectral norm, histograms identical but for eigenvalues
# within that tolerance of a bin edge; a grid run is bit-identical whatever
# the number of ranks; mixed groups in one run; a draw at n = 6000 on two
# ranks stays under 0.75 x 8 n^2 bytes of peak memory per rank.
# usage: grid.sh RMTMC SRCDIR [--no-memory]
set -u
rmtmc=$(realpath "$1")
src=$2
. "$(dirname "$0")/lib.sh"
cfg() {
  cat <<JSON
{"name": "grid", "seed": 4, "draws": 5, "ranks_per_draw": $1,
 "experiments": [
   {"name": "wig", "ensemble": {"type": "wigner", "n": 333}, "statistics": {"density": {"bins": 64}, "moments": 4}},
   {"name": "wis", "ensemble": {"type": "wishart", "n": 210, "ratio": {"sweep": [0.5, 2.5]}},
    "statistics": {"density": {"bins": 64}, "moments": 3}},
   {"name": "prod", "ensemble": {"type": "product", "form": "gram", "factors": [
      {"type": "gaussian", "rows": {"sweep": [70, 260]}, "cols": 260}, {"type": "gaussian", "rows": 230},
      {"type": "wishart", "n": 230, "t": 120}, {"type": "wigner", "n": 230}]},
    "statistics": {"density": {"bins": 64}, "moments": 3}},
   {"name": "sim1", "ensemble": {"type": "product", "form": "similar", "factors": [
      {"type": "wishart", "n": 190, "t": {"sweep": [120, 300]}}]}, "statistics": {"density": {"bins": 64}}},
   {"name": "simwig", "ensemble": {"type": "product", "form": "similar", "factors": [{"type": "wigner", "n": 150}]},
    "statistics": {"density": {"bins": 64}}},
   {"name": "simw", "ensemble": {"type": "product", "form": "similar", "factors": [
      {"type": "wigner", "n": 200}, {"type": "wishart", "n": 200, "t": {"sweep": [90, 330]}}]},
    "statistics": {"density": {"bins": 64}, "moments": 3}},
   {"name": "simww", "ensemble": {"type": "product", "form": "similar", "factors": [
      {"type": "wishart", "n": 180, "t": {"sweep": [100, 250]}}, {"type": "wishart", "n": 180, "t": 140}]},
    "statistics": {"density": {"bins": 64}, "moments": 3}},
   {"name": "sym", "ensemble": {"type": "product", "form": "symmetric-part", "factors": [
      {"type": "gaussian", "rows": {"sweep": [60, 170]}, "cols": 170}, {"type": "gaussian", "rows": 170},
      {"type": "wigner", "n": 170}]},
    "statistics": {"density": {"bins": 64}, "moments": 3}}],
 "output": {"eigenvalues": true}}
JSON
}
for g in 1 2 3 4; do
  cfg $g > "$tmp/g$g.json"
  mpiexec -n 4 "$rmtmc" run "$tmp/g$g.json" -o "$tmp/g$g.h5" --progress none > /dev/null 2> "$tmp/log" || { bad "run with ranks_per_draw $g"; cat "$tmp/log"; }
done
$py - "$tmp" <<'PY' || fail=1
import sys, h5py, numpy as np
tmp = sys.argv[1]
ref = h5py.File(tmp + "/g1.h5")
ok = True
for g, shape in [(2, "1x2"), (3, "1x3"), (4, "2x2")]:
    f = h5py.File("%s/g%d.h5" % (tmp, g))
    if "on process grids pdsyev" not in f.attrs["solver"] or "process grids" in ref.attrs["solver"]:
        print("FAIL: the root attribute solver does not name the grid solver: %r" % f.attrs["solver"]); ok = False
    for p in ref["points"]:
        a, b = ref["points"][p], f["points"][p]
        ea, eb = a["eigenvalues"][:], b["eigenvalues"][:]
        norm = np.abs(ea).max()
        err = np.abs(ea - eb).max() / norm
        if not err < 1e-10:
            print("FAIL: grid %s point %s: eigenvalues differ by %.2e of the spectral norm" % (shape, p, err)); ok = False
        # histograms: the file's counts are exactly those of its own eigenvalues...
        edges = a["density/edges"][:]
        cb = b["density/counts"][:].astype(np.int64)
        own = np.histogram(np.clip(eb[(eb >= edges[0]) & (eb <= edges[-1])], edges[0], edges[-1]), bins=edges)[0]
        if not np.array_equal(own, cb):
            print("FAIL: grid %s point %s: counts are not those of the eigenvalues" % (shape, p)); ok = False
        # ...and differ from one rank's only by eigenvalues within 1e-10 |H| of an edge
        near = sum(np.any(np.abs(ea[d][:, None] - edges[None, :]) <= 1e-10 * norm, axis=1).sum() for d in range(len(ea)))
        diff = np.abs(a["density/counts"][:].astype(np.int64) - cb).sum()
        if diff > 2 * near:
            print("FAIL: grid %s point %s: %d counts differ, only %d eigenvalues near an edge" % (shape, p, diff, near)); ok = False
        if not (b["draws/solver"][:] == 10).all() or not (a["draws/solver"][:] == 2).all():
            print("FAIL: draws/solver does not record pdsyev (10) on grids and dsyevr (2) on one rank"); ok = False
        for d in ["draws/structural_zeros", "draws/zero_fraction"]:
            if not np.array_equal(a[d][:], b[d][:]):
                print("FAIL: grid %s point %s: %s differs" % (shape, p, d)); ok = False
    print("ok: ranks_per_draw %d (grid %s) agrees with one rank per draw" % (g, shape))
sys.exit(0 if ok else 1)
PY

# ELPA (when built with it): the same eigenvalues, recorded as solver 12
if "$rmtmc" --version | grep -q ELPA; then
  sed 's/"ranks_per_draw": 2,/"ranks_per_draw": 2, "solver": "elpa",/' "$tmp/g2.json" > "$tmp/elpa.json"
  mpiexec -n 2 "$rmtmc" run "$tmp/elpa.json" -o "$tmp/elpa.h5" --progress none > /dev/null 2>&1 || bad "run with ELPA"
  $py -c "
import h5py, numpy as np
a, b = h5py.File('$tmp/g1.h5'), h5py.File('$tmp/elpa.h5')
for p in a['points']:
    ea, eb = a['points'][p]['eigenvalues'][:], b['points'][p]['eigenvalues'][:]
    assert np.abs(ea - eb).max() <= 1e-10 * np.abs(ea).max(), p
    assert (b['points'][p]['draws/solver'][:] == 12).all(), p
assert 'on process grids elpa' in b.attrs['solver'], b.attrs['solver']
" && ok "ELPA on a 1x2 grid agrees with one rank per draw" || bad "ELPA"
  # n <= 64 (the block) on 1x2 leaves a process without a block, where ELPA
  # fails every draw: those run PDSYEV (solver 10), and say so once per n
  echo '{"name": "es", "seed": 1, "draws": 2, "ranks_per_draw": 2, "solver": "elpa",
    "ensemble": {"type": "wigner", "n": {"sweep": [10, 64, 65]}}}' > "$tmp/elpa_small.json"
  mpiexec -n 2 "$rmtmc" run "$tmp/elpa_small.json" -o "$tmp/elpa_small.h5" --progress none > /dev/null 2> "$tmp/err" \
    && [ "$(grep -c "too small for ELPA on a 1x2 grid" "$tmp/err")" = 2 ] && $py -c "
import h5py
f = h5py.File('$tmp/elpa_small.h5')
assert f.attrs['failed_draws'] == 0
assert f.attrs['solvers_run'] == 'pdsyev 4, elpa 2', f.attrs['solvers_run']
for p, want in (('000000', 10), ('000001', 10), ('000002', 12)):
    assert (f['points'][p]['draws/solver'][:] == want).all(), p
" && ok "ELPA with n <= 64 on 1x2: PDSYEV for those draws, none failed" || { bad "ELPA with a small n"; cat "$tmp/err"; }
else
  echo "skip: this build has no ELPA (libelpa-dev), so the ELPA backend is not exercised"
fi

# the same grid run is bit-identical on 2, 3 (one rank sits out), 4, 18
# and 36 ranks; rank 0's group computes with up to 16 groups (18 ranks: 9)
# and only hands out draws above (36 ranks: 18 groups)
for p in 2 3 18 36; do
  mpiexec -n $p "$rmtmc" run "$tmp/g2.json" -o "$tmp/g2p$p.h5" --progress log > /dev/null 2> "$tmp/g2p$p.err" || bad "ranks_per_draw 2 on $p ranks"
  $py "$src/tests/h5same.py" "$tmp/g2.h5" "$tmp/g2p$p.h5" && ok "ranks_per_draw 2: 4 ranks and $p ranks identical" || bad "ranks_per_draw 2 on $p ranks differs"
done
for p_m in 18:some 36:none; do
  p=${p_m%:*} m=${p_m#*:}
  $py - "$tmp/g2p$p.h5" $m <<'PY' && ok "ranks_per_draw 2 on $p ranks: rank 0's group computed $m of the draws" || bad "ranks_per_draw 2 on $p ranks: rank 0's group should compute $m of the draws"
import sys, h5py
a = h5py.File(sys.argv[1]).attrs
got, done = int(a["master_draws_received"]), int(a["draws_done"])
assert (got < done) if sys.argv[2] == "some" else (got == done), (got, done)
PY
done
note="note: points with 2 ranks per draw (the first: point 0) run in 18 groups, more than the 16 rank 0 computes with, so its group of 2 ranks only hands out draws"
grep -qF "rmtmc: $note" "$tmp/g2p36.err" && ! grep -q "only hands out" "$tmp/g2p18.err" \
  && ok "run says when rank 0's group only hands out draws (36 ranks), and not when it computes (18)" \
  || { bad "note on rank 0's group handing out draws only"; cat "$tmp/g2p18.err" "$tmp/g2p36.err"; }

# more ranks per draw than the run has: exit 2
mpiexec -n 2 "$rmtmc" run "$tmp/g3.json" -o "$tmp/x.h5" > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "ranks_per_draw: 3 ranks per draw, but the run has 2" "$tmp/err" && ok "3 ranks per draw on 2 ranks: exit 2" || { bad "group larger than the run"; cat "$tmp/err"; }

# "auto" on 64 ranks, 4 draws: n = 2000 stays on one rank per draw (a grid
# smaller than measured is never chosen for speed); n = 6000 takes groups of
# 16, since 4 groups finish in one round and a 4x4 grid's measured
# efficiency (that of 2 ranks at n = 6000 sqrt(2/16)) beats one rank's
# 1/16; n = 100000 needs 27 ranks of 3 GB: 2 groups of 32, both computing
# (rank 0's group computes with up to 16 groups), finish in 2 rounds on
# grids more efficient than one 8x8 grid in 4
cat > "$tmp/auto.json" <<'JSON'
{"name": "auto", "draws": 4, "ranks_per_draw": "auto",
 "ensemble": {"type": "wigner", "n": {"sweep": [2000, 6000, 100000]}}}
JSON
"$rmtmc" check "$tmp/auto.json" --ranks 64 --mem-per-rank 3G > "$tmp/plan" 2>&1
grep -Eq "^ +0 +auto +2000 +4 +1 +- +- " "$tmp/plan" && grep -Eq "^ +1 +auto +6000 +4 +16 +4x4 +64 " "$tmp/plan" \
  && grep -Eq "^ +2 +auto +100000 +4 +32 +4x8 +64 " "$tmp/plan" \
  && ok "auto: 1 rank for n = 2000; 16 (4x4) for n = 6000; 32 (4x8) for n = 100000 with 3 GB per rank of 64" \
  || { bad "auto group sizes"; cat "$tmp/plan"; }
"$rmtmc" check "$tmp/auto.json" --ranks 8 --mem-per-rank 3G > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "needs 9.51 GiB per rank for one draw on 8 ranks.*; run on more ranks (a larger ranks_per_draw) or with more memory per rank (76.1 GiB in all; .*)$" "$tmp/err" \
  && ok "auto: a plan that cannot fit is refused (exit 2), saying what would fit it" || bad "auto: unfit plan: $(cat "$tmp/err")"
# a solver forced by RMT_GRID_DRIVER that does not fit, where PDSYEV would: named
RMT_GRID_DRIVER=pdsyevr "$rmtmc" check "$tmp/auto.json" --ranks 64 --mem-per-rank 3G > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "; the solver pdsyevr is set by RMT_GRID_DRIVER (pdsyev needs .* GiB)$" "$tmp/err" \
  && ok "a solver forced by RMT_GRID_DRIVER that cannot fit is named as the cause" || bad "RMT_GRID_DRIVER memory: $(cat "$tmp/err")"

# the grid solver: with "solver" auto, the fastest measured one that fits
# the memory per rank (ELPA needs several local matrices, PDSYEV one); a
# solver the config or RMT_GRID_DRIVER names is kept
echo '{"name": "s", "draws": 1, "ranks_per_draw": 2, "ensemble": {"type": "wigner", "n": 6000}}' > "$tmp/solver.json"
sed 's/"draws": 1,/"draws": 1, "solver": "pdsyevr",/' "$tmp/solver.json" > "$tmp/solver-named.json"
solver_of() { "$rmtmc" check "$@" --ranks 2 2>&1 | awk '$1 == "0" {print $8}'; }
small=$(solver_of "$tmp/solver.json" --mem-per-rank 246M)
big=$(solver_of "$tmp/solver.json" --mem-per-rank 8G)
named=$(solver_of "$tmp/solver-named.json" --mem-per-rank 8G)
forced=$(RMT_GRID_DRIVER=pdsyevr solver_of "$tmp/solver.json" --mem-per-rank 8G)
if "$rmtmc" --version | grep -q ELPA; then want_big=elpa; else want_big=pdsyev; fi
[ "$small" = pdsyev ] && [ "$big" = "$want_big" ] && [ "$named" = pdsyevr ] && [ "$forced" = pdsyevr ] \
  && ok "solver auto at n = 6000 on 1x2: pdsyev in 246 MB per rank, $want_big in 8 GB; a named solver is kept" \
  || bad "solver choice: $small in 246M, $big in 8G (want $want_big), named $named, RMT_GRID_DRIVER $forced"

# mixed groups in one run: small points on one rank each, large points on two
cat > "$tmp/mixed.json" <<'JSON'
{"name": "mixed", "seed": 9, "draws": 6,
 "experiments": [
   {"name": "small", "ranks_per_draw": 1, "ensemble": {"type": "wigner", "n": {"sweep": [100, 150]}},
    "statistics": {"moments": 2}},
   {"name": "large", "ranks_per_draw": 2, "ensemble": {"type": "wishart", "n": 300, "ratio": 2},
    "statistics": {"moments": 2}}],
 "output": {"eigenvalues": true}}
JSON
sed 's/"ranks_per_draw": 2/"ranks_per_draw": 1/' "$tmp/mixed.json" > "$tmp/mixed1.json"
"$rmtmc" check "$tmp/mixed.json" --ranks 3 > "$tmp/plan" && grep -q " 1x2 " "$tmp/plan" && grep -q " 64 " "$tmp/plan" \
  && ok "check shows the group size, grid and block" || { bad "check does not show the grid"; cat "$tmp/plan"; }
mpiexec -n 3 "$rmtmc" run "$tmp/mixed.json" -o "$tmp/mixed.h5" --progress none > /dev/null 2>&1 || bad "mixed run"
"$rmtmc" run "$tmp/mixed1.json" -o "$tmp/mixed1.h5" --progress none > /dev/null 2>&1 || bad "mixed reference"
$py - "$tmp/mixed.h5" "$tmp/mixed1.h5" <<'PY' && ok "mixed groups of 1 and 2 in one run agree with one rank per draw" || bad "mixed groups"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
for p in ["000000", "000001", "000002"]:
    ea, eb = a["points"][p]["eigenvalues"][:], b["points"][p]["eigenvalues"][:]
    assert ea.shape == eb.shape and np.abs(ea - eb).max() <= 1e-10 * np.abs(eb).max(), p
    assert a["points"][p].attrs["draws_done"] == 6
assert (a["points/000002/draws/structural_zeros"][:] == 150).all()
PY

if [ "${3:-}" != --no-memory ]; then
  # peak resident memory of a draw at n = 6000 on a group of 2 ranks, given
  # that much memory per rank: the solver chosen must live within it
  echo '{"name": "mem", "seed": 1, "draws": 1, "ranks_per_draw": 2, "ensemble": {"type": "wigner", "n": 6000}, "statistics": {"moments": 2}}' > "$tmp/mem.json"
  mpiexec -n 2 "$rmtmc" run "$tmp/mem.json" -o "$tmp/mem.h5" --progress none --mem-per-rank 246M > /dev/null 2>&1 || bad "n = 6000 on 2 ranks"
  $py -c "
import h5py
f = h5py.File('$tmp/mem.h5')
rss, limit = f.attrs['peak_rss_bytes'], 0.75 * 8 * 6000**2
print('peak resident bytes per rank: %s, limit %d (0.75 x 8 n^2), whole matrix %d' % (list(rss), limit, 8 * 6000**2))
assert (rss < limit).all()
m2 = f['summary/moments'][0, 1]
assert abs(m2 - (1 + 1 / 6000)) < 0.01, m2
" && ok "n = 6000 on 2 ranks: every rank under 0.75 x 8 n^2 bytes" || bad "memory per rank at n = 6000"
fi
exit $fail
