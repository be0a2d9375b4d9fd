#!/usr/bin/env python3
"""docs/walkthrough.md: one WebTransport session, from the client's first Initial to the close
capsule, told with the real qlog events of a run and linked to the code that produced them.

  scripts/walkthrough.py SIM_QLOG_WT [ROOT]           write ROOT/docs/walkthrough.md
  scripts/walkthrough.py SIM_QLOG_WT [ROOT] --check   generate it again (not written) and exit 1
                                                      when a step's events are missing

SIM_QLOG_WT is the build's tests/sim/sim_qlog_wt: the deterministic simulator (seeded, simulated
time, 10 ms each way, 5 % loss) running quince-client's WebTransport checks against the /echo
handler with qlog on both sides. The same inputs give the same packets, so the excerpts below are
reproducible. tests/docs runs this script: every step must still find its events in a fresh run
(a change of the code that loses one fails the test). A committed page that differs from the
fresh one (packets moved, times changed) is reported but does not fail, so that changes of
packet timing elsewhere do not break the build: regenerate it with the command above.

The same run also writes a pcapng of the client's datagrams (sent and received) with the run's TLS
secrets in a Decryption Secrets Block, as `quince-client --pcap` does; each step shows what
`tshark -r` (no key-log file needed) makes of the packets it is about. tshark is needed
(scripts/setup.sh installs it); its timestamps are left out (the capture's clock is real time).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def load(path):
    with open(path, "rb") as f:
        recs = f.read().decode().split("\x1e")[1:]
    objs = [json.loads(r) for r in recs]
    return objs[0], objs[1:]


def find(events, name, pred=lambda d: True, nth=0):
    hits = [e for e in events if e["name"] == name and pred(e["data"])]
    if len(hits) <= nth:
        raise SystemExit("walkthrough: no %s event (%d) in the trace" % (name, nth))
    return hits[nth]


def show(e, limit=600):
    text = json.dumps(e, separators=(",", ":"))
    if len(text) > limit:
        text = text[:limit] + " ..."
    return "```json\n" + text + "\n```"


def frames_of(e):
    return [f["frame_type"] for f in e["data"].get("frames", [])]


TSHARK_ROW = ["frame.number", "ip.src", "udp.srcport", "ip.dst", "udp.dstport", "udp.length",
              "_ws.col.Info"]


def tshark(args):
    exe = shutil.which("tshark")
    if exe is None:
        raise SystemExit("walkthrough: tshark is needed for the pcap excerpts "
                         "(scripts/setup.sh installs it)")
    env = dict(os.environ)
    env.pop("MALLOC_PERTURB_", None)
    r = subprocess.run([exe] + args, capture_output=True, timeout=120, env=env)
    if r.returncode != 0:
        raise SystemExit("walkthrough: tshark failed: " + r.stderr.decode(errors="replace"))
    return r.stdout.decode(errors="replace")


class Capture:
    """The run's pcapng as tshark reads it: one row per datagram, details on demand."""

    def __init__(self, path):
        self.path = path
        out = tshark(["-r", path, "-T", "fields", "-E", "separator=/t"] +
                     sum([["-e", f] for f in TSHARK_ROW], []))
        self.rows = [l.split("\t") for l in out.splitlines() if l.strip()]

    def find(self, pred, what, last=False):
        hits = [r for r in self.rows if pred(r)]
        if not hits:
            raise SystemExit("walkthrough: no datagram %s in the capture" % what)
        return hits[-1] if last else hits[0]

    def line(self, r):
        return "%4s  %s:%s -> %s:%s  UDP %s bytes  %s" % tuple(r[:7])

    def detail(self, r, keep=40):
        """The QUIC and HTTP/3 layers of one datagram, as `tshark -V` prints them, without
        the bit-by-bit lines and the generated [..] ones."""
        out = tshark(["-r", self.path, "-Y", "frame.number == %s" % r[0], "-O", "quic,http3",
                      "-V"])
        lines = []
        on = False
        for l in out.splitlines():
            if l.startswith("QUIC IETF") or l.startswith("Hypertext Transfer Protocol Version 3"):
                on = True
            if not on or l.strip().startswith("[") or " = " in l and l.strip()[0] in ".01":
                continue
            if len(l) > 110:
                l = l[:107] + "..."
            lines.append(l)
        if len(lines) > keep:
            lines = lines[:keep] + ["    ... (%d more lines)" % (len(lines) - keep)]
        return lines


def build(exe):
    tmp = tempfile.mkdtemp(prefix="quince-walkthrough-")
    try:
        pcap = os.path.join(tmp, "client.pcapng")
        subprocess.run([exe, tmp, "3", pcap], check=True, capture_output=True, timeout=120)
        files = sorted(os.listdir(tmp))
        client = [f for f in files if f.endswith("_client.sqlog")][0]
        server = [f for f in files if f.endswith("_server.sqlog")][0]
        ch, c = load(os.path.join(tmp, client))
        sh, s = load(os.path.join(tmp, server))
        cap = Capture(pcap)
        return render(ch, c, s, cap, client, server)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def render(ch, c, s, cap, client, server):
    CLIENT = "192.0.2.1"
    from_client = lambda r: r[1] == CLIENT
    from_server = lambda r: r[1] != CLIENT
    odcid = ch["trace"]["common_fields"]["ODCID"]
    out = []
    w = out.append
    w("# Walkthrough: one WebTransport session, packet by packet")
    w("")
    w("Generated by `scripts/walkthrough.py` from a run of `tests/sim/qlog_wt.c`: quince-client's "
      "WebTransport checks (a bidirectional and a unidirectional stream echoed, a datagram, then "
      "the close capsule) against the `/echo` handler, over the deterministic simulator "
      "(10 ms each way, 5 % loss, seeded). Every excerpt is a real qlog event of that run, or "
      "what tshark reads in the run's capture; `tests/docs` runs the script and fails when a "
      "step no longer finds its events or its packets. Do not edit by hand. Times are "
      "milliseconds since the connection began.")
    w("")
    w("The run wrote two files, named by the connection's original Destination Connection ID "
      "`%s`: `%s` and `%s` (load them in qvis: sequence, congestion and multiplexing views). "
      "The same run captured the client's datagrams in a pcapng with the TLS secrets inside "
      "(a Decryption Secrets Block), which `tshark -r` decrypts with no key-log file: the "
      "\"On the wire\" excerpts below. With the apps, `--qlog-dir D` writes the qlogs, and "
      "`--pcap F` the capture." % (odcid, client, server))
    w("")
    w("The header record, which qvis reads first (`base/qlog.h`):")
    w("")
    w(show(ch, 800))
    w("")

    n = [0]

    def step(title, text, events, code, packets=(), detail=None):
        n[0] += 1
        w("## %d. %s" % (n[0], title))
        w("")
        w(text)
        w("")
        for who, e in events:
            w("%s, at %s ms:" % (who, e["time"]))
            w("")
            w(show(e))
            w("")
        if packets:
            w("On the wire (`tshark -r client.pcapng`, the capture taken at the client):")
            w("")
            w("```")
            for r in packets:
                w(cap.line(r))
            if detail is not None:
                w("")
                w("tshark -V, datagram %s:" % detail[0])
                for l in cap.detail(detail):
                    w(l)
            w("```")
            w("")
        w("Code: " + code)
        w("")

    first = find(c, "transport:packet_sent")
    step("The client's first Initial",
         "The client picks a random 8-byte Destination Connection ID (RFC 9000 §7.2), derives the "
         "Initial keys from it (RFC 9001 §5.2) and sends its ClientHello in CRYPTO frames, padded "
         "to %d bytes so that the server may answer with up to three times as much (RFC 9000 "
         "§14.1, §8.1). Frames: %s." % (first["data"]["raw"]["length"],
                                        ", ".join(frames_of(first))),
         [("Client", find(c, "security:key_updated")), ("Client", first)],
         "[quic/conn.c](../quic/conn.c) `quic_conn_client_new`, `quic_conn_set_initial_keys`; "
         "[quic/conn_send.c](../quic/conn_send.c) `quic_conn_send`; "
         "[crypto/tls_client.c](../crypto/tls_client.c) (the ClientHello).",
         [cap.rows[0]], cap.rows[0])
    srecv = find(s, "transport:packet_received")
    ssent = find(s, "transport:packet_sent")
    step("The server answers: ServerHello, then its encrypted flight",
         "The server accepts the Initial (`quic_endpoint` finds no connection for that DCID and "
         "creates one), answers in an Initial (the ServerHello) coalesced with Handshake packets "
         "(EncryptedExtensions with its transport parameters, Certificate, CertificateVerify, "
         "Finished; RFC 9001 §4.1). The handshake keys come from the key exchange (RFC 8446 §7.1).",
         [("Server", srecv), ("Server", ssent),
          ("Server", find(s, "security:key_updated", lambda d: "handshake" in d["key_type"]))],
         "[quic/endpoint.c](../quic/endpoint.c) `quic_endpoint_accept`; "
         "[quic/conn_recv.c](../quic/conn_recv.c) `quic_conn_recv`; "
         "[crypto/tls_server.c](../crypto/tls_server.c).",
         [cap.find(from_server, "from the server")])
    step("Transport parameters",
         "Each side logs its own parameters and the peer's as they arrive inside the TLS "
         "handshake (RFC 9000 §7.4, §18.2); the client checks that the server echoes its original "
         "DCID (§7.3).",
         [("Client", find(c, "transport:parameters_set", lambda d: d.get("owner") == "remote"))],
         "[quic/transport_params.c](../quic/transport_params.c) `quic_tp_decode`; "
         "[quic/conn.c](../quic/conn.c) `tls_peer_tp`.")
    step("Handshake complete, then confirmed",
         "The client completes the handshake when it has the server's Finished and sends its own "
         "(RFC 9001 §4.1.1); the server then sends HANDSHAKE_DONE, which confirms the handshake at "
         "the client (§4.1.2) and lets both drop the Handshake keys (§4.9.2).",
         [("Client", find(c, "connectivity:connection_state_updated",
                          lambda d: d["new"] == "handshake_complete")),
          ("Client", find(c, "connectivity:connection_state_updated",
                          lambda d: d["new"] == "handshake_confirmed"))],
         "[quic/conn.c](../quic/conn.c) `quic_conn_check_handshake`, "
         "`quic_conn_on_handshake_done_frame`.")
    step("HTTP/3 starts: control streams and SETTINGS",
         "Each side opens its control stream and the two QPACK streams (RFC 9114 §6.2, RFC 9204 "
         "§4.2) and sends SETTINGS (RFC 9114 §7.2.4) with what WebTransport needs: extended "
         "CONNECT (RFC 9220 §3), HTTP datagrams (RFC 9297 §2.1.1) and the WebTransport settings "
         "of each dialect it speaks.",
         [("Client", find(c, "http:stream_type_set")),
          ("Client", find(c, "http:parameters_set", lambda d: d.get("owner") == "remote"))],
         "[h3/conn.c](../h3/conn.c) `h3_conn_start`; [h3/settings.c](../h3/settings.c); "
         "[h3/conn_recv.c](../h3/conn_recv.c) `h3_conn_on_stream_data`.",
         [cap.find(lambda r: from_client(r) and "SETTINGS" in r[6], "with the client's SETTINGS"),
          cap.find(lambda r: from_server(r) and "SETTINGS" in r[6], "with the server's SETTINGS")])
    connect = find(c, "http:frame_created", lambda d: d["frame"]["frame_type"] == "headers")
    connect_row = cap.find(lambda r: from_client(r) and "HEADERS" in r[6],
                           "with the client's HEADERS (the CONNECT)")
    # The close capsule: DATA on the CONNECT stream (0), the client's last bytes on it.
    close_row = cap.find(lambda r: from_client(r) and "STREAM(0)" in r[6],
                         "with the client's last bytes on stream 0", last=True)
    step("The extended CONNECT",
         "The client asks for a session with an extended CONNECT on a new request stream "
         "(draft-ietf-webtrans-http3 §3.2; RFC 9220 §3): `:protocol` names WebTransport, the "
         "fields go through QPACK (RFC 9204 §4.5).",
         [("Client", connect), ("Client", find(c, "qpack:headers_encoded"))],
         "[wt/connect.c](../wt/connect.c) `wt_endpoint_connect`; [h3/conn.c](../h3/conn.c) "
         "`h3_conn_submit_request`; [h3/qpack_encoder.c](../h3/qpack_encoder.c).",
         [connect_row], connect_row)
    step("200: the session is established",
         "The server's handler accepts the path and answers 200 (RFC 9114 §4.1); from then on the "
         "CONNECT stream carries the session and its capsules (RFC 9297 §3).",
         [("Server", find(s, "webtransport:session_established")),
          ("Client", find(c, "http:frame_parsed", lambda d: d["frame"]["frame_type"] == "headers")),
          ("Client", find(c, "webtransport:session_established"))],
         "[wt/connect.c](../wt/connect.c) `wt_session_established`; [apps/wt_echo.c](../apps/wt_echo.c).",
         [cap.find(lambda r: from_server(r) and "HEADERS" in r[6], "with the server's HEADERS")])
    step("Streams and a datagram",
         "The client opens a bidirectional stream (a WEBTRANSPORT_STREAM frame then the bytes, "
         "draft-ietf-webtrans-http3-02 §4.2) and a unidirectional one (stream type 0x54, §4.1); "
         "the server echoes both, the unidirectional one on a stream of its own. A datagram goes "
         "out as an HTTP datagram in a QUIC DATAGRAM frame (§4.4, RFC 9297 §2.1, RFC 9221).",
         [("Client", find(c, "webtransport:stream_opened", lambda d: d["stream_type"] ==
                          "bidirectional")),
          ("Client", find(c, "webtransport:stream_opened", lambda d: d["stream_type"] ==
                          "unidirectional" and d["owner"] == "local")),
          ("Client", find(c, "webtransport:datagram_sent")),
          ("Client", find(c, "webtransport:datagram_received"))],
         "[wt/stream.c](../wt/stream.c) `wt_session_open_stream`, `wt_stream_write`; "
         "[wt/session.c](../wt/session.c) `wt_session_send_datagram`; "
         "[quic/stream.c](../quic/stream.c) `quic_stream_write`.",
         [cap.find(lambda r: from_client(r) and "DG" in r[6], "with the client's DATAGRAM"),
          cap.find(lambda r: from_server(r) and "DG" in r[6], "with the echoed DATAGRAM")],
         cap.find(lambda r: from_client(r) and "DG" in r[6], "with the client's DATAGRAM"))
    lost = [e for e in c + s if e["name"] == "recovery:packet_lost"]
    if lost:
        step("A loss, and what recovery does",
             "The link drops 5 %% of the packets; %d were declared lost in this run (RFC 9002 "
             "§6.1), their frames sent again, and the congestion window adjusted (§7.3)."
             % len(lost),
             [("Either side", lost[0]),
              ("Same side", find(c + s, "recovery:metrics_updated"))],
             "[quic/recovery.c](../quic/recovery.c); [quic/cc_newreno.c](../quic/cc_newreno.c), "
             "[quic/cc_cubic.c](../quic/cc_cubic.c).")
    step("The close capsule",
         "Once every check passed, the client closes the session with a "
         "CLOSE_WEBTRANSPORT_SESSION capsule carrying its code and reason, then FIN "
         "(draft-ietf-webtrans-http3-02 §5); the server sees the same code and reason.",
         [("Client", find(c, "webtransport:session_closed")),
          ("Server", find(s, "webtransport:session_closed"))],
         "[wt/session.c](../wt/session.c) `wt_session_close`, `wt_session_terminate`; "
         "[h3/capsule.c](../h3/capsule.c).",
         [close_row], close_row)
    w("## Count")
    w("")
    sent = sum(1 for r in cap.rows if from_client(r))
    w("The capture holds %d datagrams: %d sent by the client, %d received from the server "
      "(the ones the link dropped on the way to the client are not in it)." %
      (len(cap.rows), sent, len(cap.rows) - sent))
    w("")
    names = {}
    for e in c:
        names[e["name"]] = names.get(e["name"], 0) + 1
    w("The client's trace holds %d events of %d types: %s." %
      (len(c), len(names), ", ".join("%s %d" % (k, v) for k, v in sorted(names.items()))))
    w("")
    return "\n".join(out)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    exe = os.path.abspath(args[0])
    root = os.path.abspath(args[1]) if len(args) > 1 else \
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = build(exe)
    path = os.path.join(root, "docs", "walkthrough.md")
    if "--check" in argv:
        steps = [l for l in text.split("\n") if l.startswith("## ")]
        need = ["The client's first Initial", "Transport parameters", "The extended CONNECT",
                "200: the session is established", "Streams and a datagram", "The close capsule"]
        missing = [t for t in need if not any(t in st for st in steps)]
        wire = text.count("On the wire (`tshark -r")
        if wire < len(need):
            print("walkthrough: only %d steps show tshark excerpts of the capture" % wire)
            return 1
        if missing:
            print("walkthrough: steps missing: %s" % missing)
            return 1
        cur = open(path).read() if os.path.exists(path) else None
        print("walkthrough: %d steps generated from a fresh run; docs/walkthrough.md is %s" %
              (len(steps), "current" if cur == text else
               "out of date (run scripts/walkthrough.py BUILD/tests/sim/sim_qlog_wt)"))
        return 0
    with open(path, "w") as f:
        f.write(text)
    print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
