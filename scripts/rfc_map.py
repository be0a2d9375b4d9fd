#!/usr/bin/env python3
"""docs/rfc-map.md from the section tags in the code: each RFC or draft section -> the functions
that implement it (STYLE.md: "each protocol function carries a tag in one fixed form,
/* RFC 9000 §19.8 */ or /* draft-ietf-webtrans-http3-02 §4.2 */").

  scripts/rfc_map.py [ROOT]            write ROOT/docs/rfc-map.md
  scripts/rfc_map.py [ROOT] --check    exit 1 when docs/rfc-map.md is stale, or when a public
                                       function of a protocol layer (crypto/, quic/, h3/, wt/:
                                       QUINCE_API in an installed header) carries no tag

A tag belongs to the function whose body holds it, or to the function that the comment holding
it precedes; tags outside functions belong to the file. A public function that implements no
protocol section says so with the tag "(no RFC section)" in its comment.
"""
import os
import re
import sys

LAYERS = ["base", "crypto", "quic", "h3", "wt", "bind", "io"]
PROTOCOL_LAYERS = ["crypto", "quic", "h3", "wt"]
# "RFC 9000 §19.8", "RFC 9000 §19.8, §19.9", "RFC 9000 Appendix A.3",
# "draft-ietf-webtrans-http3-02 §4.2"
DOC = r"(RFC \d{3,5}|draft-[a-z0-9-]+-\d\d)"
SEC = r"(?:§\s?[0-9A-Z][0-9A-Za-z.]*|Appendix [A-Z](?:\.[0-9]+)*|Section [0-9][0-9.]*)"
TAG = re.compile(DOC + r"((?:\s*(?:,|and|/)?\s*" + SEC + r")+)")
ONE_SEC = re.compile(SEC)
FUNC_DEF = re.compile(r"^(?:QUINCE_API\s+)?(?:static\s+)?(?:inline\s+)?(?:const\s+)?"
                      r"[A-Za-z_][\w \t\*]*?\b([a-z_][a-z0-9_]*)\s*\(")
NO_SECTION = "(no RFC section)"


def norm_section(s):
    s = s.replace("§ ", "§").strip().rstrip(".")
    if s.startswith("Section "):
        s = "§" + s[len("Section "):]
    return s


def sec_key(s):
    """Sort §2 < §2.1 < §10 < Appendix A."""
    if s.startswith("Appendix"):
        return (1, [x for x in s.split()[1].split(".")])
    parts = s.lstrip("§").split(".")
    return (0, [int(p) if p.isdigit() else 0 for p in parts], s)


def scan_file(path, rel):
    """(tags: [(doc, section, function or None, line)], functions defined: {name: has_tag})."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    tags = []
    funcs = {}
    func = None          # the function whose body we are in
    depth = 0
    pending = []         # tags in the comment block right above what comes next
    in_comment = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        found = []
        for m in TAG.finditer(line):
            doc = m.group(1)
            for s in ONE_SEC.findall(m.group(2)):
                found.append((doc, norm_section(s)))
        if NO_SECTION in line:
            found.append(("", NO_SECTION))
        starts_comment = stripped.startswith("/*") or stripped.startswith("*") or \
            stripped.startswith("//") or in_comment
        if "/*" in line and "*/" not in line[line.index("/*"):]:
            in_comment = True
        elif in_comment and "*/" in line:
            in_comment = False
        if depth == 0:
            m = FUNC_DEF.match(line) if line and not line[0].isspace() else None
            if m and not stripped.endswith(";") and not line.startswith("#") and \
                    not line.startswith("typedef"):
                # A definition when the body follows (this line or the next ones).
                j = i
                while j < len(lines) and "{" not in lines[j] and ";" not in lines[j]:
                    j += 1
                if j < len(lines) and "{" in lines[j]:
                    func = m.group(1)
                    funcs.setdefault(func, False)
                    for doc, sec in pending + found:
                        tags.append((doc, sec, func, i + 1))
                        funcs[func] = True
                    pending = []
                    found = []
            if found:
                if starts_comment:
                    pending += found
                else:
                    tags += [(d, s, None, i + 1) for d, s in found]
            elif stripped == "" and pending:
                # A blank line: the comment belonged to nothing below it.
                tags += [(d, s, None, i + 1) for d, s in pending]
                pending = []
        else:
            for doc, sec in found:
                tags.append((doc, sec, func, i + 1))
                funcs[func] = True
        depth += line.count("{") - line.count("}")
        if depth <= 0:
            depth = 0
            if func is not None and "}" in line:
                func = None
    tags += [(d, s, None, len(lines)) for d, s in pending]
    return tags, funcs


def public_functions(root):
    """QUINCE_API functions declared in the installed headers of the protocol layers."""
    out = {}
    for layer in PROTOCOL_LAYERS:
        d = os.path.join(root, layer)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".h"):
                continue
            text = open(os.path.join(d, name), encoding="utf-8").read()
            for m in re.finditer(r"QUINCE_API\s+[^;(]*?\b([a-z_][a-z0-9_]*)\s*\(", text):
                out[m.group(1)] = layer + "/" + name
    return out


def build(root):
    entries = {}   # doc -> section -> set of (function, file)
    func_tagged = {}
    func_file = {}
    for layer in LAYERS:
        d = os.path.join(root, layer)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".c"):
                continue
            rel = layer + "/" + name
            tags, funcs = scan_file(os.path.join(d, name), rel)
            for f, has in funcs.items():
                func_tagged[f] = func_tagged.get(f, False) or has
                func_file.setdefault(f, rel)
            for doc, sec, func, line in tags:
                if sec == NO_SECTION:
                    continue
                entries.setdefault(doc, {}).setdefault(sec, set()).add(
                    (func if func else "(file)", rel))
    return entries, func_tagged, func_file


def doc_key(doc):
    m = re.match(r"RFC (\d+)", doc)
    return (0, int(m.group(1)), "") if m else (1, 0, doc)


def render(entries):
    n_sections = sum(len(v) for v in entries.values())
    n_links = sum(len(x) for v in entries.values() for x in v.values())
    out = ["# RFC map: where each section is implemented", "",
           "Generated by `scripts/rfc_map.py` from the section tags in the code "
           "(`/* RFC 9000 §19.8 */`, STYLE.md); `tests/docs` fails when this file is stale. "
           "Do not edit by hand.", "",
           "%d documents, %d sections, %d links to functions. A function is linked to a section "
           "when its body or the comment above it carries the tag; `(file)` marks a tag outside "
           "any function." % (len(entries), n_sections, n_links), ""]
    for doc in sorted(entries, key=doc_key):
        out.append("## " + doc)
        out.append("")
        for sec in sorted(entries[doc], key=sec_key):
            refs = sorted(entries[doc][sec], key=lambda x: (x[1], x[0]))
            by_file = {}
            for fn, rel in refs:
                by_file.setdefault(rel, []).append(fn)
            parts = ["[%s](../%s): %s" % (rel, rel, ", ".join("`%s`" % f for f in fns))
                     for rel, fns in sorted(by_file.items())]
            out.append("- %s %s" % (sec, "; ".join(parts)))
        out.append("")
    return "\n".join(out)


def main(argv):
    if "--self-test" in argv:
        return selftest()
    args = [a for a in argv if not a.startswith("--")]
    root = os.path.abspath(args[0]) if args else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    entries, tagged, files = build(root)
    text = render(entries)
    path = os.path.join(root, "docs", "rfc-map.md")
    if "--check" not in argv:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote %s" % path)
        return 0
    bad = 0
    try:
        current = open(path, encoding="utf-8").read()
    except OSError:
        current = None
    if current != text:
        print("docs/rfc-map.md is stale (tags changed since it was made): run scripts/rfc_map.py and commit docs/rfc-map.md")
        bad += 1
    untagged = sorted(f for f in public_functions(root) if f in tagged and not tagged[f])
    for f in untagged:
        print("%s: public function %s has no RFC/draft section tag (or %r)" %
              (files.get(f, "?"), f, NO_SECTION))
    bad += len(untagged)
    print("rfc-map: %d documents, %d sections; %d public functions checked, %d untagged" %
          (len(entries), sum(len(v) for v in entries.values()),
           len([f for f in public_functions(root) if f in tagged]), len(untagged)))
    return 1 if bad else 0


def selftest():
    """The check fails on a planted untagged public function and on a stale map."""
    import shutil
    import subprocess
    import tempfile
    tmp = tempfile.mkdtemp(prefix="rfc-map-selftest-")
    try:
        for d in ("docs", "quic", "crypto", "h3", "wt"):
            os.makedirs(os.path.join(tmp, d))
        with open(os.path.join(tmp, "quic", "quic.h"), "w") as f:
            f.write("QUINCE_API int quic_a(int x);\nQUINCE_API int quic_b(void);\n")
        src = os.path.join(tmp, "quic", "a.c")

        def write_src(tag_b):
            with open(src, "w") as f:
                f.write("/* RFC 9000 §19.8 */\nint quic_a(int x)\n{\n    return x;\n}\n\n" +
                        tag_b + "int quic_b(void)\n{\n    /* RFC 9000 §4.1 */\n    return 0;\n}\n")

        def check():
            p = subprocess.run([sys.executable, os.path.abspath(__file__), tmp, "--check"],
                               capture_output=True, text=True)
            return p.returncode, p.stdout

        def gen():
            subprocess.run([sys.executable, os.path.abspath(__file__), tmp], check=True,
                           capture_output=True)

        # quic_b's tag is in its body: both functions are tagged; the map is written.
        write_src("")
        gen()
        rc, out = check()
        assert rc == 0, "a fresh map of tagged functions failed the check:\n" + out
        text = open(os.path.join(tmp, "docs", "rfc-map.md")).read()
        assert "- §19.8 [quic/a.c](../quic/a.c): `quic_a`" in text, text
        assert "- §4.1 [quic/a.c](../quic/a.c): `quic_b`" in text, text
        # A tag moved: the map is stale.
        with open(src, "w") as f:
            f.write("/* RFC 9000 §19.9 */\nint quic_a(int x)\n{\n    return x;\n}\n"
                    "/* (no RFC section) */\nint quic_b(void)\n{\n    return 0;\n}\n")
        rc, out = check()
        assert rc == 1 and "stale" in out, "a stale map passed:\n" + out
        gen()
        rc, out = check()
        assert rc == 0, out
        # An untagged public function.
        with open(src, "a") as f:
            f.write("\nint quic_c(void);\n")
        with open(os.path.join(tmp, "quic", "quic.h"), "a") as f:
            f.write("QUINCE_API int quic_c(void);\n")
        with open(src, "a") as f:
            f.write("int quic_c(void)\n{\n    return 1;\n}\n")
        gen()
        rc, out = check()
        assert rc == 1 and "public function quic_c has no" in out, "untagged quic_c passed:\n" + out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("rfc-map self-test ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
