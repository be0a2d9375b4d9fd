#!/usr/bin/env python3
"""Fail when a function of the core (base/ crypto/ quic/ h3/ wt/ bind/) needs a stack frame
over 1 KB, as GCC's -fstack-usage reports it for the optimised build (io/ and the programs
run on a host and are not checked).

Usage: check_stack.py OBJDIR [--self-test]
OBJDIR holds the .su files written beside libquince_internal's objects. A few functions are
known to be over the limit; each is listed with the frame it has now, may not grow, and is to
be shrunk (issue 14). One that shrank is named in a note so that its entry can be lowered.
"""
import os
import re
import sys

LIMIT = 1024
CORE = ("base", "crypto", "quic", "h3", "wt", "bind")
# function -> largest frame it may have (bytes), x86_64 gcc 12 -O2; to be shrunk.
KNOWN = {
    "fill_crt": 2624,                     # crypto/backend_mbedtls.c: mbedTLS's certificate writer
    "build_packet": 1968,                 # quic/conn_send.c: frame records and ACK ranges
    "refused": 1376,                      # wt/session.c: a response header block
    "tls_send_certificate_verify": 1344,  # crypto/tls.c: the signed content and signature
    "wt_session_close": 1152,             # wt/session.c: the capsule and the reason
    "on_client_hello": 1120,              # crypto/tls_server.c: the parsed ClientHello
    "quic_endpoint_recv": 1040,           # quic/endpoint.c: a token and a header
}
LINE = re.compile(r"^(?P<file>.*?):\d+:\d+:(?P<func>[^\t]+)\t(?P<size>\d+)\t(?P<kind>\S+)$")


def frames(objdir):
    for name in sorted(os.listdir(objdir)):
        if not name.endswith(".su"):
            continue
        with open(os.path.join(objdir, name), encoding="utf-8") as f:
            for line in f:
                m = LINE.match(line.strip())
                if m is None:
                    continue
                parts = m.group("file").replace("\\", "/").split("/")
                path = "/".join(parts[-2:])
                yield path, m.group("func"), int(m.group("size")), m.group("kind")


def check(rows):
    errors = []
    notes = []
    seen = {}
    for path, func, size, kind in rows:
        if path.split("/")[0] not in CORE:
            continue
        seen[func] = max(seen.get(func, 0), size)
        if "dynamic" in kind and "bounded" not in kind:
            errors.append(f"{path}: {func}: a frame of unbounded size ({kind})")
        ceiling = KNOWN.get(func, LIMIT)
        if size > ceiling:
            errors.append(f"{path}: {func}: {size} bytes of stack, over {ceiling}")
    for func, ceiling in KNOWN.items():
        if func in seen and seen[func] < ceiling:
            notes.append(f"{func} now needs {seen[func]} bytes: its entry ({ceiling}) in "
                         f"tests/stack/check_stack.py can be lowered or dropped")
    return errors, notes, len(seen)


def self_test():
    ok = [("quic/a.c", "f", 100, "static"), ("io/b.c", "g", 5000, "static")]
    bad = [("quic/a.c", "f", 2000, "static")]
    unbounded = [("h3/a.c", "f", 16, "dynamic")]
    grew = [("quic/conn_send.c", "build_packet", 4000, "static")]
    assert check(ok)[0] == [], check(ok)
    assert check(ok)[2] == 1  # io/ is not the core
    assert len(check(bad)[0]) == 1
    assert len(check(unbounded)[0]) == 1
    assert any("over 1968" in e for e in check(grew)[0])
    print("check_stack self-test: ok")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    objdir = argv[1]
    rows = list(frames(objdir))
    if not rows:
        print(f"no .su files of the core in {objdir}: was it built with -fstack-usage?")
        return 1
    errors, notes, n = check(rows)
    core = [r for r in rows if r[0].split("/")[0] in CORE]
    largest = sorted(core, key=lambda r: -r[2])[:5]
    print(f"{n} core functions; largest frames:")
    for path, func, size, kind in largest:
        print(f"  {size:6d}  {func} ({path}, {kind})")
    for note in notes:
        print("note: " + note)
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
