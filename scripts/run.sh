#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d build ] || meson setup build
meson compile -C build
# The main job: the WebTransport demo. quince-server with no arguments serves the
# demo page on http://127.0.0.1:8080/ and WebTransport on UDP 127.0.0.1:4433 with
# a fresh 13-day certificate whose SHA-256 the page passes to the browser.
exec ./build/apps/quince-server "$@"
