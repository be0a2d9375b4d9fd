#!/usr/bin/env bash
# Installs what Quince needs on Debian 12 (build tools, libraries, and the real
# peers the interop tests talk to). Idempotent; only installs what is missing.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
      libmbedtls-dev libcmocka-dev openssl libssl-dev valgrind tshark python3
      ngtcp2-client ngtcp2-server chromium fonts-dejavu-core libnss3-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
