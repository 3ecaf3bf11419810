#!/bin/bash
# Runs that survive: kill -9 at several moments (checkpoints every draw, so
# some kills land inside a checkpoint write) then --resume; SIGTERM under
# mpiexec; resuming a finished file or with another config; injected solver
# failures and max_failures. Every resumed file must equal an uninterrupted
# run's in every dataset and count. usage: resume.sh RMTMC SRCDIR
set -u
rmtmc=$(realpath "$1")
src=$2
. "$(dirname "$0")/lib.sh"

cat > "$tmp/c.json" <<'JSON'
{"name": "survive", "seed": 31, "draws": 60,
 "experiments": [
   {"name": "goe", "ensemble": {"type": "wigner", "n": 260},
    "statistics": {"density": {"bins": 30}, "moments": 4, "gap_ratios": {"bins": 20, "max": 5},
                   "spacings": {"unfolding": "pool", "bins": 20, "max": 4}}},
   {"name": "mp", "ensemble": {"type": "wishart", "n": 200, "ratio": {"sweep": [0.5, 2]}},
    "statistics": {"density": {"bins": 30}, "moments": 3}}],
 "output": {"checkpoint_draws": 1, "checkpoint_seconds": 0}}
JSON
# the uninterrupted reference, on 2 ranks like the runs killed below; its
# duration sets when they are killed, so the kills land mid-run whatever the
# machine's speed or load
t0=$(date +%s.%N)
mpiexec -n 2 "$rmtmc" run "$tmp/c.json" -o "$tmp/ref.h5" --progress none > /dev/null 2>&1 || bad "reference run"
T=$(echo "$(date +%s.%N) - $t0" | bc)
echo "reference run: ${T}s"

# start a 2-rank run in its own process group; print the group's pid
start() { setsid mpiexec -n 2 "$rmtmc" run "$tmp/c.json" -o "$1" --progress none $2 > /dev/null 2>> "$tmp/log" & echo $!; }

# kill -9 the whole job at several moments, resuming in between, then finish
for fractions in "0.25 0.5" "0.4" "0.7 0.15 0.2"; do
  out="$tmp/k.h5"
  scale=1
  # when the machine's load changed since the reference run, the kills may
  # all come after the end (the file is complete) or before the first
  # checkpoint (no file): then the same kills again, sooner or later
  for attempt in 1 2 3; do
    delays=$(for f in $fractions; do echo "$f * $T * $scale" | bc -l | awk '{printf "%.2f ", $1}'; done)
    rm -f "$out" "$out.tmp"
    first=1 partial=0
    for d in $delays; do
      if [ $first = 1 ]; then pid=$(start "$out" ""); else pid=$(start "$out" --resume); fi
      first=0
      sleep "$d"
      # the whole job at once: mpiexec and its ranks (which Open MPI puts in
      # process groups of their own)
      kill -9 -- -"$pid" $(pgrep -P "$pid") 2> /dev/null
      wait "$pid" 2> /dev/null
      for i in $(seq 50); do pgrep -P "$pid" > /dev/null || break; sleep 0.1; done
      if [ -e "$out" ]; then
        c=$($py -c "import h5py; f = h5py.File('$out'); print(int(f.attrs['complete']))") || bad "file after kill -9 is not readable"
        [ "$c" = 0 ] && partial=1
      fi
    done
    [ $partial = 1 ] && break
    if [ -e "$out" ]; then scale=$(echo "$scale * 0.5" | bc -l); else scale=$(echo "$scale * 2" | bc -l); fi
    echo "kills after $delays s missed the run in progress; again with the delays x $scale"
  done
  [ $partial = 1 ] || bad "the kills after $delays s never caught the run in progress"
  mpiexec -n 2 "$rmtmc" run "$tmp/c.json" -o "$out" --resume --progress none > /dev/null 2>> "$tmp/log" || bad "resume after kills ($delays)"
  if $py "$src/tests/h5same.py" "$tmp/ref.h5" "$out"; then ok "kill -9 after $delays s, resume: identical to an uninterrupted run"
  else bad "kill -9 after $delays s: resumed file differs"; fi
done

# SIGTERM: to the ranks (as srun and Slurm's time limit deliver it) exit 3
# promptly; to mpiexec itself, Open MPI's mpiexec exits 1 whatever the
# ranks return, but the checkpoint is written all the same. Both resume.
sed 's/"draws": 60/"draws": 400/; s/"checkpoint_draws": 1/"checkpoint_draws": 20/' "$tmp/c.json" > "$tmp/long.json"
"$rmtmc" run "$tmp/long.json" -o "$tmp/longref.h5" --progress none > /dev/null 2>&1 || bad "long reference run"
for target in ranks mpiexec; do
  rm -f "$tmp/t.h5"
  mpiexec -n 2 "$rmtmc" run "$tmp/long.json" -o "$tmp/t.h5" --progress none > /dev/null 2> "$tmp/terr" &
  pid=$!
  for i in $(seq 100); do [ -e "$tmp/t.h5" ] && break; sleep 0.1; done
  sleep 0.3
  if [ $target = ranks ]; then pkill -TERM -P $pid; else kill -TERM $pid; fi
  t0=$(date +%s.%N)
  wait $pid
  rc=$?
  took=$(echo "$(date +%s.%N) - $t0" | bc)
  want=3; [ $target = mpiexec ] && want=1
  if [ $rc = $want ] && [ "$(echo "$took < 5" | bc)" = 1 ]; then ok "SIGTERM to the $target: exit $rc after ${took}s"
  else bad "SIGTERM to the $target: exit $rc after ${took}s"; cat "$tmp/terr"; fi
  grep -q "stopped by signal 15" "$tmp/terr" || bad "no message after SIGTERM to the $target"
  $py -c "
import h5py
f = h5py.File('$tmp/t.h5')
assert f.attrs['complete'] == 0 and 0 < f.attrs['draws_done'] < f.attrs['draws_requested']
" && ok "checkpoint after SIGTERM to the $target is partial and valid" || bad "checkpoint after SIGTERM to the $target"
  # the same command without --resume must not suggest only --force (which throws the work away)
  sum0=$(md5sum < "$tmp/t.h5")
  "$rmtmc" run "$tmp/long.json" -o "$tmp/t.h5" --progress none > /dev/null 2> "$tmp/rerr"
  [ $? = 2 ] && grep -q "unfinished run; continue it with --resume" "$tmp/rerr" && [ "$(md5sum < "$tmp/t.h5")" = "$sum0" ] \
    && ok "a checkpoint without --resume: exit 2, points to --resume, file untouched" \
    || { bad "a checkpoint without --resume"; cat "$tmp/rerr"; }
  # ... but not when the checkpoint is another config's (--resume would refuse it)
  sed 's/"seed": *[0-9]*/"seed": 99/' "$tmp/long.json" > "$tmp/other.json"
  "$rmtmc" run "$tmp/other.json" -o "$tmp/t.h5" --progress none > /dev/null 2> "$tmp/rerr"
  [ $? = 2 ] && grep -q "exists; use --force" "$tmp/rerr" && ! grep -q -- "--resume" "$tmp/rerr" \
    && ok "another config's checkpoint: exit 2, no --resume suggested" || { bad "another config's checkpoint"; cat "$tmp/rerr"; }
  resume_cfg=$tmp/long.json
  if [ $target = mpiexec ]; then
    # output settings that say only where and how often to write do not
    # stop a resume (the file takes the new config); output.eigenvalues does
    sed 's/"checkpoint_draws": 20/"checkpoint_draws": 7/; s/"output": {/"output": {"path": "elsewhere.h5", /' "$tmp/long.json" > "$tmp/long2.json"
    sed 's/"output": {/"output": {"eigenvalues": true, /' "$tmp/long.json" > "$tmp/long3.json"
    sum0=$(md5sum < "$tmp/t.h5")
    "$rmtmc" run "$tmp/long3.json" -o "$tmp/t.h5" --resume --progress none > /dev/null 2> "$tmp/rerr"
    [ $? = 2 ] && grep -q "different config.*; they differ at output.eigenvalues)" "$tmp/rerr" && [ "$(md5sum < "$tmp/t.h5")" = "$sum0" ] \
      && ok "resume with output.eigenvalues changed: exit 2, named, file untouched" || { bad "resume, output.eigenvalues changed"; cat "$tmp/rerr"; }
    resume_cfg=$tmp/long2.json
  fi
  "$rmtmc" run "$resume_cfg" -o "$tmp/t.h5" --resume --progress none > /dev/null 2> "$tmp/rerr"
  grep -q "already done" "$tmp/rerr" || bad "resume does not say how far the checkpoint got"
  if [ $target = mpiexec ]; then
    want=$("$rmtmc" check "$tmp/long2.json" | sed -n 's/^config .*(sha256 \([0-9a-f]*\)\.\.\.)$/\1/p')
    grep -q "t.h5 was written with other output settings (at output\.[a-z_]*); it continues with .*long2.json's" "$tmp/rerr" \
      && [ -n "$want" ] && $py -c "
import h5py; assert h5py.File('$tmp/t.h5').attrs['config_sha256'].startswith('$want')" \
      && ok "resume with output.checkpoint_draws and output.path changed: continued, said so, the file takes the new config" \
      || { bad "resume across output settings"; cat "$tmp/rerr"; }
  fi
  same_args=; [ $target = mpiexec ] && same_args=--other-output-settings
  $py "$src/tests/h5same.py" "$tmp/longref.h5" "$tmp/t.h5" $same_args && ok "resume after SIGTERM to the $target: identical" \
    || bad "resume after SIGTERM to the $target differs"
done

# SIGTERM to rank R alone of a P-rank run of CONFIG into OUT (WHAT names
# it): the whole run stops cleanly, exit 3 with a checkpoint; returns 0
# when it did
term_rank() {
  local r=$1 p=$2 cfg=$3 out=$4 what=$5
  rm -f "$out"
  mpiexec --oversubscribe -n $p "$rmtmc" run "$cfg" -o "$out" --progress none > /dev/null 2> "$tmp/t1err" &
  local pid=$! c i rc
  for i in $(seq 100); do [ -e "$out" ] && break; sleep 0.1; done
  sleep 0.3
  for c in $(pgrep -P $pid); do
    grep -qz "^OMPI_COMM_WORLD_RANK=$r\$" /proc/$c/environ 2> /dev/null && kill -TERM $c
  done
  for i in $(seq 150); do kill -0 $pid 2> /dev/null || break; sleep 0.1; done
  if kill -0 $pid 2> /dev/null; then
    bad "SIGTERM to $what left the job running"; kill -9 -- $pid $(pgrep -P $pid); wait $pid; return 1
  fi
  wait $pid; rc=$?
  [ $rc = 3 ] && grep -q "stopped by signal 15" "$tmp/t1err" && { ok "SIGTERM to $what alone: the run stops with exit 3"; return 0; }
  bad "SIGTERM to $what: exit $rc"; cat "$tmp/t1err"; return 1
}
term_rank 1 2 "$tmp/long.json" "$tmp/w.h5" "a worker"

# ... and to a member of a process grid (not its group's leader): of rank
# 0's group (rank 1 of 2), and of another group, whose leader then skips
# its queued draws (rank 3 of 4); the checkpoint resumes to the same file
cat > "$tmp/gm.json" <<'JSON'
{"name": "gm", "seed": 8, "draws": 200, "ranks_per_draw": 2, "output": {"checkpoint_draws": 2},
 "ensemble": {"type": "wigner", "n": 500}, "statistics": {"density": {"bins": 40}, "moments": 2}}
JSON
mpiexec -n 2 "$rmtmc" run "$tmp/gm.json" -o "$tmp/gmref.h5" --progress none > /dev/null 2>&1 || bad "grid reference run"
term_rank 3 4 "$tmp/gm.json" "$tmp/gm4.h5" "a member of another rank's grid"
if term_rank 1 2 "$tmp/gm.json" "$tmp/gm.h5" "a grid member"; then
  mpiexec -n 2 "$rmtmc" run "$tmp/gm.json" -o "$tmp/gm.h5" --resume --progress none > /dev/null 2>&1 || bad "resume after SIGTERM to a grid member"
  $py "$src/tests/h5same.py" "$tmp/gmref.h5" "$tmp/gm.h5" > /dev/null && ok "resume after SIGTERM to a grid member: identical" \
    || bad "resume after SIGTERM to a grid member differs"
fi

# ... and to a rank that waits: one sitting the phase out (rank 2 of 3 with
# grids of 2), and an idle member of rank 0's group, which only hands out
# draws with 18 groups (rank 1 of 36). They tell rank 0, which stops the
# run; before, the signal waited for the end of the phase (these runs take
# over 25 s and 60 s) and was then lost: the run ended with exit 0.
cat > "$tmp/idle.json" <<'JSON'
{"name": "idle", "seed": 8, "draws": 20000, "ranks_per_draw": 2, "output": {"checkpoint_draws": 50},
 "ensemble": {"type": "wigner", "n": 300}, "statistics": {"density": {"bins": 40}}}
JSON
term_rank 2 3 "$tmp/idle.json" "$tmp/idle3.h5" "a rank sitting the phase out"
term_rank 1 36 "$tmp/idle.json" "$tmp/idle36.h5" "an idle member of rank 0's group"

# SIGTERM to rank 0 alone: the other ranks finish the draw in hand and skip
# the draws queued for them (before, a worker ran its queue out first: the
# rest of its draw and one more). The signal comes half a draw after a
# checkpoint (one per recorded draw; the two ranks' draws of ~1 s run in
# step), and what is measured is the CPU time rank 1 spends after it, which
# the checkpoint's disk writes and MPI's ending do not inflate: about half
# a draw now, one and a half before; at most one draw is allowed.
cat > "$tmp/r0.json" <<'JSON'
{"name": "r0", "seed": 9, "draws": 24, "ensemble": {"type": "wigner", "n": 2600},
 "statistics": {"density": {"bins": 40}}, "output": {"checkpoint_draws": 1}}
JSON
rm -f "$tmp/r0.h5"
mpiexec -n 2 "$rmtmc" run "$tmp/r0.json" -o "$tmp/r0.h5" --progress none > /dev/null 2> "$tmp/r0err" &
pid=$!
r0= r1=
for i in $(seq 100); do
  for c in $(pgrep -P $pid); do
    grep -qz '^OMPI_COMM_WORLD_RANK=0$' /proc/$c/environ 2> /dev/null && r0=$c
    grep -qz '^OMPI_COMM_WORLD_RANK=1$' /proc/$c/environ 2> /dev/null && r1=$c
  done
  [ -n "$r0" ] && [ -n "$r1" ] && break; sleep 0.1
done
cpu_ticks() { sed 's/.*) //' /proc/$1/stat 2> /dev/null | awk '$1 != "Z" {print $12 + $13}'; } # utime + stime
median_draw() { $py -c "
import h5py, numpy as np
print('%.3f' % np.median(h5py.File('$tmp/r0.h5')['points/000000/draws/seconds'][:]))" 2> /dev/null; }
d=
for i in $(seq 300); do [ -e "$tmp/r0.h5" ] && d=$(median_draw) && [ -n "$d" ] && break; sleep 0.05; done
ino=$(stat -c %i "$tmp/r0.h5" 2> /dev/null)
for i in $(seq 1000); do n=$(stat -c %i "$tmp/r0.h5" 2> /dev/null); [ -n "$n" ] && [ "$n" != "$ino" ] && break; sleep 0.005; done
sleep "$(echo "${d:-1} / 2" | bc -l)"
t_sig=$(cpu_ticks $r1)
kill -TERM $r0
t_last=$t_sig
while t=$(cpu_ticks $r1) && [ -n "$t" ]; do t_last=$t; sleep 0.02; done
wait $pid
rc=$?
used=$(echo "($t_last - ${t_sig:-0}) / $(getconf CLK_TCK)" | bc -l)
[ $rc = 3 ] && [ -n "$d" ] && [ -n "$t_sig" ] && [ "$(echo "$used < $d" | bc)" = 1 ] \
  && ok "SIGTERM to rank 0 alone: rank 1 computed $(printf %.2f "$used") s more, a draw taking ${d}s; exit 3" \
  || { bad "SIGTERM to rank 0 alone: exit $rc, rank 1 computed $(printf %.2f "$used") s more, a draw taking ${d}s"; cat "$tmp/r0err"; }

# a rank that dies ends the job (no hang), and the checkpoint resumes
rm -f "$tmp/d.h5"
mpiexec -n 2 "$rmtmc" run "$tmp/long.json" -o "$tmp/d.h5" --progress none > /dev/null 2>&1 &
pid=$!
for i in $(seq 100); do [ -e "$tmp/d.h5" ] && break; sleep 0.1; done
# rank 1 is the child of mpiexec whose environment says so
for c in $(pgrep -P $pid); do
  grep -qz '^OMPI_COMM_WORLD_RANK=1$' /proc/$c/environ 2> /dev/null && kill -9 $c
done
for i in $(seq 150); do kill -0 $pid 2> /dev/null || break; sleep 0.1; done
if kill -0 $pid 2> /dev/null; then bad "a dead rank left the job hanging"; kill -9 -- $pid $(pgrep -P $pid); wait $pid
else
  wait $pid; rc=$?
  [ $rc != 0 ] && ok "a rank killed with -9 ends the job (exit $rc)" || bad "a dead rank: exit 0"
fi
"$rmtmc" run "$tmp/long.json" -o "$tmp/d.h5" --resume --progress none > /dev/null 2>&1 \
  && $py "$src/tests/h5same.py" "$tmp/longref.h5" "$tmp/d.h5" && ok "the checkpoint left by a dead rank resumes to the same result" \
  || bad "resume after a dead rank"

# two runs never write the same output: the second is refused while the first holds the lock
# (the first run is long enough to outlast the second's start on a loaded machine)
rm -f "$tmp/l.h5"
sed 's/"draws": 400/"draws": 40000/' "$tmp/long.json" > "$tmp/l.json"
"$rmtmc" run "$tmp/l.json" -o "$tmp/l.h5" --progress none > /dev/null 2>&1 &
pid=$!
for i in $(seq 100); do [ -e "$tmp/l.h5" ] && break; sleep 0.1; done
"$rmtmc" run "$tmp/l.json" -o "$tmp/l.h5" --resume --progress none > /dev/null 2> "$tmp/err"
rc=$?
# without --resume too, the lock is what it names (not "continue it with --resume")
"$rmtmc" run "$tmp/l.json" -o "$tmp/l.h5" --progress none > /dev/null 2> "$tmp/err2"
rc2=$?
kill -9 $pid; wait $pid 2> /dev/null
[ $rc = 2 ] && grep -q "another rmtmc run" "$tmp/err" && ok "a second run on the same output: exit 2" || { bad "concurrent runs: exit $rc"; cat "$tmp/err"; }
[ $rc2 = 2 ] && grep -q "another rmtmc run is writing this output" "$tmp/err2" && ! grep -q -- "--resume" "$tmp/err2" \
  && ok "a second run without --resume: exit 2, naming the lock" || { bad "concurrent run without --resume: exit $rc2"; cat "$tmp/err2"; }

# resuming a finished file: a no-op that says so
sum=$(sha256sum < "$tmp/ref.h5")
"$rmtmc" run "$tmp/c.json" -o "$tmp/ref.h5" --resume > "$tmp/out" 2>&1 && grep -q "already complete" "$tmp/out" \
  && [ "$(sha256sum < "$tmp/ref.h5")" = "$sum" ] && ok "resume of a finished file is a no-op" || bad "resume of a finished file"
# resuming with another config: exit 2, file untouched
sed 's/"seed": 31/"seed": 32/' "$tmp/c.json" > "$tmp/other.json"
"$rmtmc" run "$tmp/other.json" -o "$tmp/ref.h5" --resume > /dev/null 2> "$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "different config.*; they differ at seed)" "$tmp/err" && [ "$(sha256sum < "$tmp/ref.h5")" = "$sum" ] \
  && ok "resume with another config: exit 2, naming where they differ" || { bad "resume with another config: exit $rc"; cat "$tmp/err"; }
sed 's/"checkpoint_draws": 1,/"checkpoint_draws": 2, "eigenvalues": true,/' "$tmp/c.json" > "$tmp/other.json"
"$rmtmc" run "$tmp/other.json" -o "$tmp/ref.h5" --resume > /dev/null 2> "$tmp/err"
grep -q "; they differ at output.eigenvalues)" "$tmp/err" && ok "an output setting that changes the file: named as the difference" \
  || { bad "resume with another output setting"; cat "$tmp/err"; }
sed 's/"checkpoint_draws": 1,/"checkpoint_draws": 2,/' "$tmp/c.json" > "$tmp/other.json"
"$rmtmc" run "$tmp/other.json" -o "$tmp/ref.h5" --resume > "$tmp/out" 2>&1 && grep -q "already complete" "$tmp/out" \
  && [ "$(sha256sum < "$tmp/ref.h5")" = "$sum" ] && ok "a finished file, resumed with another checkpoint_draws: a no-op" \
  || { bad "a finished file, resumed with another checkpoint_draws"; cat "$tmp/out"; }

# more draws on a finished run: --resume keeps the file's draws and adds the
# rest (each draw is a function of seed, point and draw), giving the file a
# run of the larger config gives; fewer draws are refused, file untouched
cat > "$tmp/md.json" <<'JSON'
{"name": "md", "seed": 4, "draws": 30, "statistics": {"density": {"bins": 20}, "moments": 2, "gap_ratios": {}},
 "experiments": [{"name": "a", "ensemble": {"type": "wigner", "n": 60}},
                 {"name": "b", "draws": 10, "ensemble": {"type": "wishart", "n": 60, "ratio": {"sweep": [0.5, 2]}}}]}
JSON
sed 's/"draws": 30/"draws": 50/; s/"draws": 10/"draws": 25/' "$tmp/md.json" > "$tmp/md2.json"
sed 's/"draws": 10/"draws": 5/' "$tmp/md.json" > "$tmp/md3.json"
"$rmtmc" run "$tmp/md.json" -o "$tmp/md.h5" --progress none > /dev/null || bad "md.json"
"$rmtmc" run "$tmp/md2.json" -o "$tmp/md2ref.h5" --progress none > /dev/null || bad "md2.json"
"$rmtmc" run "$tmp/md2.json" -o "$tmp/md.h5" --progress none > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "other numbers of draws; --resume adds the draws it lacks" "$tmp/err" || { bad "more draws without --resume"; cat "$tmp/err"; }
mpiexec -n 2 "$rmtmc" run "$tmp/md2.json" -o "$tmp/md.h5" --resume --progress none > /dev/null 2> "$tmp/err" \
  && grep -q "asks for more draws than the file was run for" "$tmp/err" && grep -q "resuming .*md.h5: 50 of 100 draws already done" "$tmp/err" \
  && $py "$src/tests/h5same.py" "$tmp/md2ref.h5" "$tmp/md.h5" \
  && ok "a finished run resumed with more draws: identical to a run of the larger config" || { bad "resume with more draws"; cat "$tmp/err"; }
sum=$(sha256sum < "$tmp/md.h5")
"$rmtmc" run "$tmp/md3.json" -o "$tmp/md.h5" --resume --progress none > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "point 0 was run for 50 draws and .*md3.json asks for 30: --resume adds draws but cannot drop any" "$tmp/err" \
  && [ "$(sha256sum < "$tmp/md.h5")" = "$sum" ] && ok "resume with fewer draws: exit 2, named, file untouched" \
  || { bad "resume with fewer draws"; cat "$tmp/err"; }
# the same draws per point, set in another place: the same run
sed 's/"seed": 4, "draws": 50,/"seed": 4,/; s/{"name": "a", /{"name": "a", "draws": 50, /' "$tmp/md2.json" > "$tmp/md5.json"
grep -q '"name": "a", "draws": 50' "$tmp/md5.json" && ! grep -q '"seed": 4, "draws"' "$tmp/md5.json" || bad "md5.json not made"
"$rmtmc" run "$tmp/md5.json" -o "$tmp/md.h5" --resume --progress none > "$tmp/out" 2> "$tmp/err" \
  && grep -q "already complete" "$tmp/out" && [ "$(sha256sum < "$tmp/md.h5")" = "$sum" ] \
  && ok "the same draws per point set in each experiment instead: a finished file stays as it is" \
  || { bad "draws moved into the experiments"; cat "$tmp/out" "$tmp/err"; }
sed 's/"seed": 4/"seed": 5/' "$tmp/md2.json" > "$tmp/md4.json"
sed -i 's/"draws": 50/"draws": 60/' "$tmp/md4.json"
"$rmtmc" run "$tmp/md4.json" -o "$tmp/md.h5" --resume --progress none > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "different config.*they differ at seed)" "$tmp/err" \
  && ok "more draws and another seed: refused, naming the seed (the draws alone would resume)" || { bad "draws and seed changed"; cat "$tmp/err"; }

# injected solver failures are recorded, counted and kept out of histograms
cat > "$tmp/f.json" <<'JSON'
{"name": "faults", "seed": 5, "draws": 10, "ensemble": {"type": "wigner", "n": 40},
 "statistics": {"density": {"bins": 10, "range": [-3, 3]}, "moments": 2}}
JSON
RMT_FAIL_DRAWS=0:3,0:7 mpiexec -n 2 "$rmtmc" run "$tmp/f.json" -o "$tmp/f.h5" --progress none > /dev/null 2>&1 || bad "run with injected failures"
$py -c "
import h5py, numpy as np
f = h5py.File('$tmp/f.h5')
g = f['points/000000']
st = g['draws/status'][:]
assert list(np.nonzero(st)[0]) == [3, 7] and set(st[[3, 7]]) == {99}, st
assert f.attrs['failed_draws'] == 2 and g.attrs['draws_done'] == 10 and g.attrs['draws_failed'] == 2
assert int(g['density/counts'][:].sum() + g['density/below'][()] + g['density/above'][()]) == 8 * 40
assert np.isnan(g['draws/moments'][3]).all()
" && ok "injected failures recorded in draws/status and kept out of the histograms" || bad "injected failures"
echo '{"name": "faults", "seed": 5, "draws": 10, "max_failures": 1, "ensemble": {"type": "wigner", "n": 40}}' > "$tmp/m.json"
RMT_FAIL_DRAWS=0:1,0:2,0:3 "$rmtmc" run "$tmp/m.json" -o "$tmp/m.h5" --progress none > /dev/null 2> "$tmp/err"
rc=$?
[ $rc = 1 ] && grep -q "max_failures" "$tmp/err" && $py -c "
import h5py; f = h5py.File('$tmp/m.h5'); assert f.attrs['complete'] == 0 and f.attrs['failed_draws'] == 2
" && ok "max_failures stops the run with exit 1 and a checkpoint" || { bad "max_failures: exit $rc"; cat "$tmp/err"; }
# --resume goes on, counting failures afresh (draw 3 fails again: 1, not
# more than 1); the two failed draws stay recorded
RMT_FAIL_DRAWS=0:1,0:2,0:3 "$rmtmc" run "$tmp/m.json" -o "$tmp/m.h5" --resume --progress none > /dev/null 2> "$tmp/err"
rc=$?
[ $rc = 0 ] && $py -c "
import h5py; f = h5py.File('$tmp/m.h5'); a = f.attrs
assert a['complete'] == 1 and a['failed_draws'] == 3, (a['complete'], a['failed_draws'])
" && ok "a run stopped by max_failures resumes, counting failures afresh" || { bad "resume after max_failures: exit $rc"; cat "$tmp/err"; }
# ... or with max_failures raised (it does not change results): the file
# then carries the new config
RMT_FAIL_DRAWS=0:1,0:2,0:3 "$rmtmc" run "$tmp/m.json" -o "$tmp/m2.h5" --progress none > /dev/null 2>&1
sed 's/"max_failures": 1/"max_failures": 5/' "$tmp/m.json" > "$tmp/m5.json"
RMT_FAIL_DRAWS=0:1,0:2,0:3 "$rmtmc" run "$tmp/m5.json" -o "$tmp/m2.h5" --resume --progress none > /dev/null 2> "$tmp/err"
rc=$?
want=$("$rmtmc" check "$tmp/m5.json" | sed -n 's/^config .*(sha256 \([0-9a-f]*\)\.\.\.)$/\1/p')
[ $rc = 0 ] && [ -n "$want" ] && $py -c "
import h5py; f = h5py.File('$tmp/m2.h5'); a = f.attrs
assert a['complete'] == 1 and a['failed_draws'] == 3, (a['complete'], a['failed_draws'])
assert a['config_sha256'].startswith('$want'), (a['config_sha256'], '$want')
" && ok "a run stopped by max_failures resumes with max_failures raised, and records that config" \
  || { bad "resume with max_failures raised: exit $rc"; cat "$tmp/err"; }
# a worker that cannot allocate its result message still reports its draws
# (status -2), and the run goes on with the master's draws
cat > "$tmp/o.json" <<'JSON'
{"name": "nomem", "seed": 5, "draws": 12, "ensemble": {"type": "wigner", "n": 40},
 "statistics": {"density": {"bins": 10, "range": [-3, 3]}, "moments": 2}, "output": {"eigenvalues": true}}
JSON
"$rmtmc" run "$tmp/o.json" -o "$tmp/o-ref.h5" --progress none > /dev/null 2>&1 || bad "run without the fallback"
RMT_FAIL_RESULT_ALLOC=1 mpiexec -n 2 "$rmtmc" run "$tmp/o.json" -o "$tmp/o.h5" --progress none > /dev/null 2> "$tmp/err"
rc=$?
[ $rc = 0 ] && grep -q "is reported failed (status -2)\|are reported failed (status -2)" "$tmp/err" && $py -c "
import h5py, numpy as np
f, r = h5py.File('$tmp/o.h5'), h5py.File('$tmp/o-ref.h5')
g, gr = f['points/000000'], r['points/000000']
st = g['draws/status'][:]
good, lost = st == 0, st == -2
assert (good | lost).all() and good.any() and lost.any(), st
assert f.attrs['complete'] == 1 and f.attrs['failed_draws'] == lost.sum() and g.attrs['draws_done'] == 12
assert int(g['density/counts'][:].sum() + g['density/below'][()] + g['density/above'][()]) == 40 * good.sum()
assert np.array_equal(g['draws/moments'][:][good], gr['draws/moments'][:][good])
assert np.isnan(g['draws/moments'][:][lost]).all()
assert np.array_equal(g['eigenvalues'][:][good], gr['eigenvalues'][:][good]) and np.isnan(g['eigenvalues'][:][lost]).all()
" && ok "a worker out of memory for its results reports them as failed (status -2); the run completes" \
  || { bad "result-allocation fallback: exit $rc"; cat "$tmp/err"; }
# checkpoints by time are spaced by at least 10x what the last one took, so
# even "checkpoint_seconds": 0.001 leaves the master free most of the run
# (measured: 14 % of the run in checkpoints; 98 % without the spacing)
cat > "$tmp/ck.json" <<'JSON'
{"name": "ckpt", "seed": 2020, "draws": 300000, "ensemble": {"type": "wigner", "n": 8},
 "statistics": {"density": {"bins": 400, "range": "auto"}, "gap_ratios": {"bins": 40, "max": 10},
                "zero_mass": {"tolerance": "auto"}, "moments": 4},
 "output": {"checkpoint_seconds": 0.001}}
JSON
mpiexec -n 2 "$rmtmc" run "$tmp/ck.json" -o "$tmp/ck.h5" --progress none > /dev/null 2>&1 || bad "run with checkpoint_seconds 0.001"
$py -c "
import h5py
a = h5py.File('$tmp/ck.h5').attrs
share = a['master_checkpoint_seconds'] / a['master_run_seconds']
assert a['complete'] == 1 and 0 < share < 0.35, share
print('checkpoint share %.3f' % share)
" && ok "checkpoints by time are spaced by their own cost: under 35 % of the run at checkpoint_seconds 0.001" \
  || bad "checkpoint spacing"

# Light checkpoints: once full checkpoints are slow (RMT_JOURNAL_FROM=0
# makes every one count as slow), a checkpoint commits OUT.h5.journal
# instead of rewriting the file. kill -9 after some commits, SIGTERM (a
# light stop), and a --points part merged with its journal: each gives the
# uninterrupted run's file, and the journal's draws are used (the file
# alone holds fewer).
cat > "$tmp/j.json" <<'JSON'
{"name": "journal", "seed": 3, "draws": 12000, "ensemble": {"type": "wigner", "n": {"sweep": [60, 80]}},
 "statistics": {"density": {"bins": 20}, "moments": 3, "gap_ratios": {"bins": 10},
                "spacings": {"unfolding": "pool", "bins": 10}},
 "output": {"checkpoint_seconds": 0.2}}
JSON
mpiexec -n 2 "$rmtmc" run "$tmp/j.json" -o "$tmp/jref.h5" --progress none > /dev/null 2>&1 || bad "journal: reference run"
# kill -9 mpiexec and its ranks (process groups of their own), and wait
# until they are gone
kill_job() {
  kill -9 -- -"$1" $(pgrep -P "$1") 2> /dev/null
  wait "$1" 2> /dev/null
  for i in $(seq 50); do pgrep -P "$1" > /dev/null || break; sleep 0.1; done
}
# wait until the journal holds a commit after its header (it grows past
# 300 kB in well under a second), then stop the run with signal $1
journal_stop() {
  rm -f "$tmp/jk.h5" "$tmp/jk.h5.journal"
  RMT_JOURNAL_FROM=0 setsid mpiexec -n 2 "$rmtmc" run "$tmp/j.json" -o "$tmp/jk.h5" --progress none > /dev/null 2>> "$tmp/log" &
  local pid=$! i=0
  while [ $i -lt 300 ] && [ "$(stat -c %s "$tmp/jk.h5.journal" 2>/dev/null || echo 0)" -lt 300000 ]; do sleep 0.02; i=$((i + 1)); done
  sleep 0.3
  if [ "$1" = KILL ]; then kill_job $pid; else pkill -"$1" -P $pid; fi
  wait $pid; echo $? > "$tmp/jrc"
  for i in $(seq 50); do pgrep -P "$pid" > /dev/null || break; sleep 0.1; done
}
for sig in KILL TERM; do
  journal_stop $sig
  held=$($py -c "import h5py; f = h5py.File('$tmp/jk.h5'); print(sum(int(g.attrs['draws_done']) for g in f['points'].values()))" 2>/dev/null)
  RMT_JOURNAL_FROM=0 mpiexec -n 1 "$rmtmc" run "$tmp/j.json" -o "$tmp/jk.h5" --resume --progress none > /dev/null 2> "$tmp/err"
  rc=$?
  [ $rc = 0 ] && [ -n "$held" ] && grep -q "rmtmc: resuming .*jk.h5: [0-9]* of 24000 draws already done ([1-9][0-9]* of them from .*jk.h5.journal)" "$tmp/err" \
    && [ ! -e "$tmp/jk.h5.journal" ] && $py "$src/tests/h5same.py" "$tmp/jref.h5" "$tmp/jk.h5" \
    && ok "SIG$sig with a journal (run exit $(cat "$tmp/jrc"); the file held $held draws): resumed on 1 rank from file and journal, equal to the uninterrupted run" \
    || { bad "resume from a journal after SIG$sig (resume exit $rc, file held '$held')"; cat "$tmp/err"; }
done
# partial results read with merge, as the README says, then moved over the
# checkpoint: the merged file names no journal, so the old journal is not
# applied again on --resume (before: its draws were skipped as duplicates
# but their counts added twice, and the run finished complete)
journal_stop TERM
"$rmtmc" merge "$tmp/jpart.h5" "$tmp/jk.h5" --force > /dev/null 2> "$tmp/err" && mv "$tmp/jpart.h5" "$tmp/jk.h5" \
  && RMT_JOURNAL_FROM=0 "$rmtmc" run "$tmp/j.json" -o "$tmp/jk.h5" --resume --progress none > /dev/null 2>> "$tmp/err" \
  && $py "$src/tests/h5same.py" "$tmp/jref.h5" "$tmp/jk.h5" \
  && ok "a checkpoint's partial results merged and moved over it, then resumed: equal to the uninterrupted run" \
  || { bad "merge, mv, resume of a checkpoint with a journal"; cat "$tmp/err"; }
# a journal whose last committed segment is repeated (valid checksums,
# draws the file and journal already hold): replay stops there and says so,
# and the resumed file equals the uninterrupted run (before: the repeated
# draws were skipped but their counts added twice)
journal_stop KILL
$py - "$tmp/jk.h5.journal" <<'PY' || bad "journal: cannot repeat a segment"
import struct, sys
p = sys.argv[1]; d = open(p, 'rb').read(); at = 24; ends = []
while at + 16 <= len(d):
    t, _, n = struct.unpack_from('<IIQ', d, at)
    if t not in (1, 2, 3) or at + 16 + n > len(d): break
    at += 16 + n
    if t == 3: ends.append(at)
segs = [(a, b) for a, b in zip(ends, ends[1:]) if b - a > 24]
a, b = segs[-1]
open(p, 'wb').write(d[:b] + d[a:b])
PY
RMT_JOURNAL_FROM=0 "$rmtmc" run "$tmp/j.json" -o "$tmp/jk.h5" --resume --progress none > /dev/null 2> "$tmp/err"
rc=$?
[ $rc = 0 ] && grep -q "^rmtmc: note: .*jk.h5.journal holds draws its file already has" "$tmp/err" \
  && $py "$src/tests/h5same.py" "$tmp/jref.h5" "$tmp/jk.h5" \
  && ok "a repeated journal segment is not applied twice: resumed, equal to the uninterrupted run" \
  || { bad "a repeated journal segment (resume exit $rc)"; cat "$tmp/err"; }
# a journal that names another checkpoint of the file (its id changed) is
# stale: not applied, removed with a note, and the resume still ends equal
journal_stop KILL
$py -c "import sys; p = sys.argv[1]; d = bytearray(open(p, 'rb').read()); d[8] ^= 1; open(p, 'wb').write(d)" "$tmp/jk.h5.journal"
RMT_JOURNAL_FROM=0 "$rmtmc" run "$tmp/j.json" -o "$tmp/jk.h5" --resume --progress none > /dev/null 2> "$tmp/err"
rc=$?
[ $rc = 0 ] && grep -q "^rmtmc: note: .*jk.h5.journal does not extend .*removed$" "$tmp/err" \
  && ! grep -q "of them from" "$tmp/err" && $py "$src/tests/h5same.py" "$tmp/jref.h5" "$tmp/jk.h5" \
  && ok "a stale journal (another id) is not applied, its removal noted; resumed, equal to the uninterrupted run" \
  || { bad "a stale journal (resume exit $rc)"; cat "$tmp/err"; }
# a job-array part stopped with a journal merges with it
rm -f "$tmp/jp"*
mpiexec -n 2 "$rmtmc" run "$tmp/j.json" -o "$tmp/jp1.h5" --points 1/2 --progress none > /dev/null 2>&1 || bad "journal: part 1"
RMT_JOURNAL_FROM=0 setsid mpiexec -n 2 "$rmtmc" run "$tmp/j.json" -o "$tmp/jp0.h5" --points 0/2 --progress none > /dev/null 2>> "$tmp/log" &
pid=$! i=0
while [ $i -lt 300 ] && [ "$(stat -c %s "$tmp/jp0.h5.journal" 2>/dev/null || echo 0)" -lt 300000 ]; do sleep 0.02; i=$((i + 1)); done
sleep 0.3; kill_job $pid
held=$($py -c "import h5py; print(int(h5py.File('$tmp/jp0.h5')['points/000000'].attrs['draws_done']))" 2>/dev/null)
"$rmtmc" merge "$tmp/jm.h5" "$tmp/jp0.h5" "$tmp/jp1.h5" > "$tmp/out" 2> "$tmp/err"
# one point at a time (a merge larger than its memory), the journal's records of the other point left aside
"$rmtmc" merge "$tmp/jmb.h5" "$tmp/jp0.h5" "$tmp/jp1.h5" --mem-per-rank 1K > "$tmp/outb" 2> /dev/null \
  && grep -q "^merging in 2 batches of points" "$tmp/outb" && $py "$src/tests/h5same.py" "$tmp/jm.h5" "$tmp/jmb.h5" \
  && ok "merged a point at a time, with the journal: the same file" || { bad "merge in batches with a journal"; cat "$tmp/outb"; }
got=$($py -c "import h5py; print(int(h5py.File('$tmp/jm.h5')['points/000000'].attrs['draws_done']))" 2>/dev/null)
[ -n "$held" ] && [ -n "$got" ] && [ "$got" -gt "$held" ] \
  && "$rmtmc" run "$tmp/j.json" -o "$tmp/jm.h5" --resume --progress none > /dev/null 2>&1 \
  && $py "$src/tests/h5same.py" "$tmp/jref.h5" "$tmp/jm.h5" \
  && ok "merge takes a stopped part's journal ($held draws in its file, $got merged); resumed, equal to the uninterrupted run" \
  || { bad "merge of a part with a journal (file $held, merged '$got')"; cat "$tmp/out" "$tmp/err"; }
# a run whose full checkpoints are quick (the default) writes no journal
mpiexec -n 2 "$rmtmc" run "$tmp/c.json" -o "$tmp/jq.h5" --progress none > /dev/null 2>&1 && [ ! -e "$tmp/jq.h5.journal" ] \
  && ok "quick full checkpoints: no journal" || bad "a journal without slow checkpoints"
# a stop that comes while a slow full checkpoint is being written: that
# one completes, and the stop's own checkpoint is a light one (the journal
# it opened), not a second rewrite: one rename after the signal
cat > "$tmp/slow.json" <<'JSON'
{"name": "slow", "seed": 5, "draws": 40000, "ensemble": {"type": "wigner", "n": 100},
 "statistics": {"density": {"bins": 50}, "spacings": {"unfolding": "pool"}},
 "output": {"eigenvalues": true, "checkpoint_draws": 12000, "checkpoint_seconds": 0}}
JSON
RMT_JOURNAL_FROM=0.05 setsid mpiexec -n 2 "$rmtmc" run "$tmp/slow.json" -o "$tmp/slow.h5" --progress none > /dev/null 2> "$tmp/serr" &
pid=$!
for i in $(seq 4000); do [ -e "$tmp/slow.h5.tmp" ] && break; sleep 0.005; done
pkill -TERM -P $pid
inodes=""
while kill -0 $pid 2> /dev/null; do
  n=$(stat -c %i "$tmp/slow.h5" 2> /dev/null); case " $inodes " in *" $n "*) ;; *) inodes="$inodes $n";; esac; sleep 0.005
done
wait $pid; rc=$?
[ $rc = 3 ] && [ "$(echo $inodes | wc -w)" = 1 ] && [ -s "$tmp/slow.h5.journal" ] \
  && ok "SIGTERM during a slow checkpoint's write: that one completes, the stop's own is light (one rewrite)" \
  || { bad "SIGTERM during a checkpoint: exit $rc, files written after it:$inodes"; cat "$tmp/serr"; }
exit $fail
