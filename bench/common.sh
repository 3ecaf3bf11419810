# bench/common.sh -- sourced by bench/vs-numpy, bench/vs-lapack, bench/gen-cost,
# bench/scaling, bench/grid-solvers: paths, compiling the C helpers against build/librmt.a,
# timing and the machine header. Not executable on its own.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RMTMC=${RMTMC:-$root/build/rmtmc}
PY=${PY:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# one BLAS thread per rank, as rmtmc sets itself (RMT_BLAS_THREADS unset)
unset RMT_BLAS_THREADS RMT_EIG_DRIVER

# rmt_link_args: the libraries build/rmtmc is linked with, build/librmt.a
# first (read from build/build.ninja: the library's dependencies change with
# the project).
rmt_link_args() {
    local link
    [ -f "$root/build/librmt.a" ] || { echo "bench: build/librmt.a missing: run ninja -C build" >&2; return 1; }
    link=$(awk '/^build rmtmc:/ { f = 1 } f && /LINK_ARGS =/ { sub(/^ *LINK_ARGS = /, ""); print; exit }' \
           "$root/build/build.ninja")
    [ -n "$link" ] || { echo "bench: cannot read rmtmc's link line from build/build.ninja" >&2; return 1; }
    echo "${link//librmt.a/$root/build/librmt.a}"
}

# build_c OUTDIR: compile bench/gen_cost.c and bench/bare_lapack.c against the
# project's static library with the libraries rmtmc links (build/ must be built).
build_c() {
    local out=$1 link
    link=$(rmt_link_args) || return 1
    local flags=(-O2 -march=native -std=gnu11 -Wall -I"$root/src" -I"$root/build")
    # shellcheck disable=SC2086
    ${CC:-cc} "${flags[@]}" -o "$out/gen-cost" "$root/bench/gen_cost.c" $link
    # shellcheck disable=SC2086
    ${CC:-cc} "${flags[@]}" -o "$out/bare-lapack" "$root/bench/bare_lapack.c" $link
}

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

machine_header() {
    echo "# machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), nproc $(nproc)," \
         "$(grep -m1 MemTotal /proc/meminfo | awk '{printf "%.0f GiB", $2/1048576}')"
    echo "# rmtmc: $("$RMTMC" --version 2>/dev/null | head -1), git $(git -C "$root" rev-parse --short HEAD 2>/dev/null)" \
         "$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo '(src modified)')"
    echo "# numpy $("$PY" -c 'import numpy; print(numpy.__version__)' 2>/dev/null)," \
         "BLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
    echo "# started $(date -u +%FT%TZ), loadavg $(loadavg)"
}

# snapshot_rmtmc DIR: run a private copy of the binary, so that a rebuild of
# build/ by someone else during a benchmark cannot change or remove it mid-run.
snapshot_rmtmc() {
    cp "$RMTMC" "$1/rmtmc"
    RMTMC=$1/rmtmc
}
