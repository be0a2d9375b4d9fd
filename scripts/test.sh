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
run_build() { # dir, suites to run again with OpenSSL, meson options...
  local dir=$1 again=$2
  shift 2
  if [ ! -d "$dir" ]; then
    meson setup "$dir" "$@" || return 1
  else
    meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
  fi
  meson compile -C "$dir" || return 1
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  count "$dir" testlog.json
  local args=()
  for s in $again; do args+=(--suite "$s"); done
  meson test -C "$dir" --setup openssl "${args[@]}" --print-errorlogs --num-processes 2 || status=1
  count "$dir" testlog-openssl.json
}

run_build build-ci "unit vectors sim interop" -Dwerror=true -Dinterop=enabled \
  -Dcrypto=mbedtls,openssl || { status=1; failed=$((failed + 1)); }
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
run_build build-asan "unit vectors" -Dwerror=true -Dinterop=enabled -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbuildtype=debug -Dcrypto=mbedtls,openssl || { status=1; failed=$((failed + 1)); }

# Every fuzz target also runs briefly as a real libFuzzer fuzzer (clang, null crypto).
if out=$(./scripts/fuzz.sh "${QUINCE_FUZZ_SECONDS:-10}" 2>&1); then :; else status=1; fi
echo "$out"
fp=$(echo "$out" | sed -n 's/^fuzzers: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
ff=$(echo "$out" | sed -n 's/^fuzzers: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
passed=$((passed + ${fp:-0}))
failed=$((failed + ${ff:-1}))

echo "$passed passed, $failed failed"
exit $status
