#!/usr/bin/env python3
"""Fail when an object of the core (base/ crypto/ quic/ h3/ wt/ bind/) has a writable
.data or .bss symbol: the library keeps no process-wide state (what connections may share,
an embedder hands in through quince_env.crypto_shared). Read-only tables (.rodata, 'r'/'R')
are fine, and so are tables of pointers that -fPIC puts in .data.rel.ro (read-only once
relocated): nm's System V format names each symbol's section.

Usage: check_nm.py NM OBJDIR [--outside OBJ]... [--allow OBJ:SYMBOL]... [--self-test]
OBJDIR holds libquince_internal's objects, named <folder>_<file>.c.o by meson.
--outside leaves an object out of the check (the OpenSSL backend, which keeps OpenSSL's
own prepared groups for the process: the check is about the core with the mbedTLS
backend). --allow accepts one named symbol of one object (a build with several backends
remembers the default one, crypto/backend.c). Both are printed, so the log says what was
not checked.
"""
import os
import subprocess
import sys

CORE = ("base_", "crypto_", "quic_", "h3_", "wt_", "bind_")
# Sections whose objects can change at run time (data, BSS, thread-local, small
# data, common symbols).
WRITABLE = (".data", ".bss", ".tdata", ".tbss", ".sdata", ".sbss", "COMMON", "*COM*")
READ_ONLY = (".data.rel.ro",)


def writable(nm_sysv_output):
    """Symbols in a writable section, from `nm -f sysv` (name|value|class|type|size|line|section)."""
    found = []
    for line in nm_sysv_output.splitlines():
        cols = [c.strip() for c in line.split("|")]
        if len(cols) != 7 or cols[0] == "Name":
            continue
        name, cls, section = cols[0], cols[2], cols[6]
        if section.startswith(READ_ONLY):
            continue
        if section.startswith(WRITABLE) or cls in ("C",):
            found.append((name, section or cls))
    return found


def self_test():
    sample = ("quic_conn_send      |0000000000000000|   T  |FUNC|0000000000000010|     |.text\n"
              "counter.0           |0000000000000008|   b  |OBJECT|0000000000000004|     |.bss\n"
              "table               |0000000000000000|   r  |OBJECT|0000000000000010|     |.rodata\n"
              "alpn_h3.0           |0000000000000000|   d  |OBJECT|0000000000000010|     |.data.rel.ro.local\n"
              "memcpy              |                |   U  |NOTYPE|                |     |*UND*\n"
              "g_state             |0000000000000010|   D  |OBJECT|0000000000000008|     |.data\n")
    got = writable(sample)
    assert got == [("counter.0", ".bss"), ("g_state", ".data")], got
    print("check_nm self-test: ok")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    nm, objdir = argv[1], argv[2]
    outside, allowed = set(), set()
    rest = argv[3:]
    for i, arg in enumerate(rest):
        if arg == "--outside" and i + 1 < len(rest):
            outside.add(rest[i + 1])
        elif arg == "--allow" and i + 1 < len(rest):
            obj, _, sym = rest[i + 1].partition(":")
            allowed.add((obj, sym))
    for obj in sorted(outside):
        print(f"outside the check: {obj}")
    for obj, sym in sorted(allowed):
        print(f"allowed: {obj}: {sym}")
    objs = sorted(f for f in os.listdir(objdir)
                  if f.endswith(".o") and f.startswith(CORE) and f not in outside)
    if not objs:
        print(f"no core objects in {objdir}")
        return 1
    bad = 0
    for obj in objs:
        out = subprocess.run([nm, "-f", "sysv", os.path.join(objdir, obj)], capture_output=True,
                             text=True,
                             check=True).stdout
        for name, kind in writable(out):
            if (obj, name) in allowed:
                continue
            print(f"FAIL: {obj}: writable symbol {name} ({kind})")
            bad += 1
    print(f"{len(objs)} core objects, {bad} writable symbols")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
