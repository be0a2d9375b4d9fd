#!/usr/bin/env bash
# Size report for a Cortex-M4 (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os,
# --gc-sections, newlib-nano): builds the core with cross/arm-none-eabi-cortex-m4.txt
# in three configurations, links the size images of cross/images/ and prints, per
# image, the bytes of each layer, of the program, mbedTLS, newlib and libgcc in
# .text/.rodata/.data/.bss (scripts/size_report.py reads the linker maps).
#   client          client-only QUIC + TLS, null crypto backend (cross/images/client.c)
#   full            client and server, HTTP/3 and WebTransport, null backend (full.c)
#   client-mbedtls  the client image with mbedTLS 2.28 built from Debian's source
#                   package with a minimal configuration (cross/mbedtls/config-client.h)
# Every image leaves out what a device would: logging, qlog, CUBIC, QUIC v2, and
# takes the options of cross/images/device_opt.h (the small Huffman decoder; no
# PMTUD, migration, resumption/0-RTT/NEW_TOKEN, HyStart++ or ACK frequency). The
# builds use -Werror, so they are also the compile check of those options.
# Exits 1 when an image is over its ceiling (below); the issue's budgets (45 KB,
# 72 KB of Quince's .text, 100 KB of flash) are printed beside them as goals.
# Reusing a build directory: meson reads the cross files only when a directory is
# first set up, so remove it after moving the source tree.
#   scripts/size.sh [BUILD_DIR]       (default build-size)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-build-size}" && cd "${1:-build-size}" && pwd)
cross=$src/cross/arm-none-eabi-cortex-m4.txt
report=$src/scripts/size_report.py
device=(-Dwerror=true -Dbuildtype=plain -Dio=disabled -Dtests=disabled -Dlogging=false
        -Dqlog=false -Dcubic=false -Dquic_v2=false)
# Ceilings: what the code measures now plus a little room (the test fails above
# them; lower them as code is cut) and the goals of issue 14. The mbedTLS image
# meets its goal, so its ceiling is the goal itself.
client_text_max=55296 client_text_goal=46080
full_text_max=112640 full_text_goal=73728
mbedtls_flash_max=102400 mbedtls_flash_goal=102400

build() { # dir, meson options...
  local dir=$1
  shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$src" --cross-file "$cross" "$@" >"$dir.setup.log" 2>&1
  else
    meson setup "$dir" "$src" --cross-file "$cross" "$@" >"$dir.setup.log" 2>&1
  fi || { cat "$dir.setup.log"; return 1; }
  meson compile -C "$dir" >"$dir.build.log" 2>&1 || { tail -40 "$dir.build.log"; return 1; }
}

# mbedTLS 2.28 from Debian's source package (a deb-src list of the same mirror,
# kept in the build directory: the system's apt configuration is left alone).
mbedtls_build() {
  local m=$out/mbedtls apt_o tree
  mkdir -p "$m/lists/partial" "$m/cache/archives/partial" "$m/lib"
  if [ ! -d "$m/src" ]; then
    cat >"$m/sources.list" <<'LIST'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
LIST
    apt_o=(-o "Dir::Etc::SourceList=$m/sources.list" -o Dir::Etc::SourceParts=/nonexistent
           -o "Dir::State::Lists=$m/lists" -o "Dir::Cache=$m/cache" -q)
    (cd "$m" && apt-get "${apt_o[@]}" update >/dev/null &&
      apt-get "${apt_o[@]}" source --download-only mbedtls >/dev/null) || return 1
    mkdir -p "$m/src"
    tar -xzf "$m"/mbedtls_2.28*.orig.tar.gz -C "$m/src" --strip-components=1 || return 1
  fi
  tree=$m/src
  local flags=(-mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections
               -I"$tree/include" -I"$src/cross/mbedtls" "-DMBEDTLS_CONFIG_FILE=\"config-client.h\"")
  rm -f "$m"/lib/*.o "$m"/lib/*.a
  for f in "$tree"/library/*.c; do
    arm-none-eabi-gcc "${flags[@]}" -c "$f" -o "$m/lib/$(basename "$f" .c).o" || return 1
  done
  arm-none-eabi-ar rcs "$m/lib/libmbedx509.a" "$m"/lib/x509*.o
  arm-none-eabi-ar rcs "$m/lib/libmbedcrypto.a" $(ls "$m"/lib/*.o | grep -v '/x509')
  # A third cross file adds mbedTLS's headers, configuration and libraries.
  cat >"$m/cross-mbedtls.txt" <<CROSS
[built-in options]
c_args = arm_c_args + device_c_args + ['-I$tree/include', '-I$src/cross/mbedtls', '-DMBEDTLS_CONFIG_FILE="config-client.h"']
c_link_args = arm_link_args + ['-L$m/lib']
CROSS
}

# A second cross file names the images' options header.
cat >"$out/cross-device.txt" <<'CROSS'
[constants]
device_c_args = ['-DQUINCE_OPT_HEADER="cross/images/device_opt.h"']

[built-in options]
c_args = arm_c_args + device_c_args
CROSS
cross_device=(--cross-file "$out/cross-device.txt")

status=0
check() { # map, name, budget args...
  python3 "$report" "$@" || status=1
}

build "$out/client" "${cross_device[@]}" "${device[@]}" -Dcrypto=null -Dserver=false -Dh3=false -Dwebtransport=false
check "$out/client/cross/images/image-client.map" --name client \
  --budget-core-text $client_text_max --goal-core-text $client_text_goal
echo
build "$out/full" "${cross_device[@]}" "${device[@]}" -Dcrypto=null
check "$out/full/cross/images/image-full.map" --name full \
  --budget-core-text $full_text_max --goal-core-text $full_text_goal
echo
mbedtls_build
build "$out/client-mbedtls" "${cross_device[@]}" --cross-file "$out/mbedtls/cross-mbedtls.txt" "${device[@]}" \
  -Dcrypto=mbedtls -Dserver=false -Dh3=false -Dwebtransport=false
check "$out/client-mbedtls/cross/images/image-client.map" --name client-mbedtls \
  --budget-flash $mbedtls_flash_max --goal-flash $mbedtls_flash_goal
exit $status
