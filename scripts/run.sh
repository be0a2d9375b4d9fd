#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -d build ] || meson setup build
meson compile -C build
# Until the QUIC server lands (issues 3-5), the main job is the narrated
# in-memory TLS 1.3-for-QUIC handshake.
exec ./build/apps/quince-handshake "$@"
