#!/usr/bin/env bash
# Regenerates the recorded fuzz seeds from real runs, in a null-crypto build (the packet
# protection the fuzz build can open):
#   - the simulator suite (tests/sim) with NETSIM_RECORD_CORPUS: each test program's first
#     pair runs give the client's first datagrams as fuzz/corpus/quic_server/sim-*.bin;
#   - each whole-role target's generator (-DQUINCE_FUZZ_GEN): a real peer against the role's
#     own configuration and random stream, so that handshakes in the seeds complete
#     (quic_server, quic_client, tls_server, wt_client);
#   - tests/wt/test_echo with WT_RECORD_CORPUS (wt_server).
# Seeds are named by content where they come from the simulator; the others keep their
# names (same run, same bytes). Usage: scripts/fuzz_corpus.sh  (QUINCE_CORPUS_BUILD names
# the build directory, default build-corpus). Commit the changes it shows.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${QUINCE_CORPUS_BUILD:-build-corpus}
if [ ! -d "$dir" ]; then
  meson setup "$dir" -Dcrypto=null -Dinterop=disabled >/dev/null
fi
meson compile -C "$dir" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gen() { # target, extra objects...
  local t=$1
  shift
  cc -std=c11 -O1 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DQUINCE_FUZZ_GEN \
    -I. -Ifuzz -I"$dir" "fuzz/fuzz_$t.c" "$@" "$dir/libquince_internal.a" -lm -o "$work/gen_$t"
  mkdir -p "fuzz/corpus/$t"
  "$work/gen_$t" "fuzz/corpus/$t"
}
gen quic_server
gen quic_client
gen tls_server
gen wt_client "$dir/apps/libwt_echo.a"

mkdir -p "$work/sim"
# In a null-crypto build the simulator programs are suite corpus (some of their checks
# need real cryptography and fail there: only their packets matter here).
NETSIM_RECORD_CORPUS="$work/sim" meson test -C "$dir" --suite corpus >/dev/null || true
n=0
for f in "$work"/sim/client-*.bin; do
  [ -s "$f" ] || continue
  cp "$f" "fuzz/corpus/quic_server/sim-$(sha1sum "$f" | cut -c1-12).bin"
  n=$((n + 1))
done
echo "quic_server: $n seeds from simulator runs"

if meson test -C "$dir" --list 2>/dev/null | grep -q "wt/echo"; then
  WT_RECORD_CORPUS="$PWD/fuzz/corpus/wt_server" meson test -C "$dir" wt/echo >/dev/null
fi
git status --short fuzz/corpus
