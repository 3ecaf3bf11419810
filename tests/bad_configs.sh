#!/usr/bin/env bash
# Every config in tests/data/bad must be refused the same way by `check` and
# `run`: exit 2, exactly one line on stderr naming the file, the JSON path and
# the reason (expect.tsv), and no file created. Each case's message must be
# its own (no two cases share "JSON.PATH: reason").
#
# usage: tests/bad_configs.sh path/to/rmtmc [datadir]
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 path/to/rmtmc [datadir]" >&2
    exit 2
fi
rmtmc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
datadir=${2:-$(dirname "$0")/data/bad}
datadir=$(cd "$datadir" && pwd) || exit 2
expect=$datadir/expect.tsv
if [ ! -x "$rmtmc" ]; then echo "$0: $rmtmc: not executable" >&2; exit 2; fi
if [ ! -f "$expect" ]; then echo "$0: $expect: missing" >&2; exit 2; fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# the memory budget must come from the machine, not from a batch job's limits
unset SLURM_MEM_PER_CPU SLURM_MEM_PER_NODE

work=$(mktemp -d "${TMPDIR:-/tmp}/bad_configs.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

failed=0
ncases=0
declare -A seen_msg=()   # "JSON.PATH: reason" -> case that printed it
declare -A listed=()     # file names in expect.tsv

fail() { echo "FAIL $1: $2"; failed=1; }

# run_one NAME FILE PATH REASON MODE: sets $why on failure, the message in $msg
run_one() {
    local name=$1 cfg=$2 jpath=$3 reason=$4 mode=$5
    local dir=$work/$mode-$name
    mkdir -p "$dir/cwd"
    cp "$cfg" "$dir/$name"
    local rc
    if [ "$mode" = check ]; then
        (cd "$dir/cwd" && "$rmtmc" check "../$name" >"$dir/stdout" 2>"$dir/stderr" </dev/null)
        rc=$?
    else
        (cd "$dir/cwd" && "$rmtmc" run "../$name" -o OUT.h5 >"$dir/stdout" 2>"$dir/stderr" </dev/null)
        rc=$?
    fi
    why=
    msg=
    local nl
    nl=$(wc -l <"$dir/stderr")
    local err
    err=$(cat "$dir/stderr")
    if [ "$rc" -ne 2 ]; then why="$mode: exit code $rc, expected 2 (stderr: ${err:0:200})"; return; fi
    if [ "$nl" -ne 1 ] || [ "$(tail -c1 "$dir/stderr" | od -An -c | tr -d ' ')" != '\n' ]; then
        why="$mode: stderr has $nl line(s), expected exactly one: ${err:0:300}"
        return
    fi
    local prefix="rmtmc: ../$name: $jpath: "
    if [ "${err:0:${#prefix}}" != "$prefix" ]; then
        why="$mode: stderr does not start with '$prefix': $err"
        return
    fi
    if [[ "$err" != *"$reason"* ]]; then why="$mode: reason '$reason' not in: $err"; return; fi
    local extra
    extra=$(cd "$dir/cwd" && find . -mindepth 1 | head -5 | tr '\n' ' ')
    if [ -n "$extra" ]; then why="$mode: created files: $extra"; return; fi
    extra=$(cd "$dir" && find . -mindepth 1 ! -path ./cwd ! -path ./stdout ! -path ./stderr ! -path "./$name" | head -5 | tr '\n' ' ')
    if [ -n "$extra" ]; then why="$mode: created files beside the config: $extra"; return; fi
    msg=${err#"rmtmc: ../$name: "}
}

while IFS=$'\t' read -r name jpath reason rest || [ -n "$name" ]; do
    [ -z "$name" ] && continue
    case "$name" in \#*) continue ;; esac
    ncases=$((ncases + 1))
    if [ -z "$jpath" ] || [ -z "$reason" ] || [ -n "${rest:-}" ]; then
        fail "$name" "expect.tsv: need exactly FILENAME<TAB>JSON.PATH<TAB>REASON"
        continue
    fi
    if [ -n "${listed[$name]:-}" ]; then fail "$name" "listed twice in expect.tsv"; continue; fi
    listed[$name]=1
    cfg=$datadir/$name
    if [ ! -f "$cfg" ]; then fail "$name" "no such file in $datadir"; continue; fi

    run_one "$name" "$cfg" "$jpath" "$reason" check
    if [ -n "$why" ]; then fail "$name" "$why"; continue; fi
    check_msg=$msg
    run_one "$name" "$cfg" "$jpath" "$reason" run
    if [ -n "$why" ]; then fail "$name" "$why"; continue; fi
    if [ "$msg" != "$check_msg" ]; then
        fail "$name" "check and run disagree: '$check_msg' vs '$msg'"
        continue
    fi
    # the message must name this problem alone
    if [ -n "${seen_msg[$msg]:-}" ]; then
        fail "$name" "same message as ${seen_msg[$msg]}: $msg"
        continue
    fi
    seen_msg[$msg]=$name
    echo "ok $name"
done <"$expect"

# every config in the directory is a case
for f in "$datadir"/*.json; do
    [ -e "$f" ] || continue
    b=$(basename "$f")
    if [ -z "${listed[$b]:-}" ]; then fail "$b" "not listed in expect.tsv"; fi
done

# nothing was left in the data directory either (e.g. the configs' output.path)
stray=$(cd "$datadir" && find . -mindepth 1 ! -name '*.json' ! -name expect.tsv | head -5 | tr '\n' ' ')
if [ -n "$stray" ]; then fail "(datadir)" "unexpected files in $datadir: $stray"; fi

if [ "$failed" -ne 0 ]; then
    echo "bad_configs: some of $ncases cases FAILED"
    exit 1
fi
echo "bad_configs: all $ncases cases ok"
exit 0
