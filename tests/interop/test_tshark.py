#!/usr/bin/env python3
"""Wireshark reads a real quince-client <-> quince-server exchange in full.

usage: test_tshark.py SERVER CLIENT VARIANT   (VARIANT: plain, key-update, chacha20, retry)

quince-server (--no-gso, so that the capture sees each datagram alone rather
than one GSO train) serves a temporary root on 127.0.0.1 on an ephemeral port;
`tshark -i lo -f "udp port P" -w FILE` captures while quince-client
(--keylog KEYLOG, plus --key-update / --chacha20, or the server with --retry)
downloads a 1 MB file and a 1-byte file byte-exact. Then
`tshark -r FILE -o tls.keylog_file:KEYLOG -d udp.port==P,quic -T json
--no-duplicate-keys` is parsed and the test asserts:
  - every UDP datagram on the port was dissected as QUIC;
  - every QUIC packet decrypted: it has frames, no quic.remaining_payload
    (the undecrypted rest) and no quic.decryption_failed (Retry packets,
    which carry no frames, excepted);
  - no frame of unknown type (quic.ft.unknown), nothing malformed
    (_ws.malformed), no expert info of severity warning or error (notes, such
    as "reused stream offset" for a retransmission, are printed only);
  - these frame types appear: PADDING, ACK, CRYPTO, STREAM, NEW_CONNECTION_ID,
    HANDSHAKE_DONE, CONNECTION_CLOSE; and the TLS messages ClientHello,
    ServerHello, EncryptedExtensions, Certificate, CertificateVerify, Finished;
  - key-update: 1-RTT packets with key phase 0 and with key phase 1 (all
    decrypted) from the client and from the server (which must answer the
    update, RFC 9001 §6.2); chacha20: the ServerHello picked TLS_CHACHA20_POLY1305_SHA256;
    retry: a Retry packet, then an Initial carrying its token.
  - plain also re-reads the capture with an empty key log and requires the
    same checks to report undecrypted packets (the checks are not vacuous).
Processes are killed and the temporary directory removed on any exit; the
whole run is bounded by an alarm and tshark by -a duration.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

LIMIT_S = 120
PI_WARN = 0x00600000  # epan/proto.h: PI_CHAT 0x00200000, PI_NOTE 0x00400000, PI_ERROR 0x00800000
EXPECTED_FRAMES = {
    "PADDING": {0x00},
    "ACK": {0x02, 0x03},
    "CRYPTO": {0x06},
    "STREAM": set(range(0x08, 0x10)),
    "NEW_CONNECTION_ID": {0x18},
    "HANDSHAKE_DONE": {0x1E},
    "CONNECTION_CLOSE": {0x1C, 0x1D},
}
EXPECTED_TLS = {1: "ClientHello", 2: "ServerHello", 8: "EncryptedExtensions", 11: "Certificate",
                15: "CertificateVerify", 20: "Finished"}


class Failure(Exception):
    pass


def as_list(v):
    return v if isinstance(v, list) else [v]


def collect(o, key, out):
    """Every value of key anywhere under o."""
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key:
                out.extend(as_list(v))
            collect(v, key, out)
    elif isinstance(o, list):
        for v in o:
            collect(v, key, out)
    return out


def has_key(o, key):
    return len(collect(o, key, [])) > 0


def analyse(frames, port):
    """Problems found in the dissection, and what was seen."""
    problems = []
    seen = {"frame_types": set(), "tls": set(), "key_phase": set(), "suites": set(),
            "long_types": [], "token_lengths": [], "notes": []}
    for f in frames:
        layers = f["_source"]["layers"]
        num = layers.get("frame", {}).get("frame.number", "?")
        if "quic" not in layers:
            problems.append("frame %s: not dissected as QUIC" % num)
            continue
        for bad in ("_ws.malformed", "quic.ft.unknown", "quic.decryption_failed",
                    "quic.connection.unknown"):
            if has_key(layers, bad):
                msgs = collect(layers, "_ws.expert.message", [])
                problems.append("frame %s: %s %s" % (num, bad, msgs[:2]))
        # Expert infos: warnings and errors fail; notes and chats (such as
        # "reused stream offset" for a retransmission) are counted only.
        for e in collect(layers, "_ws.expert", []):
            if not isinstance(e, dict):
                continue
            sev = int(e.get("_ws.expert.severity", "0"))
            msg = e.get("_ws.expert.message", "?")
            if sev >= PI_WARN:
                problems.append("frame %s: expert %s: %s" % (num, hex(sev), msg))
            else:
                seen["notes"].append(msg)
        for pkt in as_list(layers["quic"]):
            lt = collect(pkt, "quic.long.packet_type", [])
            seen["long_types"].extend(int(x) for x in lt)
            seen["token_lengths"].extend(int(x) for x in collect(pkt, "quic.token_length", []))
            if lt and int(lt[0]) == 3:
                continue  # Retry: no frames
            if has_key(pkt, "quic.remaining_payload") or not has_key(pkt, "quic.frame"):
                problems.append("frame %s: a QUIC packet did not decrypt" % num)
            seen["frame_types"].update(int(x) for x in collect(pkt, "quic.frame_type", []))
            sport = layers.get("udp", {}).get("udp.srcport")
            who = "server" if sport == str(port) else "client"
            seen["key_phase"].update(who + ":" + x for x in collect(pkt, "quic.key_phase", []))
        seen["tls"].update(int(x) for x in collect(layers, "tls.handshake.type", []))
        seen["suites"].update(collect(layers, "tls.handshake.ciphersuite", []))
    return problems, seen


class Run:
    def __init__(self, server, client):
        self.server, self.client = server, client
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="quince-tshark-")

    def spawn(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("plain", "key-update", "chacha20", "retry"):
        print(__doc__, file=sys.stderr)
        return 2
    variant = sys.argv[3]
    r = Run(sys.argv[1], sys.argv[2])

    def on_alarm(signum, frame):
        raise Failure("time limit (%d s) reached" % LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(1))
    signal.alarm(LIMIT_S)
    try:
        check_variant(r, variant)
    except Failure as e:
        print("FAIL tshark/%s: %s" % (variant, e))
        return 1
    finally:
        signal.alarm(0)
        r.cleanup()
    print("ok tshark/%s" % variant)
    return 0


def check_variant(r, variant):
    tshark = shutil.which("tshark")
    if tshark is None:
        raise Failure("tshark is not installed (scripts/setup.sh installs it)")
    root = os.path.join(r.tmp, "root")
    out = os.path.join(r.tmp, "out")
    os.mkdir(root)
    os.mkdir(out)
    data = {"1mb": os.urandom(1_000_000), "one": os.urandom(1)}
    for name, body in data.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(body)
    keylog = os.path.join(r.tmp, "keylog")
    cap = os.path.join(r.tmp, "cap.pcapng")

    sargs = [r.server, "--listen", "127.0.0.1:0", "--root", root, "--no-gso", "--timeout", "100",
             "--alpn", "hq-interop"]
    if variant == "retry":
        sargs.append("--retry")
    srv = r.spawn(sargs, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    port = None
    while port is None:
        line = srv.stdout.readline().decode()
        if not line:
            raise Failure("the server did not start")
        m = re.match(r"listening on [0-9.]+:(\d+)$", line.strip())
        if m:
            port = int(m.group(1))

    # tshark says "Capturing on" before packets are really seen (later still
    # under meson's MALLOC_PERTURB_), so probes to a second port are sent until
    # the capture file grows: from then on nothing of the exchange is missed.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe_port = probe.getsockname()[1]
    env = dict(os.environ)
    env.pop("MALLOC_PERTURB_", None)
    terr = os.path.join(r.tmp, "tshark.err")
    with open(terr, "wb") as te:
        ts = r.spawn([tshark, "-i", "lo", "-f", "udp port %d or udp port %d" % (port, probe_port),
                      "-a", "duration:60", "-w", cap], stdout=subprocess.DEVNULL, stderr=te, env=env)
    deadline = time.monotonic() + 20
    size0 = None
    while True:
        if ts.poll() is not None or time.monotonic() > deadline:
            with open(terr, "rb") as te:
                text = te.read().decode(errors="replace")
            raise Failure("tshark could not capture on lo (root needed):\n" + text)
        if os.path.exists(cap):
            size = os.path.getsize(cap)
            if size0 is None and size > 0:
                size0 = size
            elif size0 is not None and size > size0:
                break
        probe.sendto(b"probe", ("127.0.0.1", probe_port))
        time.sleep(0.1)

    cargs = [r.client, "--insecure", "--alpn", "hq-interop", "--no-gso", "--keylog", keylog,
             "--output", out,
             "--timeout", "30"]
    cargs += {"key-update": ["--key-update"], "chacha20": ["--chacha20"]}.get(variant, [])
    cargs += ["https://127.0.0.1:%d/%s" % (port, n) for n in data]
    cl = r.spawn(cargs, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = cl.communicate(timeout=40)
    if cl.returncode != 0:
        raise Failure("client status %d:\n%s" % (cl.returncode, err.decode(errors="replace")))
    for name, body in data.items():
        with open(os.path.join(out, name), "rb") as f:
            if f.read() != body:
                raise Failure("%s differs" % name)
    # The exchange's last packets (CONNECTION_CLOSE) went out before these
    # probes: once the capture file has grown past a probe, they are in it too.
    # Under load a fixed sleep was not always enough.
    size_end = os.path.getsize(cap)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        probe.sendto(b"probe", ("127.0.0.1", probe_port))
        time.sleep(0.2)
        if os.path.getsize(cap) > size_end:
            size_end = os.path.getsize(cap)
            probe.sendto(b"probe", ("127.0.0.1", probe_port))
            time.sleep(0.5)
            if os.path.getsize(cap) > size_end:
                break
    probe.close()
    ts.send_signal(signal.SIGINT)
    ts.wait(timeout=20)
    srv.send_signal(signal.SIGTERM)
    if srv.wait(timeout=10) != 0:
        raise Failure("the server did not exit cleanly")

    def dissect(kl):
        p = subprocess.run([tshark, "-r", cap, "-o", "tls.keylog_file:" + kl,
                            "-d", "udp.port==%d,quic" % port, "-Y", "udp.port==%d" % port,
                            "-T", "json",
                            "--no-duplicate-keys"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=env)
        if p.returncode != 0:
            raise Failure("tshark -r failed: " + p.stderr.decode(errors="replace"))
        return json.loads(p.stdout)

    frames = dissect(keylog)
    problems, seen = analyse(frames, port)
    print("tshark/%s: %d datagrams; frame types %s; TLS messages %s; key phases %s; notes %s" %
          (variant, len(frames), sorted(hex(x) for x in seen["frame_types"]),
           sorted(seen["tls"]), sorted(seen["key_phase"]), seen["notes"][:5]))
    first = frames[0]["_source"]["layers"].get("quic", {})
    if collect(first, "quic.long.packet_type", [])[:1] != ["0"]:
        raise Failure("the capture does not begin with the client's Initial")
    # 1 MB in datagrams of up to 1500 bytes (the PMTU that loopback lets DPLPMTUD reach).
    if len(frames) < 650:
        raise Failure("only %d datagrams captured for a 1 MB transfer" % len(frames))
    if problems:
        raise Failure("%d problems, first: %s" % (len(problems), "; ".join(problems[:5])))
    for name, types in EXPECTED_FRAMES.items():
        if not seen["frame_types"] & types:
            raise Failure("no %s frame seen" % name)
    for t, name in EXPECTED_TLS.items():
        if t not in seen["tls"]:
            raise Failure("no %s seen" % name)
    # The server must answer our key update with its own (RFC 9001 §6.2).
    if variant == "key-update" and not {"client:0", "client:1", "server:0", "server:1"} <= \
            seen["key_phase"]:
        raise Failure("key phases seen: %s" % sorted(seen["key_phase"]))
    if variant == "chacha20" and seen["suites"] != {"0x1303"}:
        raise Failure("cipher suites seen: %s" % sorted(seen["suites"]))
    if variant == "retry":
        lt = seen["long_types"]
        if 3 not in lt:
            raise Failure("no Retry packet")
        if not any(x > 0 for x in seen["token_lengths"]):
            raise Failure("no Initial carried the Retry token")
    if variant == "plain":
        empty = os.path.join(r.tmp, "empty-keylog")
        open(empty, "wb").close()
        bad, _ = analyse(dissect(empty), port)
        if not any("did not decrypt" in p for p in bad):
            raise Failure("without keys the checks found nothing: they are vacuous")


if __name__ == "__main__":
    sys.exit(main())
