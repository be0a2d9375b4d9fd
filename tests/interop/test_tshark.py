#!/usr/bin/env python3
"""Wireshark reads a real quince-client <-> quince-server exchange in full.

usage: test_tshark.py SERVER CLIENT VARIANT
       (VARIANT: plain, key-update, chacha20, retry, v2)

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
  - v2 (issue 10): the server runs with --quic-version v2, the client offers v1,v2 (its
    default): compatible version negotiation (RFC 9368) as Wireshark sees it: the
    client's first Initial is v1, every long-header packet of the server is v2, every
    client long-header packet after the server's first is v2 (its Handshake included),
    and everything decrypts (1-RTT with v2's keys, RFC 9369 §3.3).
  - plain also re-reads the capture with an empty key log and requires the
    same checks to report undecrypted packets (the checks are not vacuous).
Processes are killed and the temporary directory removed on any exit; the
whole run is bounded by an alarm and tshark by -a duration. A capture whose
statistics block counts dropped packets (a loaded machine) proves nothing
either way: the exchange is run again, at most three times.
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

from lo_capture import end_marker_captured

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


class CaptureLoss(Exception):
    """The kernel dropped packets before tshark saw them: the capture, not the
    exchange, is incomplete, so the run is repeated (at most ATTEMPTS times)."""


ATTEMPTS = 3


def capture_drops(path):
    """Packets the capture lost, from the pcapng Interface Statistics Blocks
    (type 5; options isb_ifdrop = 5 and isb_osdrop = 7, both u64)."""
    import struct
    with open(path, "rb") as f:
        d = f.read()
    i, drops = 0, 0
    while i + 12 <= len(d):
        btype, blen = struct.unpack_from("<II", d, i)
        if blen < 12 or i + blen > len(d):
            break
        if btype == 5:
            j = i + 8 + 12  # interface id, timestamp high and low
            while j + 4 <= i + blen - 4:
                code, olen = struct.unpack_from("<HH", d, j)
                if code == 0:
                    break
                if code in (5, 7) and olen == 8:
                    drops += struct.unpack_from("<Q", d, j + 4)[0]
                j += 4 + ((olen + 3) & ~3)
        i += blen
    return drops


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
            "long_types": [], "token_lengths": [], "notes": [], "versions": []}
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
            sport = layers.get("udp", {}).get("udp.srcport")
            # v2's type bits (RFC 9369 §3.2: Retry 0, Initial 1, 0-RTT 2, Handshake 3), as
            # v1's numbering (Initial 0, 0-RTT 1, Handshake 2, Retry 3).
            lt2 = [(int(x) + 3) % 4 for x in collect(pkt, "quic.long.packet_type_v2", [])]
            for v in collect(pkt, "quic.version", []):
                t = lt + lt2
                seen["versions"].append(("server" if sport == str(port) else "client",
                                         int(v, 16), int(t[0]) if t else -1))
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


V1, V2 = 0x00000001, 0x6B3343CF  # RFC 9000 §15, RFC 9369 §3.1


def check_v2(versions):
    """versions: (sender, version, long packet type) of every long-header packet, in order."""
    print("tshark/v2: long-header packets %s" % [(w, hex(v), t) for w, v, t in versions][:12])
    if not versions or versions[0][:2] != ("client", V1):
        raise Failure("the first packet is not the client's v1 Initial")
    server = [v for w, v, _ in versions if w == "server"]
    if not server or set(server) != {V2}:
        raise Failure("server long-header versions: %s" % sorted(hex(v) for v in set(server)))
    first = next(i for i, x in enumerate(versions) if x[0] == "server")
    late = [v for w, v, _ in versions[first:] if w == "client"]
    if not late or set(late) != {V2}:
        raise Failure("client versions after the server's first packet: %s" %
                      sorted(hex(v) for v in set(late)))
    # The handshake ends in v2: each side's last long-header packet is a v2 Handshake.
    for who in ("client", "server"):
        last = [x for x in versions if x[0] == who][-1]
        if last[1] != V2 or last[2] != 2:
            raise Failure("%s's last long-header packet: %s type %d" % (who, hex(last[1]), last[2]))


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
    if len(sys.argv) != 4 or sys.argv[3] not in ("plain", "key-update", "chacha20", "retry",
                                                  "v2"):
        print(__doc__, file=sys.stderr)
        return 2
    variant = sys.argv[3]

    def on_alarm(signum, frame):
        raise Failure("time limit (%d s) reached" % LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(1))
    for attempt in range(1, ATTEMPTS + 1):
        r = Run(sys.argv[1], sys.argv[2])
        signal.alarm(LIMIT_S)
        try:
            check_variant(r, variant)
        except CaptureLoss as e:
            print("tshark/%s attempt %d: %s; the exchange is run again" % (variant, attempt, e))
            continue
        except Failure as e:
            print("FAIL tshark/%s: %s" % (variant, e))
            return 1
        finally:
            signal.alarm(0)
            r.cleanup()
        print("ok tshark/%s" % variant)
        return 0
    print("FAIL tshark/%s: every one of %d captures lost packets" % (variant, ATTEMPTS))
    return 1


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
    if variant == "v2":
        sargs += ["--quic-version", "v2"]
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
    # The exchange's last packets (CONNECTION_CLOSE) went out before the marker.
    if not end_marker_captured(cap, probe, probe_port):
        raise CaptureLoss("the end marker never reached the capture file")
    probe.close()
    ts.send_signal(signal.SIGINT)
    ts.wait(timeout=20)
    srv.send_signal(signal.SIGTERM)
    if srv.wait(timeout=10) != 0:
        raise Failure("the server did not exit cleanly")
    drops = capture_drops(cap)
    if drops:
        raise CaptureLoss("the capture dropped %d packets" % drops)

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
    if variant == "v2":
        check_v2(seen["versions"])
    if variant == "plain":
        empty = os.path.join(r.tmp, "empty-keylog")
        open(empty, "wb").close()
        bad, _ = analyse(dissect(empty), port)
        if not any("did not decrypt" in p for p in bad):
            raise Failure("without keys the checks found nothing: they are vacuous")


if __name__ == "__main__":
    sys.exit(main())
