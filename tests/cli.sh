#!/bin/bash
# Command-line behaviour: help, version, usage errors, refusing to overwrite,
# --force, check, a 2-rank run of the quickstart config that h5dump and h5py
# both read, SIGTERM giving exit 3 with a valid checkpoint, and the one-node
# MPI transport.
# usage: cli.sh RMTMC SRCDIR
set -u
rmtmc=$(realpath "$1")
src=$2
. "$(dirname "$0")/lib.sh"

# expect CODE DESCRIPTION -- command...: exit code and, for 2, exactly one stderr line
expect() {
  local code=$1 what=$2; shift 3
  "$@" > "$tmp/out" 2> "$tmp/err"
  local rc=$?
  if [ $rc != "$code" ]; then bad "$what: exit $rc, expected $code"; cat "$tmp/err"; return; fi
  if [ "$code" = 2 ] && [ "$(wc -l < "$tmp/err")" != 1 ]; then bad "$what: stderr is not one line"; cat "$tmp/err"; return; fi
  ok "$what"
}

expect 0 "--help" -- "$rmtmc" --help
grep -q "Exit codes" "$tmp/out" && grep -q "mpiexec" "$tmp/out" || bad "--help does not explain exit codes and mpiexec"
grep -q "rmtmc COMMAND --help" "$tmp/out" || bad "--help does not point to the commands' own pages"
# a command's own page: its usage only, its options only, and what it adds
for page in "run:--resume:--dataset:OUT.h5.journal" "check:--time:--progress:estimates the run's duration" \
            "merge:--force:--resume:PART.h5.journal" "analyze:--dataset:--points:fitted polynomial"; do
  IFS=: read -r cmd has hasnot says <<< "$page"
  expect 0 "$cmd --help" -- "$rmtmc" $cmd --help
  others=$(grep -c "^ *\(usage: \)\?rmtmc [a-z]" "$tmp/out")
  grep -q "^usage: rmtmc $cmd " "$tmp/out" && [ "$others" = 1 ] && grep -q "Exit codes" "$tmp/out" \
    && grep -q -- "^  $has \|^  -[a-z], $has " "$tmp/out" && ! grep -q -- "^  $hasnot " "$tmp/out" \
    && grep -q "$says" "$tmp/out" && ! grep -q "(check) " "$tmp/out" \
    && "$rmtmc" help $cmd | cmp -s - "$tmp/out" && ok "$cmd --help is $cmd's own page (rmtmc help $cmd too)" \
    || bad "$cmd --help: $(head -3 "$tmp/out")"
done
expect 0 "--version" -- "$rmtmc" --version
grep -q "^rmtmc [0-9]" "$tmp/out" || bad "--version prints no version"
expect 2 "no command" -- "$rmtmc"
expect 2 "unknown command" -- "$rmtmc" frobnicate x.json
grep -q "run, check, analyze, merge" "$tmp/err" || bad "unknown command: the commands are not all listed: $(cat "$tmp/err")"
expect 2 "unknown option" -- "$rmtmc" run "$src/configs/quickstart.json" --bogus
# each command takes its own options only; help names only commands
expect 2 "check --resume (run's option)" -- "$rmtmc" check "$src/configs/quickstart.json" --resume
grep -q "^rmtmc: check: unknown option '--resume'; see rmtmc check --help" "$tmp/err" || bad "check --resume: $(cat "$tmp/err")"
expect 2 "check --progress (run's option)" -- "$rmtmc" check "$src/configs/quickstart.json" --progress none
expect 2 "analyze --progress (run's option)" -- "$rmtmc" analyze "$tmp/nospectra.txt" -o "$tmp/np.h5" --progress none
expect 2 "analyze --mem-per-rank (run's option)" -- "$rmtmc" analyze "$tmp/nospectra.txt" -o "$tmp/np.h5" --mem-per-rank 1G
expect 2 "help for an unknown command" -- "$rmtmc" help frobnicate
grep -q "help: unknown command 'frobnicate'" "$tmp/err" || bad "help frobnicate: $(cat "$tmp/err")"
expect 2 "missing config file" -- "$rmtmc" run "$tmp/nope.json" -o "$tmp/nope.h5"
grep -q "nope.json" "$tmp/err" || bad "missing file not named"
[ ! -e "$tmp/nope.h5" ] || bad "missing config created an output"
RMT_DEBUG=1 "$rmtmc" run "$tmp/nope.json" -o "$tmp/nope.h5" 2> "$tmp/err"
grep -q "nope.json.*\[.*config.c:[0-9]*\]$" "$tmp/err" && ok "RMT_DEBUG names the source line" || bad "RMT_DEBUG: $(cat "$tmp/err")"
expect 2 "output directory missing" -- "$rmtmc" run "$src/configs/quickstart.json" -o "$tmp/no/such/dir/x.h5"
# environment variables with values they cannot take are refused, naming the variable, before any output
for bad_env in RMT_GRID_DRIVER=bogus RMT_EIG_DRIVER=syevx RMT_BLAS_THREADS=0 RMT_BLAS_THREADS=abc RMT_EIG_2STAGE_KD=-1 RMT_JOURNAL_FROM=-1 RMT_JOURNAL_FROM=soon RMT_FAIL_DRAWS=0:x RMT_FAIL_DRAWS=garbage; do
  expect 2 "$bad_env refused by run" -- env "$bad_env" "$rmtmc" run "$src/configs/quickstart.json" -o "$tmp/env.h5"
  grep -q "^rmtmc: ${bad_env%%=*}: " "$tmp/err" && [ ! -e "$tmp/env.h5" ] || bad "$bad_env: $(cat "$tmp/err")"
  expect 2 "$bad_env refused by check" -- env "$bad_env" "$rmtmc" check "$src/configs/quickstart.json"
done
# merge and analyze too, before they look at their inputs (which need not exist here)
expect 2 "RMT_BLAS_THREADS=abc refused by merge" -- env RMT_BLAS_THREADS=abc "$rmtmc" merge "$tmp/env.h5" "$tmp/nopart.h5"
grep -q "^rmtmc: RMT_BLAS_THREADS: " "$tmp/err" && [ ! -e "$tmp/env.h5" ] || bad "merge with a bad RMT_BLAS_THREADS: $(cat "$tmp/err")"
expect 2 "RMT_BLAS_THREADS=abc refused by analyze" -- env RMT_BLAS_THREADS=abc "$rmtmc" analyze "$tmp/nospectra.h5" -o "$tmp/env.h5"
grep -q "^rmtmc: RMT_BLAS_THREADS: " "$tmp/err" && [ ! -e "$tmp/env.h5" ] || bad "analyze with a bad RMT_BLAS_THREADS: $(cat "$tmp/err")"
expect 0 "RMT_GRID_DRIVER=auto means unset" -- env RMT_GRID_DRIVER=auto "$rmtmc" check "$src/configs/quickstart.json"
# merge and analyze solve nothing: the solver's variables are not theirs to refuse
printf '0.1 0.5 0.9 1.4\n0.2 0.6 1.1 1.3\n0.3 0.4 1.0 1.5\n' > "$tmp/sp.txt"
expect 0 "analyze leaves RMT_EIG_DRIVER to run" -- env RMT_EIG_DRIVER=bogus "$rmtmc" analyze "$tmp/sp.txt" -o "$tmp/envok.h5"
expect 0 "--mem-per-rank 4GiB (the unit check prints)" -- "$rmtmc" check "$src/configs/quickstart.json" --mem-per-rank 4GiB
grep -q "memory per rank for draws 3.97 GiB: --mem-per-rank 4 GiB, less the ~30 MiB every rank takes" "$tmp/out" || bad "--mem-per-rank 4GiB: $(grep 'memory per rank' "$tmp/out")"
expect 2 "--mem-per-rank 4Gi refused" -- "$rmtmc" check "$src/configs/quickstart.json" --mem-per-rank 4Gi
# rank 0's results share its node's memory with the ranks on that node only (35.9 MiB kept here)
cat > "$tmp/node.json" <<'JSON'
{"name": "keep", "seed": 1, "draws": 20000, "ensemble": {"type": "wigner", "n": 100},
 "statistics": {"density": {"bins": 10}}, "output": {"eigenvalues": true}}
JSON
expect 0 "check: 4 ranks on one node hold 35.9 MiB of results in 4 x (42M - 30M)" -- "$rmtmc" check "$tmp/node.json" --ranks 4 --mem-per-rank 42M
expect 2 "check: 2 of 4 ranks on rank 0's node do not" -- "$rmtmc" check "$tmp/node.json" --ranks 4 --ranks-per-node 2 --mem-per-rank 42M
grep -q "more than the 23.7 MiB its node has beside the draws of its 2 ranks" "$tmp/err" && grep -q "^ranks    4, 2 on rank 0's node " "$tmp/out" \
  || bad "--ranks-per-node 2: $(cat "$tmp/err") $(grep '^ranks' "$tmp/out")"
expect 2 "check: nor 1 of 4, from SLURM_NTASKS_PER_NODE" -- env SLURM_NTASKS_PER_NODE=1 "$rmtmc" check "$tmp/node.json" --ranks 4 --mem-per-rank 42M
expect 2 "check: --ranks-per-node 0 refused" -- "$rmtmc" check "$tmp/node.json" --ranks 4 --ranks-per-node 0
# every rank takes ~30 MiB whatever its draws: the memory per rank is what is left
expect 2 "check: --mem-per-rank 20M leaves nothing for draws" -- "$rmtmc" check "$tmp/node.json" --mem-per-rank 20M
grep -q "^rmtmc: memory per rank: nothing is left for draws (--mem-per-rank 20 MiB, less the ~30 MiB every rank takes)$" "$tmp/err" || bad "20M: $(cat "$tmp/err")"
expect 2 "run: --mem-per-rank 20M leaves nothing for draws, no output" -- "$rmtmc" run "$tmp/node.json" -o "$tmp/node.h5" --mem-per-rank 20M
[ ! -e "$tmp/node.h5" ] || bad "run with 20M wrote its output"
# ranks left out of every group are named by check
echo '{"name": "g2", "draws": 2, "ranks_per_draw": 2, "ensemble": {"type": "wigner", "n": 40}}' > "$tmp/g2.json"
"$rmtmc" check "$tmp/g2.json" --ranks 3 | grep -q "^note: points with 2 ranks per draw (the first: point 0) leave 1 of the 3 ranks idle" \
  && ! "$rmtmc" check "$tmp/g2.json" --ranks 4 | grep -q "idle" && ok "check names ranks that sit out (3 ranks, 2 per draw)" \
  || bad "idle ranks note"
# ... and by run, on stderr, when it shows progress; the draws are still all done
mpiexec -n 3 "$rmtmc" run "$tmp/g2.json" -o "$tmp/g2.h5" --progress log > /dev/null 2> "$tmp/g2err" \
  && grep -q "^rmtmc: note: points with 2 ranks per draw (the first: point 0) leave 1 of the 3 ranks idle" "$tmp/g2err" \
  && h5dump -a /points/000000/draws_done "$tmp/g2.h5" | grep -q "(0): 2$" \
  && ok "run names ranks that sit out on stderr (3 ranks, 2 per draw)" || bad "run's idle ranks note: $(cat "$tmp/g2err")"
# output.path is relative to the current directory: the message says so, naming the config
(cd "$tmp" && "$rmtmc" run "$src/configs/quickstart.json" --progress none > /dev/null 2> "$tmp/err"; echo $? > "$tmp/rc")
[ "$(cat "$tmp/rc")" = 2 ] && grep -q "quickstart.json: output.path: directory results does not exist (a relative path is taken from the current directory, $tmp" "$tmp/err" \
  && ok "a config's relative output.path in a missing directory: named, with the directory it is taken from" \
  || bad "relative output.path: $(cat "$tmp/err")"
# check says so too, as a note (the plan itself is sound: exit 0)
(cd "$tmp" && "$rmtmc" check "$src/configs/quickstart.json" > "$tmp/out" 2> "$tmp/err"; echo $? > "$tmp/rc")
[ "$(cat "$tmp/rc")" = 0 ] && grep -q "^note: run would refuse this output now: .*quickstart.json: output.path: directory results does not exist" "$tmp/out" \
  && ok "check notes an output run would refuse" || bad "check on a missing output directory: $(cat "$tmp/out" "$tmp/err")"
# ... and an absolute output.path, naming the config and the key too
echo '{"name": "abs", "draws": 2, "ensemble": {"type": "wigner", "n": 20}, "output": {"path": "'"$tmp"'/no/such/x.h5"}}' > "$tmp/abs.json"
expect 2 "a config's absolute output.path in a missing directory" -- "$rmtmc" run "$tmp/abs.json" --progress none
grep -q "abs.json: output.path: directory $tmp/no/such does not exist (or give -o FILE)$" "$tmp/err" || bad "absolute output.path: $(cat "$tmp/err")"
# a sweep whose values round to the same n repeats points: noted by check
# and run; a long experiment name widens its column, keeping the others aligned
cat > "$tmp/dup.json" <<'JSON'
{"name": "dup", "seed": 1, "draws": 2, "experiments": [
 {"name": "a-rather-long-experiment-name", "ensemble": {"type": "wigner", "n": {"linspace": [10, 11, 5]}}},
 {"name": "b", "ensemble": {"type": "wigner", "n": 10}}]}
JSON
note='note: 3 points repeat another.s parameters (the first: point 1, as point 0: {"n":10,"type":"wigner"})'
"$rmtmc" check "$tmp/dup.json" > "$tmp/out" && grep -q "^$note" "$tmp/out" \
  && "$rmtmc" run "$tmp/dup.json" -o "$tmp/dup.h5" --progress log > "$tmp/out2" 2> "$tmp/err" && grep -q "^rmtmc: $note" "$tmp/err" \
  && ! "$rmtmc" check "$src/configs/quickstart.json" | grep -q "repeat" \
  && ok "points that repeat another's parameters are noted by check and run" || { bad "repeated points"; cat "$tmp/out" "$tmp/err"; }
$py - "$tmp/out" "$tmp/out2" <<'PY' && ok "a long experiment name keeps the plan's and the summary's columns aligned" || bad "columns with a long name"
import sys
for f, col in [(sys.argv[1], "draws"), (sys.argv[2], "draws")]:
    lines = open(f).read().splitlines()
    head = next(l for l in lines if l.lstrip().startswith("point") and "experiment" in l)
    end = head.index(col) + len(col)
    rows = [l for l in lines if l.lstrip()[:1].isdigit() and "a-rather-long" in l]
    assert rows and all(r[end - 1] != " " and r[end] == " " for r in rows), (f, head, rows)
PY
# one draw: its standard errors are undefined (NaN in the file), shown as n/a
echo '{"name": "one", "seed": 1, "draws": 1, "ensemble": {"type": "wigner", "n": 40}, "statistics": {"gap_ratios": {}}}' > "$tmp/one.json"
"$rmtmc" run "$tmp/one.json" -o "$tmp/one.h5" --progress log > "$tmp/out" 2> /dev/null \
  && grep -Eq "^ +0 +one +40 +1 +0\.0000 \+- n/a " "$tmp/out" && grep -Eq "^ +0 +0\.[0-9]{4} \+- n/a " "$tmp/out" \
  && grep -q "^1 draw (0 failed) written to" "$tmp/out" && ! grep -q "+- 0.0000" "$tmp/out" \
  && ok "one draw: standard errors n/a, \"1 draw\"" || { bad "one draw's summary"; cat "$tmp/out"; }
# a finished file resumed with more draws but without the spectra its
# spacings need: refused in one line (before, a note that the draws would be
# added came first)
echo '{"name": "sp", "seed": 1, "draws": 4, "ensemble": {"type": "wigner", "n": 30}, "statistics": {"spacings": {}}}' > "$tmp/sp.json"
sed 's/"draws": 4/"draws": 8/' "$tmp/sp.json" > "$tmp/sp8.json"
"$rmtmc" run "$tmp/sp.json" -o "$tmp/sp.h5" --progress none > /dev/null || bad "sp.json"
expect 2 "more draws for a finished file without its spectra: one line" -- "$rmtmc" run "$tmp/sp8.json" -o "$tmp/sp.h5" --resume --progress none
grep -q "needs every draw's spectrum" "$tmp/err" || bad "more draws without spectra: $(cat "$tmp/err")"

cat > "$tmp/small.json" <<'JSON'
{"name": "small", "seed": 1, "draws": 6, "ensemble": {"type": "wigner", "n": 50},
 "statistics": {"density": {"bins": 10}, "moments": 2}}
JSON
expect 0 "check prints the plan" -- "$rmtmc" check "$tmp/small.json"
# an error in a swept experiment names the sweep's values only when it depends on them
echo '{"name": "s", "draws": 3, "ensemble": {"type": "wishart", "n": 10, "ratio": {"sweep": [0.5, 2]}}, "statistics": {"density": {"range": [2, 1]}}}' > "$tmp/sw1.json"
echo '{"name": "s", "draws": 3, "ensemble": {"type": "wishart", "n": 10, "ratio": {"linspace": [0.5, 20, 2]}}}' > "$tmp/sw2.json"
"$rmtmc" check "$tmp/sw1.json" > /dev/null 2> "$tmp/err"
[ "$(cat "$tmp/err")" = "rmtmc: $tmp/sw1.json: statistics.density.range: low 2 must be below high 1" ] \
  && ok "an error that is not the sweep's is not pinned to a sweep value" || bad "sweep-free error: $(cat "$tmp/err")"
"$rmtmc" check "$tmp/sw2.json" > /dev/null 2> "$tmp/err"
[ "$(cat "$tmp/err")" = "rmtmc: $tmp/sw2.json: ensemble.ratio: ratio 20 gives t = n/ratio < 1 for n = 10 (at ensemble.ratio = 20)" ] \
  && ok "an error at one sweep value names it" || bad "sweep-value error: $(cat "$tmp/err")"
# the rough time: GFLOP at 5 GFLOP/s over the ranks that compute (with
# one-rank draws, all of them: rank 0 runs its own in a thread), never
# below one draw
echo '{"name": "r", "draws": 64, "ensemble": {"type": "wigner", "n": 50}}' > "$tmp/rough.json"
rough_ok=1
for rk in 1 2 16 17 128; do
  "$rmtmc" check "$tmp/rough.json" --ranks $rk | awk -v rk=$rk '/^total/ {
      gf = $6; split($0, a, "roughly "); split(a[2], b, " "); s = b[1]
      want = gf / 5 / (rk < 64 ? rk : 64)
      exit (s > want * 1.01 || s < want * 0.99) }' || { rough_ok=0; echo "rough estimate on $rk ranks: $("$rmtmc" check "$tmp/rough.json" --ranks $rk | grep ^total)"; }
done
# 2 ranks per draw: above 16 groups rank 0's group only hands out draws
echo '{"name": "r", "draws": 64, "ranks_per_draw": 2, "ensemble": {"type": "wigner", "n": 50}}' > "$tmp/rough2.json"
for rk_w in 4:4 16:16 20:20 32:32 34:32 40:38; do
  rk=${rk_w%:*} w=${rk_w#*:}
  "$rmtmc" check "$tmp/rough2.json" --ranks $rk | awk -v w=$w '/^total/ {
      gf = $6; split($0, a, "roughly "); split(a[2], b, " "); s = b[1]; want = gf / 5 / w
      exit (s > want * 1.01 || s < want * 0.99) }' || { rough_ok=0; echo "rough estimate, 2 per draw, on $rk ranks: $("$rmtmc" check "$tmp/rough2.json" --ranks $rk | grep ^total)"; }
done
[ $rough_ok = 1 ] && ok "check's rough time: 5 GFLOP/s over the computing ranks, at least one draw" || bad "check's rough time"
grep -q "mem/rank" "$tmp/out" && grep -q '"n":50' "$tmp/out" || bad "check output lacks memory or parameters"
# rank 0 keeps every draw's figures (209 bytes) and, for spacings, the
# spectra (2000 x 200 x 8 bytes) and three copies at a checkpoint, with
# each draw's number-variance sums (120 bytes):
# 2000 x 209 + 4 x 3.2e6 + 2000 x 120 bytes = 12.8 MiB; for figures alone, 209 bytes a
# draw and 72 more while a point is written (200 000 draws: 53.6 MiB).
# Refused where rank 0's node
# cannot hold them, by check and by run, before any output exists.
echo '{"name": "keep", "seed": 1, "draws": 2000, "ensemble": {"type": "wigner", "n": 200}, "statistics": {"spacings": {"unfolding": "pool"}}}' > "$tmp/keep.json"
"$rmtmc" check "$tmp/keep.json" --mem-per-rank 94M | grep -q "^results  rank 0 keeps up to 12.8 MiB (every draw's figures; the spectra" \
  && ok "check: what rank 0 keeps, spectra and unfolding included" || bad "check: rank 0's results: $("$rmtmc" check "$tmp/keep.json" --mem-per-rank 94M | grep ^results)"
"$rmtmc" check "$tmp/keep.json" --mem-per-rank 42M > /dev/null 2> "$tmp/err"; rc=$?
"$rmtmc" run "$tmp/keep.json" --mem-per-rank 42M -o "$tmp/keep.h5" --progress none > /dev/null 2> "$tmp/err2"; rc2=$?
[ $rc = 2 ] && [ $rc2 = 2 ] && [ ! -e "$tmp/keep.h5" ] && cmp -s "$tmp/err" "$tmp/err2" \
  && grep -q "keep.json: statistics.spacings: rank 0 keeps every draw's spectrum to unfold spacings: 12.8 MiB" "$tmp/err" \
  && ok "spectra rank 0 could not hold: refused by check and run (exit 2, no output), naming statistics.spacings" \
  || bad "spectra too big for rank 0: check $rc, run $rc2: $(cat "$tmp/err" "$tmp/err2")"
echo '{"name": "rows", "seed": 1, "draws": 200000, "ensemble": {"type": "wigner", "n": 8}}' > "$tmp/rows.json"
"$rmtmc" check "$tmp/rows.json" --ranks 2 --mem-per-rank 46M > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "rows.json: draws: rank 0 keeps 209 bytes of figures for each draw (and 72 more while it writes them): 53.6 MiB for 1 point" "$tmp/err" \
  && "$rmtmc" check "$tmp/rows.json" --ranks 2 --mem-per-rank 62M > /dev/null \
  && ok "200 000 draws' figures: refused in 2 x (46 - 30) MiB, planned in 2 x (62 - 30) MiB" || bad "rank 0's rows: $(cat "$tmp/err")"
# the end of a run: local statistics in a table, and a note where the
# unfolding failed (gp-hessian kp = 1, kpp = 1e-4: a shared diagonal shift
# larger than the spectrum, so pool unfolding gives a mean spacing of 0.13)
echo '{"name": "gph", "seed": 1, "draws": 20, "ensemble": {"type": "gp-hessian", "n": 100, "kp": 1, "kpp": 1e-4}, "statistics": {"spacings": {"unfolding": "pool"}, "gap_ratios": {}}}' > "$tmp/gph.json"
sed 's/"unfolding": "pool"/"unfolding": "polynomial", "per_draw": true/' "$tmp/gph.json" > "$tmp/gph-pd.json"
"$rmtmc" run "$tmp/gph.json" -o "$tmp/gph.h5" --progress none > "$tmp/out" 2> "$tmp/err" \
  && grep -q "^ *0  0\.[0-9]* +- 0\.[0-9]*  *pool  *1782  *0\.1261 " "$tmp/out" \
  && grep -q "^rmtmc: note: point 0: the unfolded spacings have mean 0.126 where a working unfolding gives 1, .*\"per_draw\": true" "$tmp/err" \
  && "$rmtmc" run "$tmp/gph-pd.json" -o "$tmp/gph-pd.h5" --progress none > "$tmp/out2" 2> "$tmp/err2" \
  && grep -q "polynomial per draw  *1977  *0\.998" "$tmp/out2" && [ ! -s "$tmp/err2" ] \
  && ok "a failed unfolding (mean spacing 0.126) is noted at the end of the run; per-draw unfolding (0.998) is not" \
  || { bad "local statistics at the end of a run"; cat "$tmp/out" "$tmp/err" "$tmp/out2" "$tmp/err2"; }
# a filesystem without flock (Lustre without the flock mount option:
# ENOSYS): the run goes on unguarded and says so (before: exit 2, "another
# rmtmc run is writing this output", and a .lock left behind)
printf '#include <errno.h>\nint flock(int f, int o) { (void)f; (void)o; errno = ENOSYS; return -1; }\n' > "$tmp/noflock.c"
if ${CC:-cc} -shared -fPIC -o "$tmp/noflock.so" "$tmp/noflock.c" 2> /dev/null; then
  LD_PRELOAD="$tmp/noflock.so" "$rmtmc" run "$src/configs/quickstart.json" -o "$tmp/nolock.h5" --progress none > /dev/null 2> "$tmp/err"
  rc=$?
  [ $rc = 0 ] && [ -e "$tmp/nolock.h5" ] && [ ! -e "$tmp/nolock.h5.lock" ] \
    && grep -q "^rmtmc: warning: .*nolock.h5.lock: cannot lock (Function not implemented; .*would not be refused$" "$tmp/err" \
    && ok "no flock on the filesystem: the run goes on, with a warning" || { bad "no flock: exit $rc"; cat "$tmp/err"; }
else
  bad "cannot compile the flock shim with ${CC:-cc}"
fi
# a full disk (a shim: writes to *.h5.tmp fail after 1000 bytes, so the file
# is created and its close fails): exit 1 with one line, nothing left
# behind; before, HDF5 1.10.8 freed the file yet kept its id, and shutting
# the library down at MPI_Finalize or exit segfaulted (HDFFV-11052)
cat > "$tmp/full.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
static long long written;
static int full(int fd, size_t n)
{
    char p[64], t[4096];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t l = readlink(p, t, sizeof t - 1);
    if (l < 7) return 0;
    t[l] = 0;
    if (strcmp(t + l - 7, ".h5.tmp")) return 0;
    if (written + (long long)n <= 1000) { written += (long long)n; return 0; }
    errno = ENOSPC;
    return 1;
}
#define SHIM(name, ...) { static ssize_t (*real)(); if (!real) real = (ssize_t (*)())dlsym(RTLD_NEXT, name); \
                          return full(fd, n) ? -1 : real(__VA_ARGS__); }
ssize_t pwrite(int fd, const void *b, size_t n, off_t o) SHIM("pwrite", fd, b, n, o)
ssize_t pwrite64(int fd, const void *b, size_t n, off_t o) SHIM("pwrite64", fd, b, n, o)
ssize_t write(int fd, const void *b, size_t n) SHIM("write", fd, b, n)
C
if ${CC:-cc} -shared -fPIC -o "$tmp/full.so" "$tmp/full.c" -ldl 2> "$tmp/err"; then
  printf '1 2 3 4\n2 3 4 5\n' > "$tmp/full.txt"
  "$rmtmc" run "$tmp/small.json" -o "$tmp/fullpart.h5" --progress none > /dev/null || bad "full disk: the part"
  for how in "run $tmp/small.json -o $tmp/full.h5 --progress none" "merge $tmp/full.h5 $tmp/fullpart.h5" \
             "analyze $tmp/full.txt -o $tmp/full.h5"; do
    LD_PRELOAD="$tmp/full.so" "$rmtmc" $how > /dev/null 2> "$tmp/err"; rc=$?
    [ $rc = 1 ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -q "full.h5.tmp: writing the HDF5 file failed (disk full?)$" "$tmp/err" \
      && [ ! -e "$tmp/full.h5" ] && [ ! -e "$tmp/full.h5.tmp" ] && ok "a full disk: ${how%% *} exits 1 with one line, no file" \
      || { bad "a full disk: ${how%% *}: exit $rc"; head -5 "$tmp/err"; }
  done
else
  bad "cannot compile the full-disk shim with ${CC:-cc}: $(cat "$tmp/err")"
fi
# a density range that misses part of the spectrum is noted (Wigner on
# [-1, 1]: the semicircle puts 39.1 % outside); an "auto" range at small n,
# whose edges finite n blurs, is not (Wigner n = 20: ~0.1 % outside)
echo '{"name": "narrow", "seed": 1, "draws": 20, "ensemble": {"type": "wigner", "n": 100}, "statistics": {"density": {"bins": 20, "range": [-1, 1]}}}' > "$tmp/narrow.json"
echo '{"name": "edge", "seed": 1, "draws": 200, "ensemble": {"type": "wigner", "n": 20}, "statistics": {"density": {"bins": 20}}}' > "$tmp/edge.json"
"$rmtmc" run "$tmp/narrow.json" -o "$tmp/narrow.h5" --progress none > /dev/null 2> "$tmp/err" \
  && grep -q '^rmtmc: note: point 0: 39\.[0-9] % of the eigenvalues fell outside density.range \[-1, 1\] (19\.[0-9] % below, 19\.[0-9] % above; .*widen "range"$' "$tmp/err" \
  && "$rmtmc" run "$tmp/edge.json" -o "$tmp/edge.h5" --progress none > /dev/null 2> "$tmp/err2" && [ ! -s "$tmp/err2" ] \
  && ok "a density range missing 39 % of the eigenvalues is noted; an auto range at n = 20 is not" \
  || { bad "density range note"; cat "$tmp/err" "$tmp/err2"; }
# output names refused before any work (before, an empty one failed only at
# the end, with exit 1); --name=value as --name value
for o in "" "$tmp/dir.h5/" "$tmp/$(printf 'a%.0s' $(seq 300)).h5"; do
  rm -f "$tmp/err"
  "$rmtmc" run "$tmp/small.json" -o "$o" --progress none > /dev/null 2> "$tmp/err"; rc=$?
  "$rmtmc" merge "$o" "$tmp/small.json" > /dev/null 2>> "$tmp/err"; rc2=$?
  [ $rc = 2 ] && [ $rc2 = 2 ] && [ "$(grep -c "needs a file name\|file name is empty\|names a directory (it ends with /)\|the file name has 303 characters" "$tmp/err")" = 2 ] \
    || { bad "output name '${o:0:40}': run $rc, merge $rc2"; cat "$tmp/err"; }
done
ok "an empty output name, one ending in /, one too long for the filesystem: exit 2 before any work"
"$rmtmc" check "$tmp/small.json" --ranks=99999999999 > /dev/null 2> "$tmp/err"; rc=$?
"$rmtmc" run "$tmp/small.json" --points 0/9 -o "$tmp/p09.h5" > /dev/null 2>> "$tmp/err"; rc2=$?
[ $rc = 2 ] && [ $rc2 = 2 ] && grep -q "ranks needs a positive integer up to 1e9" "$tmp/err" && grep -q "points 0/9: the sweep has only 1 point: K can be at most 1 (a job array of --array=0-0)$" "$tmp/err" \
  && ok "--ranks beyond an int and --points K beyond the points: exit 2" || { bad "--ranks / --points range"; cat "$tmp/err"; }
# an option given twice with two values (a job template's --points and the
# user's): refused, naming both; the same value twice is harmless
"$rmtmc" run "$tmp/small.json" -o "$tmp/twice.h5" --points 0/1 --resume --points=0/2 > /dev/null 2> "$tmp/err"; rc=$?
"$rmtmc" run "$tmp/small.json" -o "$tmp/twice.h5" --output "$tmp/twice2.h5" > /dev/null 2>> "$tmp/err"; rc2=$?
[ $rc = 2 ] && [ $rc2 = 2 ] && [ ! -e "$tmp/twice.h5" ] && [ ! -e "$tmp/twice2.h5" ] \
  && grep -q "^rmtmc: --points given twice (--points 0/1, then --points 0/2); give it once$" "$tmp/err" \
  && grep -q "^rmtmc: --output given twice (-o $tmp/twice.h5, then --output $tmp/twice2.h5); give it once$" "$tmp/err" \
  && "$rmtmc" check "$tmp/small.json" --points 0/1 --points=0/1 > /dev/null \
  && ok "an option given twice with two values: exit 2 naming both, no output; twice the same value: accepted" \
  || { bad "options given twice: run $rc, $rc2"; cat "$tmp/err"; }
"$rmtmc" run "$tmp/small.json" --output="$tmp/eq.h5" --progress=none > /dev/null && [ -e "$tmp/eq.h5" ] \
  && "$rmtmc" check "$tmp/small.json" --ranks=2 --mem-per-rank=1G | grep -q "^ranks    2 (memory per rank for draws 994 MiB: --mem-per-rank 1 GiB, less" \
  && ok "--name=value options" || bad "--name=value options"
# check lists what each experiment measures (an experiment's statistics
# replace the top level's: what it leaves out is not measured)
echo '{"name": "m", "draws": 3, "statistics": {"density": {"bins": 10}, "moments": 2},
  "experiments": [{"name": "a", "ensemble": {"type": "wigner", "n": 20}},
                  {"name": "b", "ensemble": {"type": "wigner", "n": 20}, "statistics": {"gap_ratios": {}}}]}' > "$tmp/meas.json"
"$rmtmc" check "$tmp/meas.json" > "$tmp/out"
grep -q "^measures a: density 10 bins on \[.*\]; zero mass (tolerance auto); moments 1..2$" "$tmp/out" \
  && grep -q "^measures b: zero mass (tolerance auto); gap ratios (40 bins on \[0, 10\])$" "$tmp/out" \
  && ok "check lists what each experiment measures" || { bad "check's measures lines"; grep measures "$tmp/out"; }
# the time left follows the work left: after 300 draws of n = 40, three of
# n = 1500 remain (2.7 s at check's cautious 5 GFLOP/s, ~0.4 s each here);
# the draws left at the rate so far said 0 s
echo '{"name": "eta", "seed": 1, "experiments": [{"name": "small", "draws": 300, "ensemble": {"type": "wigner", "n": 40}},
  {"name": "big", "draws": 3, "ensemble": {"type": "wigner", "n": 1500}}]}' > "$tmp/eta.json"
"$rmtmc" run "$tmp/eta.json" -o "$tmp/eta.h5" --progress bar > /dev/null 2> "$tmp/err"
eta=$(tr '\r' '\n' < "$tmp/err" | sed -n 's/.* 300\/303 draws .* ETA \([0-9]*\)s.*/\1/p' | head -1)
[ -n "$eta" ] && [ "$eta" -ge 2 ] && ok "time left with the large draws still to come: ${eta} s, not 0" \
  || { bad "time left after the small draws: '$eta'"; tr '\r' '\n' < "$tmp/err" | tail -5; }
# a logspace's ends are exponents: an error at one of its points says so
echo '{"name": "ls", "draws": 3, "ensemble": {"type": "wishart", "n": 100, "ratio": {"logspace": [0.25, 4, 5]}}}' > "$tmp/ls.json"
"$rmtmc" check "$tmp/ls.json" > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "ensemble.ratio's logspace \[0.25, 4, k\] runs from 10^0.25 to 10^4 (its ends are base-10 exponents)" "$tmp/err" \
  && ok "an error at a logspace point says its ends are exponents" || { bad "logspace hint"; cat "$tmp/err"; }
# percolation p with a small mean degree at this n: the theory is the dense limit, and check says so
echo '{"name": "pp", "draws": 3, "ensemble": {"type": "wigner", "n": 400, "percolation": {"p": {"sweep": [0.5, 0.01]}}}}' > "$tmp/pp.json"
"$rmtmc" check "$tmp/pp.json" | grep -q '^note: pp: percolation p = 0.01 at n = 400 keeps 4 entries a row on average (point 1): its theory values are the dense limit .*"mean_degree": 4 gives' \
  && [ "$("$rmtmc" check "$tmp/pp.json" | grep -c '^note: pp: percolation')" = 1 ] \
  && ok "check notes a percolation p whose mean degree is small (the dense-limit theory does not fit)" || bad "sparse p note"
# an output on a filesystem of no blocks (/proc) is named as such, not as a disk that is full
"$rmtmc" run "$src/configs/quickstart.json" -o /proc/rmtmc-test.h5 > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "/proc reports no blocks at all" "$tmp/err" && ok "an output under /proc: exit 2, named" \
  || { bad "an output under /proc"; cat "$tmp/err"; }
# check --points I/K: the slice's points only (those run --points I/K
# computes), its totals and its estimate
echo '{"name": "sl", "draws": 20, "ensemble": {"type": "wigner", "n": {"sweep": [100, 200, 400, 800, 1600]}}}' > "$tmp/sl.json"
"$rmtmc" check "$tmp/sl.json" > "$tmp/sl_all.out"
"$rmtmc" check "$tmp/sl.json" --points 1/2 > "$tmp/sl_1.out"
awk '$1 ~ /^[0-9]+$/ {print $1}' "$tmp/sl_1.out" | tr '\n' ' ' | grep -qx "2 3 4 " \
  && awk -v t="$(awk '/^total/ {print $6}' "$tmp/sl_1.out")" '$1 ~ /^[2-4]$/ {s += $(NF-1)}
       END {exit !(t > 0 && s > 0.99 * t && s < 1.01 * t)}' "$tmp/sl_all.out" \
  && grep -q "^total    3 points, 60 draws" "$tmp/sl_1.out" && grep -q "^slice    1/2: points 2 to 4 of 5" "$tmp/sl_1.out" \
  && ok "check --points 1/2: points 2 to 4, their totals" || { bad "check --points 1/2"; cat "$tmp/sl_1.out"; }
expect 2 "check --points 1/9 of 5 points refused" -- "$rmtmc" check "$tmp/sl.json" --points 1/9
(cd "$tmp" && "$rmtmc" check small.json > /dev/null) ; [ ! -e "$tmp/small.h5" ] || bad "check wrote an output file"

expect 0 "run one rank" -- "$rmtmc" run "$tmp/small.json" -o "$tmp/a.h5" --progress none
sum=$(sha256sum "$tmp/a.h5")
expect 2 "refuse to overwrite" -- "$rmtmc" run "$tmp/small.json" -o "$tmp/a.h5" --progress none
grep -q -- "--force" "$tmp/err" || bad "overwrite refusal does not mention --force"
[ "$(sha256sum "$tmp/a.h5")" = "$sum" ] || bad "refused run touched the existing file"
sleep 1
expect 0 "--force overwrites" -- "$rmtmc" run "$tmp/small.json" -o "$tmp/a.h5" --force --progress none
[ "$(sha256sum "$tmp/a.h5")" != "$sum" ] || bad "--force did not rewrite the file"
# an output that is the command's own input is refused, --force or not
cp "$tmp/small.json" "$tmp/self.json"
ln -sf "$tmp/self.json" "$tmp/self-link.json"
expect 2 "run -o CONFIG --force: refused" -- "$rmtmc" run "$tmp/self.json" -o "$tmp/self-link.json" --force --progress none
grep -q "is the config itself" "$tmp/err" && cmp -s "$tmp/small.json" "$tmp/self.json" \
  && ok "run -o CONFIG: the config is untouched" || { bad "run -o CONFIG"; cat "$tmp/err"; }
"$rmtmc" check "$tmp/self.json" -o "$tmp/self.json" | grep -q "^note: run would refuse this output now: .*is the config itself" \
  && ok "check -o CONFIG: noted" || bad "check -o CONFIG: no note"
# the local-statistics table gives the mean gap ratio (recorded for every point) with spacings alone too
echo '{"name": "sp", "seed": 2, "draws": 8, "ensemble": {"type": "wigner", "n": 40}, "statistics": {"spacings": {}}}' > "$tmp/gapr.json"
"$rmtmc" run "$tmp/gapr.json" -o "$tmp/gapr.h5" --progress none > "$tmp/out" 2>&1 \
  && grep -qE "^ +0  0\.[0-9]{4} \+- 0\.[0-9]{4} +pool " "$tmp/out" \
  && ok "the summary's gap ratio with spacings alone" || { bad "summary gap ratio without gap_ratios"; cat "$tmp/out"; }
# an existing output: run needs --force or --resume, and check says so (not with --force)
"$rmtmc" run "$tmp/small.json" -o "$tmp/exists.h5" --progress none > /dev/null 2>&1
"$rmtmc" check "$tmp/small.json" -o "$tmp/exists.h5" > "$tmp/out" \
  && grep -q "^note: run without --force or --resume would refuse this output: .*exists.h5: exists; use --force to overwrite it" "$tmp/out" \
  && "$rmtmc" check "$tmp/small.json" -o "$tmp/exists.h5" --force > "$tmp/out" && ! grep -q "^note: run" "$tmp/out" \
  && ok "check notes an existing output, but not with --force" || { bad "check with an existing output"; cat "$tmp/out"; }
printf '1 2 3\n2 3 4\n' > "$tmp/spec.txt"; cp "$tmp/spec.txt" "$tmp/spec0.txt"
expect 2 "analyze -o INPUT --force: refused" -- "$rmtmc" analyze "$tmp/spec.txt" -o "$tmp/spec.txt" --force
grep -q "is the input itself" "$tmp/err" && cmp -s "$tmp/spec0.txt" "$tmp/spec.txt" \
  && ok "analyze -o INPUT: the input is untouched" || { bad "analyze -o INPUT"; cat "$tmp/err"; }

# the quickstart config on 2 ranks; both HDF5 readers open the result
cfg="$src/configs/quickstart.json"
if mpiexec -n 2 "$rmtmc" run "$cfg" -o "$tmp/q.h5" --progress log > "$tmp/qout" 2> "$tmp/qerr"; then
  ok "quickstart config on 2 ranks"
  grep -q "written to" "$tmp/qout" || bad "run prints no summary"
  grep -q "draws/s" "$tmp/qerr" || bad "run prints no progress log"
  h5dump -A "$tmp/q.h5" > /dev/null && ok "h5dump reads it" || bad "h5dump cannot read the output"
  /usr/bin/python3 -c "
import sys, h5py
f = h5py.File('$tmp/q.h5', 'r')
assert f.attrs['format'] == 'rmtmc-1' and f.attrs['complete'] == 1 and f.attrs['mpi_ranks'] == 2
for k in ['rmtmc_version','config_json','config_sha256','seed','created_utc','finished_utc','hostname','command_line']:
    assert k in f.attrs, k
P = len(f['summary/point'])
assert P == len(f['points'])
for k in ['zero_mass_mean','zero_mass_stderr','zero_mass_theory','mean_gap_ratio','mean_gap_ratio_stderr']:
    assert f['summary/' + k].shape == (P,), k
assert f['summary/moments'].shape[0] == P
g = f['points/000000']
for k in ['params_json','n','draws_requested','draws_done','zero_mass_mean','zero_mass_stderr','zero_mass_theory']:
    assert k in g.attrs, k
for k in ['index','zero_fraction','structural_zeros','lambda_min','lambda_max','mean_gap_ratio','seconds','status','moments']:
    assert 'draws/' + k in g, k
assert g['density/counts'].dtype == 'uint64' and g['density/edges'].shape[0] == g['density/counts'].shape[0] + 1
" && ok "h5py reads the layout the README documents" || bad "h5py: layout check failed"
else
  bad "quickstart config on 2 ranks"; cat "$tmp/qerr"
fi

# outputs that cannot be written fail before any work: a full disk and a
# read-only directory (root may write anywhere else), on small tmpfs mounts
mkdir -p "$tmp/full" "$tmp/ro"
if mount -t tmpfs -o size=1m tmpfs "$tmp/full" 2> /dev/null && mount -t tmpfs -o ro,size=1m tmpfs "$tmp/ro" 2> /dev/null; then
  echo '{"name": "disk", "draws": 1000, "ensemble": {"type": "wigner", "n": 2000}, "output": {"eigenvalues": true}}' > "$tmp/disk.json"
  expect 2 "output larger than the free space" -- "$rmtmc" run "$tmp/disk.json" -o "$tmp/full/x.h5"
  grep -q "free there" "$tmp/err" && [ -z "$(ls "$tmp/full")" ] || bad "disk-space refusal"
  expect 2 "read-only output directory" -- "$rmtmc" run "$tmp/disk.json" -o "$tmp/ro/x.h5"
  umount "$tmp/full" "$tmp/ro"
else
  echo "skip: cannot mount tmpfs here, so the disk-full and read-only cases are not exercised"
  umount "$tmp/full" 2> /dev/null
fi

# SIGTERM: exit 3 within seconds, and the file on disk is a valid checkpoint
cat > "$tmp/long.json" <<'JSON'
{"name": "long", "seed": 1, "draws": 100000, "ensemble": {"type": "wigner", "n": 200},
 "statistics": {"moments": 2, "density": {"bins": 40}}, "output": {"checkpoint_seconds": 1}}
JSON
"$rmtmc" run "$tmp/long.json" -o "$tmp/long.h5" --progress none > /dev/null 2> "$tmp/lerr" &
pid=$!
sleep 3
kill -TERM $pid
start=$(date +%s)
wait $pid
rc=$?
took=$(( $(date +%s) - start ))
if [ $rc = 3 ] && [ $took -le 5 ]; then ok "SIGTERM: exit 3 in ${took}s"; else bad "SIGTERM: exit $rc after ${took}s"; cat "$tmp/lerr"; fi
/usr/bin/python3 -c "
import h5py
f = h5py.File('$tmp/long.h5', 'r')
assert f.attrs['complete'] == 0
g = f['points/000000']
n = g.attrs['draws_done']
assert 0 < n < 100000 and len(g['draws/index']) == n
# one rank: the draws done are the first n (those of the batch in rank 0's
# thread run so far included), and the counts are theirs, once each
assert sorted(g['draws/index'][:]) == list(range(n))
total = int(g['density/counts'][:].sum() + g['density/below'][()] + g['density/above'][()])
assert total == 200 * n, (total, n)
" && ok "checkpoint after SIGTERM is valid and partial, its counts those of its draws" || bad "checkpoint after SIGTERM"
[ ! -e "$tmp/long.h5.tmp" ] || bad "a temporary file was left behind"
# SIGTERM in the middle of rank 0's own long draw: rank 0 runs its draws in a
# thread of its own, so the checkpoint and exit 3 come at once, not after
# the draw (checked to fail when rank 0 computes between its answers)
cat > "$tmp/slow.json" <<'JSON'
{"name": "slow", "seed": 1, "draws": 4, "ensemble": {"type": "wigner", "n": 3000},
 "statistics": {"moments": 2}, "output": {"checkpoint_draws": 1}}
JSON
"$rmtmc" run "$tmp/slow.json" -o "$tmp/slow.h5" --progress none > /dev/null 2> "$tmp/serr" &
pid=$!
for i in $(seq 600); do
  h5dump -a /points/000000/draws_done "$tmp/slow.h5" 2> /dev/null | grep -q "(0): 1$" && break
  sleep 0.05
done
# a singleton forks no Open MPI helper daemon (orted), which a late signal
# crashed (its report then landed in rmtmc's stderr, its core in the cwd)
kids=$(ps -o comm= --ppid $pid | tr '\n' ' ')
case " $kids " in *" orted "*) bad "a singleton run forked orted: $kids" ;; *) ok "a singleton run forks no orted" ;; esac
kill -TERM $pid
start=$(date +%s.%N)
wait $pid
rc=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
draw_s=$($py -c "import h5py; print(h5py.File('$tmp/slow.h5', 'r')['points/000000/draws/seconds'][0])")
$py -c "import sys; sys.exit(0 if $rc == 3 and $took < 0.5 * $draw_s else 1)" && grep -q "stopped by signal 15 after 1 of 4 draws" "$tmp/serr" \
  && ok "SIGTERM during rank 0's own draw of ${draw_s}s: exit 3 after ${took}s, with 1 of 4 draws" \
  || bad "SIGTERM during rank 0's own draw: exit $rc after ${took}s, a draw takes ${draw_s}s: $(cat "$tmp/serr")"
# on one node rmtmc asks Open MPI for the shared-memory pml (ob1), so the cm
# pml (which probes the network's MTL layers, ~0.2 s) is never opened; a pml
# the user sets is kept
echo '{"name": "t", "draws": 2, "ensemble": {"type": "wigner", "n": 8}, "statistics": {"moments": 2}}' > "$tmp/pml.json"
OMPI_MCA_pml_base_verbose=10 mpiexec -n 2 "$rmtmc" run "$tmp/pml.json" -o "$tmp/pml.h5" --progress none > "$tmp/pml.log" 2>&1
grep -q "component ob1 selected" "$tmp/pml.log" && ! grep -q "components_open: found loaded component cm" "$tmp/pml.log" \
  && ok "one node: Open MPI's ob1 pml, cm never opened" || { bad "one-node pml"; grep -i select "$tmp/pml.log" | head; }
OMPI_MCA_pml=ucx OMPI_MCA_pml_base_verbose=10 mpiexec -n 2 "$rmtmc" run "$tmp/pml.json" -o "$tmp/pml2.h5" --progress none \
  > "$tmp/pml.log" 2>&1
grep -q "initializing pml component ucx" "$tmp/pml.log" && ! grep -q "component ob1 selected" "$tmp/pml.log" \
  && ok "OMPI_MCA_pml set by the user is kept" || { bad "user's pml"; grep -i select "$tmp/pml.log" | head; }

# a run started without a launcher on a machine of several cores says it
# uses one and how to use them all; launched, or with --progress none, it
# says nothing of the kind
if [ "$(nproc)" -gt 1 ]; then
  "$rmtmc" run "$tmp/pml.json" -o "$tmp/hint1.h5" --progress log > /dev/null 2> "$tmp/hint1"
  mpiexec -n 2 "$rmtmc" run "$tmp/pml.json" -o "$tmp/hint2.h5" --progress log > /dev/null 2> "$tmp/hint2"
  "$rmtmc" run "$tmp/pml.json" -o "$tmp/hint3.h5" --progress none > /dev/null 2> "$tmp/hint3"
  grep -q "one process on a machine with $(nproc) cores: .mpiexec -n $(nproc) rmtmc run" "$tmp/hint1" \
    && ! grep -q "one process on a machine" "$tmp/hint2" "$tmp/hint3" \
    && ok "a singleton run on $(nproc) cores says how to use them all; a launched or quiet one does not" \
    || { bad "one-core hint"; cat "$tmp/hint1" "$tmp/hint2" "$tmp/hint3"; }
fi

# check --time: draws timed here give an estimate of the run's duration
# that a real run bears out (within a factor of 3 either way: the timing
# and the run may see different load from parallel tests); points sharing
# an ensemble share a timing; grid points are scaled (and with none timed,
# from a probe, again borne out by a run); bad values exit 2
cat > "$tmp/est.json" <<'JSON'
{"name": "est", "seed": 3, "experiments": [
  {"name": "a", "draws": 60, "ensemble": {"type": "wigner", "n": 400}},
  {"name": "b", "draws": 40, "ensemble": {"type": "wishart", "n": 300, "ratio": {"sweep": [0.5, 2]}}},
  {"name": "c", "draws": 20, "ensemble": {"type": "wigner", "n": 400}, "statistics": {"moments": 2}}],
 "output": {"checkpoint_seconds": 0}}
JSON
"$rmtmc" check "$tmp/est.json" --time 10 > "$tmp/est.out" 2>&1; rc=$?
t0=$(date +%s.%N)
"$rmtmc" run "$tmp/est.json" -o "$tmp/est.h5" --progress none > /dev/null 2>&1 || bad "run of the timed config"
wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
est=$(awk '$1 == "estimate" {print $2}' "$tmp/est.out")
[ $rc = 0 ] && grep -q "^timed    3 points here in .*; 1 more take the timing of a point with the same ensemble, 0 scaled by flops$" "$tmp/est.out" \
  && [ -n "$est" ] && awk -v e="$est" -v w="$wall" 'BEGIN { exit !(w / e > 0.33 && w / e < 3) }' \
  && ok "check --time: estimate ${est} s, the run took ${wall} s" || { bad "check --time (estimate '$est', run $wall s)"; cat "$tmp/est.out"; }
sed 's/"name": "c", "draws": 20,/"name": "c", "draws": 20, "ranks_per_draw": 2,/' "$tmp/est.json" > "$tmp/est2.json"
"$rmtmc" check "$tmp/est2.json" --ranks 2 --time 10 2>&1 | grep -q "^timed    3 points here .*; 0 more take the timing of a point with the same ensemble, 0 scaled by flops, 1 on process grids" \
  && ok "check --time: a grid point is scaled, not timed" || bad "check --time with a grid point"
# grid points alone: the rate comes from Wigner draws timed here and the
# grid's measured efficiency. (Not compared with a run here: a 2-rank grid
# on 2 cores slows by up to 4x when parallel tests load them. Measured on a
# quiet machine: estimate 1.2 s, run 1.4-1.5 s for this config.)
echo '{"name": "gt", "seed": 3, "draws": 6, "ranks_per_draw": 2, "ensemble": {"type": "wigner", "n": 1500}}' > "$tmp/gt.json"
"$rmtmc" check "$tmp/gt.json" --ranks 2 --time 5 > "$tmp/gt.out" 2>&1; rc=$?
est=$(awk '$1 == "estimate" {print $2}' "$tmp/gt.out")
[ $rc = 0 ] && grep -q "1 on process grids scaled by flops from Wigner n = 1000 draws timed here and by their grid's efficiency (0[.][0-9]*[^)]*)$" "$tmp/gt.out" \
  && awk -v e="$est" 'BEGIN { exit !(e > 0) }' \
  && ok "check --time, grid points only: rated from Wigner draws timed here (estimate ${est} s)" || { bad "check --time, grid only"; cat "$tmp/gt.out"; }
# ... measured in CPU time: busy cores (here 4 spinning processes per core)
# do not inflate it (they did 2-4x when it was wall time)
est_of() { "$rmtmc" check "$tmp/est.json" --time 3 | awk '$1 == "estimate" {print $2}'; }
quiet=$(est_of)
spin=()
for i in $(seq $((4 * $(nproc)))); do sh -c 'while :; do :; done' & spin+=($!); done
busy=$(est_of)
kill "${spin[@]}"; wait "${spin[@]}" 2> /dev/null
[ -n "$quiet" ] && [ -n "$busy" ] && awk -v q="$quiet" -v b="$busy" 'BEGIN { exit !(b / q < 1.5 && q / b < 1.5) }' \
  && ok "check --time with every core busy: estimate $busy s, $quiet s without" || bad "check --time under load: $busy s, $quiet s without"
RMT_BLAS_THREADS=2 "$rmtmc" check "$tmp/est.json" --time 2 | grep -q "^timed .*(one rank, 2 BLAS threads; wall time" \
  && ok "check --time with 2 BLAS threads per rank: timed in wall time, and says so" || bad "check --time with RMT_BLAS_THREADS=2"
for v in 0 -1 abc 1e9; do
  "$rmtmc" check "$tmp/est.json" --time "$v" > /dev/null 2> "$tmp/err"
  [ $? = 2 ] && grep -q -- "--time needs seconds" "$tmp/err" || bad "check --time $v: not refused"
done
ok "check --time refuses 0, -1, abc and 1e9 (exit 2)"

exit $fail
