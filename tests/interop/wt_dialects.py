#!/usr/bin/env python3
"""quince-client --webtransport against quince-server in each WebTransport dialect.

wt_dialects.py QUINCE_SERVER QUINCE_CLIENT
  1. A draft-02 server that sends no SETTINGS_ENABLE_CONNECT_PROTOCOL (quince-server's
     test-only --wt-draft 02 --test-no-connect-protocol) accepts quince-client's session
     (draft-02 §3.2: ENABLE_WEBTRANSPORT implies extended CONNECT); the client prints the
     server's settings (no 0x8) and both sides say draft-02.
  2. The same server and a client that offers only draft-07: no CONNECT is sent (status 0),
     the client prints what the server offered, and exits 1.
  3. Each dialect alone on the server (02, 07, 13, 14, 15, 16) and a client of the same
     dialect: the echo checks pass and both sides name that dialect. A client offering all
     (auto) against a server of all gets draft-16.
  4. A path that does not exist: the server answers 404 (405 in draft-16) and then sends
     STOP_SENDING (RFC 9114 §4.1); the client reports that status, not 0, and the server
     logs one line saying why.
Every process is bounded in time and stopped at the end.
"""
import re
import signal
import subprocess
import sys
import tempfile
import time


def start(server, args, out):
    p = subprocess.Popen([server, '--listen', '127.0.0.1:0', '--timeout', '120'] + args,
                         stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        out.seek(0)
        text = out.read()
        h = re.search(r'cert-sha256: ([0-9a-f]{64})', text)
        a = re.search(r'webtransport: https://(127\.0\.0\.1:\d+)/', text)
        if h and a:
            return p, h.group(1), a.group(1)
        time.sleep(0.05)
    p.kill()
    p.wait()
    sys.exit('server did not start: ' + text)


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


failures = []


def check(cond, what, detail=''):
    print(('ok: ' if cond else 'FAILED: ') + what)
    if not cond:
        print(detail)
        failures.append(what)


def client(cl, addr, h, path, drafts):
    r = subprocess.run([cl, '--webtransport', 'https://%s%s' % (addr, path), '--cert-hash', h,
                        '--wt-draft', drafts, '--timeout', '20'],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def run_server(server, args, body):
    with tempfile.TemporaryFile(mode='w+') as out:
        p, h, addr = start(server, args, out)
        try:
            body(h, addr)
        finally:
            stop(p)
        out.seek(0)
        return out.read(), p.returncode


def main():
    server, cl = sys.argv[1:3]

    # 1 and 2: the test-only draft-02 server without 0x08.
    res = {}

    def no_ecp(h, addr):
        res['ok'] = client(cl, addr, h, '/echo', 'auto')
        res['07'] = client(cl, addr, h, '/echo', '07')

    srv, rc = run_server(server, ['--wt-draft', '02', '--test-no-connect-protocol'], no_ecp)
    code, out = res['ok']
    check(code == 0 and 'result: PASS' in out, 'draft-02 server without 0x08: session passes', out)
    check('dialect: draft-02' in out, 'client says draft-02', out)
    check('server settings: 0x33=1, 0xffd277=1, 0x2b603742=1\n' in out,
          'the server sent no ENABLE_CONNECT_PROTOCOL', out)
    check(re.search(r'^server: session /echo dialect draft-02$', srv, re.M) is not None,
          'server says draft-02', srv)
    code, out = res['07']
    check(code == 1 and 'session: not established (status 0)' in out,
          'a draft-07-only client sends no CONNECT to it', out)
    check('server settings: 0x33=1, 0xffd277=1, 0x2b603742=1' in out,
          'and prints what the server offered', out)
    check(rc == 0, 'server exit status 0', srv)

    # 3: each dialect alone, and all against all.
    for d in ['02', '07', '13', '14', '15', '16', 'all']:
        res = {}

        def one(h, addr):
            res['r'] = client(cl, addr, h, '/echo', 'auto' if d == 'all' else d)
            res['nope'] = client(cl, addr, h, '/nope', 'auto' if d == 'all' else d)

        srv, rc = run_server(server, ['--wt-draft', d], one)
        name = 'draft-16' if d == 'all' else 'draft-' + d
        code, out = res['r']
        check(code == 0 and 'result: PASS' in out, '%s: echo checks pass' % d, out)
        check('dialect: %s\n' % name in out, '%s: client says %s' % (d, name), out)
        check(re.search(r'^server: session /echo dialect %s$' % name, srv, re.M) is not None,
              '%s: server says %s' % (d, name), srv)
        # 4: the refusal (404, or 405 in draft-16) followed by STOP_SENDING.
        want = 405 if name == 'draft-16' else 404
        code, out = res['nope']
        check(code == 1 and 'session: not established (status %d)' % want in out,
              '%s: /nope reported as %d' % (d, want), out)
        check(re.search(r'^server: session /nope refused %d: path not found: /nope$' % want,
                        srv, re.M) is not None, '%s: server logs why' % d, srv)
        check(rc == 0, '%s: server exit status 0' % d, srv)

    print('%d failure(s)' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
