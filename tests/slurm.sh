#!/bin/bash
# End-to-end under a real Slurm: starts a private single-node cluster
# (munged, slurmctld, slurmd from Debian's munge and slurm-wlm, configured on
# localhost in a temporary directory with ports of its own), submits the
# templates in jobs/ themselves with sbatch (only partition, sizes and paths
# given as sbatch options and arguments), and checks:
#  - run.sbatch: a complete file that records slurm_job_id and the node list;
#  - sweep-array.sbatch + merge.sbatch (afterok dependency): equal to the
#    single run (tests/h5same.py);
#  - run.sbatch with "ranks_per_draw": 2 on 2 tasks next to points of one
#    rank per draw: pdsyev (solver 10) on the grid, eigenvalue figures equal
#    to a run with one rank per draw, peak_rss_bytes of each rank; and
#    `rmtmc check` in a job with --mem-per-cpu and --cpus-per-task=2 takes
#    SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK as one rank's memory;
#  - SIGUSR1 to the batch script (what --signal=B:USR1@120 sends before the
#    time limit): checkpoint, the job requeues itself and completes; the
#    same for one task of an array (and only that task is requeued);
#  - scontrol requeue of a running job (as preemption does): checkpoint,
#    then the job runs again and completes;
#  - scancel of a running job (mpiexec launcher): checkpoint, resubmitted
#    with sbatch: completes;
#  each resumed file equal to an uninterrupted run's.
# Skips (exit 77) when not root or when slurm-wlm/munge cannot be installed.
# usage: slurm.sh RMTMC SRCDIR     (KEEP_SLURM_TMP=1 keeps the directory)
set -u
rmtmc=$(realpath "$1")
src=$(realpath "$2")
py=/usr/bin/python3
t_start=$SECONDS
skip() { echo "SKIP: $*"; exit 77; }
fail=0
ok() { echo "ok: $1 [$((SECONDS - t_start)) s]"; }
bad() { echo "FAIL: $1 [$((SECONDS - t_start)) s]"; fail=1; }

[ "$(id -u)" = 0 ] || skip "needs root (private munged, slurmctld and slurmd run as root with SlurmUser=root)"
have_all() { for c in munged slurmctld slurmd slurmstepd sbatch srun squeue scontrol scancel sinfo; do command -v "$c" > /dev/null || return 1; done; }
export PATH=$PATH:/usr/sbin:/sbin
if ! have_all; then
  echo "slurm.sh: installing slurm-wlm munge"
  export DEBIAN_FRONTEND=noninteractive
  { timeout 120 apt-get install -y -qq --no-install-recommends slurm-wlm munge ||
    { timeout 60 apt-get update -qq && timeout 120 apt-get install -y -qq --no-install-recommends slurm-wlm munge; }; } > /dev/null 2>&1
  have_all || skip "slurm-wlm and munge are not installed and could not be installed with apt-get"
fi
$py -c "import h5py" 2> /dev/null || skip "python3-h5py is missing"

# a clean environment: nothing from an outer Slurm job, root allowed in Open MPI
for v in $(compgen -e | grep '^SLURM_'); do unset "$v"; done
unset RMTMC_SLICES RMTMC_SRUN_MPI RMT_BLAS_THREADS
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

tmp=$(mktemp -d /tmp/rmtmc-slurm.XXXXXX)
chmod 755 "$tmp"
# a copy: the jobs all run the binary the test started with, even if build/ is relinked meanwhile
cp "$rmtmc" "$tmp/rmtmc" || { echo "FAIL: cannot copy $rmtmc"; rm -rf "$tmp"; exit 1; }
rmtmc=$tmp/rmtmc
export RMTMC=$rmtmc
# the templates keep Open MPI's shared-memory files of each attempt under RMTMC_SHM
mkdir -p "$tmp/shm"
export RMTMC_SHM=$tmp/shm
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/work" "$tmp/tmpfs"
chmod 700 "$tmp/munge"
export SLURM_CONF=$tmp/slurm.conf
pids=()

cleanup() {
  trap - EXIT INT TERM
  if [ -n "${ctld_pid:-}" ] && kill -0 "$ctld_pid" 2> /dev/null; then
    jobs_left=$(timeout 10 squeue -h -o %A 2> /dev/null | sort -u)
    if [ -n "$jobs_left" ]; then
      timeout 10 scancel $jobs_left 2> /dev/null
      for _ in $(seq 30); do
        [ -z "$(timeout 10 squeue -h -o %A 2> /dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  # the daemons, last started first; SIGKILL whatever has not ended after 5 s
  for ((k = ${#pids[@]} - 1; k >= 0; k--)); do kill "${pids[k]}" 2> /dev/null; done
  for _ in $(seq 50); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
  if [ "${KEEP_SLURM_TMP:-0}" = 1 ]; then echo "slurm.sh: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'echo "slurm.sh: interrupted"; exit 1' INT TERM

dump_logs() {
  for f in "$tmp"/log/* "$tmp"/work/*.out; do
    [ -f "$f" ] || continue
    echo "---- $f (last 25 lines)"
    tail -n 25 "$f"
  done
}
die() { bad "$1"; dump_logs; exit 1; }

# ---- munge, with its own key and socket
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
sock=$tmp/munge/munge.socket
munged -F -f --socket="$sock" --key-file="$tmp/munge/munge.key" --pid-file="$tmp/munge/munged.pid" \
  --seed-file="$tmp/munge/munged.seed" --log-file="$tmp/log/munged.log" > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
echo x | timeout 10 munge -S "$sock" 2> /dev/null | timeout 10 unmunge -S "$sock" > /dev/null 2>&1 || die "munged does not answer"

# ---- slurm.conf: this host as the only node, two free ports. TmpFS is
# private too: the pmix plugin keeps a directory per step there
# (spmix_appdir_UID_JOB.STEP), and job ids start at 1 in every run of this
# test, so one left in /tmp by an earlier run makes srun's launch fail
node=$(hostname -s)
ports=$($py -c "
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(('127.0.0.1', 0))
print(' '.join(str(s.getsockname()[1]) for s in ss))")
read -r ctld_port slurmd_port <<< "$ports"
cpus=$(nproc)
[ "$cpus" -lt 2 ] && cpus=2   # two ranks per job even on one core (config_overrides)
mem=$(slurmd -C 2> /dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
mem=$(( ${mem:-4096} * 8 / 10 ))
cat > "$SLURM_CONF" <<EOF
ClusterName=rmtmctest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
TmpFS=$tmp/tmpfs
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
KillWait=10
InactiveLimit=0
MinJobAge=600
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=rmtci Nodes=$node Default=NO MaxTime=30 State=UP
EOF

slurmctld -D -i -f "$SLURM_CONF" > "$tmp/log/slurmctld.out" 2>&1 &
ctld_pid=$!
pids+=("$ctld_pid")
slurmd -D -f "$SLURM_CONF" -N "$node" > "$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  st=$(timeout 10 sinfo -h -p rmtci -o %t 2> /dev/null)
  [ "$st" = idle ] && break
  sleep 0.5
done
[ "$st" = idle ] || die "the private Slurm did not come up (node state '$st')"
ok "private Slurm $(sinfo -V | cut -d' ' -f2) up: node $node, $cpus CPUs, ports $ctld_port/$slurmd_port"

launch=srun
if ! timeout 10 srun --mpi=list 2>&1 | grep -q pmix; then
  echo "note: srun has no pmix plugin here; the jobs use mpiexec"
  launch=mpiexec
fi
export RMTMC_LAUNCH=$launch

# ---- helpers; every wait is bounded
# job_field JOB FIELD: FIELD of every job (array tasks) of JOB, one per line
job_field() { timeout 10 scontrol -o show job "$1" 2> /dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
terminal='^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)$'
# wait_done JOB SECONDS: until every task of JOB is in a final state
wait_done() {
  local end=$((SECONDS + $2)) s
  while [ $SECONDS -lt $end ]; do
    s=$(job_field "$1" JobState)
    if [ -n "$s" ] && ! grep -Evq "$terminal" <<< "$s"; then return 0; fi
    sleep 0.5
  done
  echo "slurm.sh: job $1 still not finished after $2 s: $(echo $s)"
  return 1
}
# wait_state JOB STATE SECONDS [RESTARTS]
wait_state() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt $end ]; do
    if [ "$(job_field "$1" JobState)" = "$2" ] && { [ -z "${4:-}" ] || [ "$(job_field "$1" Restarts)" = "$4" ]; }; then
      return 0
    fi
    sleep 0.3
  done
  echo "slurm.sh: job $1 not $2${4:+ with Restarts=$4} after $3 s (now $(job_field "$1" JobState), Restarts=$(job_field "$1" Restarts))"
  return 1
}
# wait_checkpoint FILE SECONDS: until FILE holds a checkpoint with some draws done
wait_checkpoint() {
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    [ -e "$1" ] && $py -c "
import h5py, sys
f = h5py.File('$1')
sys.exit(0 if f.attrs['draws_done'] > 0 else 1)" 2> /dev/null && return 0
    sleep 0.3
  done
  return 1
}
# partial FILE: a readable checkpoint, neither empty nor finished
partial() {
  $py -c "
import h5py
f = h5py.File('$1')
d, n = int(f.attrs['draws_done']), int(f.attrs['draws_requested'])
assert f.attrs['complete'] == 0 and 0 < d < n, (d, n)
print('%d of %d draws' % (d, n))"
}
# Slurm holds a requeued job ~2 minutes (BeginTime). Started at once, while
# the last attempt's step is still being torn down, srun's launch of the
# same step id fails; so wait until the last attempt's files have left
# SlurmdSpoolDir (slurmstepd sockets NODE_JOB.STEP, pmix.JOB.STEP, ...),
# then let it start (release)
leftovers() { compgen -G "$tmp/spool/*[._]$1.*"; }
steps_gone() {
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ] && leftovers "$1" > /dev/null; do sleep 0.3; done
  if leftovers "$1" > /dev/null; then
    echo "slurm.sh: steps of job $1 still there after 60 s: $(leftovers "$1")"
    return 1
  fi
}
# release JOB [TASK]: JOB the numeric id (of the files), TASK e.g. 7_1 for an array task
release() {
  steps_gone "$1"
  sleep 1
  timeout 10 scontrol update JobId="${2:-$1}" StartTime=now
}
sub() { timeout 20 sbatch --parsable -p rmtci --time=10 "$@" | cut -d';' -f1; }

cd "$tmp/work" || die "no work directory"
cat > sweep.json <<'JSON'
{"name": "sweep", "seed": 8, "draws": 7,
 "ensemble": {"type": "wishart", "n": 60, "ratio": {"logspace": [-0.5, 0.5, 5]}},
 "statistics": {"density": {"bins": 20}, "moments": 3, "gap_ratios": {"bins": 10},
                "spacings": {"unfolding": "pool", "bins": 10}}}
JSON
# a run of 8-20 s on two ranks, a checkpoint every second: the draws are
# scaled until the uninterrupted reference takes at least 8 s, so that the
# signals below land mid-run however fast the machine or the build
long_json() {
  cat > long.json <<JSON
{"name": "long", "seed": 5, "draws": $1,
 "ensemble": {"type": "wigner", "n": {"sweep": [300, 400]}},
 "statistics": {"density": {"bins": 30}, "moments": 4, "gap_ratios": {"bins": 20, "max": 5},
                "spacings": {"unfolding": "pool", "bins": 20, "max": 4}},
 "output": {"checkpoint_seconds": 1}}
JSON
}
long_draws=250
for attempt in 1 2 3; do
  long_json $long_draws
  t0=$SECONDS
  timeout 300 mpiexec -n 2 "$rmtmc" run long.json -o long-ref.h5 --force --progress none > /dev/null 2>&1 \
    || die "reference run of long.json"
  took=$((SECONDS - t0))
  echo "slurm.sh: uninterrupted reference of long.json ($long_draws draws): $took s"
  [ "$took" -ge 8 ] && break
  long_draws=$((long_draws * 10 / (took > 0 ? took : 1)))
done
[ "$took" -ge 8 ] || die "long.json stays under 8 s even with $long_draws draws"

# ---- 1. run.sbatch, a 5-point sweep on 2 ranks
j=$(sub --ntasks-per-node=2 --mem-per-cpu=300M "$src/jobs/run.sbatch" sweep.json single.h5) || die "sbatch run.sbatch"
# ---- 2. the same sweep as a 3-task array of 1 rank each, and the merge chained to it
a=$(sub --array=0-2 --ntasks-per-node=1 --mem-per-cpu=300M "$src/jobs/sweep-array.sbatch" sweep.json merged.h5) \
  || die "sbatch sweep-array.sbatch"
m=$(sub --dependency=afterok:"$a" --mem=300M "$src/jobs/merge.sbatch" merged.h5) || die "sbatch merge.sbatch"
wait_done "$j" 120 && wait_done "$a" 120 && wait_done "$m" 60 || die "run, array or merge jobs did not finish"

[ "$(job_field "$j" JobState)" = COMPLETED ] || bad "run.sbatch job $j: $(job_field "$j" JobState)"
$py -c "
import h5py
f = h5py.File('single.h5')
a = f.attrs
assert a['complete'] == 1 and a['draws_done'] == a['draws_requested'] == 35, dict(a)
assert a['slurm_job_id'] == '$j', a['slurm_job_id']
assert a['slurm_job_nodelist'] == '$node', a['slurm_job_nodelist']
assert a['mpi_ranks'] == 2, a['mpi_ranks']
assert 'points_slice' not in a
" && ok "run.sbatch ($launch, 2 ranks): complete file recording slurm_job_id=$j and the node list" \
  || bad "run.sbatch output"
states=$(job_field "$a" JobState | sort | uniq -c | xargs)
[ "$states" = "3 COMPLETED" ] || bad "sweep-array tasks: $states"
$py -c "
import h5py
for i in range(3):
    f = h5py.File('merged.part%d-of-3.h5' % i)
    a = f.attrs
    assert a['complete'] == 1 and a['points_slice'] == '%d/3' % i, (i, dict(a))
    assert a['slurm_array_task_id'] == str(i), (i, a['slurm_array_task_id'])
" && ok "sweep-array.sbatch: 3 part files, each its slice, recording its array task id" || bad "array part files"
[ "$(job_field "$m" JobState)" = COMPLETED ] || bad "merge.sbatch job $m: $(job_field "$m" JobState)"
$py "$src/tests/h5same.py" single.h5 merged.h5 && ok "array + merge.sbatch (afterok) equals the single run" \
  || bad "merged array result differs from the single run"

# ---- 1b. one task run again without RMTMC_SLICES (--array=0: K would be 1,
# the whole sweep as "slice 0 of 1"): the parts of K = 3 beside merged.h5
# say which K was meant; the task stops, exit 2, writing nothing
r=$(sub --array=0 --ntasks-per-node=1 --mem-per-cpu=300M --output=rerun-%A_%a.out "$src/jobs/sweep-array.sbatch" sweep.json merged.h5) \
  || die "sbatch sweep-array.sbatch (rerun)"
wait_done "$r" 60 || die "sweep-array.sbatch (rerun) did not finish"
[ "$(job_field "$r" JobState | sort -u)" = FAILED ] && [ ! -e merged.part0-of-1.h5 ] \
  && grep -q "sweep-array.sbatch: merged.part0-of-3.h5 is slice of 3, but this array has 1 task(s): .*RMTMC_SLICES=3" rerun-*.out \
  && ok "sweep-array.sbatch: a task run again without RMTMC_SLICES next to parts of another K: exit 2, naming RMTMC_SLICES=3" \
  || { bad "sweep-array.sbatch rerun without RMTMC_SLICES: $(job_field "$r" JobState | xargs)"; cat rerun-*.out; }

# ---- 1c. a launcher killed by a signal once the run is done (Open MPI 4.1's
# mpiexec can segfault when a late signal reaches it): the file is complete,
# so the job is done. Here every rank dies of SIGSEGV after rmtmc returns 0.
printf '#!/bin/bash\n"%s" "$@" && kill -SEGV $$\n' "$rmtmc" > segv.sh && chmod +x segv.sh
j=$(RMTMC=$PWD/segv.sh sub --ntasks-per-node=2 --mem-per-cpu=300M --output=segv-%j.out "$src/jobs/run.sbatch" sweep.json segv.h5) \
  || die "sbatch run.sbatch (segv)"
wait_done "$j" 60 || die "run.sbatch (segv) did not finish"
[ "$(job_field "$j" JobState)" = COMPLETED ] && grep -q "run.sbatch: the launcher ended with 1[0-9][0-9], but segv.h5 is complete" "segv-$j.out" \
  && ok "run.sbatch: a launcher killed by a signal after a complete run: the job completes" \
  || bad "run.sbatch after a launcher's late segfault: $(job_field "$j" JobState); $(tail -3 "segv-$j.out")"
# ... but not when the complete file is an earlier run's (the launcher killed before rmtmc wrote)
printf '#!/bin/bash\nkill -SEGV $$\n' > segv0.sh && chmod +x segv0.sh && cp single.h5 stale.h5
j=$(RMTMC=$PWD/segv0.sh sub --ntasks-per-node=2 --mem-per-cpu=300M --output=segv0-%j.out "$src/jobs/run.sbatch" sweep.json stale.h5) \
  || die "sbatch run.sbatch (segv0)"
wait_done "$j" 60 || die "run.sbatch (segv0) did not finish"
[ "$(job_field "$j" JobState)" = FAILED ] && ! grep -q "is complete" "segv0-$j.out" \
  && ok "run.sbatch: a launcher killed before rmtmc wrote, beside an earlier complete file: the job fails" \
  || bad "run.sbatch with a stale complete file: $(job_field "$j" JobState); $(tail -3 "segv0-$j.out")"

# ---- 1b. large n: run.sbatch with ranks_per_draw 2 on 2 tasks (a 1x2 ScaLAPACK grid) next to
# points of one rank per draw, against the same config run with one rank per draw everywhere
cat > grid.json <<'JSON'
{"name": "grid", "seed": 11, "draws": 4,
 "experiments": [
   {"name": "large", "ranks_per_draw": 2, "ensemble": {"type": "wigner", "n": 600},
    "statistics": {"density": {"bins": 40}, "moments": 4}},
   {"name": "small", "ranks_per_draw": 1, "ensemble": {"type": "wigner", "n": {"sweep": [100, 150]}},
    "statistics": {"density": {"bins": 20}, "moments": 2}}]}
JSON
sed 's/"ranks_per_draw": 2/"ranks_per_draw": 1/' grid.json > grid1.json
timeout 60 mpiexec -n 2 "$rmtmc" run grid1.json -o grid1.h5 --progress none > /dev/null 2>&1 || die "reference run of grid1.json"
j=$(sub --ntasks-per-node=2 --mem-per-cpu=300M "$src/jobs/run.sbatch" grid.json grid.h5) || die "sbatch run.sbatch (grid)"
# what rmtmc takes as one rank's memory inside a job of 2 CPUs per task: SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK
c=$(sub --ntasks=1 --cpus-per-task=2 --mem-per-cpu=300M --output=memcheck-%j.out \
  --wrap "$rmtmc check grid.json --ranks 2; echo \"env: \$SLURM_MEM_PER_CPU x \$SLURM_CPUS_PER_TASK\"") \
  || die "sbatch --wrap rmtmc check"
wait_done "$j" 90 && wait_done "$c" 60 || die "grid run or check job did not finish"
[ "$(job_field "$j" JobState)" = COMPLETED ] || bad "run.sbatch (ranks_per_draw 2) job $j: $(job_field "$j" JobState)"
$py - grid.h5 grid1.h5 "$j" <<'PY' && ok "run.sbatch with ranks_per_draw 2 ($launch, 2 ranks): complete, pdsyev on the 1x2 grid, dsyevr on the 1-rank points, equal to one rank per draw, peak_rss_bytes per rank" || bad "run.sbatch with ranks_per_draw 2"
import sys, h5py, numpy as np
f, r = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
a = f.attrs
assert a["complete"] == 1 and a["draws_done"] == a["draws_requested"] == 12, dict(a)
assert a["slurm_job_id"] == sys.argv[3] and a["mpi_ranks"] == 2, (a["slurm_job_id"], a["mpi_ranks"])
rss = a["peak_rss_bytes"]
assert rss.shape == (2,) and (rss > 0).all(), rss
solver = {"000000": 10, "000001": 2, "000002": 2}   # pdsyev on the grid, dsyevr on one rank
for p, want in solver.items():
    g, o = f["points"][p], r["points"][p]
    assert g.attrs["draws_done"] == 4, (p, g.attrs["draws_done"])
    assert (g["draws/solver"][:] == want).all(), (p, g["draws/solver"][:])
    assert (o["draws/solver"][:] == 2).all(), (p, o["draws/solver"][:])
    assert np.array_equal(g["draws/index"][:], o["draws/index"][:]), p
    for d in ["lambda_max", "lambda_min", "moments"]:
        x, y = g["draws/" + d][:], o["draws/" + d][:]
        err = np.abs(x - y).max() / np.abs(y).max()
        assert err <= 1e-10, (p, d, err)
    for d in ["zero_fraction", "structural_zeros"]:
        assert np.array_equal(g["draws/" + d][:], o["draws/" + d][:]), (p, d)
    # histograms: equal but for eigenvalues within ~1e-14 |H| of a bin edge (rare: allow 2 moves)
    cg, co = g["density/counts"][:].astype(np.int64), o["density/counts"][:].astype(np.int64)
    assert cg.sum() + g["density/below"][()] + g["density/above"][()] == co.sum() + o["density/below"][()] + o["density/above"][()]
    assert np.abs(cg - co).sum() <= 4, (p, cg - co)
PY
[ "$(job_field "$c" JobState)" = COMPLETED ] || bad "rmtmc check job $c: $(job_field "$c" JobState)"
grep -q "env: 300 x 2\$" "memcheck-$c.out" || bad "check job $c: SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK is not 300 x 2: $(grep env: "memcheck-$c.out")"
line=$(grep "^ranks .*memory per rank" "memcheck-$c.out")
grep -Eq "memory per rank for draws 570 MiB: SLURM_MEM_PER_CPU = 300 MiB x 2 CPUs per task = 600 MiB, less the ~30 MiB every rank takes" <<< "$line" \
  && ok "--mem-per-cpu=300M --cpus-per-task=2: rmtmc check reports 600 MiB per rank ($line)" \
  || bad "--mem-per-cpu=300M --cpus-per-task=2: rmtmc check says '$line'"

# ---- 3. SIGUSR1 to the batch script, as --signal=B:USR1@120 sends it before the time limit
j=$(sub --ntasks-per-node=2 --mem-per-cpu=300M "$src/jobs/run.sbatch" long.json usr1.h5) || die "sbatch run.sbatch (long)"
wait_state "$j" RUNNING 60 && wait_checkpoint usr1.h5 60 || die "long job $j did not start checkpointing"
timeout 10 scancel --batch --signal=USR1 "$j" || bad "scancel --batch --signal=USR1"
if wait_state "$j" PENDING 60 1; then
  p=$(partial usr1.h5) && ok "SIGUSR1: checkpoint ($p), job $j requeued itself" || bad "SIGUSR1: no partial checkpoint"
  grep -q "requeueing job $j" "rmtmc-$j.out" || bad "run.sbatch did not say it requeues"
  release "$j" || bad "scontrol update StartTime=now"
  wait_done "$j" 120
  [ "$(job_field "$j" JobState)" = COMPLETED ] || bad "requeued job $j: $(job_field "$j" JobState)"
  grep -q "attempt 2" "rmtmc-$j.out" && grep -q "already done" "rmtmc-$j.out" || bad "second attempt did not resume"
  grep -Eq "draws/s.*left" "rmtmc-$j.out" || bad "no periodic progress log lines in the job's log"
  $py "$src/tests/h5same.py" long-ref.h5 usr1.h5 && ok "SIGUSR1 + self-requeue: completed, equal to an uninterrupted run" \
    || bad "SIGUSR1 + requeue: file differs from an uninterrupted run"
else
  bad "SIGUSR1: job $j was not requeued"; dump_logs
  timeout 10 scancel "$j"
fi

# ---- 3b. the same for one task of an array: only that task requeues itself
a=$(sub --array=0-1 --ntasks-per-node=1 --mem-per-cpu=300M "$src/jobs/sweep-array.sbatch" long.json arr.h5) \
  || die "sbatch sweep-array.sbatch (long)"
m=$(sub --dependency=afterok:"$a" --mem=300M "$src/jobs/merge.sbatch" arr.h5) || die "sbatch merge.sbatch (long)"
wait_state "${a}_1" RUNNING 60 && wait_checkpoint arr.part1-of-2.h5 60 || die "array task ${a}_1 did not start checkpointing"
timeout 10 scancel --batch --signal=USR1 "${a}_1" || bad "scancel --batch --signal=USR1 ${a}_1"
if wait_state "${a}_1" PENDING 60 1; then
  p=$(partial arr.part1-of-2.h5) && ok "SIGUSR1 to array task ${a}_1: checkpoint ($p), the task requeued itself" \
    || bad "array task: no partial checkpoint"
  [ "$(job_field "${a}_0" Restarts)" = 0 ] && ok "the other task of the array was not requeued" \
    || bad "task ${a}_0 was requeued too ($(job_field "${a}_0" JobState))"
  release "$(job_field "${a}_1" JobId)" "${a}_1" || bad "scontrol update StartTime=now"
  wait_done "$a" 120 && wait_done "$m" 60 || die "array or merge did not finish"
  states=$(job_field "$a" JobState | sort | uniq -c | xargs)
  [ "$states" = "2 COMPLETED" ] || bad "array tasks: $states"
  $py "$src/tests/h5same.py" long-ref.h5 arr.h5 && ok "array with a requeued task + merge: equal to an uninterrupted run" \
    || bad "array with a requeued task: merged file differs"
else
  bad "SIGUSR1: array task ${a}_1 was not requeued"; dump_logs
  timeout 10 scancel "$a" "$m"
fi

# ---- 4. scontrol requeue of a running job (what preemption with requeue does)
j=$(sub --ntasks-per-node=2 --mem-per-cpu=300M "$src/jobs/run.sbatch" long.json requeue.h5) || die "sbatch run.sbatch (long)"
wait_state "$j" RUNNING 60 && wait_checkpoint requeue.h5 60 || die "long job $j did not start checkpointing"
timeout 10 scontrol requeue "$j" || bad "scontrol requeue $j"
if wait_state "$j" PENDING 60 1; then
  steps_gone "$j"   # the ranks get SIGTERM; rank 0 checkpoints, the others are killed after KillWait
  p=$(partial requeue.h5) && ok "scontrol requeue: checkpoint ($p)" || bad "scontrol requeue: no partial checkpoint"
  release "$j" || bad "scontrol update StartTime=now"
  wait_done "$j" 120
  [ "$(job_field "$j" JobState)" = COMPLETED ] || bad "requeued job $j: $(job_field "$j" JobState)"
  $py "$src/tests/h5same.py" long-ref.h5 requeue.h5 && ok "scontrol requeue: completed, equal to an uninterrupted run" \
    || bad "scontrol requeue: file differs from an uninterrupted run"
else
  bad "scontrol requeue: job $j not pending again"; dump_logs
  timeout 10 scancel "$j"
fi

# ---- 5. scancel (SIGTERM) of a running job launched with mpiexec, then resubmitted
export RMTMC_LAUNCH=mpiexec
j=$(sub --ntasks-per-node=2 --mem-per-cpu=300M "$src/jobs/run.sbatch" long.json cancel.h5) || die "sbatch run.sbatch (mpiexec)"
wait_state "$j" RUNNING 60 && wait_checkpoint cancel.h5 60 || die "long job $j did not start checkpointing"
timeout 10 scancel "$j" || bad "scancel $j"
wait_done "$j" 60 || die "cancelled job $j did not end"
[ "$(job_field "$j" JobState)" = CANCELLED ] || bad "scancel: job $j is $(job_field "$j" JobState)"
p=$(partial cancel.h5) && ok "scancel (mpiexec): checkpoint ($p)" || bad "scancel: no partial checkpoint"
j2=$(sub --ntasks-per-node=2 --mem-per-cpu=300M "$src/jobs/run.sbatch" long.json cancel.h5) || die "sbatch (resubmission)"
wait_done "$j2" 120 || die "resubmitted job $j2 did not finish"
[ "$(job_field "$j2" JobState)" = COMPLETED ] || bad "resubmitted job $j2: $(job_field "$j2" JobState)"
grep -q "already done" "rmtmc-$j2.out" || bad "resubmitted job did not resume the checkpoint"
$py "$src/tests/h5same.py" long-ref.h5 cancel.h5 && ok "scancel + resubmission: completed, equal to an uninterrupted run" \
  || bad "scancel + resubmission: file differs from an uninterrupted run"
$py -c "
import h5py; assert h5py.File('cancel.h5').attrs['slurm_job_id'] == '$j2'" || bad "resubmitted file does not record the new job id"

[ $fail = 0 ] || dump_logs
echo "slurm.sh: $((SECONDS - t_start)) s"
exit $fail
