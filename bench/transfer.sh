#!/usr/bin/env bash
# Loopback transfer and handshake benchmarks: Quince against ngtcp2 (gtlsclient/gtlsserver).
#
#   bench/transfer.sh [--build DIR] [--size MB] [--runs R] [--conns N] [--perf]
#
# Over HTTP/3 on 127.0.0.1 (ephemeral ports), for each pair
#   quince-client <- quince-server, gtlsclient <- gtlsserver,
#   gtlsclient <- quince-server,    quince-client <- gtlsserver:
# - throughput: R runs (default 3) downloading one SIZE-MB pseudo-random file
#   (default 100; MB = 10^6 bytes), each checked with cmp; median MB/s and the
#   median user+sys CPU seconds of client and server over the transfer;
# - handshakes: N (default 50) sequential connections, each a new client process
#   fetching a 1-byte file (checked); connections/s (N over the sum of the
#   client processes' wall times, exec to exit) and CPU ms per connection
#   (client CPU includes process start-up; server CPU is the server's delta).
# --perf: also `perf stat` (task-clock) and a `perf record` top-15 of
# quince-server serving one 10 MB download to quince-client (user-space samples:
# perf_event_paranoid 2 hides the kernel), and `strace -c` of each server
# sending 10 MB to gtlsclient (system calls per transfer).
# Needs a release build of quince-server/quince-client (default build-bench,
# made if missing) and Debian's ngtcp2-client/ngtcp2-server packages. Prints one
# Markdown table; raw results in DIR/transfer-results/. Every process it starts
# is killed and the temp dir removed on exit; each client is bounded by a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

build="build-bench" # the release build scripts/bench.sh uses
size_mb=100
runs=3
conns=50
do_perf=0
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --size) size_mb=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --perf) do_perf=1; shift ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "transfer.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

log() { echo "transfer.sh: $*" >&2; }

for t in gtlsclient gtlsserver openssl python3 bc; do
    command -v "$t" >/dev/null || { log "$t not found (apt-get install ngtcp2-client ngtcp2-server bc)"; exit 1; }
done

if [ ! -d "$build" ]; then
    meson setup "$build" -Dbuildtype=release >/dev/null
fi
meson compile -C "$build" quince-server quince-client >/dev/null
case $build in /*) bdir=$build ;; *) bdir=$PWD/$build ;; esac # --build may be absolute
qserver=$bdir/apps/quince-server
qclient=$bdir/apps/quince-client
out=$build/transfer-results
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quince-xfer.XXXXXX")
server_pid=
tool_pid= # perf or strace attached to the server
cleanup() {
    if [ -n "$tool_pid" ]; then kill -INT "$tool_pid" 2>/dev/null || true; fi
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$tmp/root
dl=$tmp/dl
mkdir -p "$root" "$dl"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
    -out "$tmp/cert.pem" -days 10 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
# Pseudo-random, made once: AES-CTR keystream is fast and not compressible.
{ openssl enc -aes-128-ctr -nosalt -pass pass:quince -in /dev/zero 2>/dev/null || true; } |
    head -c $((size_mb * 1000000)) >"$root/big"
head -c $((10 * 1000000)) "$root/big" >"$root/ten"
printf x >"$root/one"

# cpu_ns PID: CPU time (user+sys) of a running process in ns, summed over its
# threads: schedstat's first field is exact, stat's utime/stime are 10 ms ticks
# (%.0f: mawk's %d stops at 2^31 ns).
cpu_ns() {
    local t
    t=$(cat /proc/"$1"/task/*/schedstat 2>/dev/null) || return 1 # the server died
    awk '{ t += $1 } END { printf "%.0f\n", t }' <<<"$t"
}
# user_sys PID: "utime stime" clock ticks (fields 14, 15 of stat; the command
# name in field 2 has no spaces here), for the user/system split in raw.txt.
user_sys() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
now() { date +%s.%N; }

# ---- Servers ----
start_server() { # kind (quince|ngtcp2)
    local port
    if [ "$1" = quince ]; then
        "$qserver" --listen 127.0.0.1:0 --root "$root" --cert "$tmp/cert.pem" \
            --key "$tmp/key.pem" --timeout 0 >"$tmp/server.out" 2>"$tmp/server.err" &
        server_pid=$!
        for _ in $(seq 100); do
            port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out")
            [ -n "$port" ] && break
            sleep 0.05
        done
    else
        port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        gtlsserver --initial-rtt=10ms -q -d "$root" --timeout=60s 127.0.0.1 "$port" \
            "$tmp/key.pem" "$tmp/cert.pem" >"$tmp/server.out" 2>&1 &
        server_pid=$!
        sleep 0.3
    fi
    if [ -z "$port" ] || ! kill -0 "$server_pid" 2>/dev/null; then
        log "$1 server did not start: $(tail -c 500 "$tmp/server.err" "$tmp/server.out" 2>/dev/null)"
        return 1
    fi
    server_port=$port
}
stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# ---- Clients: run_client kind file -> sets c_wall c_cpu (s), c_rc ----
# The wrapper runs one client with a time limit and writes "wall user sys" with
# microsecond resolution (wait4's rusage; /usr/bin/time prints only 10 ms steps,
# more than a whole quince-client handshake costs).
cat >"$tmp/rusage.py" <<'PY'
import os, signal, subprocess, sys, time
out, limit, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, start_new_session=True)
signal.signal(signal.SIGALRM, lambda *_: os.killpg(p.pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, limit)
_, status, ru = os.wait4(p.pid, 0)
signal.setitimer(signal.ITIMER_REAL, 0)
wall = time.monotonic() - t0
with open(out, "w") as f:
    f.write("%.6f %.6f %.6f\n" % (wall, ru.ru_utime, ru.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status) & 255)
PY
run_client() {
    local url=https://127.0.0.1:$server_port/$2
    rm -f "$dl/$2"
    if [ "$1" = quince ]; then
        python3 "$tmp/rusage.py" "$tmp/time" 120 "$qclient" --insecure --timeout 60 \
            --output "$dl" "$url" >/dev/null 2>"$tmp/client.log" && c_rc=0 || c_rc=$?
    else
        python3 "$tmp/rusage.py" "$tmp/time" 120 gtlsclient --initial-rtt=10ms -q \
            --exit-on-all-streams-close --download="$dl" --timeout=30s 127.0.0.1 \
            "$server_port" "$url" >"$tmp/client.log" 2>&1 && c_rc=0 || c_rc=$?
    fi
    read -r c_wall cu cs <"$tmp/time"
    c_cpu=$(echo "$cu + $cs" | bc -l)
    if [ "$c_rc" = 0 ] && ! cmp -s "$root/$2" "$dl/$2"; then
        c_rc="cmp"
    fi
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

pairs=("quince quince" "ngtcp2 ngtcp2" "ngtcp2 quince" "quince ngtcp2") # client server
name() { [ "$1" = quince ] && echo "quince-$2" || echo "gtls$2"; }
failures=()
rows=()

for pair in "${pairs[@]}"; do
    read -r ck sk <<<"$pair"
    label="$(name "$ck" client) <- $(name "$sk" server)"
    # -- throughput --
    mbs=() ccpu=() scpu=()
    fail=
    if start_server "$sk"; then
        for r in $(seq "$runs"); do
            s0=$(cpu_ns "$server_pid")
            read -r u0 y0 < <(user_sys "$server_pid")
            run_client "$ck" big
            s1=$(cpu_ns "$server_pid" 2>/dev/null || echo "$s0")
            read -r u1 y1 < <(user_sys "$server_pid" 2>/dev/null || echo "$u0 $y0")
            echo "xfer $ck $sk run$r rc=$c_rc wall=$c_wall client_cpu=$c_cpu client_user=$cu" \
                "client_sys=$cs server_ns=$((s1 - s0)) server_user_ticks=$((u1 - u0))" \
                "server_sys_ticks=$((y1 - y0))" >>"$raw"
            if [ "$c_rc" != 0 ]; then
                fail="run $r: client status $c_rc; $(tail -c 300 "$tmp/client.log" | tr '\n' ' ')"
                break
            fi
            mbs+=("$(echo "$size_mb / $c_wall" | bc -l)")
            ccpu+=("$c_cpu")
            scpu+=("$(echo "($s1 - $s0) / 1000000000" | bc -l)")
            log "$label ${size_mb} MB run $r: $(printf %.1f "${mbs[-1]}") MB/s, client $(printf %.2f "$c_cpu")s, server $(printf %.2f "${scpu[-1]}")s CPU"
        done
        stop_server
    else
        fail="server did not start"
    fi
    if [ -n "$fail" ]; then
        failures+=("throughput $label: $fail")
        rows+=("| ${size_mb} MB download | $label | FAILED | | |")
    else
        m=$(median "${mbs[@]}") c=$(median "${ccpu[@]}") s=$(median "${scpu[@]}")
        rows+=("$(printf '| %s MB download | %s | %.1f MB/s | %.2f s (%.1f ms/MB) | %.2f s (%.1f ms/MB) |' \
            "$size_mb" "$label" "$m" "$c" "$(echo "$c * 1000 / $size_mb" | bc -l)" \
            "$s" "$(echo "$s * 1000 / $size_mb" | bc -l)")")
    fi
    # -- handshakes --
    fail=
    if start_server "$sk"; then
        s0=$(cpu_ns "$server_pid")
        t0=$(now)
        ctot=0 wtot=0
        for i in $(seq "$conns"); do
            run_client "$ck" one
            if [ "$c_rc" != 0 ]; then
                fail="connection $i: client status $c_rc; $(tail -c 300 "$tmp/client.log" | tr '\n' ' ')"
                break
            fi
            ctot=$(echo "$ctot + $c_cpu" | bc -l)
            wtot=$(echo "$wtot + $c_wall" | bc -l)
        done
        t1=$(now)
        s1=$(cpu_ns "$server_pid" 2>/dev/null || echo "$s0")
        stop_server
        echo "hs $ck $sk conns=$conns loop_wall=$(echo "$t1 - $t0" | bc -l) client_wall=$wtot client_cpu=$ctot server_ns=$((s1 - s0)) fail=$fail" >>"$raw"
    else
        fail="server did not start"
    fi
    if [ -n "$fail" ]; then
        failures+=("handshakes $label: $fail")
        rows+=("| $conns x 1-byte GET | $label | FAILED | | |")
    else
        rows+=("$(printf '| %s x 1-byte GET | %s | %.1f conn/s | %.1f ms/conn | %.1f ms/conn |' \
            "$conns" "$label" "$(echo "$conns / $wtot" | bc -l)" \
            "$(echo "$ctot * 1000 / $conns" | bc -l)" \
            "$(echo "($s1 - $s0) / 1000000 / $conns" | bc -l)")")
        log "$label handshakes: ${rows[-1]}"
    fi
done

# ---- Optional profile of quince-server on a 10 MB download ----
if [ "$do_perf" = 1 ] && command -v perf >/dev/null; then
    log "perf: quince-server serving 10 MB to quince-client"
    start_server quince
    perf stat -e task-clock,context-switches -p "$server_pid" -o "$out/perf-stat.txt" &
    pstat=$!
    tool_pid=$pstat
    run_client quince ten
    kill -INT "$pstat" 2>/dev/null || true
    wait "$pstat" 2>/dev/null || true
    perf record -e cpu-clock:u -o "$tmp/perf.data" -p "$server_pid" >/dev/null 2>&1 &
    prec=$!
    tool_pid=$prec
    sleep 0.3
    run_client quince ten
    kill -INT "$prec" 2>/dev/null || true
    wait "$prec" 2>/dev/null || true
    stop_server
    if command -v strace >/dev/null; then
        # System calls of each server sending 10 MB to gtlsclient: datagrams per
        # send call (GSO/sendmmsg batching) and timer re-arms.
        for sk in quince ngtcp2; do
            start_server "$sk"
            strace -c -p "$server_pid" -o "$out/strace.$sk-server.txt" 2>/dev/null &
            pst=$!
            tool_pid=$pst
            sleep 0.3
            run_client ngtcp2 ten
            kill -INT "$pst" 2>/dev/null || true
            wait "$pst" 2>/dev/null || true
            stop_server
            log "strace -c of $(name "$sk" server), 10 MB to gtlsclient (status $c_rc):"
            head -9 "$out/strace.$sk-server.txt" >&2
        done
    fi
    perf report -i "$tmp/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9.]+%' | head -15 >"$out/perf-top.txt" || true
    cat "$out/perf-stat.txt" "$out/perf-top.txt" >&2
fi

table=$out/table.md
{
    echo "Loopback HTTP/3 on $(uname -m), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u '+%Y-%m-%d %H:%M UTC');"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); ngtcp2 $(dpkg-query -W -f '${Version}' ngtcp2-client 2>/dev/null || echo '?')"
    echo
    echo "| scenario | pair (client <- server) | MB/s or conn/s | client CPU | server CPU |"
    echo "| --- | --- | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
    for f in "${failures[@]}"; do
        echo
        echo "FAILED: $f"
    done
} >"$table"
cat "$table"
log "raw results in $out/"
[ ${#failures[@]} -eq 0 ]
