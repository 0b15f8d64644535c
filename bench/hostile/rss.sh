#!/usr/bin/env bash
# Peak memory of `ae train` on hostile inputs (issue 15). Each case must end cleanly (exit 0
# or 1: loaded, or refused with a one-line `error:`) with a peak RSS under LIMIT_MIB.
#
#   bench/hostile/rss.sh                                  # the reported sizes (≈ 3.5 GB of temp files, one at a time)
#   SIZE_MB=64 WIDE_COLS=5000000 bench/hostile/rss.sh     # quicker
#
# Cases (each file is made in a temporary folder, measured, then deleted):
#   nul            SIZE_MB of NUL bytes
#   sparse-tail    40 good rows of 5 numbers, then a SIZE_MB hole (`truncate -s`: NUL bytes)
#   separator-tail 40 good rows, then SIZE_MB of ", " on one line
#   blank-tail     40 good rows, then SIZE_MB of empty lines (valid: loads 40 rows and trains)
#   wide           2 rows of WIDE_COLS columns ("1,1,…", 2 × 2·WIDE_COLS bytes)
#   layers-300000, layers-1000000   a 5-column CSV with --layers 300000 / 1000000
# The CSV cases run `ae train FILE --epochs 1 --layers 4 --no-plots -o OUT`.
#
# Builds `ae` in release mode first; needs GNU time (`apt-get install -y time`).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SIZE_MB=${SIZE_MB:-1024}
WIDE_COLS=${WIDE_COLS:-50000000}
LIMIT_MIB=${LIMIT_MIB:-512}
TIMEOUT_S=${TIMEOUT_S:-600}
GNU_TIME=/usr/bin/time

if ! "$GNU_TIME" -f %M true >/dev/null 2>&1; then
    echo "rss.sh: GNU time ($GNU_TIME) is missing; install it with: apt-get install -y time" >&2
    exit 2
fi

cargo build --release -p autoencoder-cli --manifest-path "$ROOT/Cargo.toml"
AE=${CARGO_TARGET_DIR:-$ROOT/target}/release/ae

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ae-hostile.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

good_rows() { # [COUNT]
    local r
    for r in $(seq 0 $((${1:-40} - 1))); do
        echo "$r,1.5,-2,0.3,$((r * 2))"
    done
}

# `head` ends `yes` (and `tr`) with SIGPIPE: process substitution keeps that out of pipefail.
repeat_bytes() { # TEXT BYTES
    head -c "$2" < <(yes "$1" | tr -d '\n')
}

make_case() { # NAME FILE
    local bytes=$((SIZE_MB * 1024 * 1024))
    case $1 in
        nul) head -c "$bytes" /dev/zero >"$2" ;;
        sparse-tail)
            good_rows >"$2"
            truncate -s $(($(stat -c %s "$2") + bytes)) "$2"
            ;;
        separator-tail)
            good_rows >"$2"
            repeat_bytes ', ' "$bytes" >>"$2"
            echo >>"$2"
            ;;
        blank-tail)
            good_rows >"$2"
            head -c "$bytes" < <(yes '') >>"$2"
            ;;
        wide)
            local i
            for i in 1 2; do
                head -n "$WIDE_COLS" < <(yes 1) | paste -sd,
            done >"$2"
            ;;
        small) good_rows 10 >"$2" ;;
    esac
}

FAILS=0
printf '%-15s %8s %5s %7s %9s %7s  %s\n' case "file MB" exit seconds "peak MiB" verdict "first error line"
run_case() { # NAME KIND ARGS...
    local name=$1 kind=$2
    shift 2
    local file=$TMP/$name.csv
    make_case "$kind" "$file"
    local size_mb=$(($(stat -c %s "$file") / 1024 / 1024))
    local code=0
    timeout "$TIMEOUT_S" "$GNU_TIME" -f 'AE-RSS-KIB %M %e' -o "$TMP/time.txt" \
        "$AE" train "$file" "$@" --no-plots --quiet -o "$TMP/out.safetensors" \
        >/dev/null 2>"$TMP/stderr.txt" || code=$?
    local kib
    kib=$(awk '/^AE-RSS-KIB/ {print $2}' "$TMP/time.txt" 2>/dev/null || true)
    local secs
    secs=$(awk '/^AE-RSS-KIB/ {print $3}' "$TMP/time.txt" 2>/dev/null || true)
    local mib=${kib:+$((kib / 1024))}
    local err
    err=$(grep -m1 '^error' "$TMP/stderr.txt" | cut -c1-160 || true)
    local verdict=FAIL
    if [[ -n $mib && $mib -lt $LIMIT_MIB && ($code -eq 0 || $code -eq 1) ]]; then
        verdict=PASS
    else
        FAILS=$((FAILS + 1))
    fi
    printf '%-15s %8s %5s %7s %9s %7s  %s\n' "$name" "$size_mb" "$code" "${secs:-?}" "${mib:-?}" "$verdict" \
        "${err:--}"
    rm -f "$file" "$TMP/out.safetensors" "$TMP"/out.* "$TMP/time.txt" "$TMP/stderr.txt"
}

for kind in nul sparse-tail separator-tail blank-tail wide; do
    run_case "$kind" "$kind" --epochs 1 --layers 4
done
run_case layers-300000 small --epochs 1 --layers 300000
run_case layers-1000000 small --epochs 1 --layers 1000000

echo "SIZE_MB=$SIZE_MB WIDE_COLS=$WIDE_COLS; PASS: exit 0 or 1 and peak RSS < $LIMIT_MIB MiB; $FAILS failed"
[[ $FAILS -eq 0 ]]
