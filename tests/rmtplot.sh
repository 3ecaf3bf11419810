#!/bin/bash
# tools/rmtplot on small runs (2 ranks), on a config with spacings and gap
# ratios, on `rmtmc analyze` output and on a damaged checkpoint: every
# expected figure is written, listed, larger than 10 kB and not blank.
# usage: rmtplot.sh RMTMC SRCDIR
set -u
rmtmc=$(realpath "$1")
src=$(realpath "$2")
. "$(dirname "$0")/lib.sh"
plot=$src/tools/rmtplot
check=$src/tests/rmtplot_check.py

# figs NAME H5 [EXPECTED ...]: rmtplot H5 into $tmp/NAME, then check
figs() {
  local name=$1 h5=$2 rc
  shift 2
  "$plot" "$h5" -o "$tmp/$name" > "$tmp/$name.list" 2> "$tmp/$name.err"
  rc=$?
  if [ $rc = 0 ]; then
    if $py "$check" "$h5" "$tmp/$name" "$tmp/$name.list" "$@"; then
      ok "$name: $(wc -l < "$tmp/$name.list") figures"
    else
      bad "$name: figures"
    fi
  else
    cat "$tmp/$name.err"
    bad "$name: rmtplot exited $rc"
  fi
}

"$plot" --help | grep -q "usage: rmtplot" && ok "--help" || bad "--help"
"$plot" "$tmp/none.h5" > /dev/null 2>&1; [ $? = 1 ] && ok "missing file: exit 1" || bad "missing file"
"$plot" > /dev/null 2>&1; [ $? = 2 ] && ok "no argument: exit 2" || bad "no argument"

# 1. densities, a sweep, zero mass and moments, on 2 ranks
cat > "$tmp/a.json" <<'JSON'
{"name": "small", "seed": 4, "experiments": [
  {"name": "wigner", "draws": 8, "ensemble": {"type": "wigner", "n": 150},
   "statistics": {"density": {"bins": 30}, "moments": 4}},
  {"name": "wishart", "draws": 8, "ensemble": {"type": "wishart", "n": 150, "ratio": {"sweep": [0.5, 2, 4]}},
   "statistics": {"density": {"bins": 30}, "zero_mass": {"tolerance": "auto"}, "moments": 3}}]}
JSON
if mpiexec --oversubscribe -n 2 "$rmtmc" run "$tmp/a.json" -o "$tmp/a.h5" --progress none > /dev/null; then
  figs a "$tmp/a.h5" 000000-wigner-density.png 000001-wishart-density.png 000002-wishart-density.png \
    000003-wishart-density.png wishart-zero-mass-vs-ensemble.ratio.png wishart-moments-vs-ensemble.ratio.png \
    wishart-gap-ratio-vs-ensemble.ratio.png wishart-lambda-max-vs-ensemble.ratio.png wishart-densities.png
else
  bad "run a.json on 2 ranks"
fi
# its listing into a pipe closed before it is read (| head, | true): no traceback
"$plot" "$tmp/a.h5" -o "$tmp/pipe" 2> "$tmp/pipe.err" | true
[ ! -s "$tmp/pipe.err" ] && ok "a listing cut short by | head ends quietly" || { bad "rmtplot | head"; head -5 "$tmp/pipe.err"; }

# 2. local statistics: GOE and Poisson spacings and gap ratios
cat > "$tmp/b.json" <<'JSON'
{"name": "local", "seed": 5, "experiments": [
  {"name": "goe", "draws": 12, "ensemble": {"type": "wigner", "n": 200},
   "statistics": {"density": {"bins": 30}, "spacings": {"unfolding": "pool", "bins": 30, "max": 4},
                  "gap_ratios": {"bins": 40, "max": 10}}},
  {"name": "poisson", "draws": 12, "ensemble": {"type": "diagonal", "n": 200},
   "statistics": {"spacings": {"unfolding": "pool", "bins": 30, "max": 4}, "gap_ratios": {"bins": 40, "max": 10}}}]}
JSON
if "$rmtmc" run "$tmp/b.json" -o "$tmp/b.h5" --progress none > /dev/null; then
  figs b "$tmp/b.h5" 000000-goe-density.png 000000-goe-spacings.png 000000-goe-gap-ratios.png \
    000000-goe-number-variance.png 000001-poisson-spacings.png 000001-poisson-gap-ratios.png \
    000001-poisson-number-variance.png
else
  bad "run b.json"
fi

# 3. rmtmc analyze: text spectra (no config) and HDF5 spectra with a config naming wigner
$py -c "
import numpy as np, h5py
r = np.random.default_rng(2)
np.savetxt('$tmp/levels.txt', np.sort(r.standard_normal((10, 200)), axis=1))
x = r.standard_normal((10, 200, 200))
with h5py.File('$tmp/spectra.h5', 'w') as f:
    f['hessian_evals'] = np.linalg.eigvalsh((x + x.transpose(0, 2, 1)) / np.sqrt(400))
"
if "$rmtmc" analyze "$tmp/levels.txt" -o "$tmp/c.h5" > /dev/null; then
  figs c "$tmp/c.h5" 000000-analyze-density.png 000000-analyze-spacings.png 000000-analyze-gap-ratios.png \
    000000-analyze-number-variance.png
else
  bad "analyze levels.txt"
fi
cat > "$tmp/d.json" <<'JSON'
{"name": "hessians", "ensemble": {"type": "wigner", "n": 200},
 "statistics": {"density": {"bins": 30}, "gap_ratios": {"bins": 40}, "spacings": {"unfolding": "pool"}}}
JSON
if "$rmtmc" analyze "$tmp/spectra.h5" -c "$tmp/d.json" -o "$tmp/d.h5" > /dev/null; then
  figs d "$tmp/d.h5" 000000-hessians-density.png 000000-hessians-spacings.png 000000-hessians-gap-ratios.png \
    000000-hessians-number-variance.png
else
  bad "analyze spectra.h5 -c d.json"
fi

# 4. a checkpoint with missing groups, NaN and ensembles rmtplot has no theory for
if [ -f "$tmp/a.h5" ] && [ -f "$tmp/b.h5" ]; then
  cp "$tmp/a.h5" "$tmp/e.h5"
  cp "$tmp/b.h5" "$tmp/f.h5"
  $py -c "
import h5py, numpy as np
with h5py.File('$tmp/e.h5', 'a') as f:
    f.attrs['complete'] = 0
    del f['points/000001/density']
    f['points/000002'].attrs['params_json'] = '{\"type\":\"product\",\"form\":\"gram\",\"factors\":[{\"type\":\"gaussian\",\"rows\":150,\"cols\":75}]}'
    f['points/000003'].attrs['params_json'] = '{\"type\":\"wishart\",\"n\":150,\"t\":38,\"percolation\":{\"mean_degree\":2},\"spikes\":[4]}'
    f['points/000002'].attrs['zero_mass_mean'] = np.nan
    f['summary/zero_mass_mean'][2] = np.nan
    f['summary/moments'][3, :] = np.nan
    f['points/000000/density/counts'][:] = 0
with h5py.File('$tmp/f.h5', 'a') as f:
    f.attrs['complete'] = 0
    del f['summary']
    del f['points/000000/spacings']
    del f['points/000001/draws']
    f['points/000001/gap_ratios/counts'][:] = 0
"
  figs e "$tmp/e.h5" 000000-wigner-density.png 000002-wishart-density.png 000003-wishart-density.png \
    wishart-zero-mass-vs-ensemble.ratio.png wishart-moments-vs-ensemble.ratio.png \
    wishart-gap-ratio-vs-ensemble.ratio.png wishart-lambda-max-vs-ensemble.ratio.png wishart-densities.png
  figs f "$tmp/f.h5" 000000-goe-density.png 000000-goe-gap-ratios.png 000001-poisson-spacings.png \
    000001-poisson-gap-ratios.png 000001-poisson-number-variance.png
  # an overlay's title states only what every point shares: a sweep of
  # factors[0].rows also changes the chained factors[1].cols
  $py -c "
import importlib.machinery, importlib.util
loader = importlib.machinery.SourceFileLoader('rmtplot', '$src/tools/rmtplot')
spec = importlib.util.spec_from_loader('rmtplot', loader)
rp = importlib.util.module_from_spec(spec)
loader.exec_module(rp)
pts = [{'type': 'product', 'form': 'gram', 'factors': [{'type': 'gaussian', 'rows': r, 'cols': 100},
       {'type': 'gaussian', 'rows': 100, 'cols': r}]} for r in (40, 70, 100)]
c = rp._drop_varying(pts[0], pts)
assert c == {'type': 'product', 'form': 'gram', 'factors': [{'type': 'gaussian', 'cols': 100},
             {'type': 'gaussian', 'rows': 100}]}, c
w = [{'type': 'wishart', 'n': 100, 'ratio': 2, 't': 50}, {'type': 'wishart', 'n': 100, 'ratio': 4, 't': 25}]
assert rp._drop_varying(w[0], w) == {'type': 'wishart', 'n': 100}
# the zero-mass curve of a Gaussian gram chain 200 -> x -> 250, x swept as
# factors[0].rows or as the chained factors[1].cols: 1 - min(x, 250)/200
p = {'type': 'product', 'form': 'gram', 'factors': [{'type': 'gaussian', 'rows': 100, 'cols': 200},
     {'type': 'gaussian', 'rows': 250, 'cols': 100}]}
for key in ('ensemble.factors[0].rows', 'ensemble.factors[1].cols'):
    assert rp.chain_zero_mass(p, key, [50, 150, 300]) == [0.75, 0.25, 0.0], key
assert rp.chain_zero_mass(p, 'ensemble.factors[1].rows', [50]) == [0.75]
assert rp.chain_zero_mass(p, 'ensemble.factors[0].cols', [80]) == [0.0]
q = {'type': 'product', 'form': 'gram', 'factors': [{'type': 'wishart', 'n': 100, 't': 50}]}
assert rp.chain_zero_mass(q, 'ensemble.factors[0].n', [50]) is None
" && ok "overlay titles keep only what every point shares (a chained dimension too); a Gaussian chain's zero-mass curve" \
  || bad "overlay titles: what every point shares; zero-mass curve of a chain"
fi

exit $fail
