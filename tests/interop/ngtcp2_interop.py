#!/usr/bin/env python3
"""HTTP/3 interop with ngtcp2's example client and server (Debian's ngtcp2-client /
ngtcp2-server 0.12: gtlsclient and gtlsserver, GnuTLS inside, HTTP/3 only).

usage: ngtcp2_interop.py QUINCE_SERVER QUINCE_CLIENT GTLSCLIENT GTLSSERVER DIRECTION CASE

DIRECTION  ngtcp2-client  gtlsclient downloads from quince-server
           ngtcp2-server  quince-client downloads from gtlsserver
CASE       one        a 1-byte file, byte-exact
           10mb       a 10,000,000-byte file, byte-exact
           many       50 files (1..20,000 bytes) over one connection, byte-exact
           chacha20   ngtcp2 (client or server) restricted to CHACHA20-POLY1305;
                      quince-client also with --chacha20
           p256       ngtcp2 restricted to the SECP256R1 group (our client offers X25519
                      first: gtlsserver must ask for P-256 with a HelloRetryRequest)
           retry      quince-server --retry / gtlsserver -V: a Retry, then the download
           key-update gtlsclient --key-update=20ms / quince-client --key-update during the
                      10,000,000-byte download (1 MB could end before the update); the initiator's peer (quince-server's
                      log) or quince-client's counters report the update
           qpack      the QPACK dynamic table in use: quince-server's log shows inserts
                      received from nghttp3's encoder and sent by ours (10 files, one
                      connection); against gtlsserver quince-client's counters show
                      inserts both ways
           not-found  /missing beside /one on one connection: quince-server answers 404
                      (its log says so) and serves /one; quince-client reports
                      "status 404" for gtlsserver's answer, exits 1, and saves /one
The direction 'quince' runs quince-client against quince-server over h3 (cases one,
10mb, many, not-found), so that our own pair is checked the same way.
Certificates come from openssl in a temporary directory. Each case is bounded (alarm),
and all processes are killed and the directory removed on any exit.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CASE_LIMIT_S = 100
NG_COMMON = ["--initial-rtt=10ms"]
CHACHA = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305"
P256 = "-GROUP-ALL:+GROUP-SECP256R1"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    def __init__(self, qserver, qclient, ngclient, ngserver):
        self.qserver, self.qclient = qserver, qclient
        self.ngclient, self.ngserver = ngclient, ngserver
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="quince-ngtcp2-")
        self.root = os.path.join(self.tmp, "root")
        self.out = os.path.join(self.tmp, "out")
        os.mkdir(self.root)
        os.mkdir(self.out)
        self.key = os.path.join(self.tmp, "key.pem")
        self.cert = os.path.join(self.tmp, "cert.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key, "-out",
                            self.cert, "-days", "10", "-subj", "/CN=localhost", "-addext",
                            "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        check(r.returncode == 0, "openssl req failed: " + r.stderr.decode(errors="replace"))
        rng = random.Random(9114)
        self.files = {"one": 1, "10mb": 10_000_000, "1mb": 1_000_000}
        for i in range(50):
            self.files["f%02d" % i] = 1 + (i * 7919) % 20000
        for name, size in self.files.items():
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(rng.randbytes(size))
        self.port = None

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def spawn(self, args, stdout, stderr):
        p = subprocess.Popen(args, stdout=stdout, stderr=stderr, start_new_session=True)
        self.procs.append(p)
        return p

    def read_log(self, name):
        with open(os.path.join(self.tmp, name), "rb") as f:
            return f.read().decode(errors="replace")

    def same(self, name):
        with open(os.path.join(self.root, name), "rb") as a:
            want = a.read()
        try:
            with open(os.path.join(self.out, name), "rb") as b:
                return b.read() == want
        except FileNotFoundError:
            return False

    # ---- quince-server + gtlsclient ----

    def start_quince_server(self, extra):
        err = open(os.path.join(self.tmp, "server.err"), "wb")
        args = [self.qserver, "--listen", "127.0.0.1:0", "--root", self.root, "--cert", self.cert,
                "--key", self.key, "--timeout", "90", "--verbose"] + extra
        p = self.spawn(args, subprocess.PIPE, err)
        self.server = p
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = p.stdout.readline().decode()
            if not line:
                break
            m = re.match(r"listening on ([0-9.]+):(\d+)$", line.strip())
            if m:
                self.port = int(m.group(2))
                return
        raise Failure("quince-server did not print 'listening on'")

    def stop_quince_server(self):
        p = self.server
        check(p.poll() is None, "quince-server died (status %s)" % p.poll())
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise Failure("quince-server did not exit on SIGTERM")
        log = self.read_log("server.err")
        check(rc == 0, "quince-server exited with status %d:\n%s" % (rc, log[-3000:]))
        return log

    def run_gtlsclient(self, names, extra, quiet):
        url = lambda n: "https://127.0.0.1:%d/%s" % (self.port, n)
        args = [self.ngclient] + NG_COMMON + ["--exit-on-all-streams-close",
                                              "--download=" + self.out, "--timeout=30s"]
        if quiet:
            args.append("-q")
        args += extra + ["127.0.0.1", str(self.port)] + [url(n) for n in names]
        log = open(os.path.join(self.tmp, "client.log"), "wb")
        p = self.spawn(args, log, subprocess.STDOUT)
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("gtlsclient did not finish in 60 s")
        return rc, self.read_log("client.log")

    # ---- gtlsserver + quince-client ----

    def start_gtlsserver(self, extra):
        self.port = free_udp_port()
        args = [self.ngserver] + NG_COMMON + ["-q", "-d", self.root, "--timeout=60s"] + extra + \
            ["127.0.0.1", str(self.port), self.key, self.cert]
        log = open(os.path.join(self.tmp, "ngserver.log"), "wb")
        self.server = self.spawn(args, log, subprocess.STDOUT)
        time.sleep(0.3)
        check(self.server.poll() is None,
              "gtlsserver did not start:\n" + self.read_log("ngserver.log")[-2000:])

    def run_quince_client(self, names, extra):
        args = [self.qclient, "--insecure", "--output", self.out, "--timeout", "40",
                "--verbose"] + extra + ["https://127.0.0.1:%d/%s" % (self.port, n) for n in names]
        p = self.spawn(args, subprocess.DEVNULL, subprocess.PIPE)
        try:
            _, err = p.communicate(timeout=50)
        except subprocess.TimeoutExpired:
            raise Failure("quince-client overran its --timeout")
        return p.returncode, err.decode(errors="replace")


def case_names(case):
    if case == "one":
        return ["one"]
    if case == "10mb":
        return ["10mb"]
    if case == "many":
        return ["f%02d" % i for i in range(50)]
    if case == "qpack":
        return ["f%02d" % i for i in range(10)]
    if case == "key-update":
        return ["10mb"]
    if case == "not-found":
        return ["one", "missing"]
    return ["one", "f01", "f02"]


def server_h3_counts(log):
    """Sum of the per-connection 'h3 connection done' lines of quince-server."""
    req = rin = rout = conns = kup = 0
    for m in re.finditer(r"h3 connection done: requests (\d+) qpack-inserts-received (\d+) "
                         r"qpack-inserts-sent (\d+) key-updates (\d+)", log):
        conns += 1
        req += int(m.group(1))
        rin += int(m.group(2))
        rout += int(m.group(3))
        kup += int(m.group(4))
    return conns, req, rin, rout, kup


def ngtcp2_client_case(r, case):
    names = case_names(case)
    server_extra, client_extra = [], []
    # gtlsclient's full debug output slows it enough to lose packets on bulk
    # transfers; the small cases keep it to check its handshake report.
    quiet = case in ("10mb", "many", "one", "key-update")
    if case == "chacha20":
        client_extra.append("--ciphers=" + CHACHA)
    elif case == "p256":
        client_extra.append("--groups=" + P256)
    elif case == "retry":
        server_extra.append("--retry")
    elif case == "key-update":
        client_extra.append("--key-update=20ms")
    elif case == "qpack":
        # nghttp3 encodes with the dynamic table only once our SETTINGS arrived:
        # hold the requests back a little after the handshake.
        client_extra.append("--delay-stream=100ms")
    r.start_quince_server(server_extra)
    rc, log = r.run_gtlsclient(names, client_extra, quiet)
    slog = r.stop_quince_server()
    check(rc == 0, "gtlsclient exit status %d:\n%s\n--- server:\n%s" %
          (rc, log[-3000:], slog[-3000:]))
    for n in names:
        if n != "missing":
            check(r.same(n),
                  "%s differs from the served file\n--- server:\n%s" % (n, slog[-3000:]))
    if case == "not-found":
        check(re.search(r"h3 stream \d+: GET /missing 404", slog) is not None,
              "quince-server did not answer 404:\n" + slog[-2000:])
        check(re.search(r"h3: 2 requests, 1 served, 1 not found", slog) is not None,
              "quince-server's totals are wrong:\n" + slog[-2000:])
    conns, reqs, ins_in, ins_out, kups = server_h3_counts(slog)
    check(conns == 1 and reqs == len(names),
          "quince-server saw %d h3 connections and %d requests (want 1 and %d):\n%s" %
          (conns, reqs, len(names), slog[-3000:]))
    m = re.search(r"(\d+) retries", slog)
    retries = int(m.group(1)) if m else -1
    if case == "retry":
        check(retries >= 1, "quince-server sent no Retry:\n" + slog[-2000:])
        check("type=Retry" in log, "gtlsclient logged no Retry packet")
    else:
        check(retries == 0, "unexpected Retry")
    if case == "chacha20":
        check("Negotiated cipher suite is CHACHA20-POLY1305" in log,
              "gtlsclient did not report ChaCha20:\n" +
              "\n".join(l for l in log.splitlines() if "Negotiated" in l))
    if case == "p256":
        # gtlsclient offered only SECP256R1: a finished handshake used it.
        check("Negotiated ALPN is h3" in log, "gtlsclient reported no h3 handshake")
    if case == "key-update":
        # gtlsclient initiates (its -q output does not say so): our server follows
        # into the new key phase and counts the update (RFC 9001 §6.2).
        check(kups >= 1, "quince-server saw no key update:\n" + slog[-2000:])
    if case == "qpack":
        check(ins_in > 0, "nghttp3's encoder made no inserts into our decoder:\n" + slog[-2000:])
        check(ins_out > 0, "our encoder made no inserts:\n" + slog[-2000:])
    print("ok: %d files; server: %d requests, qpack inserts received %d sent %d" %
          (len(names), reqs, ins_in, ins_out))


def ngtcp2_server_case(r, case, own=False):
    names = case_names(case)
    server_extra, client_extra = [], []
    if case == "chacha20":
        server_extra.append("--ciphers=" + CHACHA)
        client_extra.append("--chacha20")
    elif case == "p256":
        server_extra.append("--groups=" + P256)
    elif case == "retry":
        server_extra.append("-V")
    elif case == "key-update":
        client_extra.append("--key-update")
    if own:
        r.start_quince_server(server_extra)
    else:
        r.start_gtlsserver(server_extra)
    rc, err = r.run_quince_client(names, client_extra)
    if own:
        slog = r.stop_quince_server()
        conns, reqs, _, _, _ = server_h3_counts(slog)
        check(conns == 1 and reqs == len(names),
              "quince-server saw %d h3 connections and %d requests:\n%s" %
              (conns, reqs, slog[-2000:]))
    else:
        check(r.server.poll() is None,
              "gtlsserver died:\n" + r.read_log("ngserver.log")[-2000:])
    want_ok = len(names) - (1 if case == "not-found" else 0)
    if case == "not-found":
        check(rc == 1, "quince-client exit status %d with a 404:\n%s" % (rc, err[-3000:]))
        check("/missing: status 404" in err, "no 404 reported:\n" + err[-2000:])
    else:
        check(rc == 0, "quince-client exit status %d:\n%s" % (rc, err[-3000:]))
    for n in names:
        if n != "missing":
            check(r.same(n), "%s differs from the served file" % n)
    m = re.search(r"(\d+)/(\d+) downloads ok", err)
    check(m is not None and int(m.group(1)) == want_ok,
          "quince-client summary missing or short:\n" + err[-2000:])
    if case == "key-update":
        m = re.search(r"key-updates: (\d+)", err)
        check(m is not None and int(m.group(1)) >= 1, "no key update:\n" + err[-2000:])
    if case == "qpack":
        m = re.search(r"qpack-inserts-sent (\d+) qpack-inserts-received (\d+)", err)
        check(m is not None and int(m.group(1)) > 0,
              "quince-client made no QPACK inserts:\n" + err[-2000:])
        check(int(m.group(2)) > 0, "nghttp3's encoder made no inserts into our decoder")
    m = re.search(r"qpack-inserts-sent (\d+) qpack-inserts-received (\d+)", err)
    print("ok: %d files from %s; client qpack inserts sent %s received %s" %
          (want_ok, "quince-server" if own else "gtlsserver", m.group(1) if m else "?",
           m.group(2) if m else "?"))


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    qserver, qclient, ngclient, ngserver, direction, case = sys.argv[1:]
    r = Run(qserver, qclient, ngclient, ngserver)

    def on_alarm(signum, frame):
        raise Failure("case overran %d s" % CASE_LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(CASE_LIMIT_S)
    try:
        if direction == "ngtcp2-client":
            ngtcp2_client_case(r, case)
        elif direction == "ngtcp2-server":
            ngtcp2_server_case(r, case)
        elif direction == "quince":
            ngtcp2_server_case(r, case, own=True)
        else:
            raise Failure("unknown direction " + direction)
        return 0
    except Failure as e:
        print("FAIL: %s/%s: %s" % (direction, case, e), file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        r.cleanup()


if __name__ == "__main__":
    sys.exit(main())
