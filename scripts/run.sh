#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d build ] || meson setup build
meson compile -C build
# The main job: the WebTransport demo. quince-server with no arguments serves the
# demo page on http://localhost:8080/ (127.0.0.1 and ::1), and WebTransport plus the
# current directory's files over HTTP/3 on UDP port 4433 (127.0.0.1 and ::1) with a
# fresh 13-day certificate whose SHA-256 the page passes to the browser. It runs
# until Ctrl-C.
exec ./build/apps/quince-server "$@"
