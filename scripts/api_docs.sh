#!/bin/sh
# The API reference (HTML) from the installed headers: scripts/api_docs.sh [OUTDIR]
# (default build-api/). Doxygen (Debian package doxygen, scripts/setup.sh) with warnings as
# errors; tests/docs/api runs it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-api}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$root"
QUINCE_API_OUT="$out" doxygen docs/api/Doxyfile
echo "API reference: $out/html/index.html"
