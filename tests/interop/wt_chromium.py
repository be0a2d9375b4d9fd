#!/usr/bin/env python3
"""Headless Chromium drives the WebTransport API against quince-server (demo mode).

wt_chromium.py QUINCE_SERVER CHROMIUM MODE
  MODE browser: the page /test runs every check (session with serverCertificateHashes,
    bidi / uni / datagram echo, 100 x 64 KB streams, a 5 MB stream, resets both ways,
    client close, server close, a 404 session) and reports each one to the server
    (POST /log); every assertion is checked in the page's report and in what the server
    printed about the same event.
  MODE browser-localhost: the same checks with the page at http://localhost:PORT/test and its
    sessions to https://localhost:PORT/ (quince-server's default addresses, 127.0.0.1 and
    ::1, and the page listener on both: Chromium tries ::1 first for localhost).
  MODE browser-draft07: the same checks with Chromium started with
    --enable-features=EnableWebTransportDraft07 (it then offers draft-02 and draft-07 and
    picks the newest the server offers: draft-07).
  In every browser mode the page asks the server which dialect the session speaks and
  both the page's answer and the server's own line must name the expected one (draft-02
  by default).
  MODE browser-firefox: the same page in headless Firefox ESR (CHROMIUM is then the
    firefox-esr binary; a fresh profile whose user.js turns HTTP/3 and WebTransport on and
    sends console.log to stdout). Firefox ESR 153 speaks draft-02. Measured here: it
    reports a peer's stream reset to the page as a TypeError "Error in input stream"
    with no streamErrorCode, so the two reset checks fail on the page exactly that way
    (asserted), while the server's side of both resets (code 7 received, code 1234 sent)
    is asserted as for Chromium.
  MODE browser-shutdown (issue 10): the page /test?shutdown opens a session to /echo; once
    it is ready the server gets SIGTERM; the session's `closed` promise must resolve (not
    reject) with the server's close, code 0 reason "server shutting down"
    (CLOSE_WEBTRANSPORT_SESSION), within 1 s of the signal (the page's console line, in
    Chromium's log), and the server must exit 0.
  MODE client: quince-client --webtransport against quince-server over loopback
    (CHROMIUM is then the quince-client binary).
Each run is bounded in time; Chromium runs in its own process group, killed at the end.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update',
                  '--disable-sync', '--enable-logging=stderr']


def start_server(server, out_path, localhost=False):
    out = open(out_path, 'w')
    if localhost:
        args = ['--port', '0', '--demo-http', 'localhost:0']
    else:
        args = ['--demo', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0']
    p = subprocess.Popen([server] + args + ['--timeout', '170'], stdout=out,
                         stderr=subprocess.STDOUT)
    info = {}
    deadline = time.time() + 10
    while time.time() < deadline and len(info) < 3:
        text = open(out_path).read()
        m = re.search(r'cert-sha256: ([0-9a-f]{64})', text)
        if m:
            info['hash'] = m.group(1)
        m = re.search(r'webtransport: https://127\.0\.0\.1:(\d+)/', text)
        if m:
            info['wt_port'] = int(m.group(1))
        m = re.search(r'http-port: (\d+)', text)
        if m:
            info['http_port'] = int(m.group(1))
        time.sleep(0.05)
    if len(info) < 3:
        p.kill()
        sys.exit('server did not start: ' + open(out_path).read())
    return p, info


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


FIREFOX_PREFS = ['network.http.http3.enable', 'network.webtransport.enabled',
                 'network.webtransport.datagrams.enabled', 'devtools.console.stdout.content']
FIREFOX_OFF = ['browser.shell.checkDefaultBrowser', 'datareporting.policy.dataSubmissionEnabled',
               'toolkit.telemetry.reportingpolicy.firstRun', 'app.update.enabled',
               'browser.aboutwelcome.enabled']


def run_chromium(chromium, url, profile, log, until, limit, extra=()):
    """Run headless Chromium (or Firefox) on url until until() is true or limit seconds passed."""
    if 'firefox' in os.path.basename(chromium):
        os.makedirs(profile, exist_ok=True)
        with open(os.path.join(profile, 'user.js'), 'w') as f:
            for k in FIREFOX_PREFS:
                f.write('user_pref("%s", true);\n' % k)
            for k in FIREFOX_OFF:
                f.write('user_pref("%s", false);\n' % k)
        args = [chromium, '--headless', '--no-remote', '--profile', profile, url]
    else:
        args = [chromium] + CHROMIUM_FLAGS + list(extra) + ['--user-data-dir=' + profile, url]
    c = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
    deadline = time.time() + limit
    try:
        while time.time() < deadline and not until():
            if c.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        try:
            os.killpg(c.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        c.wait()


def browser(server, chromium, work, host='127.0.0.1', dialect='draft-02', extra=(),
            firefox=False):
    out_path = os.path.join(work, 'server.txt')
    p, info = start_server(server, out_path, localhost=host == 'localhost')
    t0 = time.time()
    try:
        with open(os.path.join(work, 'chromium.txt'), 'w') as log:
            run_chromium(chromium, 'http://%s:%d/test' % (host, info['http_port']),
                         os.path.join(work, 'profile'), log,
                         lambda: 'page: DONE' in open(out_path).read(), 120, extra)
        time.sleep(0.3)
    finally:
        stop(p)
    elapsed = time.time() - t0
    srv = open(out_path).read()
    print(srv)
    page = [l[len('page: '):] for l in srv.splitlines() if l.startswith('page: ')]
    failures = []

    def need(cond, what):
        if not cond:
            failures.append(what)

    def page_pass(name):
        ok = any(l.startswith('PASS ' + name + ' ') for l in page)
        need(ok, 'page: ' + name)
        return ok

    def server_saw(pattern, what):
        need(re.search(pattern, srv, re.M) is not None, 'server: ' + what)

    if firefox:
        # Measured: Firefox ESR 153 gives the page no code for a peer's stream reset (it
        # does not map WebTransport codes to HTTP/3 ones: mozilla/neqo#1283). Usually the
        # read fails with a TypeError; now and then (seen once in CI, under load) with a
        # WebTransportError whose code is 0. Either way the reset arrived without its code.
        need(any(l.startswith('DONE pass=11 fail=2') for l in page), 'page: DONE with 11 passes')
        for name in ('page-reset', 'server-reset'):
            need('FAIL %s: TypeError: Error in input stream' % name in page or
                 'FAIL %s: WebTransportError: WebTransportStream Reset code 0' % name in page,
                 'page: %s seen as a reset without a code' % name)
    else:
        need(any(l.startswith('DONE pass=13 fail=0') for l in page), 'page: DONE with 13 passes')
    # Both sides name the same dialect.
    need(any(l.startswith('PASS dialect %s ' % dialect) for l in page), 'page: dialect ' + dialect)
    server_saw(r'^server: session /echo dialect %s$' % dialect, 'the /echo session in ' + dialect)
    need(re.search(r'^server: session /\w+(-\w+)? dialect (?!%s$)' % dialect, srv, re.M) is None,
         'server: every session in ' + dialect)
    page_pass('session-open')
    server_saw(r'^server: session /echo ready origin http://%s:%d$' %
               (re.escape(host), info['http_port']), 'the /echo session with the page origin')
    page_pass('bidi-echo')
    page_pass('uni-echo')
    server_saw(r'^server: uni stream \d+ fin$', 'a uni stream echoed')
    page_pass('datagram-echo')
    m = re.search(r'^server: echo totals: (\d+) datagrams, (\d+) stream bytes$', srv, re.M)
    need(m is not None and int(m.group(1)) >= 1, 'server: a datagram echoed')
    need(m is not None and int(m.group(2)) >= 100 * 65536 + 5 * 1024 * 1024,
         'server: 100 x 64 KB + 5 MB echoed on streams')
    page_pass('100-streams-64k')
    # 1 + 100 + 1 bidi streams ended with the page's FIN and were echoed.
    need(len(re.findall(r'^server: bidi stream \d+ fin$', srv, re.M)) >= 102,
         'server: 102 bidi streams echoed to their FIN')
    page_pass('5mb-stream')
    if not firefox:
        page_pass('page-reset')
    server_saw(r'^server: stream \d+ reset by the peer with code 7$', 'the page reset with 7')
    if not firefox:
        page_pass('server-reset')
    server_saw(r'^server: resetting stream \d+ with code 1234$', 'its reset with 1234')
    page_pass('client-close')
    server_saw(r'^server: session /echo closed code 3003 reason "page says bye"$',
               'the page close 3003')
    page_pass('server-close')
    server_saw(r'^server: session /close-me ready', 'the /close-me session')
    server_saw(r'^server: session /close-me closed code 4242 reason "bye from quince"$',
               'its close 4242')
    page_pass('rejected-404')
    server_saw(r'^server: session /nope rejected 404$', 'the 404 session')
    page_pass('demo-chat')
    need(len(re.findall(r'^server: session /chat ready', srv, re.M)) == 2,
         'server: two /chat sessions')
    need(p.returncode == 0, 'server exit code %s (sanitizers report leaks and errors this way)'
         % p.returncode)
    print('chromium run: %.1f s' % elapsed)
    if failures:
        print('FAILED:', *failures, sep='\n  ')
        print(open(os.path.join(work, 'chromium.txt')).read()[-3000:])
        return 1
    print('all WebTransport checks passed on both sides')
    return 0


def browser_shutdown(server, chromium, work):
    out_path = os.path.join(work, 'server.txt')
    log_path = os.path.join(work, 'chromium.txt')
    p, info = start_server(server, out_path)
    url = 'http://127.0.0.1:%d/test?shutdown' % info['http_port']
    args = [chromium] + CHROMIUM_FLAGS + ['--user-data-dir=' + os.path.join(work, 'profile'), url]
    log = open(log_path, 'w')
    c = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
    line, took, rc = None, None, None
    try:
        deadline = time.time() + 60
        while 'page: SHUTDOWN-READY' not in open(out_path).read():
            if time.time() > deadline or c.poll() is not None or p.poll() is not None:
                print(open(out_path).read()[-2000:], open(log_path).read()[-3000:])
                print('FAILED: the page did not open its session')
                return 1
            time.sleep(0.02)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        while line is None and time.monotonic() < t0 + 10:
            m = re.search(r'SHUTDOWN-(CLOSED|LOST)[^"\n]*("[^"\n]*")?', open(log_path).read())
            if m:
                line, took = m.group(0), time.monotonic() - t0
            time.sleep(0.005)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
    finally:
        try:
            os.killpg(c.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        c.wait()
        stop(p)
    srv = open(out_path).read()
    print(srv[-1500:])
    failures = []
    if line is None:
        failures.append('no closed/lost line from the page within 10 s')
    elif line != 'SHUTDOWN-CLOSED code=0 reason="server shutting down"':
        failures.append('the page saw ' + line)
    elif took >= 1.0:
        failures.append('closed resolved %.3f s after SIGTERM' % took)
    if rc != 0:
        failures.append('server exit code %s' % rc)
    if failures:
        print('FAILED:', *failures, sep='\n  ')
        print(open(log_path).read()[-3000:])
        return 1
    print('ok: %s %.3f s after SIGTERM; server exit 0' % (line, took))
    return 0


def client(server, quince_client, work):
    out_path = os.path.join(work, 'server.txt')
    p, info = start_server(server, out_path)
    try:
        base = 'https://127.0.0.1:%d' % info['wt_port']
        ok = subprocess.run([quince_client, '--webtransport', base + '/echo', '--cert-hash',
                             info['hash']], capture_output=True, text=True, timeout=30)
        bad_hash = subprocess.run([quince_client, '--webtransport', base + '/echo',
                                   '--cert-hash', '00' * 32], capture_output=True, text=True,
                                  timeout=30)
        nope = subprocess.run([quince_client, '--webtransport', base + '/nope', '--cert-hash',
                               info['hash']], capture_output=True, text=True, timeout=30)
        time.sleep(0.3)
    finally:
        stop(p)
    srv = open(out_path).read()
    print(ok.stdout, ok.stderr, srv)
    failures = []
    if ok.returncode != 0 or 'result: PASS' not in ok.stdout:
        failures.append('client against /echo')
    for line in ['bidi echo: ok', 'uni echo: ok', 'datagram echo: ok']:
        if line not in ok.stdout:
            failures.append(line)
    if not re.search(r'^server: session /echo closed code 4660 reason "quince-client done"$',
                     srv, re.M):
        failures.append('server: the close code and reason')
    if p.returncode != 0:
        failures.append('server exit code %d' % p.returncode)
    if bad_hash.returncode == 0:
        failures.append('a wrong --cert-hash was accepted')
    # Both speak every dialect: draft-16, whose "not found" is 405 (§3.2).
    if nope.returncode == 0 or 'status 405' not in nope.stdout:
        failures.append('the /nope session was not refused with 405')
    if '/nope rejected 405' not in srv:
        failures.append('server: /nope rejection')
    if failures:
        print('FAILED:', *failures, sep='\n  ')
        return 1
    return 0


def main():
    server, other, mode = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix='quince-wt-')
    try:
        if mode in ('browser', 'browser-localhost', 'browser-draft07', 'browser-firefox',
                    'browser-shutdown'):
            chromium = shutil.which(other) or other
            if not os.path.exists(chromium):
                print('chromium not installed (scripts/setup.sh installs it)')
                return 1
            if mode == 'browser-shutdown':
                return browser_shutdown(server, chromium, work)
            if mode == 'browser-firefox':
                return browser(server, chromium, work, '127.0.0.1', firefox=True)
            if mode == 'browser-draft07':
                return browser(server, chromium, work, '127.0.0.1', 'draft-07',
                               ['--enable-features=EnableWebTransportDraft07'])
            return browser(server, chromium, work,
                           'localhost' if mode == 'browser-localhost' else '127.0.0.1')
        return client(server, other, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
