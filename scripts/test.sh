#!/usr/bin/env bash
# Runs every test suite (unit, vectors, sim, interop, consumer, fuzz) twice: in a
# normal build with -Werror, then under ASan+UBSan. Both builds hold the mbedTLS and
# OpenSSL backends: the normal build runs unit, vectors, sim and interop once more with
# OpenSSL as the default backend, the ASan build unit and vectors. Prints "N passed, N
# failed" last.
# Suite consumer installs each build into a temporary prefix and builds programs
# against it from outside the tree (tests/consumer/consumer.py).
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

status=0
passed=0
failed=0
count() { # dir, log: add its results to the totals
  local p f
  p=$(grep -c '"result": "OK"' "$1/meson-logs/$2" || true)
  f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$1/meson-logs/$2" || true)
  passed=$((passed + p))
  failed=$((failed + f))
}
# QUINCE_SUITES="a b": only those suites; QUINCE_NO_SUITES="c": not those.
# QUINCE_OPENSSL_SUITES="a b": those suites once more with OpenSSL as the default backend.
# QUINCE_TIMEOUT_X=N: time bounds N times longer (emulated targets).
run_build() { # dir, meson options...
  local dir=$1 suites=() s
  shift
  if [ ! -d "$dir" ]; then
    meson setup "$dir" "$@" || return 1
  else
    meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
  fi
  meson compile -C "$dir" || return 1
  for s in ${QUINCE_SUITES:-}; do suites+=(--suite "$s"); done
  for s in ${QUINCE_NO_SUITES:-}; do suites+=(--no-suite "$s"); done
  meson test -C "$dir" --print-errorlogs --num-processes 2 \
    --timeout-multiplier "${QUINCE_TIMEOUT_X:-1}" "${suites[@]}" || status=1
  count "$dir" testlog.json
  if [ -n "${QUINCE_OPENSSL_SUITES:-}" ]; then
    local again=()
    for s in $QUINCE_OPENSSL_SUITES; do again+=(--suite "$s"); done
    meson test -C "$dir" --setup openssl "${again[@]}" --print-errorlogs --num-processes 2 || status=1
    count "$dir" testlog-openssl.json
  fi
}

QUINCE_OPENSSL_SUITES="unit vectors sim interop" run_build build-ci -Dwerror=true \
  -Dinterop=enabled -Dcrypto=mbedtls,openssl || { status=1; failed=$((failed + 1)); }
# 32-bit little-endian (i386, runs natively) and 64-bit big-endian (s390x,
# under qemu-user) cross builds, tests without real peers (cross/*.txt).
# qemu-user does not translate the socket control messages (PKTINFO, ECN,
# GSO) that suite io's socket tests check, so s390x leaves those out.
QUINCE_SUITES="unit vectors sim" run_build build-i386 --cross-file cross/i686-linux-gnu.txt \
  -Dwerror=true -Dinterop=disabled || { status=1; failed=$((failed + 1)); }
QUINCE_TIMEOUT_X=5 QUINCE_SUITES="unit vectors" QUINCE_NO_SUITES=io run_build build-s390x --cross-file cross/s390x-linux-gnu.txt \
  -Dwerror=true -Dinterop=disabled || { status=1; failed=$((failed + 1)); }
# The build options (README "Build options"): each configuration of a small
# matrix builds with -Werror and runs the unit, vector and corpus-replay tests
# of what it has (without optimisation, to compile quickly; io/ needs every
# feature, so it and the tests of the binding, interop and apps are left out).
for opt in "client-only -Dserver=false" "server-only -Dclient=false" \
  "no-h3 -Dh3=false -Dwebtransport=false" "no-wt -Dwebtransport=false" \
  "no-cubic -Dcubic=false"; do
  set -- $opt
  name=$1
  shift
  QUINCE_SUITES="unit vectors fuzz" run_build "build-opt-$name" -Dwerror=true -Dbuildtype=plain \
    -Dio=disabled -Dtests=enabled -Dinterop=disabled "$@" || { status=1; failed=$((failed + 1)); }
done
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
QUINCE_OPENSSL_SUITES="unit vectors" run_build build-asan -Dwerror=true -Dinterop=enabled \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug -Dcrypto=mbedtls,openssl ||
  { status=1; failed=$((failed + 1)); }

# Every fuzz target also runs briefly as a real libFuzzer fuzzer (clang, null crypto).
if out=$(./scripts/fuzz.sh "${QUINCE_FUZZ_SECONDS:-10}" 2>&1); then :; else status=1; fi
echo "$out"
fp=$(echo "$out" | sed -n 's/^fuzzers: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
ff=$(echo "$out" | sed -n 's/^fuzzers: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
passed=$((passed + ${fp:-0}))
failed=$((failed + ${ff:-1}))

echo "$passed passed, $failed failed"
exit $status
