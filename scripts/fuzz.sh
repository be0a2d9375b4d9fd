#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, null crypto by default, ASan+UBSan; mbedTLS and OpenSSL
# too, for the differential target crypto_diff) and runs each
# for SECONDS (default 60) starting from a copy of its seed corpus.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#        scripts/fuzz.sh --campaign SECONDS [TARGET...]
# A campaign keeps each target's corpus between runs (in $QUINCE_FUZZ_WORK,
# default build-fuzz/campaign) and adds the executions, seconds and findings
# of the run to fuzz/executions.tsv, which is kept in the repository so that
# the cumulative count per target is visible (commit it after a campaign).
# QUINCE_FUZZ_BUILD names the build directory (default build-fuzz). The target
# tls_certificate_mbedtls is fuzz_tls_certificate built with the mbedTLS backend
# (X.509 parsing is mbedTLS's there; the null backend's is a stub), in $dir-mbedtls.
set -uo pipefail
cd "$(dirname "$0")/.."
campaign=0
if [ "${1:-}" = "--campaign" ]; then
  campaign=1
  shift
fi
secs=${1:-60}
shift || true
dir=${QUINCE_FUZZ_BUILD:-build-fuzz}
record=fuzz/executions.tsv
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
  targets+=(tls_certificate_mbedtls)
fi
for t in "${targets[@]}"; do
  if [ "$t" = tls_certificate_mbedtls ]; then
    if [ ! -d "$dir-mbedtls" ]; then
      CC=clang meson setup "$dir-mbedtls" -Dfuzzing=libfuzzer -Dcrypto=mbedtls -Dinterop=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null || exit 1
    fi
    meson compile -C "$dir-mbedtls" fuzz/fuzz_tls_certificate >/dev/null ||
      { meson compile -C "$dir-mbedtls" fuzz/fuzz_tls_certificate; exit 1; }
  fi
done
ok=0
bad=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpora=$work
if [ $campaign -eq 1 ]; then
  corpora=${QUINCE_FUZZ_WORK:-$dir/campaign}
fi
# Add one run to fuzz/executions.tsv: target, executions, seconds, runs, findings, date.
record_run() {
  local t=$1 execs=$2 found=$3 now
  now=$(date -u +%Y-%m-%dT%H:%MZ)
  [ -f "$record" ] || printf 'target\texecutions\tseconds\truns\tfindings\tlast_run_utc\n' >"$record"
  awk -F'\t' -v OFS='\t' -v t="$t" -v e="$execs" -v s="$secs" -v f="$found" -v d="$now" '
    NR == 1 { print; next }
    $1 == t { $2 += e; $3 += s; $4 += 1; $5 += f; $6 = d; seen = 1 }
    { print }
    END { if (!seen) print t, e, s, 1, f, d }' "$record" >"$record.new" && mv "$record.new" "$record"
}
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$corpora/$t"
  exe="$dir/fuzz/fuzz_$t" seeds=$t
  if [ "$t" = tls_certificate_mbedtls ]; then
    exe="$dir-mbedtls/fuzz/fuzz_tls_certificate" seeds=tls_certificate
  fi
  cp -rn fuzz/corpus/"$seeds"/. "$corpora/$t"/ 2>/dev/null
  dict=()
  [ -f "fuzz/dict/$seeds.dict" ] && dict=(-dict="fuzz/dict/$seeds.dict")
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       "${dict[@]}" -artifact_prefix="$work/$t-" "$corpora/$t" >"$work/$t.log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$t.log" | awk '{print $2}')
    echo "fuzz $t: ok (${execs:-0} runs)"
    [ $campaign -eq 1 ] && record_run "$t" "${execs:-0}" 0
    ok=$((ok + 1))
  else
    echo "fuzz $t: FAILED"
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$t.log" | awk '{print $2}')
    [ $campaign -eq 1 ] && record_run "$t" "${execs:-0}" 1
    tail -40 "$work/$t.log"
    mkdir -p fuzz-crashes && cp "$work/$t"-* fuzz-crashes/ 2>/dev/null
    bad=$((bad + 1))
  fi
done
echo "fuzzers: $ok passed, $bad failed"
[ $bad -eq 0 ]
