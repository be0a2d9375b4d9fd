#!/bin/sh
# bench/memory: run bench-memory and fail when an idle established connection or
# an empty server endpoint holds more heap than its budget (bench/README.md
# "Memory per connection"). The heap is counted, not timed: the same build gives
# the same bytes on every run.
set -u
bin=$1
# The budgets are for the mbedTLS backend, whose allocations go through the
# counted heap (issue 14); an OpenSSL build is measured, not budgeted, so the
# `--setup openssl` run (QUINCE_CRYPTO=openssl) measures mbedTLS here too.
QUINCE_CRYPTO=mbedtls
export QUINCE_CRYPTO
out=$(${MESON_EXE_WRAPPER:-} "$bin" 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
    echo "FAIL: $bin exited $rc"
    exit 1
fi
status=0
# budget ROW BYTES
budget() {
    v=$(printf '%s\n' "$out" | awk -v r="$1" '$1 == r && $3 == "bytes" { print $2 }')
    if [ -z "$v" ]; then
        echo "FAIL: no row $1"
        status=1
    elif [ "$v" -gt "$2" ]; then
        echo "FAIL: $1 is $v bytes, over its budget of $2"
        status=1
    else
        echo "ok: $1 $v <= $2"
    fi
}
budget mem.quic.client.idle 16384
budget mem.quic.server.idle 16384
budget mem.h3.client.idle 24576
budget mem.h3.server.idle 24576
budget mem.quic.endpoint.empty 16384
budget mem.h3.endpoint.empty 16384
exit $status
