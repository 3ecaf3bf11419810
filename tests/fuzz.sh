#!/bin/bash
# Fuzz the config parser with libFuzzer (clang, ASan, UBSan, LeakSanitizer)
# for a bounded time, seeded with configs/ and the bad-config corpus.
# Inputs that crashed once are kept in tests/data/fuzz-crashes/ and replayed
# first. usage: fuzz.sh SRCDIR [SECONDS]   (default FUZZ_SECONDS or 60)
set -u
src=$(realpath "$1")
secs=${2:-${FUZZ_SECONDS:-60}}
if ! command -v clang > /dev/null; then echo "SKIP: clang not installed (scripts/setup installs it)"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
libs="ompi-c hdf5-openmpi libcjson scalapack-openmpi openblas lapacke libcrypto"
srcs=$(ls "$src"/src/*.c | grep -v -e '/main\.c$')
cat > "$tmp/version.h" <<'H'
#define RMT_VERSION "fuzz"
H
if ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE \
    -I"$src/src" -I"$tmp" $(pkg-config --cflags $libs) "$src/tests/fuzz_config.c" $srcs \
    $(pkg-config --libs $libs) -lm -o "$tmp/fuzz" 2> "$tmp/build.log"; then
  cat "$tmp/build.log"; echo "FAIL: fuzz target does not build"; exit 1
fi
mkdir -p "$tmp/corpus"
cp "$src"/configs/*.json "$src"/tests/data/bad/*.json "$tmp/corpus/" 2> /dev/null
find "$src/configs" -name '*.json' -exec cp {} "$tmp/corpus/" \; 2> /dev/null
if [ -d "$src/tests/data/fuzz-crashes" ]; then
  # regressions first: every input that once crashed must now pass
  for f in "$src"/tests/data/fuzz-crashes/*; do
    [ -f "$f" ] || continue
    "$tmp/fuzz" "$f" > "$tmp/replay.log" 2>&1 || { cat "$tmp/replay.log"; echo "FAIL: $f crashes again"; exit 1; }
  done
fi
cd "$tmp"
# -timeout: a valid config of up to 1000000 points takes tens of seconds
# under the sanitizers; only a true hang should count
ASAN_OPTIONS=detect_leaks=1 "$tmp/fuzz" -max_total_time="$secs" -max_len=4096 -timeout=60 -rss_limit_mb=4096 \
  -print_final_stats=1 "$tmp/corpus" > "$tmp/fuzz.log" 2>&1
rc=$?
grep -E "stat::number_of_executed_units|stat::new_units_added" "$tmp/fuzz.log"
if [ $rc != 0 ]; then
  tail -60 "$tmp/fuzz.log"
  mkdir -p "$src/tests/data/fuzz-crashes"
  for c in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do [ -f "$c" ] && cp "$c" "$src/tests/data/fuzz-crashes/"; done
  echo "FAIL: the fuzzer found a problem (input kept in tests/data/fuzz-crashes/)"
  exit 1
fi
echo "ok: ${secs}s of fuzzing, no crash, leak or sanitizer report"
