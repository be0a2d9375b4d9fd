#!/usr/bin/env python3
"""examples/wt_echo_server (the README's code) must pass quince-client --webtransport's
checks (bidi, uni and datagram echo, close), and refuse another path with 404."""
import re
import signal
import subprocess
import sys
import tempfile
import time


def main():
    server, client = sys.argv[1:3]
    if len(sys.argv) > 4:
        # The README shows the example verbatim.
        code = open(sys.argv[4]).read()
        if '```c\n' + code + '```' not in open(sys.argv[3]).read():
            print('FAILED: README.md does not show examples/wt_echo_server.c verbatim')
            return 1
    with tempfile.TemporaryFile(mode='w+') as out:
        p = subprocess.Popen([server, '127.0.0.1:0'], stdout=out, stderr=subprocess.STDOUT)
        try:
            info = None
            for _ in range(100):
                out.seek(0)
                text = out.read()
                h = re.search(r'cert-sha256: ([0-9a-f]{64})', text)
                a = re.search(r'webtransport: https://(127\.0\.0\.1:\d+)/', text)
                if h and a:
                    info = (h.group(1), a.group(1))
                    break
                time.sleep(0.05)
            if info is None:
                print('server did not start')
                return 1
            ok = subprocess.run([client, '--webtransport', 'https://%s/echo' % info[1],
                                 '--cert-hash', info[0]], capture_output=True, text=True,
                                timeout=30)
            nope = subprocess.run([client, '--webtransport', 'https://%s/other' % info[1],
                                   '--cert-hash', info[0]], capture_output=True, text=True,
                                  timeout=30)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(10)
    print(ok.stdout, ok.stderr, nope.stdout)
    if ok.returncode != 0 or 'result: PASS' not in ok.stdout:
        print('FAILED: the echo checks')
        return 1
    if nope.returncode == 0 or 'status 404' not in nope.stdout:
        print('FAILED: /other was not refused with 404')
        return 1
    if p.returncode != 0:
        print('FAILED: server exit code %d' % p.returncode)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
