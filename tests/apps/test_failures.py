#!/usr/bin/env python3
"""Every CLI failure case of quince-server and quince-client says, in one line on stderr, what went
wrong and what to do, and exits non-zero; the successful runs report what a user wants to know.

usage: test_failures.py SERVER CLIENT

Failures (exit status, the one stderr line and the words it must contain):
  ALPN mismatch           the server closed ... TLS alert no_application_protocol (CRYPTO_ERROR
                          0x178) ... try --alpn
  untrusted CA            the connection failed here: TLS alert unknown_ca (CRYPTO_ERROR 0x130) ...
                          --ca FILE ... --insecure
  wrong --cert-hash       does not match --cert-hash (... bad_certificate ...)
  WebTransport 404        refused the WebTransport session with HTTP status 404 (405 in the
                          -16 dialect) ... check the path
  session closed first    closed the WebTransport session first: code 4242, reason "bye from quince"
  unreachable server      no answer from 127.0.0.1:P within 1 s (--handshake-timeout 1), within
                          5 s by default, reported in time (h3, hq-interop and WebTransport)
  key not matching cert   refused at start: --key K does not belong to the certificate (an RSA key
                          for an ECDSA certificate, and another ECDSA key)
  unreadable --cert       cannot read --cert F: No such file or directory
  port in use             cannot bind UDP 127.0.0.1:P: Address already in use ... --port
Warnings and reports:
  --webtransport without --cert-hash: a warning that nothing is verified (and the run passes)
  a download: the summary line with bytes, time, throughput, RTT and loss; on a terminal (a pty)
  a progress line that is erased at the end, and none when stderr is not a terminal.
"""
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

LIMIT_S = 110
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(argv, timeout=30):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def one_line(name, argv, needles, want_rc=1, max_s=None, timeout=30):
    rc, out, err, took = run(argv, timeout)
    lines = [l for l in err.splitlines() if l.strip()]
    check(rc == want_rc, "%s: exit %d, want %d\n%s" % (name, rc, want_rc, err))
    check(len(lines) == 1, "%s: %d stderr lines, want one:\n%s" % (name, len(lines), err))
    for n in needles:
        check(n in err, "%s: %r not in: %s" % (name, n, err.strip()))
    if max_s is not None:
        check(took < max_s, "%s: took %.1f s, want < %.1f" % (name, took, max_s))
    print("ok %-22s %.1f s  %s" % (name, took, lines[0] if lines else ""))
    return err


class Server:
    def __init__(self, exe, root, extra):
        self.p = subprocess.Popen([exe, "--listen", "127.0.0.1:0", "--root", root,
                                   "--timeout", "60"] + extra, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        self.hash = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            m = re.match(r"cert-sha256: ([0-9a-f]{64})", line)
            if m:
                self.hash = m.group(1)
            m = re.match(r"listening on (127\.0\.0\.1:\d+)$", line.strip())
            if m:
                self.addr = m.group(1)
                return
        raise RuntimeError("the server did not start")

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=10)


def main():
    server, client = sys.argv[1:3]
    signal.alarm(LIMIT_S)
    tmp = tempfile.mkdtemp(prefix="quince-failures-")
    servers = []
    try:
        root = os.path.join(tmp, "root")
        out = os.path.join(tmp, "out")
        os.mkdir(root)
        os.mkdir(out)
        with open(os.path.join(root, "1mb"), "wb") as f:
            f.write(os.urandom(1_000_000))
        ssl = shutil.which("openssl")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        pem = {k: os.path.join(tmp, k) for k in ("cert", "key", "other_key", "rsa_key", "ca",
                                                 "ca_key")}
        subprocess.run([ssl, "req", "-x509"] + ec + ["-keyout", pem["key"], "-out", pem["cert"],
                        "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
        subprocess.run([ssl, "req", "-x509"] + ec + ["-keyout", pem["ca_key"], "-out", pem["ca"],
                        "-days", "2", "-subj", "/CN=other CA"], check=True, capture_output=True)
        subprocess.run([ssl, "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", pem["other_key"]], check=True,
                       capture_output=True)
        subprocess.run([ssl, "genrsa", "-out", pem["rsa_key"], "2048"], check=True,
                       capture_output=True)

        # The server refuses at start.
        one_line("key-mismatch-rsa", [server, "--port", "0", "--cert", pem["cert"], "--key",
                                      pem["rsa_key"]],
                 ["--key %s does not belong to the certificate in --cert %s" % (pem["rsa_key"],
                                                                                pem["cert"]),
                  "give the key the certificate was issued for"], max_s=5)
        one_line("key-mismatch-ecdsa", [server, "--port", "0", "--cert", pem["cert"], "--key",
                                        pem["other_key"]],
                 ["does not belong to the certificate"], max_s=5)
        one_line("unreadable-cert", [server, "--port", "0", "--cert", pem["cert"] + ".missing",
                                     "--key", pem["key"]],
                 ["cannot read --cert %s.missing: No such file or directory" % pem["cert"]])
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", 0))
        bport = busy.getsockname()[1]
        one_line("port-in-use", [server, "--listen", "127.0.0.1:%d" % bport],
                 ["cannot bind UDP 127.0.0.1:%d: Address already in use" % bport, "--port N"])

        # Against silence: reported within the handshake timeout.
        silent = "https://127.0.0.1:%d/1mb" % bport
        one_line("unreachable-h3", [client, "--insecure", "-o", out, "--handshake-timeout", "1",
                                    silent],
                 ["no answer from 127.0.0.1:%d within 1 s" % bport, "--handshake-timeout"],
                 max_s=4)
        one_line("unreachable-hq", [client, "--insecure", "--alpn", "hq-interop", "-o", out,
                                    "--handshake-timeout=1", silent],
                 ["no answer from 127.0.0.1:%d within 1 s" % bport], max_s=4)
        one_line("unreachable-default", [client, "--insecure", "-o", out, silent],
                 ["no answer from 127.0.0.1:%d within 5 s" % bport], max_s=8)
        one_line("unreachable-wt", [client, "--webtransport", "https://127.0.0.1:%d/echo" % bport,
                                    "--cert-hash", "0" * 64, "--handshake-timeout", "1"],
                 ["no answer from 127.0.0.1:%d within 1 s" % bport], max_s=4)
        busy.close()

        # Against a running server.
        hq = Server(server, root, ["--alpn", "hq-interop"])
        servers.append(hq)
        one_line("alpn-mismatch", [client, "--insecure", "-o", out, "https://%s/1mb" % hq.addr],
                 ["the server closed the connection: TLS alert no_application_protocol "
                  "(CRYPTO_ERROR 0x178)", "try --alpn h3 or --alpn hq-interop"])
        s = Server(server, root, ["--cert", pem["cert"], "--key", pem["key"]])
        servers.append(s)
        one_line("untrusted-ca", [client, "--ca", pem["ca"], "-o", out,
                                  "https://%s/1mb" % s.addr],
                 ["the connection failed here: TLS alert unknown_ca (CRYPTO_ERROR 0x130)",
                  "give --ca FILE with the CA that signed it, or --insecure"])
        wt = Server(server, root, [])
        servers.append(wt)
        base = "https://%s" % wt.addr
        one_line("wrong-cert-hash", [client, "--webtransport", base + "/echo", "--cert-hash",
                                     "ab" * 32],
                 ["the server's certificate does not match --cert-hash",
                  "bad_certificate, CRYPTO_ERROR 0x12a", "cert-sha256"])
        one_line("wt-404", [client, "--webtransport", base + "/nope", "--cert-hash", wt.hash],
                 ["refused the WebTransport session with HTTP status 40", "check the path"])
        one_line("wt-closed-first", [client, "--webtransport", base + "/close-me", "--cert-hash",
                                     wt.hash],
                 ['closed the WebTransport session first: code 4242, reason "bye from quince"'])
        err = one_line("wt-no-cert-hash", [client, "--webtransport", base + "/echo"],
                       ["warning: without --cert-hash the server's certificate is not verified"],
                       want_rc=0)

        # The summary of a download, and its progress line on a terminal only.
        rc, _, err, _ = run([client, "--insecure", "-o", out, "https://%s/1mb" % wt.addr])
        m = re.search(r"1/1 downloads ok: ([0-9.]+ [kMG]B|\d+ bytes) in ([0-9.]+) s "
                      r"\(([0-9.]+ [kMG]bit/s)\); RTT ([0-9.]+) ms \(min ([0-9.]+)\); "
                      r"packets sent \d+ received \d+ lost (\d+)", err)
        check(rc == 0 and m is not None and m.group(1) == "1.00 MB",
              "summary: exit %d\n%s" % (rc, err))
        check("\r" not in err, "a progress line although stderr is not a terminal")
        if m:
            print("ok summary: %s" % m.group(0))
        mfd, sfd = pty.openpty()
        p = subprocess.Popen([client, "--insecure", "-o", out, "https://%s/1mb" % wt.addr],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sfd)
        os.close(sfd)
        data = b""
        while True:
            try:
                chunk = os.read(mfd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        p.wait(timeout=30)
        os.close(mfd)
        text = data.decode(errors="replace")
        check(p.returncode == 0, "pty run: exit %d" % p.returncode)
        progress = re.findall(r"\r\x1b\[Kquince-client: \d+/1 files, [^\r]*", text)
        # A rate in any unit: a 1 MB download on loopback may end before the first tick.
        check(len(progress) >= 1 and re.search(r"[kMG]bit/s", "".join(progress)) is not None,
              "no progress line on a terminal: %r" % text[:300])
        # Erased before the last lines: what follows the last "\r\033[K" is no progress line.
        tail = text.rsplit("\r\x1b[K", 1)[-1]
        check(" files, " not in tail and "1/1 downloads ok" in tail,
              "the progress line is not erased before the summary: %r" % text[-300:])
        check("1/1 downloads ok" in text, "no summary on the terminal: %r" % text[-300:])
        print("ok progress on a terminal (%d bytes of terminal output)" % len(data))
    finally:
        for s in servers:
            if s.p.poll() is None:
                s.p.kill()
                s.p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
