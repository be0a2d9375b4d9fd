#!/usr/bin/env python3
"""quince-server copies large bodies straight from a mapping of the file (apps/h3_server.c). A
file truncated while it is being served must not kill the server (SIGBUS on the pages past the
new end) nor put bytes that are not the file's on the wire: the response is reset with
H3_INTERNAL_ERROR (0x102, RFC 9114 §4.1.1) and the server goes on serving.

usage: test_shrink.py SERVER CLIENT

Checks: the client of the truncated file fails with "stream reset (by the server, 0x102)";
every byte it received is the file's own (a prefix of the original); the server is still
running and serves another file byte for byte afterwards; it exits cleanly on SIGTERM.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

LIMIT_S = 100
BIG = 64 * 1000 * 1000
CUT_AT = 4 * 1000 * 1000  # the client has this much when the file is cut to 1 MB
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def main():
    server, client = sys.argv[1:3]
    signal.alarm(LIMIT_S)
    with tempfile.TemporaryDirectory(prefix="quince-shrink-") as tmp:
        root = os.path.join(tmp, "root")
        out = os.path.join(tmp, "out")
        os.mkdir(root)
        os.mkdir(out)
        big = os.path.join(root, "big")
        original = os.urandom(BIG)
        with open(big, "wb") as f:
            f.write(original)
        small = os.urandom(1_500_000)
        with open(os.path.join(root, "small"), "wb") as f:
            f.write(small)
        srv = subprocess.Popen([server, "--listen", "127.0.0.1:0", "--root", root, "--timeout",
                                "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            addr = None
            deadline = time.monotonic() + 10
            while addr is None and time.monotonic() < deadline:
                line = srv.stdout.readline()
                if not line:
                    break
                m = re.match(r"listening on (127\.0\.0\.1:\d+)$", line.strip())
                if m:
                    addr = m.group(1)
            if addr is None:
                check(False, "the server did not start")
                return
            cli = subprocess.Popen([client, "--insecure", "--timeout", "60", "-o", out,
                                    "https://%s/big" % addr], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            got = os.path.join(out, "big")
            deadline = time.monotonic() + 60
            while cli.poll() is None and time.monotonic() < deadline:
                if os.path.exists(got) and os.path.getsize(got) >= CUT_AT:
                    break
                time.sleep(0.002)
            check(cli.poll() is None, "the download ended before the file was cut")
            had = os.path.getsize(got) if os.path.exists(got) else 0
            os.truncate(big, 1_000_000)
            try:
                _, err = cli.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                cli.kill()
                _, err = cli.communicate()
            size = os.path.getsize(got) if os.path.exists(got) else 0
            print("cut at %d bytes received; client exit %d with %d bytes: %s" %
                  (had, cli.returncode, size, err.strip().splitlines()[-1:] if err else ""))
            check(cli.returncode != 0, "the client of the cut file succeeded")
            check("stream reset (by the server, 0x102)" in err,
                  "no reset with H3_INTERNAL_ERROR: %s" % err.strip())
            check(size < BIG, "the client got all %d bytes of the cut file" % BIG)
            with open(got, "rb") as f:
                data = f.read()
            check(data == original[:len(data)],
                  "the client received bytes that are not the file's (%d bytes)" % len(data))
            check(srv.poll() is None, "the server died: exit %s" % srv.poll())
            if srv.poll() is None:
                r = subprocess.run([client, "--insecure", "--timeout", "30", "-o", out,
                                    "https://%s/small" % addr], stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=40)
                check(r.returncode == 0, "the next download failed: %s" % r.stderr.strip())
                with open(os.path.join(out, "small"), "rb") as f:
                    check(f.read() == small, "the next download differs")
        finally:
            if srv.poll() is None:
                srv.send_signal(signal.SIGTERM)
            try:
                _, serr = srv.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                srv.kill()
                _, serr = srv.communicate()
            check(srv.returncode == 0, "server exit %s: %s" % (srv.returncode, serr[-500:]))
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
