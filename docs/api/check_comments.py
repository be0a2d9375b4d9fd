#!/usr/bin/env python3
"""Every public function's comment says what it returns and which errors (issue 15; ngtcp2 and
nghttp3 document every one).

  docs/api/check_comments.py [ROOT]            exit 1 and list the functions that fail
  docs/api/check_comments.py --self-test       plant each fault and show that it is caught

A public function is a QUINCE_API declaration in an installed public header (each room's
`*_public_headers` in its meson.build). Its comment is the comment block right above it, or
above the run of declarations it belongs to (no blank line in between). The rule:
  - every function has such a comment;
  - a function that returns a value (not void) says so with the word "Returns" (or
    "returns");
  - one that returns a status (int, int64_t, ssize_t) names its errors: the codes
    (QUIC_ERR_..., H3_ERR_..., "< 0"), or says "never fails";
  - one that returns a pointer says when it is NULL (or "never NULL").
"""
import os
import re
import sys

ROOMS = ["base", "crypto", "quic", "h3", "wt", "bind", "io"]
DECL = re.compile(r"^QUINCE_API\s+(.*?)\b([a-z_][a-z0-9_]*)\s*\(")
STATUS_TYPES = {"int", "int64_t", "ssize_t", "int32_t"}
RETURNS = re.compile(r"\b[Rr]eturns?\b")
ERRORS = re.compile(r"_ERR_[A-Z_]+|< ?0\b|never fails|negative")
NULLS = re.compile(r"\bNULL\b")


def public_headers(root):
    out = []
    for room in ROOMS:
        mb = os.path.join(root, room, "meson.build")
        if not os.path.exists(mb):
            continue
        m = re.search(room + r"_public_headers\s*=\s*files\((.*?)\)", open(mb).read(), re.S)
        if m:
            out += [os.path.join(room, h) for h in re.findall(r"'([^']+)'", m.group(1))]
    return out


def functions(text):
    """(name, return type, comment text, line) for each QUINCE_API declaration."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = DECL.match(lines[i])
        if not m:
            i += 1
            continue
        rtype = re.sub(r"\s+", " ", m.group(1)).strip()
        name = m.group(2)
        # Walk up over the declarations of this run, then take the comment above.
        j = i - 1
        while j >= 0 and (lines[j].startswith("QUINCE_API") or
                          (lines[j][:1] in (" ", "\t") and not lines[j].strip().startswith("*")
                           and not lines[j].rstrip().endswith("*/"))):
            j -= 1  # a declaration (or its continuation line) of the same run
        comment = []
        if j >= 0 and lines[j].strip().endswith("*/"):
            k = j
            while k >= 0 and "/*" not in lines[k]:
                k -= 1
            comment = lines[max(k, 0):j + 1]
        out.append((name, rtype, "\n".join(comment), i + 1))
        i += 1
    return out


def problems(name, rtype, comment):
    if not comment:
        return ["no comment"]
    bad = []
    if rtype == "void":
        return bad
    if not RETURNS.search(comment):
        bad.append("does not say what it returns (\"Returns ...\")")
    base = rtype.replace("const ", "").strip()
    if base in STATUS_TYPES and not ERRORS.search(comment):
        bad.append("names no errors (the *_ERR_* codes, \"< 0\", or \"never fails\")")
    if "*" in rtype and not NULLS.search(comment):
        bad.append("does not say when it returns NULL (or \"never NULL\")")
    return bad


def check(root):
    failures = []
    total = 0
    for h in public_headers(root):
        for name, rtype, comment, line in functions(open(os.path.join(root, h)).read()):
            total += 1
            for p in problems(name, rtype, comment):
                failures.append("%s:%d: %s: %s" % (h, line, name, p))
    return total, failures


def self_test():
    ok = True
    cases = [
        ("/* Returns the count; never fails. */\nQUINCE_API int f(void);", []),
        ("QUINCE_API int f(void);", ["no comment"]),
        ("/* The count. */\nQUINCE_API size_t f(void);", ["returns"]),
        ("/* Returns 0. */\nQUINCE_API int f(void);", ["errors"]),
        ("/* Returns a thing. */\nQUINCE_API thing *f(void);", ["NULL"]),
        ("/* Returns 0 or X_ERR_ARG. */\nQUINCE_API int f(void);\nQUINCE_API int g(void);", []),
        ("/* Frees it. */\nQUINCE_API void f(void *p);", []),
        ("typedef struct s {\n    int a; /* Returns NULL */\n} s;\nQUINCE_API s *f(void);",
         ["no comment"]),
    ]
    for text, want in cases:
        got = []
        for name, rtype, comment, _ in functions(text):
            got += problems(name, rtype, comment)
        if len(got) != len(want) or any(w not in g for w, g in zip(want, got)):
            print("self-test: %r gave %s, want %s" % (text, got, want))
            ok = False
    print("check_comments self-test: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if "--self-test" in argv:
        return self_test()
    args = [a for a in argv if not a.startswith("--")]
    root = os.path.abspath(args[0]) if args else \
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    total, failures = check(root)
    for f in failures:
        print(f)
    print("check_comments: %d public functions, %d problems" % (total, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
