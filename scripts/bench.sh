#!/usr/bin/env bash
# Benchmarks Quince against OpenSSL on this machine and prints one table.
#
#   scripts/bench.sh [--seconds S] [--quick] [--no-callgrind] [--build DIR] [--transfer]
#
# Builds a release build (default build-bench), runs bench-crypto,
# bench-handshake, bench-wire and bench-peer-openssl (OpenSSL in-process, same
# harness and certificates), then `openssl speed` for the primitives, and
# (if valgrind is installed) callgrind instruction counts for one handshake per
# side. Raw outputs and the table go to DIR/bench-results/. About 2 minutes
# with the default S=0.5 (S = CPU seconds per timed row; `openssl speed` runs
# for ceil(S) s per figure). See bench/README.md.
# --transfer (or QUINCE_BENCH_TRANSFER=1): afterwards, bench/transfer.sh (HTTP/3
# downloads and handshakes over loopback against ngtcp2; about 3-5 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-bench
secs=0.5
quick=0
callgrind=1
transfer=${QUINCE_BENCH_TRANSFER:-0}
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) secs=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-callgrind) callgrind=0; shift ;;
    --build) build=$2; shift 2 ;;
    --transfer) transfer=1; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

log() { echo "bench.sh: $*" >&2; }

# ---- Build ----
if [ ! -d "$build" ]; then
    meson setup "$build" -Dbuildtype=release >/dev/null
elif ! meson introspect "$build" --buildoptions 2>/dev/null |
    python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; sys.exit(o["buildtype"]!="release" or o["b_sanitize"]!="none")'; then
    meson configure "$build" -Dbuildtype=release -Db_sanitize=none >/dev/null
fi
targets=(bench-crypto bench-handshake bench-wire)
have_peer=0
if meson introspect "$build" --targets | grep -q '"bench-peer-openssl"'; then
    targets+=(bench-peer-openssl)
    have_peer=1
else
    log "libssl-dev not found: no in-process OpenSSL rows (apt-get install libssl-dev)"
fi
meson compile -C "$build" "${targets[@]}" >/dev/null

out=$build/bench-results
mkdir -p "$out"
bin=$build/bench
if [ "$quick" = 1 ]; then
    args=(--quick)
    isecs=1
else
    args=(--seconds "$secs")
    isecs=$(python3 -c "import math; print(max(1, math.ceil($secs)))")
fi

# ---- Quince ----
for b in crypto handshake wire; do
    log "running bench-$b"
    "$bin/bench-$b" "${args[@]}" >"$out/$b.txt"
done
if [ "$have_peer" = 1 ]; then
    log "running bench-peer-openssl"
    "$bin/bench-peer-openssl" "${args[@]}" >"$out/peer.txt"
else
    : >"$out/peer.txt"
fi

# ---- openssl speed ----
: >"$out/openssl-speed.txt"
if command -v openssl >/dev/null; then
    log "running openssl speed ($(openssl version))"
    for alg in aes-128-gcm aes-256-gcm chacha20-poly1305; do
        for size in 1200 16384; do
            for dir in seal open; do
                extra=()
                [ "$dir" = open ] && extra=(-decrypt)
                v=$(openssl speed -mr -seconds "$isecs" -aead "${extra[@]}" -evp "$alg" \
                    -bytes "$size" 2>/dev/null | awk -F: '$1 == "+F" { print $4 }')
                echo "speed.$alg.$dir.$size ${v:-NA}" >>"$out/openssl-speed.txt"
            done
        done
    done
    openssl speed -mr -seconds "$isecs" ecdhx25519 ecdhp256 ecdsap256 rsa2048 2>/dev/null |
        awk -F: '
            $1 == "+F5" && $3 == 253 { print "speed.x25519.derive", $4 }
            $1 == "+F5" && $3 == 256 { print "speed.p256.derive", $4 }
            $1 == "+F4" && $3 == 256 { print "speed.ecdsa-p256.sign", $4; print "speed.ecdsa-p256.verify", $5 }
            $1 == "+F2" && $3 == 2048 { print "speed.rsa2048.sign", $4; print "speed.rsa2048.verify", $5 }
        ' >>"$out/openssl-speed.txt"
else
    log "openssl not found: no openssl speed rows"
fi

# ---- callgrind: instructions per handshake and side ----
: >"$out/callgrind.txt"
if [ "$callgrind" = 1 ] && command -v valgrind >/dev/null; then
    log "running callgrind (one handshake configuration, each side)"
    n=8 # the benches run 2 warm-up handshakes before the N counted ones
    cg() { # name, binary, function, only
        local f=$out/callgrind.$1.out
        valgrind --tool=callgrind --callgrind-out-file="$f" --collect-atstart=no \
            --toggle-collect="$3" "$2" --only "$4" --handshakes $n >/dev/null 2>"$out/callgrind.$1.log"
        awk -v k="$1" -v hs=$((n + 2)) '$1 == "summary:" { printf "%s %.0f\n", k, $2 / hs }' "$f" \
            >>"$out/callgrind.txt"
    }
    cg quince.client "$bin/bench-handshake" bench_client_op hs.x25519.ecdsa-p256
    cg quince.server "$bin/bench-handshake" bench_server_op hs.x25519.ecdsa-p256
    if [ "$have_peer" = 1 ]; then
        cg openssl.client "$bin/bench-peer-openssl" bench_peer_client_op peer.hs.x25519.ecdsa-p256
        cg openssl.server "$bin/bench-peer-openssl" bench_peer_server_op peer.hs.x25519.ecdsa-p256
    fi
fi

# ---- The table ----
# field FILE NAME COL: column COL of the row NAME (timed rows: 2 ns/op, 4 op/s, 6 MB/s).
field() { awk -v n="$2" -v c="$3" '$1 == n { print $c; exit }' "$1"; }
# row LABEL QUINCE OPENSSL KIND: KIND "rate" (bigger is better: ratio = O/Q) or
# "cost" (smaller is better: ratio = Q/O). The ratio is always how many times
# more Quince pays than OpenSSL.
table=$out/table.md
row() {
    python3 - "$@" <<'EOF' >>"$table"
import sys
label, q, o, kind = sys.argv[1:5]
def num(s):
    try:
        return float(s)
    except ValueError:
        return None
def fmt(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"
qv, ov = num(q), num(o)
ratio = "n/a"
if qv and ov:
    ratio = f"{(ov / qv if kind == 'rate' else qv / ov):.2f}x"
print(f"| {label} | {fmt(qv)} | {fmt(ov)} | {ratio} |")
EOF
}
C=$out/crypto.txt H=$out/handshake.txt P=$out/peer.txt S=$out/openssl-speed.txt G=$out/callgrind.txt
mb() { awk -v n="$2" '$1 == n && $2 != "NA" { printf "%.1f", $2 / 1e6; exit }' "$1"; }
inv() { awk -v n="$2" '$1 == n { printf "%.1f", 1e9 / $2; exit }' "$1"; } # ns/op -> op/s

{
    echo "Quince vs OpenSSL on $(uname -m), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC');" \
        "$(openssl version 2>/dev/null || echo 'no openssl'); $secs s per row"
    echo
    echo "| operation | Quince (mbedTLS 2.28) | OpenSSL | Quince cost / OpenSSL cost |"
    echo "| --- | ---: | ---: | ---: |"
} >"$table"
for alg in aes-128-gcm aes-256-gcm chacha20-poly1305; do
    for size in 1200 16384; do
        for dir in seal open; do
            row "$alg $dir $size B, MB/s (openssl speed -aead)" \
                "$(field "$C" "aead.$alg.$dir.$size" 6)" "$(mb "$S" "speed.$alg.$dir.$size")" rate
        done
    done
    for dir in seal open; do
        row "$alg $dir 1200 B, MB/s (EVP in-process, same loop)" \
            "$(field "$C" "aead.$alg.$dir.1200" 6)" "$(field "$P" "peer.aead.$alg.$dir.1200" 6)" rate
    done
done
row "X25519 shared secret, op/s" "$(field "$C" kex.x25519.derive 4)" "$(field "$S" speed.x25519.derive 2)" rate
row "P-256 ECDH shared secret, op/s" "$(field "$C" kex.p256.derive 4)" "$(field "$S" speed.p256.derive 2)" rate
row "X25519 key share generation, op/s (EVP in-process)" "$(field "$C" kex.x25519.keygen 4)" "$(field "$P" peer.kex.x25519.keygen 4)" rate
row "X25519 key share + shared secret, op/s (EVP in-process)" "$(field "$C" kex.x25519.keygen+derive 4)" "$(field "$P" peer.kex.x25519.keygen+derive 4)" rate
row "P-256 key share generation, op/s (EVP in-process)" "$(field "$C" kex.p256.keygen 4)" "$(field "$P" peer.kex.p256.keygen 4)" rate
row "P-256 key share + shared secret, op/s (EVP in-process)" "$(field "$C" kex.p256.keygen+derive 4)" "$(field "$P" peer.kex.p256.keygen+derive 4)" rate
row "ECDSA P-256 sign, op/s" "$(field "$C" sig.ecdsa-p256.sign 4)" "$(field "$S" speed.ecdsa-p256.sign 2)" rate
row "ECDSA P-256 verify, op/s" "$(field "$C" sig.ecdsa-p256.verify 4)" "$(field "$S" speed.ecdsa-p256.verify 2)" rate
row "RSA-2048 sign (Quince PSS, speed PKCS#1), op/s" "$(field "$C" sig.rsa2048-pss.sign 4)" "$(field "$S" speed.rsa2048.sign 2)" rate
row "RSA-2048 verify, op/s" "$(field "$C" sig.rsa2048-pss.verify 4)" "$(field "$S" speed.rsa2048.verify 2)" rate
for cfg in x25519.ecdsa-p256 p256.ecdsa-p256 x25519.rsa2048 p256.rsa2048; do
    for side in client server; do
        row "handshake $cfg, $side CPU, handshakes/s per core" \
            "$(inv "$H" "hs.$cfg.${side}_cpu")" "$(inv "$P" "peer.hs.$cfg.${side}_cpu")" rate
    done
done
for cfg in x25519.ecdsa-p256 x25519.rsa2048; do
    for side in client server; do
        row "handshake $cfg, bytes sent by the $side" \
            "$(field "$H" "hs.$cfg.bytes.$side" 2)" "$(field "$P" "peer.hs.$cfg.bytes.$side" 2)" cost
    done
done
for side in client server; do
    row "handshake x25519.ecdsa-p256, $side heap peak, bytes" \
        "$(field "$H" "mem.hs.x25519.ecdsa-p256.$side.heap_peak" 2)" \
        "$(field "$P" "mem.peer.hs.x25519.ecdsa-p256.$side.heap_peak" 2)" cost
    row "handshake x25519.ecdsa-p256, $side malloc calls" \
        "$(field "$H" "mem.hs.x25519.ecdsa-p256.$side.heap_allocs" 2)" \
        "$(field "$P" "mem.peer.hs.x25519.ecdsa-p256.$side.heap_allocs" 2)" cost
done
if [ -s "$G" ]; then
    for side in client server; do
        row "handshake x25519.ecdsa-p256, $side instructions (callgrind)" \
            "$(field "$G" "quince.$side" 2)" "$(field "$G" "openssl.$side" 2)" cost
    done
fi
cat "$table"
log "raw results in $out/"

# ---- Loopback transfers and handshakes against ngtcp2 (slow: opt-in) ----
if [ "$transfer" = 1 ]; then
    log "running bench/transfer.sh"
    bench/transfer.sh --build "$build"
fi
