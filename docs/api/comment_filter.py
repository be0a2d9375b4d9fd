#!/usr/bin/env python3
"""Doxygen input filter: Quince's headers document each declaration with the plain C comment
right above it (STYLE.md); this turns that comment into a doc comment (/** ... */) and escapes
what doxygen would read as commands (backslashes, @, <, >, &, %), so that the reference shows
the comments as written."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
out = []
for m in re.finditer(r"/\*.*?\*/|[^/]+|/", text, re.S):
    tok = m.group(0)
    if tok.startswith("/*") and not tok.startswith("/**"):
        body = tok[2:-2]
        body = body.replace("\\", "\\\\").replace("@", "\\@").replace("<", "\\<")
        body = body.replace(">", "\\>").replace("&", "\\&").replace("%", "\\%")
        body = body.replace("#", "\\#").replace("$", "\\$")
        tok = "/**" + body + "*/"
    out.append(tok)
sys.stdout.write("".join(out))
