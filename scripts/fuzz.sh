#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, null crypto by default, ASan+UBSan; mbedTLS and OpenSSL
# too, for the differential target crypto_diff) and runs each
# for SECONDS (default 60) starting from a copy of its seed corpus.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#        scripts/fuzz.sh --campaign SECONDS [TARGET...]
# A campaign keeps each target's corpus between runs (in $QUINCE_FUZZ_WORK,
# default build-fuzz/campaign; point it outside the build directory to carry
# corpora across sessions) and adds the run to fuzz/executions.tsv, which is
# kept in the repository so that the cumulative count per target is visible
# (commit it after a campaign): executions, wall and CPU seconds, runs and
# findings are summed; the date and the commit are the last run's. With
# QUINCE_FUZZ_RUNS=N a run also stops after N executions (libFuzzer -runs).
# Each run prints its executions per CPU second, the figure that does not
# depend on how loaded the machine is (run campaigns with nice -n 19).
# libFuzzer runs with -entropic=0: with the entropic schedule's bookkeeping
# (UpdateFeatureFrequency, 60% of a quic_server run with 14,000 features) the
# whole-connection targets ran 3x slower and found no more edges in as many
# executions. QUINCE_FUZZ_FLAGS adds or overrides libFuzzer flags.
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
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
header='target\texecutions\tseconds\tcpu_seconds\truns\tfindings\tlast_run_utc\tcommit'
# Add one run to fuzz/executions.tsv (columns as in $header). A file from before the
# cpu_seconds and commit columns is converted first (CPU time unknown: 0, commit "-").
record_run() {
  local t=$1 execs=$2 wall=$3 cpu=$4 found=$5 now
  now=$(date -u +%Y-%m-%dT%H:%MZ)
  [ -f "$record" ] || printf "$header\n" >"$record"
  if ! head -1 "$record" | grep -q cpu_seconds; then
    awk -F'\t' -v OFS='\t' -v h="$header" 'NR == 1 { print h; next } { print $1, $2, $3, 0, $4, $5, $6, "-" }' \
      "$record" | sed 's/\\t/\t/g' >"$record.new" && mv "$record.new" "$record"
  fi
  awk -F'\t' -v OFS='\t' -v t="$t" -v e="$execs" -v s="$wall" -v c="$cpu" -v f="$found" -v d="$now" \
    -v g="$commit" '
    NR == 1 { print; next }
    $1 == t { $2 += e; $3 += s; $4 += c; $5 += 1; $6 += f; $7 = d; $8 = g; seen = 1 }
    { print }
    END { if (!seen) print t, e, s, c, 1, f, d, g }' "$record" >"$record.new" && mv "$record.new" "$record"
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
  runs=(-entropic=0)
  [ -n "${QUINCE_FUZZ_RUNS:-}" ] && runs+=(-runs="$QUINCE_FUZZ_RUNS")
  # shellcheck disable=SC2206
  [ -n "${QUINCE_FUZZ_FLAGS:-}" ] && runs+=($QUINCE_FUZZ_FLAGS)
  # Wall and CPU seconds of the run, from the shell's own timer (no extra package).
  TIMEFORMAT='%R %U %S'
  if { time UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       "${runs[@]}" "${dict[@]}" -artifact_prefix="$work/$t-" "$corpora/$t" >"$work/$t.log" 2>&1; } \
       2>"$work/$t.time"; then
    status=ok
  else
    status=FAILED
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/$t.log" | awk '{print $2}')
  read -r wall usr sys <"$work/$t.time" || true
  times=$(awk -v e="${execs:-0}" -v w="${wall:-0}" -v u="${usr:-0}" -v s="${sys:-0}" 'BEGIN {
    c = u + s; r = 0; if (c > 0) r = e / c; printf "%d %.1f %d", w + 0.5, c, r }')
  read -r wall_s cpu_s per_cpu <<<"$times"
  # libFuzzer's -timeout is wall-clock time: a niced campaign on a loaded machine can
  # be starved past it by other processes. A timeout input that replays (once, alone)
  # in under the limit's CPU time is such a starvation, not a finding: it is kept in
  # fuzz-crashes/ and reported, and the run counts as ok. A crash, a leak, or a timeout
  # input that is slow on its own is a finding.
  if [ $status = FAILED ] && grep -q 'ERROR: libFuzzer: timeout' "$work/$t.log" &&
     ls "$work/$t"-timeout-* >/dev/null 2>&1; then
    slow=0
    for a in "$work/$t"-timeout-*; do
      { time "$exe" -runs=1 "$a" >/dev/null 2>&1; } 2>"$work/$t.replay"
      read -r _ ru rs <"$work/$t.replay" || true
      awk -v u="${ru:-99}" -v s="${rs:-0}" 'BEGIN { exit !(u + s < 10) }' || slow=1
      echo "fuzz $t: wall-clock timeout; $(basename "$a") replays in $(awk -v u="${ru:-0}" \
        -v s="${rs:-0}" 'BEGIN { printf "%.2f", u + s }') CPU s"
    done
    mkdir -p fuzz-crashes && cp "$work/$t"-timeout-* fuzz-crashes/ 2>/dev/null
    if [ $slow -eq 0 ]; then
      echo "fuzz $t: starved by load, not a finding (input kept in fuzz-crashes/)"
      status=ok
    fi
  fi
  # SIGINT to the fuzzer (an operator ending a campaign early) is not a finding:
  # libFuzzer prints its final statistics and exits; the executions count.
  if [ $status = FAILED ] && grep -q 'libFuzzer: run interrupted' "$work/$t.log"; then
    echo "fuzz $t: interrupted (SIGINT); its executions are recorded"
    status=ok
  fi
  if [ $status = ok ]; then
    echo "fuzz $t: ok (${execs:-0} runs, ${wall_s} s, ${cpu_s} CPU s, ${per_cpu}/CPU s)"
    [ $campaign -eq 1 ] && record_run "$t" "${execs:-0}" "$wall_s" "$cpu_s" 0
    ok=$((ok + 1))
  else
    echo "fuzz $t: FAILED"
    [ $campaign -eq 1 ] && record_run "$t" "${execs:-0}" "$wall_s" "$cpu_s" 1
    tail -40 "$work/$t.log"
    mkdir -p fuzz-crashes && cp "$work/$t"-* fuzz-crashes/ 2>/dev/null
    bad=$((bad + 1))
  fi
done
echo "fuzzers: $ok passed, $bad failed"
[ $bad -eq 0 ]
