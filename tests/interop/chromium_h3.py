#!/usr/bin/env python3
"""Headless Chromium loads a page and a 10 MB resource from quince-server over HTTP/3.

usage: chromium_h3.py QUINCE_SERVER CHROMIUM

quince-server serves a temporary root with index.html and big.bin (10,000,000
pseudo-random bytes) using an openssl-made ECDSA P-256 certificate. Chromium is
forced onto QUIC for the origin (--origin-to-force-quic-on) and told to accept
the certificate by the SHA-256 of its SubjectPublicKeyInfo. The page fetches
big.bin, computes its SHA-256 with crypto.subtle and console.logs
"QUINCE-DIGEST <hex> <length>" (Chromium's console reaches stderr). The test
checks the digest and length against the file, and quince-server's log for both
requests served over h3 (it speaks only QUIC, so any request it logs came over
HTTP/3) on one connection whose QPACK dynamic tables were used both ways. Bounded to 60 s; Chromium's whole process group is killed at the end.
"""
import base64
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LIMIT_S = 60
BIG = 10_000_000

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>quince h3</title></head>
<body><p id="r">running</p>
<script>
(async () => {
  try {
    // Two small responses first: their repeated fields make our QPACK encoder
    // insert into the dynamic table, whatever the timing of the other requests.
    for (const small of ['/a.txt', '/b.txt'])
      await (await fetch(small, {cache: 'no-store'})).text();
    const r = await fetch('/big.bin', {cache: 'no-store'});
    const b = await r.arrayBuffer();
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', b));
    const hex = Array.from(d, x => x.toString(16).padStart(2, '0')).join('');
    console.log('QUINCE-DIGEST ' + hex + ' ' + b.byteLength + ' ' + r.status);
    document.getElementById('r').textContent = hex;
  } catch (e) {
    console.log('QUINCE-ERROR ' + e);
  }
})();
</script></body></html>
"""


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def kill_group(p):
    if p is not None and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def spki_sha256_b64(cert):
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"],
                         capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         capture_output=True, check=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def run(server_bin, chromium, tmp):
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    big = random.Random(9114).randbytes(BIG)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(big)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write(PAGE)
    for small in ("a.txt", "b.txt"):
        with open(os.path.join(root, small), "w") as f:
            f.write("small file %s\n" % small)
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days",
                    "10", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    spki = spki_sha256_b64(cert)

    procs = []
    try:
        serr = open(os.path.join(tmp, "server.err"), "wb")
        server = subprocess.Popen([server_bin, "--listen", "127.0.0.1:0", "--root", root,
                                   "--cert", cert, "--key", key, "--timeout", "70",
                                   "--verbose"],
                                  stdout=subprocess.PIPE, stderr=serr, start_new_session=True)
        procs.append(server)
        port = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and port is None:
            line = server.stdout.readline().decode()
            if not line:
                break
            m = re.match(r"listening on [0-9.]+:(\d+)$", line.strip())
            if m:
                port = int(m.group(1))
        check(port is not None, "quince-server did not print 'listening on'")

        origin = "127.0.0.1:%d" % port
        cerr_path = os.path.join(tmp, "chromium.err")
        cerr = open(cerr_path, "wb")
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + os.path.join(tmp, "profile"), "--enable-logging=stderr",
                "--origin-to-force-quic-on=" + origin,
                "--ignore-certificate-errors-spki-list=" + spki,
                "https://%s/index.html" % origin]
        browser = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=cerr,
                                   start_new_session=True)
        procs.append(browser)
        want = hashlib.sha256(big).hexdigest()
        got = None
        end = time.monotonic() + LIMIT_S - 10
        while time.monotonic() < end:
            with open(cerr_path, "rb") as f:
                text = f.read().decode(errors="replace")
            m = re.search(r"QUINCE-DIGEST ([0-9a-f]{64}) (\d+) (\d+)", text)
            e = re.search(r"QUINCE-ERROR ([^\"]*)", text)
            if m:
                got = m
                break
            if e:
                raise Failure("the page failed: " + e.group(1))
            if browser.poll() is not None:
                raise Failure("chromium exited (%s):\n%s" % (browser.returncode, text[-3000:]))
            time.sleep(0.2)
        kill_group(browser)
        check(got is not None, "no digest from the page within the time limit:\n" +
              open(cerr_path, "rb").read().decode(errors="replace")[-3000:])
        check(got.group(3) == "200", "status %s for big.bin" % got.group(3))
        check(int(got.group(2)) == BIG, "page saw %s bytes, want %d" % (got.group(2), BIG))
        check(got.group(1) == want, "digest %s, want %s" % (got.group(1), want))

        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise Failure("quince-server did not exit on SIGTERM")
        slog = open(os.path.join(tmp, "server.err"), "rb").read().decode(errors="replace")
        check(rc == 0, "quince-server exit status %d:\n%s" % (rc, slog[-2000:]))
        check(re.search(r"h3 stream \d+: GET /index.html 200", slog) is not None,
              "the server did not log the page request over h3:\n" + slog[-2000:])
        check(re.search(r"h3 stream \d+: GET /big.bin 200 \(%d bytes\)" % BIG, slog) is not None,
              "the server did not log the big.bin request over h3:\n" + slog[-2000:])
        # Chromium's QPACK encoder inserts into our decoder's table, and ours
        # into its table (RFC 9204 §4.3): both counted in the connection's line.
        # Chromium may open more than one connection (under load it sometimes
        # races a second handshake, which then carries nothing): the assertions
        # are about the connection that carried the most requests.
        conns = list(re.finditer(r"h3 connection done: requests (\d+) qpack-inserts-received "
                                 r"(\d+) qpack-inserts-sent (\d+)", slog))
        check(conns, "no h3 connection line in the server log:\n" + slog[-2000:])
        m = max(conns, key=lambda c: int(c.group(1)))
        check(int(m.group(1)) >= 2, "fewer than 2 requests on any connection:\n" +
              "\n".join(c.group(0) for c in conns) + "\n--- server:\n" + slog[-3000:])
        check(int(m.group(2)) > 0, "Chromium made no QPACK inserts into our table")
        check(int(m.group(3)) > 0, "our encoder made no QPACK inserts")
        print(m.group(0))
        print("ok: chromium fetched index.html and big.bin over h3, digest %s" % want)
    finally:
        for p in procs:
            kill_group(p)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2

    def on_alarm(signum, frame):
        raise Failure("overran %d s" % LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(LIMIT_S)
    tmp = tempfile.mkdtemp(prefix="quince-chromium-")
    try:
        run(sys.argv[1], sys.argv[2], tmp)
        return 0
    except (Failure, subprocess.CalledProcessError) as e:
        print("FAIL: chromium_h3: %s" % e, file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
