#!/usr/bin/env python3
"""Checks that every file includes only headers of its own layer or of layers below it.

The layers, bottom up (docs/ARCHITECTURE.md):

    base <- crypto <- quic <- h3 <- wt <- bind <- io <- apps

with two more rules:
- h3/ and wt/ know nothing of QUIC or TLS. They speak stream bytes and
  datagrams, so h3/ includes only base/, and wt/ only base/ and h3/.
- io/, apps/ and examples/ are built on the installed API, as a user's program
  is: of the library they include only installed headers (the public and
  support headers that each folder's meson.build lists in
  <folder>_public_headers and <folder>_support_headers), besides their own
  (io/ its own headers, apps/ its own; examples/ none of apps/).
- io/, apps/ and examples/ do not pump connections: polling QUIC events,
  walking the endpoint's connections and feeding h3 are bind/'s work (one event
  drain, connections handed over and freed by the endpoint). The calls named in
  PUMP_CALLS may not appear there.
- Inside wt/, the files stand on floors (FLOORS): a file includes the header of
  another only from a lower floor, so that calls run one way, down (a file calls
  only what the headers it includes declare). Files on no floor (internal.h,
  dialect, codes, protocols, qlog) are the ground: any file may use them, and
  they use no file of a floor.
The generated quince_config.h may be included from anywhere. Other folders
(tests/, fuzz/, bench/) may include anything.

The installed lists are read from the meson.build files. So that this reading
cannot drift from what meson installs, the test passes meson's own lists with
--installed and the check fails when the two differ.

Usage: check_layers.py ROOT [--installed HEADER...]
                               check the tree at ROOT; exit 1 on a violation
       check_layers.py --self-test  check that planted violations are caught
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
# Folders that may include only installed headers of the library, and which
# other folders' headers they may include besides (their own).
API_ONLY = {
    "io": {"io"},
    "apps": {"apps"},
    "examples": set(),
}
# Inside a folder, the files on each floor, bottom up (wt/internal.h tells why).
FLOORS = {
    "wt": [["flow", "lifetime"], ["stream"], ["session"], ["stream_recv", "session_recv"],
           ["connect"], ["endpoint"]],
}
GENERATED = {"quince_config.h"}
# What only bind/ may call: the per-connection event pump and the endpoint's list.
PUMP_CALLS = re.compile(r"\b(quic_conn_poll_event|quic_endpoint_accept|quic_endpoint_conn_at|"
                        r"quic_endpoint_conn_count|quic_endpoint_set_callbacks|h3_conn_on_\w+)\s*\(")
HEADER_LIST = re.compile(r"\b(\w+)_(public|support)_headers\s*=\s*files\(([^)]*)\)")
QUOTED = re.compile(r"'([^']+)'")


def installed_headers(root):
    """The headers meson installs, as "folder/name.h", read from each layer's meson.build."""
    found = set()
    for layer in ORDER:
        path = os.path.join(root, layer, "meson.build")
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"#[^\n]*", "", f.read())
        for m in HEADER_LIST.finditer(text):
            for name in QUOTED.findall(m.group(3)):
                found.add(f"{layer}/{name}")
    return found


def allowed(layer, target):
    """May a file in `layer` include a header of `target`?"""
    if target not in RANK:
        return True  # not a layer folder: a system or generated header
    if target in FORBIDDEN.get(layer, ()):
        return False
    return RANK[target] <= RANK[layer]


def api_only_violation(folder, inc, target, installed):
    """Why a file of an API_ONLY folder may not include inc, or None."""
    if inc in GENERATED or target in API_ONLY[folder] or inc in installed:
        return None
    if "/" not in inc:
        return None  # a header beside the file: the folder's own
    if target in RANK:
        return f"{inc} is not installed"
    return f"{target}/ is not the library"


def floor_violation(folder, name, inc):
    """Why folder/name may not include inc under FLOORS, or None."""
    floors = FLOORS.get(folder)
    if floors is None or not inc.startswith(folder + "/"):
        return None
    level = {stem: i for i, stems in enumerate(floors) for stem in stems}
    mine = level.get(os.path.splitext(name)[0])
    stem = os.path.splitext(inc.split("/", 1)[1])[0]
    theirs = level.get(stem)
    if theirs is None or stem == os.path.splitext(name)[0]:
        return None
    if mine is None:
        return f"{inc} stands on a floor of {folder}/, above its ground"
    if theirs >= mine:
        return f"{inc} is not on a lower floor of {folder}/"
    return None


def violations(root):
    installed = installed_headers(root)
    found = []
    for folder in ORDER + [f for f in API_ONLY if f not in RANK]:
        top = os.path.join(root, folder)
        for dirpath, _, files in os.walk(top):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        if folder in API_ONLY:
                            call = PUMP_CALLS.search(line)
                            if call is not None:
                                found.append(f"{rel}:{lineno}: {folder}/ calls {call.group(1)} "
                                             f"(the event pump is bind/'s)")
                        m = INCLUDE.match(line)
                        if m is None:
                            continue
                        inc = m.group(1)
                        target = inc.split("/", 1)[0] if "/" in inc else folder
                        why = None
                        if folder in RANK and not allowed(folder, target):
                            why = (f"{folder}/ must know nothing of {target}/"
                                   if target in FORBIDDEN.get(folder, ()) else
                                   f"{target}/ is above {folder}/")
                        elif folder in API_ONLY:
                            why = api_only_violation(folder, inc, target, installed)
                        if why is None and folder in FLOORS and dirpath == top:
                            why = floor_violation(folder, name, inc)
                        if why is not None:
                            found.append(f"{rel}:{lineno}: {folder}/ includes {inc} ({why})")
    return found


def drift(root, meson_list):
    """Differences between the installed headers read here and meson's lists."""
    mine = installed_headers(root)
    theirs = set()
    for h in meson_list:
        rel = os.path.relpath(os.path.abspath(h), os.path.abspath(root))
        theirs.add(rel.replace(os.sep, "/"))
    # A folder meson did not configure (io/ with -Dio=disabled) is not compared.
    folders = {h.split("/", 1)[0] for h in theirs}
    out = [f"{h}: in meson's installed lists, not read from {h.split('/', 1)[0]}/meson.build"
           for h in sorted(theirs - mine)]
    out += [f"{h}: read from {h.split('/', 1)[0]}/meson.build, not in meson's installed lists"
            for h in sorted(mine - theirs) if h.split("/", 1)[0] in folders]
    return out


# The self-test's tree: installed lists written as the real meson.build files write them.
FIXTURE = {
    "base/meson.build": "base_public_headers = files(\n  'env.h',\n)\n"
                        "# Included by h3/settings.h.\nbase_support_headers = files('cursor.h')\n",
    "crypto/meson.build": "crypto_public_headers = files(\n  'crypto.h', # keys\n  'tls.h',\n)\n"
                          "# Internal: backend.h, 'x509_check.h'\n",
    "h3/meson.build": "h3_public_headers = files('h3.h')\n"
                      "h3_support_headers = files(\n  'h3_codes.h',\n)\n",
    "io/meson.build": "io_public_headers = files(\n  'loop.h',\n  'serve.h',\n)\n",
}


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
        # io/, apps/ and examples/: installed headers only.
        ("apps/j.c", '#include "crypto/backend.h"\n', True),  # internal header
        ("apps/k.c", '#include "crypto/x509_check.h"\n', True),  # named in a comment only
        ("io/l.c", '#include "crypto/backend.h"\n', True),
        ("examples/m.c", '#include "apps/app_util.h"\n', True),  # the demo app is not API
        ("examples/n.c", '#include "tests/common/test_env.h"\n', True),
        ("apps/o.c", '#include "h3/qpack_decoder.h"\n', True),
        ("apps/p.c", '#include "apps/app_util.h"\n#include "crypto/crypto.h"\n'
                     '#include "h3/h3_codes.h"\n#include "base/cursor.h"\n', False),
        ("io/q.c", '#include "io/bridge.h"\n#include "crypto/tls.h"\n', False),
        ("examples/r.c", '#include "io/serve.h"\n#include "quince_config.h"\n', False),
        # io/, apps/ and examples/: no event pump of their own.
        ("apps/s.c", "while (quic_conn_poll_event(c, &ev))\n", True),
        ("io/t.c", "quic_conn *c = quic_endpoint_conn_at(ep, i);\n", True),
        ("examples/u.c", "h3_conn_on_stream_data (h, id, d, n, fin);\n", True),
        ("apps/v.c", "bind_server_recv(s, &from, &to, d, n, now);\n", False),
        ("bind/w.c", "while (quic_conn_poll_event(c, &ev))\n", False),
        # wt/'s floors: down only, siblings apart, the ground under all.
        ("wt/session.c", '#include "wt/stream.h"\n#include "wt/session.h"\n'
                         '#include "wt/internal.h"\n', False),
        ("wt/stream.c", '#include "wt/session.h"\n', True),           # up
        ("wt/stream_recv.c", '#include "wt/session_recv.h"\n', True),  # a sibling
        ("wt/internal.h", '#include "wt/flow.h"\n', True),            # ground on a floor
    ]
    ok = True
    for rel, text, bad in cases:
        with tempfile.TemporaryDirectory() as tmp:
            for name, body in list(FIXTURE.items()) + [(rel, text)]:
                os.makedirs(os.path.join(tmp, os.path.dirname(name)), exist_ok=True)
                with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                    f.write(body)
            got = violations(tmp)
            if bool(got) != bad:
                print(f"self-test: {rel} {'not caught' if bad else 'wrongly flagged'}: {got}")
                ok = False
    # The lists read from meson.build against meson's own (relative to ROOT here).
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in FIXTURE.items():
            os.makedirs(os.path.join(tmp, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(body)
        same = ["base/env.h", "base/cursor.h", "crypto/crypto.h", "crypto/tls.h", "h3/h3.h",
                "h3/h3_codes.h", "io/loop.h", "io/serve.h"]
        drift_cases = [
            (same, False),
            ([h for h in same if not h.startswith("io/")], False),  # io/ not configured
            (same + ["crypto/backend.h"], True),    # meson installs more than was read
            ([h for h in same if h != "h3/h3_codes.h"], True),  # or less
        ]
        for lst, bad in drift_cases:
            got = drift(tmp, [os.path.join(tmp, h) for h in lst])
            if bool(got) != bad:
                print(f"self-test: drift {'not caught' if bad else 'wrongly reported'}: {got}")
                ok = False
    print("self-test: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    if len(args) < 1 or args[0].startswith("-") or (len(args) > 1 and args[1] != "--installed"):
        print(__doc__)
        return 2
    root = args[0]
    missing = [layer for layer in ORDER if not os.path.isdir(os.path.join(root, layer))]
    if missing:
        print("missing layer folders: " + ", ".join(missing))
        return 1
    found = violations(root)
    if len(args) > 1:
        found += drift(root, args[2:])
    for v in found:
        print(v)
    print(f"layers: {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
