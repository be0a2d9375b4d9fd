#!/usr/bin/env python3
"""The apps' command lines (apps/app_util.h): --version in every app, --flag=value
and --flag value, an unknown flag named in a one-line error with exit status 2.

usage: test_cli.py SERVER CLIENT HANDSHAKE [VERSION]
"""
import subprocess
import sys
import tempfile

failures = []


def run(argv, timeout=20):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def one_line_error(argv, want_rc, *needles):
    rc, out, err = run(argv)
    lines = [l for l in err.splitlines() if l.strip()]
    name = " ".join(argv[1:])
    check(rc == want_rc, "%s: exit %d, want %d" % (name, rc, want_rc))
    check(len(lines) == 1, "%s: %d stderr lines, want one:\n%s" % (name, len(lines), err))
    for n in needles:
        check(n in err, "%s: %r not in %r" % (name, n, err))
    return err


def main():
    server, client, handshake = sys.argv[1:4]
    version = sys.argv[4] if len(sys.argv) > 4 else None
    apps = {"quince-server": server, "quince-client": client, "quince-handshake": handshake}

    for name, exe in apps.items():
        rc, out, err = run([exe, "--version"])
        check(rc == 0, name + " --version: exit %d" % rc)
        first = out.splitlines()[0] if out else ""
        check(first.startswith(name + " "), name + " --version printed %r" % out)
        if version:
            check(first.split()[1] == version, "%s --version: %r, want %s" % (name, first, version))
        rc, out, err = run([exe, "--help"])
        check(rc == 0 and "usage: " + name in out and "--version" in out,
              name + " --help: exit %d, %r" % (rc, out[:200]))
        # An unknown flag, named; a near miss gets the flag it resembles.
        one_line_error([exe, "--frobnicate"], 2, "unknown option --frobnicate")
        one_line_error([exe, "--frobnicate=3"], 2, "unknown option --frobnicate")
    one_line_error([server, "--qlogdir", "x"], 2, "unknown option --qlogdir",
                   "did you mean --qlog-dir?")
    one_line_error([client, "--insecur"], 2, "did you mean --insecure?")
    one_line_error([client, "--webtransport", "https://127.0.0.1:1/echo", "--cert-hsh", "00"],
                   2, "unknown option --cert-hsh", "did you mean --cert-hash?")
    one_line_error([handshake, "extra"], 2, "unexpected argument 'extra'")
    # A missing or bad value names the option.
    one_line_error([server, "--port"], 2, "--port: needs a value")
    one_line_error([server, "--port=70000"], 2, "--port 70000: expected a number")
    one_line_error([server, "--timeout", "soon"], 2, "--timeout soon: expected seconds")
    one_line_error([server, "--retry=yes"], 2, "--retry: takes no value")
    one_line_error([client, "--timeout=x", "--insecure", "https://127.0.0.1:1/"], 2,
                   "--timeout x: expected seconds")
    one_line_error([client, "https://127.0.0.1:1/"], 2, "--ca FILE", "--insecure")
    one_line_error([client, "--insecure"], 2, "no URL given")

    # --flag=value and --flag value both reach the option: a server on a free port
    # with a timeout given each way runs and stops by itself (exit 0).
    with tempfile.TemporaryDirectory() as root:
        for argv in ([server, "--listen=127.0.0.1:0", "--root=" + root, "--timeout=0.3",
                      "--no-webtransport"],
                     [server, "--listen", "127.0.0.1:0", "--root", root, "--timeout", "0.3",
                      "--no-webtransport"]):
            rc, out, err = run(argv)
            check(rc == 0 and "listening on 127.0.0.1:" in out and "--timeout reached" in err,
                  "%s: exit %d\n%s%s" % (" ".join(argv[1:]), rc, out, err))

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
