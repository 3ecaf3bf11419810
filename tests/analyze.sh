#!/bin/bash
# rmtmc analyze: spectra computed elsewhere give the same statistics a run
# gives, and bad inputs are refused with exit 2 and no output.
# usage: analyze.sh RMTMC SRCDIR
set -u
rmtmc=$(realpath "$1")
src=$2
. "$(dirname "$0")/lib.sh"

# 1. a run that keeps its spectra, then the same spectra through analyze
cat > "$tmp/run.json" <<'JSON'
{"name": "x", "seed": 3, "draws": 12, "ensemble": {"type": "wigner", "n": 200},
 "statistics": {"density": {"bins": 40, "range": [-2.5, 2.5]}, "moments": 3, "gap_ratios": {"bins": 30, "max": 6},
                "spacings": {"unfolding": "pool", "bins": 30, "max": 4, "bulk": [0.1, 0.9]}},
 "output": {"eigenvalues": true}}
JSON
cat > "$tmp/stats.json" <<'JSON'
{"name": "x", "statistics": {"density": {"bins": 40, "range": [-2.5, 2.5]}, "moments": 3,
 "gap_ratios": {"bins": 30, "max": 6}, "spacings": {"unfolding": "pool", "bins": 30, "max": 4, "bulk": [0.1, 0.9]}}}
JSON
"$rmtmc" run "$tmp/run.json" -o "$tmp/run.h5" --progress none > /dev/null || bad "run"
$py -c "
import h5py
with h5py.File('$tmp/run.h5') as f, h5py.File('$tmp/spectra.h5', 'w') as g:
    g['hessian_evals'] = f['points/000000/eigenvalues'][:]
"
if "$rmtmc" analyze "$tmp/spectra.h5" -c "$tmp/stats.json" -o "$tmp/an.h5" > /dev/null; then
  $py - "$tmp/run.h5" "$tmp/an.h5" <<'PY' && ok "analyze reproduces a run's statistics from its spectra" || bad "analyze differs from run"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1])["points/000000"], h5py.File(sys.argv[2])["points/000000"]
for d in ["density/counts", "density/edges", "gap_ratios/counts", "spacings/counts", "draws/moments",
          "draws/zero_fraction", "draws/mean_gap_ratio", "draws/lambda_max"]:
    assert np.array_equal(a[d][:], b[d][:]), d
for k in ["mean_gap_ratio", "zero_mass_mean"]:
    assert a.attrs[k] == b.attrs[k], k
assert a["spacings"].attrs["variance"] == b["spacings"].attrs["variance"]
PY
else
  bad "analyze of a run's spectra"
fi

# pool unfolding runs on every core analyze may use, with the same result
# as on one (taskset: one core, one thread)
if command -v taskset > /dev/null && [ "$(nproc)" -gt 1 ]; then
  taskset -c 0 "$rmtmc" analyze "$tmp/spectra.h5" -c "$tmp/stats.json" -o "$tmp/an1.h5" > /dev/null \
    && $py "$src/tests/h5same.py" "$tmp/an.h5" "$tmp/an1.h5" \
    && ok "pool unfolding on $(nproc) threads equals one thread's" || bad "pool unfolding: threads change the result"
fi
# the point's params_json holds the ensemble it is compared with, as a
# run's does (before: its type alone, the ratio left out)
printf '0.1 1 2 3\n0.2 1.1 2.5 4\n' > "$tmp/w.txt"
"$rmtmc" analyze "$tmp/w.txt" -c <(echo '{"ensemble": {"type": "wishart", "n": 4, "ratio": 3}}') -o "$tmp/w.h5" > /dev/null \
  && $py -c "
import h5py, json
p = json.loads(h5py.File('$tmp/w.h5')['points/000000'].attrs['params_json'])
assert p == {'n': 4, 'ratio': 3, 'source': '$tmp/w.txt', 'spectra': 2, 'type': 'wishart'}, p
" && ok "analyze -c: params_json holds the ensemble's parameters" || bad "analyze -c params_json"

# a run's config serves too: what only a run uses is left aside, and named
"$rmtmc" analyze "$tmp/w.txt" -o "$tmp/wr.h5" -c <(echo '{"name": "x", "seed": 3, "draws": 12, "ranks_per_draw": 1,
  "max_failures": 2, "ensemble": {"type": "wishart", "n": 4, "ratio": 3}, "statistics": {"moments": 2},
  "output": {"path": "x.h5", "checkpoint_seconds": 5}}') > /dev/null 2> "$tmp/err" \
  && grep -q "analyze leaves aside what only a run uses: seed, draws, ranks_per_draw, max_failures, output.path, output.checkpoint_seconds$" "$tmp/err" \
  && $py -c "
import h5py, json
c = json.loads(h5py.File('$tmp/wr.h5').attrs['config_json'])
assert 'seed' not in c and 'draws' not in c and 'max_failures' not in c and c['output'] == {} and c['statistics'] == {'moments': 2}, c
" && ok "analyze -c with a run's config: run-only keys left aside, named" || { bad "analyze with a run's config"; cat "$tmp/err"; }

# 2. a text file of i.i.d. levels: Poisson statistics
$py -c "
import numpy as np
r = np.random.default_rng(1)
np.savetxt('$tmp/poisson.txt', np.sort(r.standard_normal((40, 400)), axis=1))
"
"$rmtmc" analyze "$tmp/poisson.txt" -o "$tmp/p.h5" > /dev/null && $py -c "
import h5py
g = h5py.File('$tmp/p.h5')['points/000000']
m, se = g.attrs['mean_gap_ratio'], g.attrs['mean_gap_ratio_stderr']
assert abs(m - 0.386294) < 4 * se, (m, se)
s = g['spacings'].attrs
assert s['ks_poisson'] < s['ks_goe'], dict(s)
# every ratio is counted, those above max too: 40 x 398 of them, and for
# Poisson levels P(r > R) = 1 / (1 + R), within 4 standard errors
h = g['gap_ratios']
t = int(h['counts'][:].sum()) + int(h['above'][()])
assert t == 40 * 398, t
p = 1 / (1 + h['edges'][-1])
assert abs(h['above'][()] / t - p) < 4 * (p * (1 - p) / t) ** 0.5, (h['above'][()], t, p)
" && ok "text spectra of i.i.d. levels look Poisson; every gap ratio counted, P(r > max) as Poisson's" || bad "Poisson text spectra"

# ... and unfolded by a fitted polynomial: the file says which and of what degree
echo '{"statistics": {"spacings": {"unfolding": "polynomial", "degree": 7}}}' > "$tmp/poly.json"
"$rmtmc" analyze "$tmp/poisson.txt" -c "$tmp/poly.json" -o "$tmp/poly.h5" > /dev/null && $py -c "
import h5py
s = h5py.File('$tmp/poly.h5')['points/000000/spacings'].attrs
assert s['unfolding'] == 'polynomial' and s['degree'] == 7, dict(s)
assert 'degree' not in h5py.File('$tmp/p.h5')['points/000000/spacings'].attrs
" && ok "polynomial unfolding: the file names it and its degree" || bad "polynomial unfolding's attributes"

# 3. bad inputs: exit 2, one line, no output
printf '1 2 3\n4 5\n' > "$tmp/ragged.txt"
printf '1 2 nan\n' > "$tmp/nonfinite.txt"
: > "$tmp/empty.txt"
printf '1 2 x\n' > "$tmp/word.txt"
printf '1,2,,3\n' > "$tmp/emptyfield.txt"
printf '1,2,3,\n' > "$tmp/trailing.txt"
printf '1, 2,\t3\n4 ,5 , 6\n' > "$tmp/csv_ok.txt"
$py -c "
import h5py, numpy as np
with h5py.File('$tmp/bad.h5', 'w') as f:
    f['one_d'] = np.arange(5.0)
    f['hessian_evals'] = np.array([[1.0, np.inf], [2.0, 3.0]])
    f['empty'] = np.zeros((0, 4))
    # 2^32 x 2^29 values (never written, so tiny on disk): their byte count wraps a size_t
    f.create_dataset('huge', shape=(2**32, 2**29), dtype='f8', chunks=(1, 1024))
    f.create_group('grp')['evals'] = np.array([[1.0, 2.0], [2.0, 3.0]])
"
check_bad() {
  local what=$1 want=$2; shift 2
  rm -f "$tmp/out.h5"
  "$rmtmc" analyze "$@" -o "$tmp/out.h5" > /dev/null 2> "$tmp/err"
  local rc=$?
  if [ $rc = 2 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q -- "$want" "$tmp/err" && [ ! -e "$tmp/out.h5" ]; then
    ok "$what"
  else
    bad "$what (exit $rc): $(cat "$tmp/err")"
  fi
}
check_bad "ragged rows" "ragged" "$tmp/ragged.txt"
check_bad "non-finite text value" "non-finite" "$tmp/nonfinite.txt"
check_bad "empty text file" "no spectra" "$tmp/empty.txt"
check_bad "not a number" "not a number" "$tmp/word.txt"
check_bad "an empty CSV field" "line 1: an empty field" "$tmp/emptyfield.txt"
check_bad "a trailing comma" "line 1: an empty field" "$tmp/trailing.txt"
"$rmtmc" analyze "$tmp/csv_ok.txt" -o "$tmp/csv_ok.h5" > /dev/null 2>&1 && $py -c "
import h5py; assert h5py.File('$tmp/csv_ok.h5')['points/000000'].attrs['n'] == 3" \
  && ok "commas with spaces around them separate values" || bad "comma-separated text with spaces"
# one spectrum: pool unfolding has nothing to pool; by default a fitted
# polynomial unfolds it (and says so), asked for explicitly it is refused
$py -c "
import numpy as np
r = np.random.default_rng(2); a = r.standard_normal((300, 300)); a = (a + a.T) / np.sqrt(600)
np.savetxt('$tmp/one.txt', np.linalg.eigvalsh(a)[None, :])
"
"$rmtmc" analyze "$tmp/one.txt" -o "$tmp/one.h5" > /dev/null 2> "$tmp/err" && grep -q "one spectrum: its spacings are unfolded by a fitted polynomial" "$tmp/err" && $py -c "
import h5py
s = h5py.File('$tmp/one.h5')['points/000000/spacings'].attrs
assert s['unfolding'] == 'polynomial' and s['count'] > 250 and abs(s['mean'] - 1) < 0.05, dict(s)
" && ok "one spectrum: unfolded by a polynomial, and said so" || { bad "one spectrum's spacings"; cat "$tmp/err"; }
printf '1 %.0s' $(seq 20) > "$tmp/ones.txt"
"$rmtmc" analyze "$tmp/ones.txt" -o "$tmp/ones.h5" > /dev/null 2>&1 && $py -c "
import h5py; assert h5py.File('$tmp/ones.h5')['points/000000/spacings'].attrs['count'] == 0" \
  && ok "one spectrum of 20 equal levels: no polynomial fits them, no spacings (not a failure)" \
  || bad "a spectrum the polynomial cannot be fitted to"
printf '1 2 3 4 5\n' > "$tmp/five.txt"
"$rmtmc" analyze "$tmp/five.txt" -o "$tmp/five.h5" > /dev/null 2>&1 && $py -c "
import h5py; assert h5py.File('$tmp/five.h5')['points/000000/spacings'].attrs['count'] == 0" \
  && ok "one spectrum of 5 levels: fewer than a degree-9 polynomial's coefficients, no spacings (not a failure)" \
  || bad "one spectrum of 5 levels"
check_bad "one spectrum with pool unfolding" "statistics.spacings: pool unfolding .* holds only one" "$tmp/one.txt" -c <(echo '{"statistics": {"spacings": {}}}')
check_bad "non-finite HDF5 value" "non-finite" "$tmp/bad.h5"
check_bad "1-D dataset" "not 2-D" "$tmp/bad.h5" --dataset one_d
check_bad "empty dataset" "empty" "$tmp/bad.h5" --dataset empty
check_bad "dataset too large to address" "too large to read" "$tmp/bad.h5" --dataset huge
check_bad "a group named as the dataset" '"grp" is a group, not a dataset; name a dataset in it (--dataset grp/NAME)' "$tmp/bad.h5" --dataset grp
check_bad "missing dataset: the 2-D ones named" 'no dataset "nope"; its 2-D datasets: empty, grp/evals, hessian_evals, huge (use --dataset NAME)' "$tmp/bad.h5" --dataset nope
# the shape read, and a hint when it looks transposed (more spectra than levels)
"$rmtmc" analyze "$tmp/csv_ok.txt" -o "$tmp/shape.h5" 2> /dev/null | grep -q "csv_ok.txt: 2 spectra of 3 eigenvalues$" \
  && $py -c "import numpy as np; np.savetxt('$tmp/tr.txt', np.random.default_rng(1).standard_normal((8, 5)))" \
  && "$rmtmc" analyze "$tmp/tr.txt" -o "$tmp/tr.h5" 2> /dev/null | grep -q "tr.txt: 8 spectra of 5 eigenvalues (one spectrum per row; a file with one per column needs transposing)" \
  && ok "analyze says the shape it read, and hints at a transposed file" || bad "analyze's shape line"
check_bad "missing file" "cannot open" "$tmp/nope.txt"
check_bad "a config with experiments" "experiments: analyze measures one set of spectra" "$tmp/poisson.txt" -c <(echo '{"experiments": [{"name": "a"}]}')
check_bad "theory unfolding without an ensemble" "statistics.spacings.unfolding" "$tmp/poisson.txt" -c <(echo '{"statistics": {"spacings": {"unfolding": "theory"}}}')
exit $fail
