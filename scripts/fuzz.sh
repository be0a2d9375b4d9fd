#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, null crypto by default, ASan+UBSan; mbedTLS and OpenSSL
# too, for the differential target crypto_diff) and runs each
# for SECONDS (default 60) starting from a copy of its seed corpus.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
dir=build-fuzz
if [ ! -d "$dir" ]; then
  CC=clang meson setup "$dir" -Dfuzzing=libfuzzer -Dcrypto=null,mbedtls,openssl \
    -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null || exit 1
fi
meson compile -C "$dir" >/dev/null || { meson compile -C "$dir"; exit 1; }
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$dir"/fuzz/fuzz_*; do
    [ -x "$f" ] && [ -f "$f" ] && targets+=("$(basename "$f" | sed 's/^fuzz_//')")
  done
fi
ok=0
bad=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  cp -r fuzz/corpus/"$t"/. "$work/$t"/ 2>/dev/null
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$dir/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/$t-" "$work/$t" >"$work/$t.log" 2>&1; then
    echo "fuzz $t: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$t.log" | awk '{print $2}') runs)"
    ok=$((ok + 1))
  else
    echo "fuzz $t: FAILED"
    tail -40 "$work/$t.log"
    mkdir -p fuzz-crashes && cp "$work/$t"-* fuzz-crashes/ 2>/dev/null
    bad=$((bad + 1))
  fi
done
echo "fuzzers: $ok passed, $bad failed"
[ $bad -eq 0 ]
