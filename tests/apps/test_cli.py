#!/usr/bin/env python3
"""The apps' command lines (apps/app_util.h): --version in every app, --flag=value
and --flag value, an unknown flag named in a one-line error with exit status 2.

usage: test_cli.py SERVER CLIENT HANDSHAKE [VERSION]
"""
import os
import shlex
import subprocess
import sys
import tempfile

# A cross build's test runs its programs through the exe wrapper (qemu-user).
WRAPPER = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))

failures = []


def run(argv, timeout=20):
    p = subprocess.run(WRAPPER + list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True,
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

    # quince-handshake: every message decoded with its section, the secrets as key-log lines
    # (both sides derive the same ones), and the options for group, suite and HRR.
    rc, out, err = run([handshake])
    for want in ("ClientHello (", "RFC 8446 §4.1.2", "ServerHello (", "RFC 8446 §4.1.3",
                 "EncryptedExtensions (", "RFC 8446 §4.3.1", "Certificate (", "RFC 8446 §4.4.2",
                 "CertificateVerify (", "RFC 8446 §4.4.3", "Finished (", "RFC 8446 §4.4.4",
                 "key_share (RFC 8446 §4.2.8): x25519 (32-byte share)",
                 "quic_transport_parameters (RFC 9001 §8.2)",
                 "group x25519, ALPN h3"):
        check(want in out, "quince-handshake: %r missing" % want)
    # A server on mbedTLS takes ChaCha20-Poly1305 when offered; on OpenSSL AES-128-GCM.
    suite = ("TLS_AES_128_GCM_SHA256" if os.environ.get("QUINCE_CRYPTO") == "openssl"
             else "TLS_CHACHA20_POLY1305_SHA256")
    check("handshake complete: %s, group x25519, ALPN h3" % suite in out,
          "quince-handshake: handshake complete with %s missing" % suite)
    for label in ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                  "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"):
        lines = [l.strip() for l in out.splitlines() if l.strip().startswith(label + " ")]
        check(len(lines) == 2 and lines[0] == lines[1] and len(lines[0].split()) == 3,
              "quince-handshake: the %s lines %r" % (label, lines))
    check(rc == 0 and "HelloRetryRequest" not in out, "quince-handshake: exit %d" % rc)
    rc, out, err = run([handshake, "--hrr", "--group=p256", "--suite", "chacha20"])
    for want in ("key_share (RFC 8446 §4.2.8): secp256r1 (65-byte share)",
                 'SHA-256("HelloRetryRequest"): a HelloRetryRequest (RFC 8446 §4.1.4)',
                 "selected_group x25519", "cipher_suites (Appendix B.4): TLS_CHACHA20_POLY1305_SHA256",
                 "handshake complete: TLS_CHACHA20_POLY1305_SHA256, group x25519, ALPN h3, after a "
                 "HelloRetryRequest"):
        check(want in out, "quince-handshake --hrr: %r missing" % want)
    check(out.count("ClientHello (") == 2, "quince-handshake --hrr: not two ClientHellos")
    one_line_error([handshake, "--group", "ffdhe"], 2, "--group ffdhe: expected x25519 or p256")

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
