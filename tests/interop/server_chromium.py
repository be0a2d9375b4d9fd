#!/usr/bin/env python3
"""quince-server with a CA-signed certificate: headless Chromium fetches a file over HTTP/3
and runs a WebTransport echo session on the same UDP port, in one server run, trusting the
certificate through its CA in an NSS database (no serverCertificateHashes).

usage: server_chromium.py QUINCE_SERVER CHROMIUM

The test makes a CA and a leaf (ECDSA P-256, SAN localhost, 127.0.0.1, ::1) with openssl,
an NSS database in $HOME/.pki/nssdb of a temporary HOME with that CA trusted for TLS
servers (certutil -t C,,), and starts `quince-server --cert leaf --key key --root DIR
--port 0` (its default addresses: 127.0.0.1 and ::1 on one port). Chromium loads
https://localhost:PORT/index.html, forced onto QUIC for that origin
(--origin-to-force-quic-on; the server speaks only QUIC, so no Alt-Svc). The page:
  - fetches /data.bin over HTTP/3 and reports its SHA-256 and length;
  - opens new WebTransport('https://localhost:PORT/echo') with no options, and checks a
    bidirectional stream (300,000 bytes), a unidirectional stream (50,000 bytes, echoed
    on a stream of the server's) and a datagram echoed byte for byte;
and logs "QUINCE-RESULT <json>" to the console (Chromium's console reaches stderr).
Checked: the digest and length of the file, each echo, the server's log of the h3 request
and of the /echo session with the page's origin, and its exit status 0 after SIGTERM.
A second Chromium without the NSS database must not load the page (the trust comes from
the CA, nothing else). Bounded to 120 s; every process group is killed at the end.
"""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LIMIT_S = 120
DATA = 2_000_000

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>quince h3 + webtransport</title></head>
<body><p id="r">running</p>
<script>
const hex = (buf) => Array.from(new Uint8Array(buf), x => x.toString(16).padStart(2, '0')).join('');
const pattern = (n, seed) => { const a = new Uint8Array(n); let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; a[i] = x >>> 24; } return a; };
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
async function readAll(readable) {
  const r = readable.getReader(), parts = []; let n = 0;
  for (;;) { const {value, done} = await r.read(); if (done) break; parts.push(value); n += value.length; }
  const out = new Uint8Array(n); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) =>
  setTimeout(() => rej(new Error(what + ' timed out')), ms))]);
(async () => {
  const res = {};
  try {
    const r = await fetch('/data.bin', {cache: 'no-store'});
    const b = await r.arrayBuffer();
    res.fetch = {status: r.status, length: b.byteLength,
                 sha256: hex(await crypto.subtle.digest('SHA-256', b))};
  } catch (e) { res.fetch = {error: String(e)}; }
  try {
    const wt = new WebTransport('https://' + location.host + '/echo');
    await withTimeout(wt.ready, 15000, 'session');
    res.session = 'ready';
    const bidiData = pattern(300000, 1);
    const s = await wt.createBidirectionalStream();
    const w = s.writable.getWriter();
    const echoed = readAll(s.readable);
    await w.write(bidiData); await w.close();
    res.bidi = same(await withTimeout(echoed, 15000, 'bidi'), bidiData);
    const uniData = pattern(50000, 2);
    const incoming = wt.incomingUnidirectionalStreams.getReader();
    const u = await wt.createUnidirectionalStream();
    const uw = u.getWriter(); await uw.write(uniData); await uw.close();
    const {value: back} = await withTimeout(incoming.read(), 15000, 'uni stream');
    res.uni = same(await withTimeout(readAll(back), 15000, 'uni'), uniData);
    const dgData = pattern(600, 3);
    const dr = wt.datagrams.readable.getReader();
    const dw = wt.datagrams.writable.getWriter();
    let got = null;
    for (let i = 0; i < 20 && got === null; i++) {
      await dw.write(dgData);
      got = await Promise.race([dr.read().then(x => x.value), new Promise(r => setTimeout(() => r(null), 500))]);
    }
    res.datagram = got !== null && same(got, dgData);
    wt.close({closeCode: 9, reason: 'page done'});
  } catch (e) { res.wt_error = String(e); }
  console.log('QUINCE-RESULT ' + JSON.stringify(res));
  document.getElementById('r').textContent = JSON.stringify(res);
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


def run_quiet(args, **kw):
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, **kw)


def make_certs(tmp):
    ca_key, ca = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.pem")
    run_quiet(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", ca_key, "-out", ca, "-days", "30", "-subj",
               "/CN=Quince Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
               "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    key, csr, cert = (os.path.join(tmp, n) for n in ("leaf.key", "leaf.csr", "leaf.pem"))
    run_quiet(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
    ext = os.path.join(tmp, "leaf.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    # 20 days: longer than serverCertificateHashes would ever accept (14).
    run_quiet(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
               "-CAcreateserial", "-out", cert, "-days", "20", "-extfile", ext])
    return ca, cert, key


def make_nssdb(home, ca):
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db)
    run_quiet(["certutil", "-d", "sql:" + db, "-N", "--empty-password"])
    run_quiet(["certutil", "-d", "sql:" + db, "-A", "-t", "C,,", "-n", "quince-test-ca",
               "-i", ca])


def chromium(chromium_bin, tmp, name, home, port, url, log_path):
    env = dict(os.environ, HOME=home)
    args = [chromium_bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--user-data-dir=" + os.path.join(tmp, "profile-" + name),
            "--enable-logging=stderr", "--origin-to-force-quic-on=localhost:%d" % port, url]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log_path, "wb"),
                            env=env, start_new_session=True)


def wait_for(log_path, pattern, limit, proc):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with open(log_path, "rb") as f:
            text = f.read().decode(errors="replace")
        m = re.search(pattern, text)
        if m:
            return m
        if proc.poll() is not None:
            return None
        time.sleep(0.2)
    return None


def run(server_bin, chromium_bin, tmp):
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    data = random.Random(9114).randbytes(DATA)
    with open(os.path.join(root, "data.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write(PAGE)
    ca, cert, key = make_certs(tmp)
    home = os.path.join(tmp, "home")
    make_nssdb(home, ca)
    bare_home = os.path.join(tmp, "bare-home")
    os.mkdir(bare_home)

    procs = []
    try:
        out_path = os.path.join(tmp, "server.txt")
        server = subprocess.Popen([server_bin, "--cert", cert, "--key", key, "--root", root,
                                   "--port", "0", "--verbose"],
                                  stdout=open(out_path, "wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        procs.append(server)
        m = None
        for _ in range(200):
            text = open(out_path, "rb").read().decode(errors="replace")
            m4 = re.search(r"^listening on 127\.0\.0\.1:(\d+)$", text, re.M)
            m6 = re.search(r"^listening on \[::1\]:(\d+)$", text, re.M)
            if m4 and m6:
                m = (m4, m6)
                break
            time.sleep(0.05)
        check(m is not None, "quince-server did not listen on 127.0.0.1 and ::1:\n" +
              open(out_path, "rb").read().decode(errors="replace"))
        port = int(m[0].group(1))
        check(int(m[1].group(1)) == port, "not the same port on 127.0.0.1 and ::1")
        url = "https://localhost:%d/index.html" % port

        # Without the CA in an NSS database the page must not load at all.
        bare_log = os.path.join(tmp, "chromium-bare.txt")
        bare = chromium(chromium_bin, tmp, "bare", bare_home, port, url, bare_log)
        procs.append(bare)
        untrusted = wait_for(bare_log, r"QUINCE-RESULT", 8, bare)
        kill_group(bare)
        check(untrusted is None, "the page loaded without the CA being trusted")

        log = os.path.join(tmp, "chromium.txt")
        browser = chromium(chromium_bin, tmp, "nss", home, port, url, log)
        procs.append(browser)
        got = wait_for(log, r"QUINCE-RESULT (\{.*?\})\"", LIMIT_S - 40, browser)
        kill_group(browser)
        check(got is not None, "no result from the page:\n" +
              open(log, "rb").read().decode(errors="replace")[-3000:])
        res = json.loads(got.group(1).replace('\\"', '"'))
        print("page:", res)
        f = res.get("fetch", {})
        check(f.get("status") == 200, "fetch status %s" % f)
        check(f.get("length") == DATA, "fetch length %s, want %d" % (f.get("length"), DATA))
        check(f.get("sha256") == hashlib.sha256(data).hexdigest(), "fetch digest differs")
        check("wt_error" not in res, "WebTransport failed: %s" % res.get("wt_error"))
        check(res.get("session") == "ready", "no WebTransport session")
        check(res.get("bidi") is True, "bidi echo differs")
        check(res.get("uni") is True, "uni echo differs")
        check(res.get("datagram") is True, "datagram echo differs")

        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise Failure("quince-server did not exit on SIGTERM")
        slog = open(out_path, "rb").read().decode(errors="replace")
        print(slog[-3000:])
        check(rc == 0, "quince-server exit status %d" % rc)
        check(re.search(r"h3 stream \d+: GET /data.bin 200 \(%d bytes\)" % DATA, slog)
              is not None, "the server did not log the data.bin request over h3")
        check(re.search(r"^server: session /echo ready origin https://localhost:%d$" % port,
                        slog, re.M) is not None, "the server did not log the /echo session")
        check(re.search(r'^server: session /echo closed code 9 reason "page done"$', slog,
                        re.M) is not None, "the server did not log the page's close")
        check("cert-sha256" not in slog, "a hash was printed for a CA-signed certificate")
        print("ok: h3 fetch and WebTransport echo on port %d, trusted through the CA" % port)
    finally:
        for p in procs:
            kill_group(p)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    for tool in ("openssl", "certutil"):
        if shutil.which(tool) is None:
            print("FAIL: %s missing (scripts/setup.sh installs it)" % tool, file=sys.stderr)
            return 1

    def on_alarm(signum, frame):
        raise Failure("overran %d s" % LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(LIMIT_S)
    tmp = tempfile.mkdtemp(prefix="quince-server-chromium-")
    try:
        run(sys.argv[1], sys.argv[2], tmp)
        return 0
    except (Failure, subprocess.CalledProcessError) as e:
        print("FAIL: server_chromium: %s" % e, file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
