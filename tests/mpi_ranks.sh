#!/bin/bash
# The same config at 1, 2, 3 and 18 ranks (3 is odd, and more than this
# machine's cores; above 16 ranks rank 0's own draws run at a lower
# priority) gives bit-identical counts, per-draw datasets, spectra and
# summaries; so do runs without rank 0's thread (RMT_FAIL_THREAD).
# usage: mpi_ranks.sh RMTMC SRCDIR
set -u
rmtmc=$(realpath "$1")
src=$2
. "$(dirname "$0")/lib.sh"
cat > "$tmp/c.json" <<'JSON'
{
  "name": "ranks",
  "seed": 77,
  "experiments": [
    {"name": "wig", "draws": 23, "ensemble": {"type": "wigner", "n": 120},
     "statistics": {"density": {"bins": 50, "range": "auto"}, "moments": 4}},
    {"name": "wis", "draws": 17, "ensemble": {"type": "wishart", "n": 90, "ratio": {"sweep": [0.5, 3]}},
     "statistics": {"density": {"bins": 30, "range": [0, 6]}, "moments": 3, "zero_mass": {"tolerance": 1e-9}}},
    {"name": "diag", "draws": 9, "ensemble": {"type": "diagonal", "n": {"linspace": [10, 50, 3]}},
     "statistics": {"density": {"bins": 20}}},
    {"name": "perc", "draws": 13, "ensemble": {"type": "wigner", "n": 80,
       "percolation": {"mean_degree": {"sweep": [1, 4]}}, "spikes": [2.5]},
     "statistics": {"density": {"bins": 40}, "moments": 4}},
    {"name": "wis-spiked", "draws": 11, "ensemble": {"type": "wishart", "n": 70, "ratio": 2,
       "percolation": {"p": 0.4}, "spikes": [5, 1]},
     "statistics": {"density": {"bins": 30}, "moments": 2}},
    {"name": "prod", "draws": 10, "ensemble": {"type": "product", "form": "gram", "factors": [
       {"type": "gaussian", "rows": {"sweep": [30, 90]}, "cols": 60, "percolation": {"p": 0.5}},
       {"type": "wishart", "ratio": 2},
       {"type": "wigner", "percolation": {"mean_degree": 3}}]},
     "statistics": {"density": {"bins": 30}, "moments": 3}},
    {"name": "prod-sim", "draws": 7, "ensemble": {"type": "product", "form": "similar", "factors": [
       {"type": "wishart", "n": 50, "t": 80}, {"type": "wigner", "n": 50, "spikes": [3]}]},
     "statistics": {"density": {"bins": 30}, "moments": 4}},
    {"name": "gp", "draws": 8, "ensemble": {"type": "gp-hessian", "n": 60, "kp": 1, "kpp": 0.05, "k0": 3,
       "degeneracy": 10, "outliers": {"count": 3, "scale": 2}},
     "statistics": {"density": {"bins": 30}, "moments": 3}}
  ],
  "output": {"eigenvalues": true}
}
JSON
fail=0
for p in 1 2 3 18; do
  if ! mpiexec --oversubscribe -n $p "$rmtmc" run "$tmp/c.json" -o "$tmp/r$p.h5" --progress none > "$tmp/log$p" 2>&1; then
    echo "FAIL: run on $p ranks"; cat "$tmp/log$p"; fail=1
  fi
done
[ $fail = 0 ] || exit 1
for p in 2 3 18; do
  if /usr/bin/python3 "$src/tests/h5same.py" "$tmp/r1.h5" "$tmp/r$p.h5"; then
    echo "ok: 1 rank and $p ranks give identical results"
  else
    echo "FAIL: 1 rank and $p ranks differ"; fail=1
  fi
done
# the comparison itself must be able to fail: a different seed differs
sed 's/"seed": 77/"seed": 78/' "$tmp/c.json" > "$tmp/d.json"
"$rmtmc" run "$tmp/d.json" -o "$tmp/d.h5" --progress none > /dev/null 2>&1
if /usr/bin/python3 "$src/tests/h5same.py" "$tmp/r1.h5" "$tmp/d.h5" > /dev/null; then
  echo "FAIL: h5same.py does not see a different seed"; fail=1
fi
/usr/bin/python3 - "$tmp/r3.h5" <<'PY' || fail=1
import sys, h5py
f = h5py.File(sys.argv[1])
assert f.attrs["mpi_ranks"] == 3 and f.attrs["complete"] == 1
for name in f["points"]:
    g = f["points"][name]
    assert list(g["draws/index"][:]) == list(range(g.attrs["draws_requested"])), name
    assert g["eigenvalues"].shape == (g.attrs["draws_requested"], g.attrs["n"]), name
    if "density" in g:
        total = int(g["density/counts"][:].sum() + g["density/below"][()] + g["density/above"][()])
        assert total == g.attrs["draws_requested"] * g.attrs["n"], (name, total)
# the master's accounting: it received the other ranks' draws (it computes
# some itself at 3 ranks), and its busy time fits in the run
a = f.attrs
got, done = int(a["master_draws_received"]), int(a["draws_done"])
assert 0 < got < done, (got, done)
assert 0 < a["master_busy_seconds"] <= a["master_run_seconds"], (a["master_busy_seconds"], a["master_run_seconds"])
assert 0 <= a["master_checkpoint_seconds"] <= a["master_run_seconds"]
print("ok: 3-rank file is complete and consistent; the master received %d of %d draws, busy %.3g of %.3g s"
      % (got, done, a["master_busy_seconds"], a["master_run_seconds"]))
PY

# Rank 0 without its thread (RMT_FAIL_THREAD): it says so, computes its
# one-rank draws between its answers up to 16 ranks and none above, and
# the results are the same.
for p in 3 18; do
  RMT_FAIL_THREAD=1 mpiexec --oversubscribe -n $p "$rmtmc" run "$tmp/c.json" -o "$tmp/nt$p.h5" --progress none \
    > /dev/null 2> "$tmp/nt$p.err" || { bad "run on $p ranks without rank 0's thread"; cat "$tmp/nt$p.err"; continue; }
  grep -q "rank 0 cannot start a thread for its own draws (RMT_FAIL_THREAD is set); it computes them between its answers, and above 16 ranks not at all" "$tmp/nt$p.err" \
    && ok "$p ranks without rank 0's thread: the fallback is named" || { bad "$p ranks without a thread: no message"; cat "$tmp/nt$p.err"; }
  /usr/bin/python3 "$src/tests/h5same.py" "$tmp/r1.h5" "$tmp/nt$p.h5" > /dev/null \
    && ok "$p ranks without rank 0's thread give the results of 1 rank" || bad "$p ranks without rank 0's thread differ from 1 rank"
  /usr/bin/python3 - "$tmp/nt$p.h5" $p <<'PY' && ok "$p ranks without rank 0's thread: rank 0 computed $([ $p = 3 ] && echo some || echo none) of the draws" || bad "$p ranks without rank 0's thread: wrong share of draws for rank 0"
import sys, h5py
a = h5py.File(sys.argv[1]).attrs
got, done = int(a["master_draws_received"]), int(a["draws_done"])
assert (got < done) if sys.argv[2] == "3" else (got == done), (got, done)
PY
done
grep -q "cannot start a thread" "$tmp/log3" && bad "3 ranks with the thread: the fallback message was printed"

# Above 16 ranks rank 0's thread runs 10 nice levels below its main
# thread, so that answering comes first; at 2 ranks at the same level.
# Rank 0's threads are read from /proc while the run goes.
cat > "$tmp/n.json" <<'JSON'
{"name": "nice", "seed": 5, "draws": 300, "ensemble": {"type": "wigner", "n": 300},
 "statistics": {"density": {"bins": 20}}}
JSON
nice_gap() { # ranks: the largest niceness of a rank 0 thread above its main thread's seen during the run
  mpiexec --oversubscribe -n "$1" "$rmtmc" run "$tmp/n.json" -o "$tmp/nice$1.h5" --progress none > /dev/null 2>&1 &
  local job=$! gap=-1 pid=
  while kill -0 $job 2> /dev/null; do
    if [ -z "$pid" ]; then
      for q in $(pgrep -f "nice$1.h5"); do
        tr '\0' '\n' < /proc/$q/environ 2> /dev/null | grep -qx OMPI_COMM_WORLD_RANK=0 && pid=$q
      done
    fi
    if [ -n "$pid" ] && [ -r /proc/$pid/stat ]; then
      local main t g
      main=$(sed 's/.*) //' /proc/$pid/stat 2> /dev/null | awk '{print $17}')
      for t in /proc/$pid/task/*/stat; do
        g=$(sed 's/.*) //' "$t" 2> /dev/null | awk -v m="$main" '{print $17 - m}')
        [ -n "$g" ] && [ -n "$main" ] && [ "$g" -gt "$gap" ] && gap=$g
      done
    fi
    sleep 0.02
  done
  wait $job || gap="run failed"
  echo "$gap"
}
g=$(nice_gap 17)
[ "$g" = 10 ] && ok "17 ranks: rank 0's own thread runs 10 nice levels lower" || bad "17 ranks: rank 0's threads at most $g nice levels below its main thread, not 10"
g=$(nice_gap 2)
[ "$g" = 0 ] && ok "2 ranks: rank 0's threads all at its own niceness" || bad "2 ranks: rank 0's threads up to $g nice levels lower, not 0"
exit $fail
