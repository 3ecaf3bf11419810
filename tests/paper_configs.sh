#!/bin/bash
# configs/paper: every full-scale config validates (rmtmc check) and has a
# reduced twin; every reduced config runs on 2 ranks and tools/rmtplot draws
# every figure its output implies (listed, > 10 kB, not blank).
# usage: paper_configs.sh RMTMC SRCDIR
set -u
rmtmc=$(realpath "$1")
src=$(realpath "$2")
. "$(dirname "$0")/lib.sh"

n=0
for cfg in "$src"/configs/paper/*.json; do
  name=$(basename "$cfg" .json)
  case "$name" in
    *-reduced)
      n=$((n + 1))
      start=$(date +%s)
      if mpiexec --oversubscribe -n 2 "$rmtmc" run "$cfg" -o "$tmp/$name.h5" --progress none > /dev/null; then
        secs=$(( $(date +%s) - start ))
        [ $secs -lt 60 ] && ok "$name runs on 2 ranks in $secs s" || bad "$name took $secs s (reduced configs must take < 60 s)"
        if "$src/tools/rmtplot" "$tmp/$name.h5" -o "$tmp/$name" > "$tmp/$name.list" &&
           $py "$src/tests/rmtplot_check.py" "$tmp/$name.h5" "$tmp/$name" "$tmp/$name.list"; then
          ok "$name: $(wc -l < "$tmp/$name.list") figures"
        else
          bad "$name: figures"
        fi
      else
        bad "$name: run"
      fi
      ;;
    *)
      "$rmtmc" check "$cfg" --ranks 2 > /dev/null && ok "$name: check" || bad "$name: rmtmc check"
      [ -f "$src/configs/paper/$name-reduced.json" ] && ok "$name has a reduced version" || bad "$name: no $name-reduced.json"
      ;;
  esac
done
[ $n -gt 0 ] || bad "no reduced configs in configs/paper"
exit $fail
