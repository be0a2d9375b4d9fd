#!/bin/sh
# bench/smoke: run each benchmark with --quick and check it exits 0 and prints its rows.
# Arguments: the bench-crypto, bench-handshake and bench-wire executables, and
# bench-peer-openssl when it was built.
set -u
status=0

# check BINARY ROW...: every ROW must appear as a line "ROW <number> <unit>..."
check() {
    bin=$1
    shift
    # MESON_EXE_WRAPPER: qemu-user in a cross build (unquoted: a command and its arguments)
    out=$(${MESON_EXE_WRAPPER:-} "$bin" --quick 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL: $bin --quick exited $rc"
        echo "$out"
        status=1
        return
    fi
    for row in "$@"; do
        if ! printf '%s\n' "$out" | awk -v r="$row" '$1 == r && $2 ~ /^[0-9][0-9.]*$/ { f = 1 } END { exit !f }'; then
            echo "FAIL: $bin: no row $row"
            status=1
        fi
    done
    echo "ok: $bin ($(printf '%s\n' "$out" | grep -vc '^#') rows)"
}

check "$1" \
    aead.aes-128-gcm.seal.1200 aead.aes-128-gcm.open.1200 aead.aes-256-gcm.seal.16384 \
    aead.chacha20-poly1305.open.16384 pp.aes-128-gcm.protect.1200 \
    pp.chacha20-poly1305.unprotect.1200 hp.aes-128-gcm.mask pp.initial_secrets pp.initial_keys \
    kex.x25519.keygen kex.x25519.derive kex.p256.keygen+derive sig.ecdsa-p256.sign \
    sig.ecdsa-p256.verify sig.rsa2048-pss.sign sig.rsa2048-pss.verify \
    mem.crypto_pp.aes-128-gcm.env mem.crypto_kex.x25519.env hs.server.packets hs.server.primitives
check "$2" \
    hs.x25519.ecdsa-p256.client_cpu hs.x25519.ecdsa-p256.server_cpu hs.p256.ecdsa-p256.total_cpu \
    hs.x25519.rsa2048.server_cpu hs.p256.rsa2048.client_cpu hs.x25519.ecdsa-p256.bytes.server \
    mem.hs.x25519.ecdsa-p256.client.env_peak mem.hs.x25519.ecdsa-p256.server.env_peak
check "$3" \
    frame.stream.encode.1150 frame.stream.decode.1150 frame.ack.200.encode frame.ack.200.decode \
    frame.ack.64.decode+walk frame.max_stream_data.decode.packet stream_buf.inorder.1M \
    stream_buf.shuffled32+dup.1M mem.stream_buf.64k.inorder h3.reader.data16k.pieces1150.1M \
    h3.reader.headers200.pieces1150.x1024
if [ $# -ge 4 ]; then
    check "$4" \
        peer.aead.aes-128-gcm.seal.1200 peer.aead.chacha20-poly1305.open.1200 \
        peer.hs.x25519.ecdsa-p256.client_cpu peer.hs.p256.rsa2048.server_cpu \
        peer.hs.x25519.ecdsa-p256.bytes.server
fi
exit $status
