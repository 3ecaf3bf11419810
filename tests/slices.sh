#!/bin/bash
# A sweep split into slices (as a job array runs it) and merged gives the
# file a single run gives. usage: slices.sh RMTMC SRCDIR
set -u
rmtmc=$(realpath "$1")
src=$2
. "$(dirname "$0")/lib.sh"
cat > "$tmp/c.json" <<'JSON'
{"name": "sweep", "seed": 8, "draws": 7,
 "ensemble": {"type": "wishart", "n": 60, "ratio": {"logspace": [-0.5, 0.5, 5]}},
 "statistics": {"density": {"bins": 20}, "moments": 3, "gap_ratios": {"bins": 10},
                "spacings": {"unfolding": "pool", "bins": 10}}}
JSON
"$rmtmc" run "$tmp/c.json" -o "$tmp/single.h5" --progress none > /dev/null || bad "single run"
for i in 0 1 2; do
  mpiexec -n 2 "$rmtmc" run "$tmp/c.json" -o "$tmp/part$i.h5" --points $i/3 --progress none > "$tmp/sum$i" 2>&1 || bad "slice $i/3"
done
# --resume with another slice, or none, than the file's is refused (it
# would call slice 0's finished file "complete" for slice 1, or mix slices)
for args in "--points 1/3" "" ; do
  "$rmtmc" run "$tmp/c.json" -o "$tmp/part0.h5" $args --resume --progress none > /dev/null 2> "$tmp/err"
  [ $? = 2 ] && grep -q "part0.h5: holds slice 0/3 of the points, but this run asks for ${args:+slice }${args#--points }" "$tmp/err" \
    && ok "resuming slice 0's file ${args:-without --points} is refused" || { bad "resume of slice 0's file ${args:-without --points}"; cat "$tmp/err"; }
done
"$rmtmc" run "$tmp/c.json" -o "$tmp/single.h5" --points 0/3 --resume --progress none > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "single.h5: holds all the points, but this run asks for slice 0/3" "$tmp/err" \
  && ok "resuming a whole run's file as a slice is refused" || { bad "resume of a whole run as a slice"; cat "$tmp/err"; }
# a slice's summary lists its own points only, and says it is a slice
grep -q "^slice 1/3: points 1 to 2 of 5" "$tmp/sum1" && [ "$(grep -cE '^ +[0-9]+  sweep ' "$tmp/sum1")" = 2 ] \
  && ok "a slice's summary lists its points only" || { bad "slice summary"; cat "$tmp/sum1"; }
# rmtplot draws a slice's own points, not the others as unfinished ones
if $py -c "import matplotlib" 2> /dev/null; then
  $py "$src/tools/rmtplot" "$tmp/part1.h5" -o "$tmp/plots1" > /dev/null 2>&1 || bad "rmtplot on a slice"
  ls "$tmp/plots1" | grep -q "^000001-" && ls "$tmp/plots1" | grep -q "^000002-" && ! ls "$tmp/plots1" | grep -qE "^00000[034]-" \
    && ok "rmtplot on a slice draws its own points only" || { bad "rmtplot on a slice"; ls "$tmp/plots1"; }
fi
$py -c "
import h5py
for i, pts in [(0, [0]), (1, [1, 2]), (2, [3, 4])]:
    f = h5py.File('$tmp/part%d.h5' % i)
    assert f.attrs['points_slice'] == '%d/3' % i and f.attrs['complete'] == 1, i
    done = [int(n) for n in f['points'] if f['points'][n].attrs['draws_done'] > 0]
    assert done == pts, (i, done)
" && ok "each slice computes its contiguous share of the points" || bad "slice contents"
"$rmtmc" merge "$tmp/merged.h5" "$tmp/part2.h5" "$tmp/part0.h5" "$tmp/part1.h5" > "$tmp/out" || bad "merge"
grep -q "(complete)" "$tmp/out" || bad "merge does not report a complete result"
$py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/merged.h5" && ok "merged slices equal a single run" || bad "merged file differs"
# a missing or empty part is named as such
"$rmtmc" merge "$tmp/mmiss.h5" "$tmp/part0.h5" "$tmp/never.h5" > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "never.h5: No such file or directory (a slice that never wrote its file?" "$tmp/err" && [ ! -e "$tmp/mmiss.h5" ] \
  && ok "a missing part: exit 2, named as missing" || { bad "missing part"; cat "$tmp/err"; }
# merge stopped by a signal while writing: exit 3, one line, no OUT, OUT.tmp or OUT.lock left
echo '{"name": "big", "seed": 4, "draws": 30000, "ensemble": {"type": "wigner", "n": {"sweep": [40, 50]}},
 "statistics": {"spacings": {"unfolding": "pool"}}}' > "$tmp/big.json"
for i in 0 1; do "$rmtmc" run "$tmp/big.json" -o "$tmp/bp$i.h5" --points $i/2 --progress none > /dev/null || bad "big slice $i"; done
"$rmtmc" merge "$tmp/bm.h5" "$tmp/bp0.h5" "$tmp/bp1.h5" > /dev/null 2> "$tmp/err" & mpid=$!
for i in $(seq 1000); do [ -e "$tmp/bm.h5.tmp" ] && break; sleep 0.01; done
[ -e "$tmp/bm.h5.tmp" ] && kill -TERM $mpid; wait $mpid; mrc=$?
[ $mrc = 3 ] && grep -qx "rmtmc: merge interrupted by a signal: $tmp/bm.h5 not written (its inputs are untouched); run it again" "$tmp/err" \
  && [ ! -e "$tmp/bm.h5" ] && [ ! -e "$tmp/bm.h5.tmp" ] && [ ! -e "$tmp/bm.h5.lock" ] \
  && ok "merge stopped by SIGTERM while writing: exit 3, nothing left behind" || { bad "merge stopped by a signal (exit $mrc)"; cat "$tmp/err"; ls "$tmp"/bm.h5*; }
# ... but a signal ignored when merge starts (nohup: SIGHUP) stays ignored
(trap '' HUP; exec "$rmtmc" merge "$tmp/bh.h5" "$tmp/bp0.h5" "$tmp/bp1.h5" > /dev/null 2> "$tmp/err") & mpid=$!
for i in $(seq 1000); do [ -e "$tmp/bh.h5.tmp" ] && break; sleep 0.01; done
[ -e "$tmp/bh.h5.tmp" ] && kill -HUP $mpid; wait $mpid; mrc=$?
[ $mrc = 0 ] && [ -e "$tmp/bh.h5" ] && [ ! -e "$tmp/bh.h5.tmp" ] \
  && ok "merge under nohup: SIGHUP stays ignored, the merge completes" || { bad "merge with SIGHUP ignored (exit $mrc)"; cat "$tmp/err"; }
# the merged file began when its earliest part did, wherever that part is listed
cp "$tmp/part2.h5" "$tmp/early2.h5"
$py -c "import h5py, sys; h5py.File(sys.argv[1], 'r+').attrs['created_utc'] = '2001-02-03T04:05:06Z'" "$tmp/early2.h5"
"$rmtmc" merge "$tmp/me.h5" "$tmp/part0.h5" "$tmp/early2.h5" "$tmp/part1.h5" > /dev/null \
  && [ "$($py -c "import h5py, sys; print(h5py.File(sys.argv[1], 'r').attrs['created_utc'])" "$tmp/me.h5")" = 2001-02-03T04:05:06Z ] \
  && ok "a merged file's created_utc is its earliest part's" || bad "merged created_utc"
# a merge whose results exceed the memory it may use goes a batch of points
# at a time (here 15.7 KiB a point, 36 KiB in all; 30 MiB + 40 KiB given,
# less the 30 MiB every process takes and the summary's 800 bytes)
"$rmtmc" merge "$tmp/mb.h5" "$tmp/part2.h5" "$tmp/part0.h5" "$tmp/part1.h5" --mem-per-rank=30760K > "$tmp/out" 2> "$tmp/err" \
  && grep -q "^merging in 3 batches of points, to stay within --mem-per-rank 30 MiB, less the ~30 MiB every rank takes$" "$tmp/out" && [ ! -s "$tmp/err" ] \
  && grep -q "(complete)" "$tmp/out" && $py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/mb.h5" \
  && ok "merged in 3 batches of points: equal to a single run" || { bad "merge in batches"; cat "$tmp/out" "$tmp/err"; }
"$rmtmc" merge "$tmp/mb1.h5" "$tmp/part2.h5" "$tmp/part0.h5" "$tmp/part1.h5" --mem-per-rank 1K > "$tmp/out" 2> "$tmp/err" \
  && grep -q "^merging in 5 batches" "$tmp/out" && grep -q "^rmtmc: note: point 4 alone takes about 15.7 KiB to merge, more than merge may use (--mem-per-rank 1 KiB, less" "$tmp/err" \
  && [ "$(grep -c note "$tmp/err")" = 5 ] \
  && $py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/mb1.h5" \
  && ok "merged a point at a time, each larger than the memory given (noted): equal to a single run" || { bad "merge a point at a time"; cat "$tmp/out" "$tmp/err"; }
# some parts only, a point at a time: incomplete, with the spectra a resume needs
"$rmtmc" merge "$tmp/mb5.h5" "$tmp/part0.h5" "$tmp/part2.h5" --mem-per-rank 1K 2> /dev/null | grep -q "21 of 35 draws (incomplete" \
  && "$rmtmc" run "$tmp/c.json" -o "$tmp/mb5.h5" --resume --progress none > /dev/null 2>&1 \
  && $py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/mb5.h5" \
  && ok "an incomplete merge in batches, resumed: equal to a single run" || bad "incomplete merge in batches"
expect_no_merge() { # WHAT MESSAGE: the merge exits 2, says MESSAGE and leaves neither OUT nor OUT.tmp
  [ $? = 2 ] && grep -q "$2" "$tmp/err" && [ ! -e "$tmp/mbx.h5" ] && [ ! -e "$tmp/mbx.h5.tmp" ] && ok "$1" || { bad "$1"; cat "$tmp/err"; }
}
# merge holds OUT.h5.lock as a run does: not while a run writes OUT (the lock held by flock(1) here)
if command -v flock > /dev/null; then
  flock "$tmp/mbx.h5.lock" sleep 20 &
  fl=$!
  for i in $(seq 50); do [ -e "$tmp/mbx.h5.lock" ] && break; sleep 0.1; done
  "$rmtmc" merge "$tmp/mbx.h5" "$tmp/part0.h5" > /dev/null 2> "$tmp/err"
  expect_no_merge "merge onto an output whose lock another run holds: exit 2" "another rmtmc run is writing this output"
  kill $fl; wait $fl 2> /dev/null; rm -f "$tmp/mbx.h5.lock"
fi
cp "$tmp/part2.h5" "$tmp/copy2.h5"
"$rmtmc" merge "$tmp/mbx.h5" "$tmp/part0.h5" "$tmp/part1.h5" "$tmp/part2.h5" "$tmp/copy2.h5" --mem-per-rank 1K > /dev/null 2> "$tmp/err"
expect_no_merge "parts overlapping in the last batch: exit 2, no output" "copy2.h5: point 3 has a draw that is already restored (overlapping"
"$rmtmc" merge "$tmp/mbx.h5" "$tmp/part0.h5" --mem-per-rank 4Q > /dev/null 2> "$tmp/err"
expect_no_merge "merge --mem-per-rank 4Q: exit 2" "needs a size such as 4G, found '4Q'"
# a slice run with other checkpoint settings (they do not change results) merges too
sed 's/"seed": 8,/"seed": 8, "output": {"checkpoint_seconds": 5},/' "$tmp/c.json" > "$tmp/ck.json"
"$rmtmc" run "$tmp/ck.json" -o "$tmp/ck1.h5" --points 1/3 --progress none > /dev/null || bad "slice 1/3 with checkpoint_seconds 5"
"$rmtmc" merge "$tmp/merged_ck.h5" "$tmp/part0.h5" "$tmp/ck1.h5" "$tmp/part2.h5" > /dev/null 2> "$tmp/err" \
  && $py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/merged_ck.h5" \
  && ok "a slice with other checkpoint settings merges, equal to a single run" || { bad "merge across checkpoint settings"; cat "$tmp/err"; }
"$rmtmc" merge "$tmp/m2.h5" "$tmp/part0.h5" "$tmp/part0.h5" > /dev/null 2> "$tmp/err"; [ $? = 2 ] && [ ! -e "$tmp/m2.h5" ] && ok "a part given twice: exit 2" || bad "part given twice"
# a part without gap_ratios/above (an older rmtmc's) is named, not merged
# as if no ratio were above max
cp "$tmp/part0.h5" "$tmp/old0.h5"
$py -c "import h5py; del h5py.File('$tmp/old0.h5', 'r+')['points/000000/gap_ratios/above']"
"$rmtmc" merge "$tmp/m_old.h5" "$tmp/old0.h5" "$tmp/part1.h5" "$tmp/part2.h5" > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "old0.h5: point 0 has no gap_ratios/above (written by an older rmtmc" "$tmp/err" && [ ! -e "$tmp/m_old.h5" ] \
  && ok "a part without gap_ratios/above: exit 2, named" || { bad "a part without gap_ratios/above"; cat "$tmp/err"; }
# damaged parts (an attribute or a scalar stored as an array, a spectrum
# that is not finite) are refused (exit 2), not read past their buffers
for damage in "complete:attrs" "config_json:attrs" "format:attrs" "draws_done:point" "params_json:point" \
              "density/below:scalar" "gap_ratios/above:scalar" "nan:spectrum" "draws/index:deep"; do
  cp "$tmp/part0.h5" "$tmp/dmg.h5"
  $py -c "
import h5py, numpy as np, sys
name, kind = sys.argv[1].split(':')
f = h5py.File('$tmp/dmg.h5', 'r+')
g = f['points/000000']
if kind == 'attrs':
    v = f.attrs[name]
    del f.attrs[name]
    f.attrs[name] = np.array([v] * 4, dtype=h5py.string_dtype() if isinstance(v, str) else None)
elif kind == 'point':
    v = g.attrs[name]
    del g.attrs[name]
    g.attrs[name] = np.array([v] * 4, dtype=h5py.string_dtype() if isinstance(v, str) else None)
elif kind == 'scalar':
    del g[name]
    g[name] = np.zeros(8, dtype=np.uint64)
elif kind == 'deep':  # 32 dimensions, where 1 is read
    d = g[name][...]
    del g[name]
    g.create_dataset(name, data=d.reshape(d.shape[0], *[1] * 31))
else:
    e = g['eigenvalues'][:]
    e[3, 0] = np.nan
    g['eigenvalues'][...] = e
" "$damage" || bad "damaging a part ($damage)"
  rm -f "$tmp/mdmg.h5"
  "$rmtmc" merge "$tmp/mdmg.h5" "$tmp/dmg.h5" "$tmp/part1.h5" "$tmp/part2.h5" > /dev/null 2> "$tmp/err"
  rc=$?
  [ $rc = 2 ] && [ ! -e "$tmp/mdmg.h5" ] && grep -q "dmg.h5: \(not an rmtmc output file\|point 0 \)" "$tmp/err" \
    && ok "a part with $damage damaged: exit 2, named" || { bad "a part with $damage damaged: exit $rc"; cat "$tmp/err"; }
done
cp "$tmp/part1.h5" "$tmp/copy1.h5"
"$rmtmc" merge "$tmp/m3.h5" "$tmp/part1.h5" "$tmp/copy1.h5" > /dev/null 2> "$tmp/err"; [ $? = 2 ] && grep -q overlapping "$tmp/err" && [ ! -e "$tmp/m3.h5" ] && ok "overlapping parts: exit 2" || bad "overlapping parts"
sed 's/"seed": 8/"seed": 9/' "$tmp/c.json" > "$tmp/d.json"
"$rmtmc" run "$tmp/d.json" -o "$tmp/other.h5" --points 1/3 --progress none > /dev/null
"$rmtmc" merge "$tmp/m4.h5" "$tmp/part0.h5" "$tmp/other.h5" > /dev/null 2> "$tmp/err"; [ $? = 2 ] && grep -q "different config" "$tmp/err" && ok "parts of different configs: exit 2" || bad "different configs"
"$rmtmc" merge "$tmp/m5.h5" "$tmp/part0.h5" > "$tmp/out" && grep -q "incomplete" "$tmp/out" && $py -c "
import h5py; f = h5py.File('$tmp/m5.h5'); assert f.attrs['complete'] == 0
" && ok "merging some parts gives an incomplete file that says so" || bad "partial merge"
# ... which --resume completes into the single run's file
"$rmtmc" run "$tmp/c.json" -o "$tmp/m5.h5" --resume --progress none > /dev/null 2>&1 \
  && $py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/m5.h5" > /dev/null \
  && ok "--resume on an incomplete merge computes the missing points: equal to a single run" || bad "resume of an incomplete merge"
# a slice holds rows for its own points only: a point of another slice
# far larger than memory (10^9 draws of n = 1000 with spacings: 8 PB of
# spectra) does not stop it (before, "out of memory for the results of point 1")
cat > "$tmp/huge.json" <<'JSON'
{"name": "huge", "seed": 1, "experiments": [
 {"name": "small", "draws": 10, "ensemble": {"type": "wigner", "n": 10}},
 {"name": "huge", "draws": 1000000000, "ensemble": {"type": "wigner", "n": 1000}, "statistics": {"spacings": {"unfolding": "pool"}}}]}
JSON
"$rmtmc" run "$tmp/huge.json" -o "$tmp/huge0.h5" --points 0/2 --progress none > "$tmp/out" 2> "$tmp/err" \
  && grep -q "^10 draws (0 failed) written to" "$tmp/out" \
  && ok "a slice runs beside another slice's point larger than memory" || { bad "slice beside a huge point"; cat "$tmp/out" "$tmp/err"; }
# a pooled polynomial unfolding (a least-squares fit through BLAS) merges
# to the last bit: merge runs BLAS on one thread, as run does (before, it
# used every core and the fitted spacings' mean differed)
cat > "$tmp/poly.json" <<'JSON'
{"name": "poly", "seed": 5, "draws": 55, "ensemble": {"type": "wigner", "n": {"sweep": [64, 170, 287]}},
 "statistics": {"spacings": {"unfolding": "polynomial", "degree": 9}}}
JSON
"$rmtmc" run "$tmp/poly.json" -o "$tmp/polyref.h5" --progress none > /dev/null \
  && "$rmtmc" run "$tmp/poly.json" -o "$tmp/poly0.h5" --points 0/2 --progress none > /dev/null \
  && "$rmtmc" run "$tmp/poly.json" -o "$tmp/poly1.h5" --points 1/2 --progress none > /dev/null \
  && "$rmtmc" merge "$tmp/polym.h5" "$tmp/poly0.h5" "$tmp/poly1.h5" > /dev/null \
  && $py "$src/tests/h5same.py" "$tmp/polyref.h5" "$tmp/polym.h5" \
  && ok "pooled polynomial unfolding: merged slices equal a single run to the last bit" || bad "merge of a polynomial unfolding"
"$rmtmc" run "$tmp/c.json" -o "$tmp/x.h5" --points 3/3 > /dev/null 2>&1; [ $? = 2 ] && ok "--points 3/3: exit 2" || bad "--points out of range"

# a finished single run is no part when spacings pool spectra it did not keep: say so
"$rmtmc" merge "$tmp/m6.h5" "$tmp/single.h5" > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "needs every draw's spectrum (for its spacings), and the file does not keep them" "$tmp/err" && [ ! -e "$tmp/m6.h5" ] \
  && ok "merging a finished run without its spectra: exit 2, says why" || { bad "merge without spectra"; cat "$tmp/err"; }

# Two sweeps not in key order: points follow the file's order (ratio outer,
# p inner), which the canonical config keeps, so merged slices are labelled
# as a single run's; the other order is another config to --resume
cat > "$tmp/s2.json" <<'JSON'
{"name": "s2", "seed": 3, "draws": 6,
 "ensemble": {"type": "wishart", "n": 40, "ratio": {"sweep": [0.5, 2]}, "percolation": {"p": {"sweep": [0.5, 1]}}},
 "statistics": {"density": {"bins": 10}, "moments": 2}}
JSON
sed 's/"ratio": {"sweep": \[0.5, 2\]}, "percolation": {"p": {"sweep": \[0.5, 1\]}}/"percolation": {"p": {"sweep": [0.5, 1]}}, "ratio": {"sweep": [0.5, 2]}/' \
  "$tmp/s2.json" > "$tmp/s2b.json"
"$rmtmc" run "$tmp/s2.json" -o "$tmp/s2.h5" --progress none > /dev/null || bad "two sweeps: single run"
for i in 0 1 2; do "$rmtmc" run "$tmp/s2.json" -o "$tmp/s2p$i.h5" --points $i/3 --progress none > /dev/null || bad "two sweeps: slice $i"; done
"$rmtmc" merge "$tmp/s2m.h5" "$tmp/s2p0.h5" "$tmp/s2p1.h5" "$tmp/s2p2.h5" > /dev/null || bad "two sweeps: merge"
$py "$src/tests/h5same.py" "$tmp/s2.h5" "$tmp/s2m.h5" && $py -c "
import h5py
f = h5py.File('$tmp/s2m.h5')
assert list(f['summary/ensemble.ratio'][:]) == [0.5, 0.5, 2, 2], f['summary/ensemble.ratio'][:]
assert list(f['summary/ensemble.percolation.p'][:]) == [0.5, 1, 0.5, 1]
" && ok "two sweeps out of key order: merged slices equal the single run, in the file's point order" \
  || bad "two sweeps out of key order: merged file differs"
"$rmtmc" run "$tmp/s2b.json" -o "$tmp/s2.h5" --resume --progress none > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "different config.*they differ at key order (a sweep.s points follow it)" "$tmp/err" && ok "the same sweeps in the other order: another config to --resume" \
  || { bad "sweep order: resume accepted another point order"; cat "$tmp/err"; }
# jobs/merge.sbatch (run here without Slurm): a missing part fails it,
# leaving an incomplete file; resubmitted with every part it replaces that
# file; a complete file it leaves alone
if command -v h5dump > /dev/null; then
  mkdir -p "$tmp/mj"
  for i in 0 1; do cp "$tmp/part$i.h5" "$tmp/mj/out.part$i-of-3.h5"; done
  (cd "$tmp/mj" && RMTMC=$rmtmc bash "$src/jobs/merge.sbatch" out.h5 > log 2>&1); r1=$?
  cp "$tmp/part2.h5" "$tmp/mj/out.part2-of-3.h5"
  (cd "$tmp/mj" && RMTMC=$rmtmc bash "$src/jobs/merge.sbatch" out.h5 >> log 2>&1); r2=$?
  (cd "$tmp/mj" && RMTMC=$rmtmc bash "$src/jobs/merge.sbatch" out.h5 >> log 2>&1); r3=$?
  [ $r1 = 1 ] && [ $r2 = 0 ] && [ $r3 = 1 ] && $py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/mj/out.h5" \
    && ok "merge.sbatch: a missing part fails it; resubmitted with all parts it replaces the incomplete file" \
    || { bad "merge.sbatch retry ($r1 $r2 $r3)"; cat "$tmp/mj/log"; }
  # parts of the same sweep sliced two ways: it asks which, and RMTMC_SLICES picks
  mkdir -p "$tmp/mk"
  for i in 0 1 2; do cp "$tmp/part$i.h5" "$tmp/mk/out.part$i-of-3.h5"; done
  for i in 0 1; do
    "$rmtmc" run "$tmp/c.json" -o "$tmp/mk/out.part$i-of-2.h5" --points $i/2 --progress none > /dev/null 2>&1 || bad "slice $i/2"
  done
  (cd "$tmp/mk" && RMTMC=$rmtmc bash "$src/jobs/merge.sbatch" out.h5 > log 2>&1); r1=$?
  (cd "$tmp/mk" && RMTMC=$rmtmc RMTMC_SLICES=2 bash "$src/jobs/merge.sbatch" out.h5 >> log 2>&1); r2=$?
  [ $r1 = 1 ] && grep -q "parts of a sweep sliced in 2 3 ways" "$tmp/mk/log" && [ $r2 = 0 ] \
    && $py "$src/tests/h5same.py" "$tmp/single.h5" "$tmp/mk/out.h5" > /dev/null \
    && ok "merge.sbatch: parts sliced two ways are named; RMTMC_SLICES=2 merges those" \
    || { bad "merge.sbatch with parts of 2 and 3 slices ($r1 $r2)"; cat "$tmp/mk/log"; }
fi

# The disk-space check counts the slice's points, not the whole sweep's,
# and on --resume the room the checkpoint already takes: on a 4 MB tmpfs
# a 2-point sweep needing ~6.4 MB (twice its ~3.2 MB) is refused, its first
# slice (twice ~1.6 MB) runs, and resuming that slice's file is let through.
mkdir -p "$tmp/small"
if mount -t tmpfs -o size=4m tmpfs "$tmp/small" 2> /dev/null; then
  trap 'umount "$tmp/small" 2> /dev/null; rm -rf "$tmp"' EXIT
  cat > "$tmp/sp.json" <<'JSON'
{"name": "sp", "seed": 3, "draws": 625, "ensemble": {"type": "wigner", "n": {"sweep": [300, 301]}},
 "statistics": {"spacings": {"unfolding": "pool", "bins": 10}}}
JSON
  "$rmtmc" run "$tmp/sp.json" -o "$tmp/small/all.h5" --progress none > /dev/null 2> "$tmp/sperr"
  [ $? = 2 ] && grep -q "the output needs up to" "$tmp/sperr" && ok "a sweep that cannot fit twice on the disk is refused" \
    || { bad "space check, whole sweep"; cat "$tmp/sperr"; }
  "$rmtmc" run "$tmp/sp.json" -o "$tmp/small/p0.h5" --points 0/2 --progress none > /dev/null 2> "$tmp/sperr" \
    && ok "its first slice, which fits, runs" || { bad "space check, a slice that fits"; cat "$tmp/sperr"; }
  "$rmtmc" run "$tmp/sp.json" -o "$tmp/small/p0.h5" --points 0/2 --resume --progress none > /dev/null 2> "$tmp/sperr" \
    && ok "resuming it counts the room its file already takes" || { bad "space check on --resume"; cat "$tmp/sperr"; }
  # resuming it as the whole sweep, which would not fit either: the wrong slice is named first
  "$rmtmc" run "$tmp/sp.json" -o "$tmp/small/p0.h5" --resume --progress none > /dev/null 2> "$tmp/sperr"
  [ $? = 2 ] && grep -q "holds slice 0/2 of the points, but this run asks for all the points" "$tmp/sperr" \
    && ok "a file another run cannot resume is named before the disk's room" || { bad "resume checks before the space check"; cat "$tmp/sperr"; }
  umount "$tmp/small"
else
  echo "skip: cannot mount a small tmpfs here, so the disk-space check is not exercised"
fi
exit $fail
