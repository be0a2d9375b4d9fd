#!/usr/bin/env bash
# Installs what Quince needs on Debian 12 (build tools, libraries, and the real
# peers the interop tests talk to). Idempotent; only installs what is missing.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
      libmbedtls-dev libcmocka-dev openssl libssl-dev valgrind tshark python3 doxygen
      ngtcp2-client ngtcp2-server chromium fonts-dejavu-core libnss3-tools)
# Headless Firefox ESR: the WebTransport page's draft-02 interop run (tests/interop/wt_chromium.py).
pkgs+=(firefox-esr)
# Network namespaces and veths for the PMTU tests (tests/interop/netns_mtu.py).
pkgs+=(iproute2)
# The 32-bit (i386) and big-endian (s390x, under qemu-user) builds of
# scripts/test.sh: Debian's cross compilers and multiarch libraries.
foreign=(i386 s390x)
pkgs+=(gcc-i686-linux-gnu libc6-dev-i386-cross libmbedtls-dev:i386 libcmocka-dev:i386
       gcc-s390x-linux-gnu libc6-dev-s390x-cross libmbedtls-dev:s390x libcmocka-dev:s390x
       qemu-user)
# The Cortex-M4 size report (scripts/size.sh): bare-metal GCC and newlib-nano.
pkgs+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
for a in "${foreign[@]}"; do
  dpkg --print-foreign-architectures | grep -qx "$a" || $SUDO dpkg --add-architecture "$a"
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
