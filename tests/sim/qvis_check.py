#!/usr/bin/env python3
"""A qlog validator written from ../shared/specs/qvis-loader-notes.md: what the qvis viewer
(quiclog/qvis, QlogLoaderV2 and its JSON-SEQ transformer) needs to load a file and draw its
sequence, congestion and multiplexing views. Used as a library (load) and as a program:

  qvis_check.py DIR_OR_FILE... [--require EVENT[,EVENT...]] [--files N]

Every .sqlog file given (or found in a directory) must load; --files checks how many;
--require lists event names each side must contain (client and server traces together).
"""
import json
import os
import sys

# Section 1: the qlog_version values qvis accepts (exact match).
ACCEPTED_VERSIONS = {"0.1", "draft-00", "draft-01", "draft-02-wip", "draft-02", "draft-02-RC1",
                     "qlog-03-WIP", "0.3"}
# Section 2: file name endings qvis accepts.
EXTENSIONS = (".qlog", ".json", ".qlognd", ".qlogseq", ".sqlog")
# Section 4: categories (QlogSchema02.ts:135-149, plus the generic ones the sequence diagram
# colours), packet types (:395-404).
CATEGORIES = {"connectivity", "security", "transport", "recovery", "http", "qpack", "error",
              "warning", "info", "debug", "verbose", "simulation", "webtransport"}
PACKET_TYPES = {"initial", "handshake", "0RTT", "1RTT", "retry", "version_negotiation",
                "stateless_reset", "unknown"}


class QvisError(Exception):
    pass


def need(cond, what):
    if not cond:
        raise QvisError(what)


def sniff(text):
    """FileLoader.ts:215-247: the format qvis guesses from the first 1024 characters."""
    head = text[:1024]
    if "qlog_version" in head and "qlog_format" in head:
        if "NDJSON" in head:
            return "NDJSON"
        if "JSON-SEQ" in head:
            return "JSON-SEQ"
        if "JSON" in head:
            return "JSON"
        return None
    if "qlog_version" in head:
        return "JSON"
    return None


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_header(hdr):
    need(isinstance(hdr, dict), "header is not an object")
    need(hdr.get("qlog_version") in ACCEPTED_VERSIONS,
         "qlog_version %r: qvis only loads %s" % (hdr.get("qlog_version"),
                                                  sorted(ACCEPTED_VERSIONS)))
    need(hdr.get("qlog_format") == "JSON-SEQ", "qlog_format %r, not JSON-SEQ"
         % hdr.get("qlog_format"))
    trace = hdr.get("trace")
    need(isinstance(trace, dict), "the header has no trace object")
    vp = trace.get("vantage_point", {})
    need(vp.get("type", "unknown") in ("client", "server", "network", "unknown"),
         "vantage_point.type %r" % vp.get("type"))
    cf = trace.get("common_fields", {})
    tf = cf.get("time_format", "absolute")
    need(tf in ("absolute", "relative", "delta"), "time_format %r" % tf)
    if "reference_time" in cf:
        rt = cf["reference_time"]
        need(is_number(rt) or (isinstance(rt, str) and rt.replace(".", "", 1).isdigit()),
             "reference_time %r is neither a number nor a numeric string" % (rt,))
    units = trace.get("configuration", {}).get("time_units", "ms")
    need(units in ("ms", "us"), "time_units %r" % units)
    return trace


def check_frames(name, frames):
    need(isinstance(frames, list), name + ": frames is not a list")
    for f in frames:
        need(isinstance(f, dict) and isinstance(f.get("frame_type"), str),
             name + ": a frame without frame_type")
        ft = f["frame_type"]
        if ft == "ack":
            for r in f.get("acked_ranges", []):
                need(isinstance(r, list) and len(r) in (1, 2) and all(isinstance(x, int) for x in r)
                     and r[0] <= r[-1], name + ": acked_ranges entry %r" % (r,))
        elif ft == "stream":
            for k in ("stream_id", "offset", "length"):
                need(isinstance(f.get(k), int), name + ": stream frame without " + k)
        elif ft == "max_data":
            need(isinstance(f.get("maximum"), int), name + ": max_data without maximum")
        elif ft == "max_stream_data":
            need(isinstance(f.get("stream_id"), int) and isinstance(f.get("maximum"), int),
                 name + ": max_stream_data without stream_id/maximum")


def check_event(ev, vantage):
    need(isinstance(ev, dict), "an event is not an object")
    need(is_number(ev.get("time")), "event without a numeric time: %r" % (ev,))
    name = ev.get("name")
    need(isinstance(name, str) and ":" in name, "event name %r is not category:event" % (name,))
    cat, typ = name.split(":", 1)
    need(cat in CATEGORIES and typ, "event %r: unknown category" % name)
    d = ev.get("data")
    need(isinstance(d, dict), name + ": data is not an object")
    if name in ("transport:packet_sent", "transport:packet_received", "recovery:packet_lost"):
        h = d.get("header")
        need(isinstance(h, dict), name + ": no data.header (the sequence diagram skips it)")
        need(h.get("packet_type") in PACKET_TYPES, name + ": packet_type %r" % h.get("packet_type"))
        need(isinstance(h.get("packet_number"), int), name + ": no integer packet_number")
    if name == "transport:packet_sent":
        need(d.get("raw", {}).get("length", 0) > 0,
             name + ": raw.length missing (the congestion graph leaves the packet out)")
    if name in ("transport:packet_sent", "transport:packet_received"):
        check_frames(name, d.get("frames", []))
    if name == "recovery:metrics_updated":
        keys = ("bytes_in_flight", "cwnd", "congestion_window", "min_rtt", "smoothed_rtt",
                "latest_rtt")
        need(any(k in d for k in keys), name + ": none of the metrics the congestion graph reads")
        for k in keys:
            if k in d:
                need(is_number(d[k]), "%s: %s is not a number" % (name, k))
    if name == "transport:parameters_set" and d.get("owner") == "remote":
        need(isinstance(d.get("initial_max_data"), int), name + ": remote without initial_max_data")
    if name in ("http:frame_created", "http:frame_parsed"):
        need(isinstance(d.get("stream_id"), int), name + ": no stream_id")
        fr = d.get("frame")
        need(isinstance(fr, dict) and isinstance(fr.get("frame_type"), str),
             name + ": no frame.frame_type")
        if fr["frame_type"] == "headers":
            for hf in fr.get("headers", []):
                need(isinstance(hf.get("name"), str) and isinstance(hf.get("value"), str),
                     name + ": a header without name/value")


def load(path):
    """Load one file as qvis would; returns (header, trace, events) or raises QvisError."""
    need(path.endswith(EXTENSIONS), "%s: extension not in qvis's allowlist" % path)
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    fmt = sniff(text)
    # .sqlog is JSON-SEQ without sniffing; the sniff must agree for other names.
    if not path.endswith((".sqlog", ".qlogseq")):
        need(fmt == "JSON-SEQ", "%s: sniffed as %r" % (path, fmt))
    need("qlog_version" in text[:1024] and "qlog_format" in text[:1024],
         "%s: qlog_version/qlog_format not in the first 1024 characters" % path)
    need(text.startswith("\x1e"), "%s: JSON-SEQ records start with RS" % path)
    records = text.split("\x1e")[1:]
    need(len(records) >= 2, "%s: no events (qvis throws on an empty trace)" % path)
    objs = []
    for i, rec in enumerate(records):
        need(rec.endswith("\n"), "%s: record %d does not end with LF" % (path, i))
        try:
            objs.append(json.loads(rec.strip()))
        except ValueError as e:
            # textsequencejsontoqlog.ts:199-201: a bad record stalls the load.
            raise QvisError("%s: record %d is not JSON (%s): %r" % (path, i, e, rec[:120]))
    hdr = objs[0]
    trace = check_header(hdr)
    vantage = trace.get("vantage_point", {}).get("type", "unknown")
    last = None
    for ev in objs[1:]:
        need("trace" not in ev, "%s: a second header record (one trace per JSON-SEQ file)" % path)
        check_event(ev, vantage)
        # QlogLoaderV2.ts:157-186: events out of order are re-sorted with an alert.
        need(last is None or ev["time"] >= last,
             "%s: event at %r before the previous one at %r" % (path, ev["time"], last))
        last = ev["time"]
    if "group_id" in objs[1]:
        raise QvisError("%s: events carry group_id: qvis would split the trace" % path)
    return hdr, trace, objs[1:]


def names_of(events):
    out = {}
    for e in events:
        out[e["name"]] = out.get(e["name"], 0) + 1
    return out


def main(argv):
    paths, require, nfiles = [], [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--require":
            require += [x for x in argv[i + 1].split(",") if x]
            i += 2
            continue
        if a == "--files":
            nfiles = int(argv[i + 1])
            i += 2
            continue
        if os.path.isdir(a):
            paths += sorted(os.path.join(a, f) for f in os.listdir(a) if f.endswith(".sqlog"))
        else:
            paths.append(a)
        i += 1
    if nfiles is not None and len(paths) != nfiles:
        print("FAIL: %d qlog files, want %d: %s" % (len(paths), nfiles, paths))
        return 1
    all_names = {}
    for p in paths:
        try:
            hdr, trace, events = load(p)
        except QvisError as e:
            print("FAIL:", e)
            return 1
        n = names_of(events)
        for k, v in n.items():
            all_names[k] = all_names.get(k, 0) + v
        print("%s: %s, %d events, %d event types" % (os.path.basename(p),
              trace["vantage_point"]["type"], len(events), len(n)))
    missing = [r for r in require if r not in all_names]
    if missing:
        print("FAIL: missing events %s (have %s)" % (missing, sorted(all_names)))
        return 1
    print("qvis would load all %d file(s); events: %s" % (len(paths), json.dumps(all_names,
          sort_keys=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
