#!/usr/bin/env python3
"""QUIC over loopback: quince-server and quince-client (and quic_load) exchange files.

usage: quic_harness.py SERVER CLIENT LOAD CASE

Every case starts quince-server on an ephemeral port (--listen ADDR:0; the
port is read from its "listening on" line) with a temporary --root holding
pseudo-random files: 'one' (1 byte), '1mb' (1,000,000 bytes) and '10mb'
(10,000,000 bytes). Cases:
  loopback   one connection downloads the three files; each must be byte-exact
  chacha20   the same with --chacha20: the client offers only
             TLS_CHACHA20_POLY1305_SHA256, so a finished handshake means it was used
  key-update the same with --key-update; the client must report key-updates >= 1
  retry      the server with --retry; the downloads succeed and the server's
             exit line reports at least one Retry sent
  qlog       the server and two clients with --qlog-dir: one file per connection,
             <original DCID>_<side>.sqlog, on both sides, each loadable by qvis
             (tests/sim/qvis_check.py) with packet, metrics, parameters and close events (hq-interop: no HTTP/3)
  ca         openssl makes a CA and a leaf for 127.0.0.1 / localhost; the
             server uses --cert/--key, the client --ca: downloads by IP and by
             name succeed; with an unrelated CA the client fails (exit 1,
             the connection closed with CRYPTO_ERROR 0x130, unknown_ca)
  ipv6       the server on [::1]; URLs https://[::1]:PORT/...
  not-found  /missing and /../<a file beside the root> are reset (the client
             exits 1 and names both), /1mb on the same connection is byte-exact
  errors     the client with --alpn h3 fails with no_application_protocol
             (0x178) and the server still serves the next client; the server
             exits 0 on SIGINT; against a silent UDP socket the client exits 1
             ("no answer from ...") within 5 s of its --timeout 1
  many-streams  150 files of 0..5000 bytes over one connection (more than
             the server's 100 initial bidirectional streams: the client waits
             for MAX_STREAMS), all byte-exact; the server counts 1 connection
             and 150 files
  scale      quic_load opens 200 connections at once, each downloading 'small'
             (3,000 bytes) byte-exact; the server counts exactly 200
             connections and 200 files
  flood      while the 10 MB download runs, garbage datagrams hit the server
             (random bytes, truncated Initials, unknown versions, Initials with
             random payload, short headers with random CIDs, from several
             ports): at least 1000 of them arrive during the transfer, the
             download is byte-exact, the server is alive, a fresh connection
             afterwards downloads 1mb byte-exact, and the server reports at
             least one Version Negotiation sent
Every case ends the server with SIGTERM and requires exit status 0 (a clean
exit). All processes are killed and the temporary directory removed on any
exit; the whole case is bounded by an alarm.
"""
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

CASE_LIMIT_S = 120


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Harness:
    def __init__(self, server, client, load):
        self.server_bin, self.client_bin, self.load_bin = server, client, load
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="quince-interop-")
        self.root = os.path.join(self.tmp, "root")
        self.out = os.path.join(self.tmp, "out")
        os.mkdir(self.root)
        os.mkdir(self.out)
        rng = random.Random(20240601)
        self.files = {"one": 1, "1mb": 1_000_000, "10mb": 10_000_000, "small": 3000}
        for name, size in self.files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(rng.randbytes(size))
        # A file beside the root, for the path escape check.
        with open(os.path.join(self.tmp, "secret"), "wb") as f:
            f.write(b"outside the root\n")
        self.server = None
        self.port = None
        self.host = None

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_server(self, listen="127.0.0.1:0", extra=()):
        log = open(os.path.join(self.tmp, "server.err"), "wb")
        args = [self.server_bin, "--listen", listen, "--root", self.root, "--timeout", "100",
                "--alpn", "hq-interop"]
        args += list(extra)
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
        self.procs.append(p)
        self.server = p
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = p.stdout.readline().decode()
            if not line:
                break
            m = re.match(r"listening on (\[[0-9a-f:]+\]|[0-9.]+):(\d+)$", line.strip())
            if m:
                self.host, self.port = m.group(1), int(m.group(2))
                return
        raise Failure("the server did not print 'listening on'")

    def stop_server(self, sig=signal.SIGTERM):
        p = self.server
        check(p.poll() is None, "the server died (status %s)" % p.poll())
        p.send_signal(sig)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise Failure("the server did not exit on SIGTERM")
        check(rc == 0, "the server exited with status %d after SIGTERM" % rc)
        with open(os.path.join(self.tmp, "server.err"), "rb") as f:
            return f.read().decode(errors="replace")

    def url(self, name):
        return "https://%s:%d/%s" % (self.host, self.port, name)

    def run_client(self, names, extra=(), timeout=30):
        for n in names:
            path = os.path.join(self.out, os.path.basename(n))
            if os.path.exists(path):
                os.unlink(path)
        trust = [] if "--ca" in extra else ["--insecure"]
        args = [self.client_bin] + trust + ["--output", self.out, "--timeout", str(timeout),
                                            "--alpn", "hq-interop"]
        args += list(extra) + [self.url(n) for n in names]
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        try:
            out, err = p.communicate(timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            raise Failure("the client overran its own --timeout")
        return p.returncode, err.decode(errors="replace")

    def same(self, name):
        with open(os.path.join(self.root, name), "rb") as a:
            want = a.read()
        try:
            with open(os.path.join(self.out, name), "rb") as b:
                got = b.read()
        except FileNotFoundError:
            return False
        return want == got

    def expect_downloads(self, names, extra=(), timeout=30):
        rc, err = self.run_client(names, extra, timeout)
        check(rc == 0, "client exit status %d:\n%s" % (rc, err))
        for n in names:
            check(self.same(n), "%s differs from the served file" % n)
        return err


def flood(target, stop_after_s, max_datagrams, running):
    """Garbage at the server from several source ports, bounded in count and time,
    until running() turns false; returns (sent, sent while running, by kind)."""
    rng = random.Random(7)
    fam = socket.AF_INET6 if ":" in target[0] else socket.AF_INET
    socks = [socket.socket(fam, socket.SOCK_DGRAM) for _ in range(8)]
    for s in socks:
        s.setblocking(False)
    kinds = {}
    sent = during = 0
    end = time.monotonic() + stop_after_s
    while sent < max_datagrams and time.monotonic() < end:
        if not running():
            break
        kind = sent % 6
        if kind == 0:  # random bytes of random size
            d = rng.randbytes(rng.randint(1, 1400))
        elif kind == 1:  # an Initial header (v1) cut short
            full = bytes([0xC3]) + struct.pack(">I", 1) + bytes([8]) + rng.randbytes(8) + \
                bytes([8]) + rng.randbytes(8) + b"\x00\x44\xd0" + rng.randbytes(1180)
            d = full[: rng.randint(1, 40)]
        elif kind == 2:  # an unknown version: Version Negotiation territory
            d = bytes([0xC0]) + struct.pack(">I", 0x1A2A3A4A) + bytes([8]) + rng.randbytes(8) + \
                bytes([8]) + rng.randbytes(8) + rng.randbytes(1200)
        elif kind == 3:  # a full-size v1 Initial whose payload does not decrypt
            d = bytes([0xC3]) + struct.pack(">I", 1) + bytes([8]) + rng.randbytes(8) + \
                bytes([8]) + rng.randbytes(8) + b"\x00\x44\xb0" + rng.randbytes(1200)
        elif kind == 4:  # a short header with a random DCID
            d = bytes([0x40 | rng.randint(0, 0x3F)]) + rng.randbytes(rng.randint(20, 1300))
        else:  # a zero-length datagram or a single byte
            d = rng.randbytes(rng.randint(0, 1))
        try:
            socks[sent % len(socks)].sendto(d, target)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        sent += 1
        during += 1
        if sent % 200 == 0:
            time.sleep(0.002)  # leave the 2 cores some air for the transfer
    for s in socks:
        s.close()
    return sent, during, kinds


def make_pki(tmp):
    """A CA, a leaf for 127.0.0.1 and localhost signed by it, and an unrelated CA (openssl)."""
    openssl = shutil.which("openssl")
    check(openssl is not None, "openssl is needed for this case")
    d = {k: os.path.join(tmp, k + ".pem") for k in ("ca", "ca_key", "leaf", "leaf_key", "csr",
                                                     "other_ca", "other_key")}
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca, key, cn in (("ca", "ca_key", "quince test CA"), ("other_ca", "other_key", "other CA")):
        subprocess.run([openssl, "req", "-x509"] + ec + ["-keyout", d[key], "-out", d[ca],
                        "-days", "2", "-subj", "/CN=" + cn], check=True, capture_output=True)
    subprocess.run([openssl, "req"] + ec + ["-keyout", d["leaf_key"], "-out", d["csr"],
                    "-subj", "/CN=localhost"], check=True, capture_output=True)
    subprocess.run([openssl, "x509", "-req", "-in", d["csr"], "-CA", d["ca"], "-CAkey",
                    d["ca_key"], "-CAcreateserial", "-out", d["leaf"], "-days", "2",
                    "-extfile", ext], check=True, capture_output=True)
    return d


def check_qlog_dirs(server_dir, client_dirs):
    """One file per connection named by its original DCID, each loadable by qvis
    (tests/sim/qvis_check.py): the server's directory holds exactly one file per client
    connection, and each client's file names the same connection."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
    import qvis_check
    server_files = sorted(os.listdir(server_dir))
    check(len(server_files) == len(client_dirs),
          "server qlog files %s, want one per connection (%d)" % (server_files, len(client_dirs)))
    for side, d in [("server", server_dir)] + [("client", c) for c in client_dirs]:
        for f in sorted(os.listdir(d)):
            m = re.fullmatch(r"([0-9a-f]{16,40})_(client|server)\.sqlog", f)
            check(m is not None and m.group(2) == side, "%s: qlog file name %r" % (d, f))
            try:
                _, trace, events = qvis_check.load(os.path.join(d, f))
            except qvis_check.QvisError as e:
                raise Failure(str(e))
            check(trace["common_fields"]["ODCID"] == m.group(1), "%s: ODCID %r" % (f, trace))
            names = qvis_check.names_of(events)
            for n in ("transport:packet_sent", "transport:packet_received",
                      "recovery:metrics_updated", "transport:parameters_set",
                      "connectivity:connection_closed"):
                check(names.get(n, 0) > 0, "%s: no %s event (%s)" % (f, n, names))
            if side == "client":
                check(f.replace("_client", "_server") in server_files,
                      "the server has no file for the client's connection %s" % f)


def run_case(h, case):
    if case in ("loopback", "chacha20", "key-update", "retry"):
        extra = {"chacha20": ["--chacha20"], "key-update": ["--key-update"]}.get(case, [])
        h.start_server(extra=["--retry"] if case == "retry" else [])
        err = h.expect_downloads(["one", "1mb", "10mb"], extra)
        if case == "key-update":
            m = re.search(r"key-updates: (\d+)", err)
            check(m is not None and int(m.group(1)) >= 1, "no key update reported:\n" + err)
        log = h.stop_server()
        print(log.strip().splitlines()[-1])
        if case == "retry":
            m = re.search(r"(\d+) retries", log)
            check(m is not None and int(m.group(1)) >= 1, "the server sent no Retry:\n" + log)
    elif case == "qlog":
        qdir = os.path.join(h.tmp, "qlog")
        os.mkdir(qdir)
        # Two client connections, each with its own directory (--qlog-dir=D and --qlog-dir D).
        h.start_server(extra=["--qlog-dir", qdir])
        cdirs = [os.path.join(h.tmp, "qlog-c1"), os.path.join(h.tmp, "qlog-c2")]
        h.expect_downloads(["one", "1mb"], ["--qlog-dir=" + cdirs[0]])
        h.expect_downloads(["one"], ["--qlog-dir", cdirs[1]])
        h.stop_server()
        check_qlog_dirs(qdir, cdirs)
    elif case == "many-streams":
        rng = random.Random(99)
        names = ["f%03d" % i for i in range(150)]
        for n in names:
            with open(os.path.join(h.root, n), "wb") as f:
                f.write(rng.randbytes(rng.randint(0, 5000)))
        h.start_server()
        h.expect_downloads(names)
        log = h.stop_server()
        m = re.search(r"(\d+) connections accepted, (\d+) files served", log)
        check(m is not None and int(m.group(1)) == 1 and int(m.group(2)) == 150,
              "the server did not count 1 connection and 150 files:\n" + log)
    elif case == "errors":
        h.start_server()
        rc, err = h.run_client(["one"], ["--alpn", "h3"])
        check(rc == 1 and "TLS alert no_application_protocol (CRYPTO_ERROR 0x178)" in err,
              "ALPN mismatch: want exit 1 and no_application_protocol (0x178):\n" + err)
        h.expect_downloads(["one"])  # the server is unharmed
        h.stop_server(signal.SIGINT)
        # A silent peer: the client gives up after its --timeout.
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        h.port = silent.getsockname()[1]
        t0 = time.monotonic()
        rc, err = h.run_client(["one"], timeout=1)
        took = time.monotonic() - t0
        silent.close()
        check(rc == 1 and "no answer from 127.0.0.1:%d within 1 s" % h.port in err,
              "silent peer: status %d\n%s" % (rc, err))
        check(took < 5, "the client took %.1f s for --timeout 1" % took)
    elif case == "ca":
        d = make_pki(h.tmp)
        h.start_server(extra=["--cert", d["leaf"], "--key", d["leaf_key"]])
        h.expect_downloads(["one", "1mb"], ["--ca", d["ca"]])
        # The same by name: the certificate's dNSName localhost.
        h.host = "localhost"
        h.expect_downloads(["one"], ["--ca", d["ca"]])
        rc, err = h.run_client(["one"], ["--ca", d["other_ca"]])
        check(rc == 1, "a certificate from an untrusted CA was accepted:\n" + err)
        check("TLS alert unknown_ca (CRYPTO_ERROR 0x130)" in err,
              "no unknown_ca (0x130) close:\n" + err)
        h.stop_server()
    elif case == "ipv6":
        h.start_server(listen="[::1]:0")
        check(h.host == "[::1]", "server not on [::1]")
        h.expect_downloads(["one", "1mb", "10mb"])
        h.stop_server()
    elif case == "not-found":
        h.start_server()
        rc, err = h.run_client(["missing", "../secret", "1mb"])
        check(rc == 1, "client exit status %d, want 1:\n%s" % (rc, err))
        check("/missing: stream reset" in err, "/missing was not reset:\n" + err)
        check("/../secret: stream reset" in err, "/../secret was not reset:\n" + err)
        check(h.same("1mb"), "1mb differs")
        h.stop_server()
    elif case == "scale":
        h.start_server()
        p = subprocess.Popen([h.load_bin, "127.0.0.1:%d" % h.port, "/small",
                              os.path.join(h.root, "small"), "200", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        h.procs.append(p)
        out, err = p.communicate(timeout=80)
        out = out.decode()
        check(p.returncode == 0 and "load: 200/200 ok" in out,
              "load status %d: %s\n%s" % (p.returncode, out, err.decode(errors="replace")[-3000:]))
        print(out.strip())
        log = h.stop_server()
        m = re.search(r"(\d+) connections accepted, (\d+) files served", log)
        r = re.search(r"(\d+) retries", log)
        check(m is not None and r is not None and int(m.group(2)) == 200,
              "the server did not count 200 files:\n" + log)
        # One connection per client, except where the server's automatic Retry
        # (on while the half-open count is high) answered a client's first
        # Initial and a retransmission of that Initial arrived after Retry had
        # switched off again: that one is accepted too, and abandoned by the
        # client, which follows the Retry. Each such extra has a Retry before it.
        extra = int(m.group(1)) - 200
        check(0 <= extra <= int(r.group(1)),
              "the server accepted %s connections for 200 clients (%s retries):\n%s" %
              (m.group(1), r.group(1), log))
    elif case == "flood":
        h.start_server()
        args = [h.client_bin, "--insecure", "--alpn", "hq-interop", "--output", h.out,
                "--timeout", "60", h.url("10mb")]
        c = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        h.procs.append(c)
        target = ("127.0.0.1", h.port)
        sent, during, kinds = flood(target, 30, 200000, lambda: c.poll() is None)
        try:
            _, err = c.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("the client under flood overran its timeout")
        print("flood: %d garbage datagrams during the transfer, by kind %s" %
              (during, sorted(kinds.items())))
        check(c.returncode == 0, "client under flood: status %d\n%s" %
              (c.returncode, err.decode(errors="replace")))
        check(h.same("10mb"), "10mb differs after the flood")
        check(h.server.poll() is None, "the server died under the flood")
        check(during >= 1000, "only %d garbage datagrams during the transfer" % during)
        h.expect_downloads(["1mb"])
        log = h.stop_server()
        print(log.strip().splitlines()[-1])
        m = re.search(r"(\d+) version negotiations", log)
        check(m is not None and int(m.group(1)) >= 1, "no Version Negotiation sent:\n" + log)
    else:
        raise Failure("unknown case " + case)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    h = Harness(sys.argv[1], sys.argv[2], sys.argv[3])

    def on_alarm(signum, frame):
        raise Failure("case time limit (%d s) reached" % CASE_LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(1))
    signal.alarm(CASE_LIMIT_S)
    try:
        run_case(h, sys.argv[4])
    except Failure as e:
        print("FAIL %s: %s" % (sys.argv[4], e))
        return 1
    finally:
        signal.alarm(0)
        h.cleanup()
    print("ok %s" % sys.argv[4])
    return 0


if __name__ == "__main__":
    sys.exit(main())
