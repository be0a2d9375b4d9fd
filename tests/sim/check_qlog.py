#!/usr/bin/env python3
"""Run a simulated session that writes qlogs into a fresh directory, then load every file as qvis
would (qvis_check.py, written from ../shared/specs/qvis-loader-notes.md) and check the events.

  check_qlog.py transfer EXE DIR   a lossy 300 KB QUIC transfer (sim/qlog_transfer.c)
  check_qlog.py wt EXE DIR         a WebTransport session over a lossy link (sim/qlog_wt.c):
                                   one file per connection and side, named by the original DCID,
                                   with the transport, recovery, security, HTTP/3, QPACK and
                                   WebTransport events listed below
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qvis_check  # noqa: E402

TRANSPORT = ["connectivity:connection_started", "connectivity:connection_state_updated",
             "transport:version_information", "transport:parameters_set",
             "transport:packet_sent", "transport:packet_received",
             "security:key_updated",
             "recovery:parameters_set", "recovery:metrics_updated",
             "recovery:congestion_state_updated"]
HTTP = ["http:parameters_set", "http:stream_type_set", "http:frame_created", "http:frame_parsed",
        "qpack:state_updated", "qpack:headers_encoded", "qpack:headers_decoded"]
WT = ["webtransport:session_established", "webtransport:stream_opened",
      "webtransport:datagram_sent", "webtransport:datagram_received",
      "webtransport:session_closed"]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def main():
    kind, exe, d = sys.argv[1:4]
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    subprocess.run([exe, d], check=True, timeout=120)
    files = sorted(f for f in os.listdir(d))
    if len(files) != 2:
        fail("%d files, want one per side of the one connection: %s" % (len(files), files))
    traces = {}
    for f in files:
        m = re.fullmatch(r"([0-9a-f]{16,40})_(client|server)\.sqlog", f)
        if not m:
            fail("file name %r is not <original DCID>_<side>.sqlog" % f)
        try:
            hdr, trace, events = qvis_check.load(os.path.join(d, f))
        except qvis_check.QvisError as e:
            fail(str(e))
        if trace["vantage_point"]["type"] != m.group(2):
            fail("%s: vantage point %r" % (f, trace["vantage_point"]))
        if trace["common_fields"].get("ODCID") != m.group(1):
            fail("%s: common_fields.ODCID %r does not name the file" % (f, trace["common_fields"]))
        traces[m.group(2)] = (m.group(1), events)
    if traces["client"][0] != traces["server"][0]:
        fail("the two sides name different connections: %s" % files)
    want = TRANSPORT + (HTTP + WT if kind == "wt" else [])
    for side, (_, events) in traces.items():
        names = qvis_check.names_of(events)
        missing = [n for n in want if n not in names]
        if missing:
            fail("%s: missing %s (has %s)" % (side, missing, sorted(names)))
        print(side, json.dumps(names, sort_keys=True))
    both = traces["client"][1] + traces["server"][1]
    if not any(e["name"] == "recovery:packet_lost" for e in both):
        fail("no recovery:packet_lost on a lossy link")
    frame_types = {f["frame_type"] for e in both if e["name"].startswith("transport:packet_")
                   for f in e["data"]["frames"]}
    for ft in ("stream", "ack", "crypto", "padding", "handshake_done", "new_connection_id"):
        if ft not in frame_types:
            fail("no %s frame logged (%s)" % (ft, sorted(frame_types)))
    first = next(e for e in traces["client"][1] if e["name"] == "transport:packet_sent")
    if first["data"]["header"]["packet_type"] != "initial" or first["data"]["raw"]["length"] < 1200:
        fail("the client's first packet: %r" % first["data"]["header"])
    remote = [e["data"] for e in traces["client"][1] if e["name"] == "transport:parameters_set"
              and e["data"].get("owner") == "remote"]
    if not remote or remote[0].get("original_destination_connection_id") != traces["client"][0]:
        fail("the client's remote parameters do not carry the original DCID: %r" % remote)
    if kind == "wt":
        c = traces["client"][1]
        connect = [e["data"]["frame"]["headers"] for e in c if e["name"] == "http:frame_created"
                   and e["data"]["frame"]["frame_type"] == "headers"]
        protocol = [f["value"] for f in connect[0] if f["name"] == ":protocol"] if connect else []
        if not connect or not protocol or not protocol[0].startswith("webtransport") or \
                {"name": ":method", "value": "CONNECT"} not in connect[0]:
            fail("the client's first HEADERS is not the extended CONNECT: %r" % connect[:1])
        settings = [e["data"] for e in c if e["name"] == "http:parameters_set"
                    and e["data"]["owner"] == "remote"]
        if not settings or settings[0].get("enable_connect_protocol") != 1:
            fail("the server's SETTINGS as the client logged them: %r" % settings)
        est = [e["data"] for e in c if e["name"] == "webtransport:session_established"]
        if len(est) != 1 or not est[0].get("dialect", "").startswith("draft-") or \
                est[0].get("path") != "/echo":
            fail("the client's session_established: %r" % est)
        closed = [e["data"] for e in c if e["name"] == "webtransport:session_closed"]
        if closed != [{"session_id": 0, "owner": "local", "application_code": 0x1234,
                       "reason": "quince-client done"}]:
            fail("the client's session_closed: %r" % closed)
        sclosed = [e["data"] for e in traces["server"][1]
                   if e["name"] == "webtransport:session_closed"]
        if len(sclosed) != 1 or sclosed[0]["owner"] != "remote" or \
                sclosed[0]["application_code"] != 0x1234:
            fail("the server's session_closed: %r" % sclosed)
        opened = [e["data"] for e in c if e["name"] == "webtransport:stream_opened"]
        kinds = {(o["stream_type"], o["owner"]) for o in opened}
        for k in (("bidirectional", "local"), ("unidirectional", "local"),
                  ("unidirectional", "remote")):
            if k not in kinds:
                fail("the client logged no %s stream opened by %s: %r" % (k[0], k[1], opened))
    print("ok: %s, %d + %d events" % (files, len(traces["client"][1]), len(traces["server"][1])))


if __name__ == "__main__":
    main()
