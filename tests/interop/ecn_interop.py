#!/usr/bin/env python3
"""ECN on real sockets (RFC 9000 §13.4, RFC 9002 §7.1), seen by tshark on loopback.

usage: ecn_interop.py QUINCE_SERVER QUINCE_CLIENT GTLSCLIENT GTLSSERVER CASE

CASE
  quince         quince-client downloads 1 MB (h3) from quince-server, both --no-gso
  quince-gso     the same with GSO on both sides (each GSO train is one capture record)
  ngtcp2-client  gtlsclient (ngtcp2 0.12.1) downloads 1 MB from quince-server --no-gso
  ngtcp2-server  quince-client --no-gso downloads 1 MB from gtlsserver --max-gso-dgrams=1
  bleach         quince-client downloads 1 MB from quince-server through a UDP relay of
                 this script's, which forwards payloads only: the IP ECN field is
                 cleared (bleached) on the way, both directions

tshark captures lo and reads the capture with the Quince side's key log (every QUIC packet
decrypted), and the test asserts, per 1-RTT packet (short header) and per ACK frame:
  - every datagram a Quince endpoint sends that starts with a 1-RTT packet is marked ECT(0)
    (io/ puts the core's codepoint, quic_conn_ecn, into IP_TOS / IPV6_TCLASS), and every
    datagram starting with a long-header packet is not (only 1-RTT is marked);
  - each ACK_ECN (type 0x03) frame in a 1-RTT packet reports ECT(1) 0, CE 0 and an ECT(0)
    count that matches the capture: at least the ECT(0)-marked 1-RTT packets of its sender's
    peer that the frame acknowledges and at most those numbered up to its largest
    acknowledged, equal for the first; the difference (packets the receiver's socket
    dropped after the capture saw them) never shrinks;
  - Quince's receiver sends ACK_ECN with a non-zero ECT(0) count (io/ reads IP_RECVTOS /
    IPV6_RECVTCLASS into quic_conn_recv_ecn);
  - ngtcp2 0.12.1, as observed and asserted here: gtlsclient and gtlsserver mark their
    1-RTT packets ECT(0) too and answer Quince's marked packets with ACK_ECN whose counts
    pass the same check; Quince keeps marking to the end (its validation of ngtcp2's
    counts, RFC 9000 §13.4.2.1, did not fail);
  - bleach: Quince's first 1-RTT datagrams go out ECT(0) on each side, the peer's ACKs carry
    no ECN counts (type 0x02 only: nothing arrived marked), and each side stops marking
    once an ACK acknowledged its marked packets without counts (validation failed, RFC 9000
    §13.4.2.2): at most a window's worth of marked datagrams, and every datagram of the
    second half of the transfer unmarked; the download stays byte-exact.
A capture whose statistics count dropped packets proves nothing: the exchange is run again
(at most three times). Every case is bounded by an alarm; processes are killed and the
temporary directory removed on any exit.
"""
import json
import os
import select
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ngtcp2_interop import Failure, Run, check  # noqa: E402
from ngtcp2_tls import Capture  # noqa: E402
from test_tshark import capture_drops, collect, as_list  # noqa: E402

CASE_LIMIT_S = 110
ATTEMPTS = 3
ECT0 = 2


class CaptureLoss(Exception):
    pass


class Relay:
    """Forwards UDP payloads between one client and the server, in a thread. A datagram
    sent by a plain socket carries TOS 0: the ECN field is bleached both ways."""

    def __init__(self, server_port):
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.down.bind(("127.0.0.1", 0))
        self.port = self.down.getsockname()[1]
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind(("127.0.0.1", 0))
        self.up.connect(("127.0.0.1", server_port))
        self.up_port = self.up.getsockname()[1]
        for s in (self.down, self.up):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.client = None
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            ready, _, _ = select.select([self.down, self.up], [], [], 0.1)
            for s in ready:
                data, addr = s.recvfrom(65536)
                if s is self.down:
                    self.client = addr
                    self.up.send(data)
                elif self.client is not None:
                    self.down.sendto(data, self.client)

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.down.close()
        self.up.close()


def dissect(cap, keylog, ports, path=None):
    """Per datagram on ports: (sender port, ECN field, length, packets), each packet a dict
    with short (bool), pn, frame types, and acks: (type, largest, [acked ranges], ect0,
    ect1, ce)."""
    args = [cap.tshark, "-r", path or cap.path, "-o", "tls.keylog_file:" + keylog]
    for p in ports:
        args += ["-d", "udp.port==%d,quic" % p]
    args += ["-Y", " or ".join("udp.port==%d" % p for p in ports), "-T", "json",
             "--no-duplicate-keys"]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90,
                       env=cap.env)
    check(p.returncode == 0, "tshark -r failed: " + p.stderr.decode(errors="replace"))
    out = []
    for f in json.loads(p.stdout):
        layers = f["_source"]["layers"]
        ecn = collect(layers.get("ip", {}), "ip.dsfield.ecn", [])
        ecn = int(ecn[0]) if ecn else 0
        sport = int(layers["udp"]["udp.srcport"])
        length = int(layers["udp"]["udp.length"]) - 8
        pkts = []
        for q in as_list(layers.get("quic", [])):
            short = "quic.short" in q
            pn = collect(q, "quic.packet_number", [])
            check(pn, "a QUIC packet without a packet number (not decrypted?) from %d" % sport)
            acks, types = [], set()
            for fr in as_list(q.get("quic.frame", [])):
                t = int(fr.get("quic.frame_type", "-1"))
                types.add(t)
                if t not in (2, 3):
                    continue
                largest = int(fr["quic.ack.largest_acknowledged"])
                hi = largest
                lo = hi - int(fr["quic.ack.first_ack_range"])
                ranges = [(lo, hi)]
                gaps = [int(x) for x in as_list(fr.get("quic.ack.gap", []))]
                lens = [int(x) for x in as_list(fr.get("quic.ack.ack_range", []))]
                for g, ln in zip(gaps, lens):  # RFC 9000 §19.3.1
                    hi = lo - g - 2
                    lo = hi - ln
                    ranges.append((lo, hi))
                e = [int(fr.get(k, "0")) for k in
                     ("quic.ack.ect0_count", "quic.ack.ect1_count", "quic.ack.ecn_ce_count")]
                acks.append((t, largest, ranges, e[0], e[1], e[2]))
            pkts.append({"short": short, "pn": int(pn[0]), "acks": acks, "types": types})
        out.append((sport, ecn, length, pkts))
    return out


def check_sender_marks(dgrams, port, who, gso=False, long_marked=False):
    """Every datagram from port starting with a 1-RTT packet is ECT(0); every one starting
    with a long header is not (Quince), or is too (long_marked: ngtcp2 marks its Initial
    and Handshake datagrams as well, but not its PMTU probes: datagrams of only PING and
    PADDING). Returns the number of marked datagrams."""
    marked = 0
    for i, (sport, ecn, length, pkts) in enumerate(dgrams):
        if sport != port or not pkts:
            continue
        if long_marked and pkts[0]["short"] and pkts[0]["types"] <= {0, 1} and length > 1200:
            check(ecn == 0, "%s: a PMTU probe of %d bytes has ECN %d" % (who, length, ecn))
            continue
        if pkts[0]["short"]:
            check(ecn == ECT0, "%s: datagram %d (1-RTT, %d bytes) has ECN %d, not ECT(0)" %
                  (who, i, length, ecn))
            marked += 1
        else:
            check(ecn == (ECT0 if long_marked else 0), "%s: datagram %d starting with a long "
                  "header has ECN %d" % (who, i, ecn))
    if gso:
        trains = [d for d in dgrams if d[0] == port and d[2] > 1500]
        check(trains, "%s: no GSO train (datagram record over 1500 bytes) captured" % who)
        check(all(d[1] == ECT0 for d in trains), "%s: a GSO train is not ECT(0)" % who)
    return marked


def check_ack_ecn(dgrams, acker, sender, who):
    """Each ACK_ECN in a 1-RTT packet from acker against the 1-RTT packets sender sent
    before it. Returns (ACK_ECN frames, largest ECT(0) count, exact matches, packets the
    receiver lost)."""
    sent = []  # (pn, marked) of sender's 1-RTT packets so far
    n = exact = top = deficit = 0
    for i, (sport, ecn, _, pkts) in enumerate(dgrams):
        if sport == sender:
            sent.extend((p["pn"], ecn == ECT0) for p in pkts if p["short"])
            continue
        if sport != acker:
            continue
        for p in pkts:
            if not p["short"]:
                continue
            for t, largest, ranges, e0, e1, ce in p["acks"]:
                if t != 3:
                    continue
                n += 1
                lo = sum(1 for pn, m in sent if m and any(a <= pn <= b for a, b in ranges))
                hi = sum(1 for pn, m in sent if m and pn <= largest)
                check(e1 == 0 and ce == 0, "%s: datagram %d: ACK_ECN reports ECT(1) %d CE %d "
                      "on loopback" % (who, i, e1, ce))
                check(lo <= e0 <= hi, "%s: datagram %d: ACK_ECN ECT(0) %d, but the capture "
                      "has %d marked packets acknowledged and %d up to %d" %
                      (who, i, e0, lo, hi, largest))
                # The deficit (marked packets up to largest that did not count) is what
                # the receiver lost (on loopback: its socket buffer overflowed after the
                # capture saw them); nothing is reordered here, so it never shrinks.
                check(n > 1 or e0 == hi, "%s: the first ACK_ECN counts %d of %d packets" %
                      (who, e0, hi))
                check(hi - e0 >= deficit, "%s: datagram %d: ACK_ECN ECT(0) %d: %d packets "
                      "short of the %d sent, after being %d short" %
                      (who, i, e0, hi - e0, hi, deficit))
                deficit = hi - e0
                exact += e0 == hi
                top = max(top, e0)
    check(n > 0, "%s sent no ACK_ECN frame in 1-RTT" % who)
    check(top > 0, "%s's ACK_ECN frames all report ECT(0) 0" % who)
    return n, top, exact, deficit


def one_run(r, case):
    keylog = os.path.join(r.tmp, "keylog")
    names = ["1mb"]
    gso = case == "quince-gso"
    nogso = [] if gso else ["--no-gso"]
    relay = None
    try:
        if case == "ngtcp2-server":
            r.start_gtlsserver(["--max-gso-dgrams=1"])
            server_port = r.port
        else:
            r.start_quince_server(nogso + ["--keylog", keylog])
            server_port = r.port
        ports = [server_port]
        if case == "bleach":
            relay = Relay(server_port)
            ports.append(relay.port)
        cap = Capture(r, server_port, ports[1:])
        if relay is not None:
            r.port = relay.port
        if case == "ngtcp2-client":
            rc, log = r.run_gtlsclient(names, [], True)
            check(rc == 0, "gtlsclient exit status %d:\n%s" % (rc, log[-2000:]))
        else:
            rc, err = r.run_quince_client(names, nogso + ([] if case != "ngtcp2-server" else
                                                          ["--keylog", keylog]))
            check(rc == 0, "quince-client exit status %d:\n%s" % (rc, err[-3000:]))
        check(r.same("1mb"), "the download differs from the served file")
        cap.stop()
        if case != "ngtcp2-server":
            r.stop_quince_server()
    finally:
        if relay is not None:
            relay.close()
    drops = capture_drops(cap.path)
    if drops:
        raise CaptureLoss("the capture dropped %d packets" % drops)
    if relay is None:
        dgrams = dissect(cap, keylog, ports)
    else:
        # One leg at a time: the same connection seen twice confuses tshark's decryption.
        dgrams = []
        for leg in ports:
            path = os.path.join(r.tmp, "leg%d.pcapng" % leg)
            p = subprocess.run([cap.tshark, "-r", cap.path, "-Y", "udp.port==%d" % leg, "-w",
                                path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60, env=cap.env)
            check(p.returncode == 0, "tshark -w failed: " + p.stderr.decode(errors="replace"))
            dgrams += dissect(cap, keylog, [leg], path)
    client_ports = {d[0] for d in dgrams if d[0] not in ports}
    if relay is not None:
        client_ports.discard(relay.up_port)
    check(len(client_ports) == 1, "client ports in the capture: %s" % sorted(client_ports))
    cport = client_ports.pop()
    short = lambda port: sum(1 for d in dgrams if d[0] == port and d[3] and d[3][0]["short"])

    if case in ("quince", "quince-gso", "ngtcp2-client", "ngtcp2-server"):
        # Quince's side(s) mark every 1-RTT datagram to the end.
        sides = {"quince": [(server_port, "quince-server"), (cport, "quince-client")],
                 "quince-gso": [(server_port, "quince-server"), (cport, "quince-client")],
                 "ngtcp2-client": [(server_port, "quince-server"), (cport, "gtlsclient")],
                 "ngtcp2-server": [(server_port, "gtlsserver"), (cport, "quince-client")]}[case]
        marks = {who: check_sender_marks(dgrams, port, who, gso and port == server_port,
                                         who.startswith("gtls"))
                 for port, who in sides}
        (sp, sname), (cp, cname) = sides
        if gso:
            # The packets inside a GSO train are one capture record that tshark cannot
            # split: counts are compared with the bytes sent instead.
            def ack_ecn(acker):
                n = top = seen = 0
                for d in dgrams:
                    for p in d[3]:
                        for a in p["acks"]:
                            if d[0] == acker and p["short"]:
                                seen += 1
                            if d[0] == acker and p["short"] and a[0] == 3:
                                check(a[4] == 0 and a[5] == 0, "ECT(1) or CE on loopback")
                                n, top = n + 1, max(top, a[3])
                return n, top, seen
            a_c, a_s = ack_ecn(cp), ack_ecn(sp)
            check(a_c[0] > 0 and a_c[1] >= 1_000_000 // 1500,
                  "quince-client's ACK_ECN: %d frames, top ECT(0) count %d" % a_c[:2])
            if a_s[2] > 0:
                check(a_s[0] == a_s[2] and a_s[1] > 0,
                      "quince-server's ACKs: %d of %d are ACK_ECN, top ECT(0) count %d" %
                      (a_s[0], a_s[2], a_s[1]))
            else:
                # The server's few ACKs (of the client's request) rode inside its GSO
                # trains, which tshark cannot split, so none could be decrypted (how
                # often depends on timing). What remains visible: quince-client marked
                # every 1-RTT datagram to the end (checked above), and its validation
                # (RFC 9000 §13.4.2.1) stops marking at the first ACK that newly
                # acknowledges marked packets without ECN counts. The exact counts of
                # the server's ACK_ECN are checked in case "quince" (no GSO).
                print("quince-server's ACKs were all inside GSO trains; quince-client's "
                      "marking to the end shows they carried ECN counts")
        else:
            a_c = check_ack_ecn(dgrams, cp, sp, cname)
            a_s = check_ack_ecn(dgrams, sp, cp, sname)
        print("ok %s: %d datagrams; marked 1-RTT datagrams %s; ACK_ECN (frames, top ECT(0), "
              "exact, receiver losses) from %s %s, from %s %s" % (case, len(dgrams), marks, cname, a_c, sname,
                                                  a_s))
        return

    # bleach: each Quince side marks at first, then stops for good.
    for port, who in ((server_port, "quince-server"), (cport, "quince-client")):
        own = [d for d in dgrams if d[0] == port and d[3] and d[3][0]["short"]]
        check(len(own) >= 6, "%s sent only %d 1-RTT datagrams" % (who, len(own)))
        check(own[0][1] == ECT0, "%s's first 1-RTT datagram is not ECT(0)" % who)
        marked = sum(1 for d in own if d[1] == ECT0)
        last = max(i for i, d in enumerate(own) if d[1] == ECT0)
        check(marked <= 64 and last < len(own) // 2,
              "%s kept marking on a bleached path: %d of %d marked, the last at %d" %
              (who, marked, len(own), last))
        print("bleach: %s marked %d of %d 1-RTT datagrams (the last is #%d)" %
              (who, marked, len(own), last))
    peers = [(server_port, relay.up_port), (cport, relay.port)]
    for dst, src in peers:
        acks = [a for d in dgrams if d[0] == src for p in d[3] if p["short"] for a in p["acks"]]
        check(acks and all(a[0] == 2 for a in acks),
              "ACKs towards port %d: types %s (bleached: only 0x02 expected)" %
              (dst, sorted({a[0] for a in acks})))
    print("ok bleach: %d datagrams, %d 1-RTT from the server" % (len(dgrams), short(server_port)))


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    qserver, qclient, ngclient, ngserver, case = sys.argv[1:]
    if case not in ("quince", "quince-gso", "ngtcp2-client", "ngtcp2-server", "bleach"):
        print(__doc__, file=sys.stderr)
        return 2
    import signal

    def on_alarm(signum, frame):
        raise Failure("case overran %d s" % CASE_LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(CASE_LIMIT_S)
    try:
        for attempt in range(1, ATTEMPTS + 1):
            r = Run(qserver, qclient, ngclient, ngserver)
            try:
                one_run(r, case)
                return 0
            except CaptureLoss as e:
                print("ecn/%s attempt %d: %s; the exchange is run again" % (case, attempt, e))
            finally:
                r.cleanup()
        print("FAIL ecn/%s: every one of %d captures lost packets" % (case, ATTEMPTS))
        return 1
    except Failure as e:
        print("FAIL ecn/%s: %s" % (case, e), file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())
