#!/usr/bin/env python3
"""Checks that every file includes only headers of its own layer or of layers below it.

The layers, bottom up (docs/ARCHITECTURE.md):

    base <- crypto <- quic <- h3 <- wt <- bind <- io <- apps

with one more rule: h3/ and wt/ know nothing of QUIC or TLS. They speak stream
bytes and datagrams, so h3/ includes only base/, and wt/ only base/ and h3/.
The generated quince_config.h may be included from anywhere. Folders outside
the layers (tests/, fuzz/, bench/, examples/) may include anything.

Usage: check_layers.py ROOT        check the tree at ROOT; exit 1 on a violation
       check_layers.py --self-test  check that a planted violation is caught
"""
import os
import re
import sys
import tempfile

ORDER = ["base", "crypto", "quic", "h3", "wt", "bind", "io", "apps"]
RANK = {name: i for i, name in enumerate(ORDER)}
# Layers that must not see some layers below them.
FORBIDDEN = {
    "h3": {"crypto", "quic"},
    "wt": {"crypto", "quic"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_SUFFIXES = (".c", ".h")


def allowed(layer, target):
    """May a file in `layer` include a header of `target`?"""
    if target not in RANK:
        return True  # not a layer folder: a system or generated header
    if target in FORBIDDEN.get(layer, ()):
        return False
    return RANK[target] <= RANK[layer]


def violations(root):
    found = []
    for layer in ORDER:
        top = os.path.join(root, layer)
        for dirpath, _, files in os.walk(top):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m is None:
                            continue
                        inc = m.group(1)
                        target = inc.split("/", 1)[0] if "/" in inc else layer
                        if not allowed(layer, target):
                            why = (f"{layer}/ must know nothing of {target}/"
                                   if target in FORBIDDEN.get(layer, ()) else
                                   f"{target}/ is above {layer}/")
                            found.append(f"{rel}:{lineno}: {layer}/ includes {inc} ({why})")
    return found


def self_test():
    """A checker that cannot fail proves nothing: plant violations and expect them."""
    cases = [
        ("crypto/a.c", '#include "quic/quic.h"\n', True),   # upward
        ("h3/b.c", '#include "quic/quic.h"\n', True),       # h3 must not see QUIC
        ("wt/c.h", '#include "crypto/tls.h"\n', True),      # wt must not see TLS
        ("base/d.h", '#include "h3/h3.h"\n', True),         # base includes nothing above
        ("io/e.c", '#include "apps/app_util.h"\n', True),   # io below apps
        ("wt/f.c", '#include "h3/h3.h"\n#include "base/env.h"\n', False),
        ("bind/g.c", '#include "quic/quic.h"\n#include "wt/wt.h"\n', False),
        ("apps/h.c", '#include "io/loop.h"\n#include "quince_config.h"\n', False),
        ("quic/i.c", '#include "crypto/tls.h"\n#include "local.h"\n', False),
    ]
    ok = True
    for rel, text, bad in cases:
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)))
            with open(os.path.join(tmp, rel), "w", encoding="utf-8") as f:
                f.write(text)
            got = violations(tmp)
            if bool(got) != bad:
                print(f"self-test: {rel} {'not caught' if bad else 'wrongly flagged'}: {got}")
                ok = False
    print("self-test: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    root = sys.argv[1]
    missing = [layer for layer in ORDER if not os.path.isdir(os.path.join(root, layer))]
    if missing:
        print("missing layer folders: " + ", ".join(missing))
        return 1
    found = violations(root)
    for v in found:
        print(v)
    print(f"layers: {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
