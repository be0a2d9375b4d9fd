#!/usr/bin/env bash
# Quince on each crypto backend beside ngtcp2, in one run, alternating, with ratios.
#
#   bench/side_by_side.sh [--build DIR] [--size MB] [--runs R] [--handshakes N]
#                         [--concurrent C] [--concurrent-size MB] [--levels L1,L2,...]
#                         [--batch B] [--no-scale] [--backends "mbedtls openssl"]
#
# Sides: ngtcp2 (gtlsclient <- gtlsserver, GnuTLS) and quince-client <- quince-server
# once per Quince backend (QUINCE_CRYPTO=mbedtls / openssl), HTTP/3 over 127.0.0.1.
# Every measurement is taken R times (default 3) per side, the sides taking turns in a
# rotating order, and the median is reported with its ratio to ngtcp2's:
# - bulk: one SIZE-MB download (default 200; MB = 10^6 bytes, checked with cmp):
#   MB/s, client and server CPU (user+sys) per MB;
# - handshakes: server CPU per handshake over N (default 300) handshakes of bench-hold
#   (one client process, ALPN h3, 10 other connections live), and mbedTLS's primitives
#   alone for one server handshake (bench-crypto hs.server.primitives: every primitive call
#   such a handshake makes, with its sizes; bench/README.md lists them), measured once in
#   each run right after the mbedTLS side's handshakes, so that both see the same load;
# - concurrent: C (default 10) clients downloading CONCURRENT-SIZE MB each (default 20)
#   at once from one server: aggregate MB/s (all bytes over the wall time of the slowest);
# - scale (once per side, the longest part): bench-hold opens connections up to each level
#   (default 10,1000,5000,10000) and measures B (default 200) more handshakes there:
#   server CPU per handshake and RSS; quince-server runs with --max-connections at the
#   last level plus B; connections are then added until one is refused (CONNECTION_REFUSED).
# Needs Debian's ngtcp2-client/ngtcp2-server, openssl, bc, python3. Builds DIR (default
# build-side, release, -Dcrypto=mbedtls,openssl) if missing. Prints a Markdown table with
# the machine, the load average and the commit; raw numbers in DIR/side-results/raw.txt.
# Every process it starts is killed and its temporary directory removed on exit.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

build=build-side
size_mb=200
runs=3
handshakes=300
conc=10
conc_mb=20
levels=10,1000,5000,10000
batch=200
scale=1
backends="mbedtls openssl"
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --size) size_mb=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --handshakes) handshakes=$2; shift 2 ;;
    --concurrent) conc=$2; shift 2 ;;
    --concurrent-size) conc_mb=$2; shift 2 ;;
    --levels) levels=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --no-scale) scale=0; shift ;;
    --backends) backends=$2; shift 2 ;;
    -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "side_by_side.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

log() { echo "side_by_side.sh: $*" >&2; }
for t in gtlsclient gtlsserver openssl python3 bc; do
    command -v "$t" >/dev/null || { log "$t not found (scripts/setup.sh; apt-get install ngtcp2-client ngtcp2-server bc)"; exit 1; }
done
if [ ! -d "$build" ]; then
    meson setup "$build" -Dbuildtype=release -Dcrypto=mbedtls,openssl >/dev/null || exit 1
fi
meson compile -C "$build" quince-server quince-client bench-hold bench-crypto >/dev/null || exit 1
case $build in /*) bdir=$build ;; *) bdir=$PWD/$build ;; esac
qserver=$bdir/apps/quince-server
qclient=$bdir/apps/quince-client
hold=$bdir/bench/bench-hold
out=$build/side-results
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quince-side.XXXXXX")
server_pid=
bg_pids=()
cleanup() {
    for p in "${bg_pids[@]}" $server_pid; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

root=$tmp/root
mkdir -p "$root"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" \
    -out "$tmp/cert.pem" -days 10 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >/dev/null 2>&1
{ openssl enc -aes-128-ctr -nosalt -pass pass:quince -in /dev/zero 2>/dev/null || true; } |
    head -c $((size_mb * 1000000)) >"$root/big"
head -c $((conc_mb * 1000000)) "$root/big" >"$root/conc"

cpu_ns() { awk '{ t += $1 } END { printf "%.0f\n", t }' /proc/"$1"/task/*/schedstat 2>/dev/null; }
rss_mb() { awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' /proc/"$1"/status 2>/dev/null; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
calc() { echo "$*" | bc -l; }

# start_server side [max_connections]: side is ngtcp2 or quince/BACKEND.
start_server() {
    local port=
    if [ "$1" = ngtcp2 ]; then
        port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        gtlsserver --initial-rtt=10ms -q -d "$root" --timeout=600s 127.0.0.1 "$port" \
            "$tmp/key.pem" "$tmp/cert.pem" >"$tmp/server.out" 2>&1 &
        server_pid=$!
        sleep 0.3
    else
        local extra=()
        if [ -n "${2:-}" ]; then extra=(--max-connections "$2"); fi
        QUINCE_CRYPTO=${1#quince/} "$qserver" --listen 127.0.0.1:0 --root "$root" \
            --cert "$tmp/cert.pem" --key "$tmp/key.pem" --no-webtransport --idle-timeout 600 \
            "${extra[@]}" >"$tmp/server.out" 2>"$tmp/server.err" &
        server_pid=$!
        for _ in $(seq 100); do
            port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out")
            [ -n "$port" ] && break
            sleep 0.05
        done
    fi
    if [ -z "$port" ] || ! kill -0 "$server_pid" 2>/dev/null; then
        log "$1 server did not start: $(tail -c 300 "$tmp/server.err" "$tmp/server.out" 2>/dev/null)"
        return 1
    fi
    server_port=$port
}
stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# A client with a time limit, "wall user sys" in microseconds (wait4's rusage).
cat >"$tmp/rusage.py" <<'PY'
import os, signal, subprocess, sys, time
out, limit, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, start_new_session=True)
signal.signal(signal.SIGALRM, lambda *_: os.killpg(p.pid, signal.SIGKILL))
signal.setitimer(signal.ITIMER_REAL, limit)
_, status, ru = os.wait4(p.pid, 0)
signal.setitimer(signal.ITIMER_REAL, 0)
with open(out, "w") as f:
    f.write("%.6f %.6f %.6f %.6f\n" % (time.monotonic() - t0, ru.ru_utime, ru.ru_stime, t0))
sys.exit(os.waitstatus_to_exitcode(status) & 255)
PY
# client side file dir timefile: the client of the side's kind fetches file into dir.
client() {
    local url=https://127.0.0.1:$server_port/$2
    if [ "$1" = ngtcp2 ]; then
        python3 "$tmp/rusage.py" "$4" 300 gtlsclient --initial-rtt=10ms -q \
            --exit-on-all-streams-close --download="$3" --timeout=30s 127.0.0.1 \
            "$server_port" "$url" >"$3.log" 2>&1
    else
        QUINCE_CRYPTO=${1#quince/} python3 "$tmp/rusage.py" "$4" 300 "$qclient" --insecure \
            --timeout 120 --output "$3" "$url" >/dev/null 2>"$3.log"
    fi
}

sides=(ngtcp2)
for b in $backends; do sides+=("quince/$b"); done
nsides=${#sides[@]}
declare -A mbs ccpu scpu hs agg
prim_runs= hs_ratio=
failures=()

for r in $(seq "$runs"); do
    for k in $(seq 0 $((nsides - 1))); do
        side=${sides[$(((k + r - 1) % nsides))]} # a rotating order: sides take turns
        # -- bulk --
        if start_server "$side"; then
            dl=$tmp/dl; rm -rf "$dl"; mkdir -p "$dl"
            s0=$(cpu_ns "$server_pid")
            if client "$side" big "$dl" "$tmp/time" && cmp -s "$root/big" "$dl/big"; then
                s1=$(cpu_ns "$server_pid")
                read -r w cu cs _ <"$tmp/time"
                mbs[$side]+="$(calc "$size_mb / $w") "
                ccpu[$side]+="$(calc "($cu + $cs) * 1000 / $size_mb") "
                scpu[$side]+="$(calc "($s1 - $s0) / 1000000 / $size_mb") "
                echo "bulk $side run$r wall=$w client_user=$cu client_sys=$cs server_ns=$((s1 - s0))" >>"$raw"
                log "$side bulk run $r: $(calc "$size_mb / $w" | xargs printf %.1f) MB/s"
            else
                failures+=("bulk $side run $r: $(tail -c 300 "$dl.log" 2>/dev/null | tr '\n' ' ')")
            fi
            stop_server
        fi
        # -- handshakes: server CPU per handshake, 10 connections live --
        if start_server "$side"; then
            if QUINCE_CRYPTO=openssl "$hold" "127.0.0.1:$server_port" "$server_pid" 10 "$handshakes" 120 \
                >"$tmp/hold.out" 2>"$tmp/hold.err"; then
                v=$(sed -n 's/.*server \([0-9.]*\) ms CPU.*/\1/p' "$tmp/hold.out")
                hs[$side]+="$v "
                echo "handshake $side run$r $(cat "$tmp/hold.out")" >>"$raw"
                if [ "$side" = quince/mbedtls ]; then
                    # The primitives' cost right beside it, in the same load (one per run).
                    p=$(QUINCE_CRYPTO=mbedtls "$bdir/bench/bench-crypto" --only hs.server.primitives 2>/dev/null |
                        awk '$1 == "hs.server.primitives" { printf "%.3f", $2 / 1e6 }')
                    [ -n "$p" ] && prim_runs+="$p " && hs_ratio+="$(calc "$v / $p") "
                    echo "primitives run$r $p ms" >>"$raw"
                fi
            else
                failures+=("handshakes $side run $r: $(tail -c 300 "$tmp/hold.err" 2>/dev/null)")
            fi
            stop_server
        fi
        # -- concurrent downloads --
        if start_server "$side"; then
            pids=()
            for c in $(seq "$conc"); do
                rm -rf "$tmp/c$c"; mkdir -p "$tmp/c$c"
                client "$side" conc "$tmp/c$c" "$tmp/c$c.time" &
                pids+=($!)
            done
            bg_pids=("${pids[@]}")
            ok=1 why=
            rcs=()
            for p in "${pids[@]}"; do wait "$p"; rcs+=($?); done
            bg_pids=()
            first= last=
            for c in $(seq "$conc"); do
                if [ "${rcs[$((c - 1))]}" != 0 ] || ! cmp -s "$root/conc" "$tmp/c$c/conc"; then
                    ok=0
                    why+=" [client $c: exit ${rcs[$((c - 1))]}; $(cmp "$root/conc" "$tmp/c$c/conc" 2>&1 | head -1); $(tail -c 200 "$tmp/c$c.log" 2>/dev/null | tr '\n' ' ')]"
                fi
                read -r w _ _ t0 <"$tmp/c$c.time"
                e=$(calc "$t0 + $w")
                if [ -z "$first" ] || [ "$(calc "$t0 < $first")" = 1 ]; then first=$t0; fi
                if [ -z "$last" ] || [ "$(calc "$e > $last")" = 1 ]; then last=$e; fi
            done
            if [ $ok = 1 ]; then
                agg[$side]+="$(calc "$conc * $conc_mb / ($last - $first)") "
                echo "concurrent $side run$r wall=$(calc "$last - $first")" >>"$raw"
            else
                failures+=("concurrent $side run $r: a download failed or differs:$why")
            fi
            stop_server
        fi
    done
done

# ---- scale: once per side ----
last_level=${levels##*,}
declare -A scale_rows
if [ "$scale" = 1 ]; then
    for side in "${sides[@]}"; do
        max=
        [ "$side" != ngtcp2 ] && max=$((last_level + batch))
        if start_server "$side" $max; then
            extra=()
            [ -n "$max" ] && extra=(refuse)
            QUINCE_CRYPTO=openssl "$hold" "127.0.0.1:$server_port" "$server_pid" "$levels" "$batch" 1500 \
                "${extra[@]}" >"$tmp/scale.out" 2>"$tmp/scale.err" || failures+=("scale $side: $(tail -c 300 "$tmp/scale.err" "$tmp/scale.out" | tr '\n' ' ')")
            scale_rows[$side]=$(cat "$tmp/scale.out")
            echo "scale $side: $(tr '\n' ';' <"$tmp/scale.out")" >>"$raw"
            log "$side scale: $(tr '\n' ';' <"$tmp/scale.out")"
            stop_server
        fi
    done
fi

# mbedTLS's primitives for one server handshake: every primitive call one makes (bench-crypto
# hs.server.primitives), measured in each run right after the mbedTLS handshakes (median of
# those), and, as before, only X25519 keygen+derive and the ECDSA P-256 signature (once, here).
crypto_out=$(QUINCE_CRYPTO=mbedtls "$bdir/bench/bench-crypto" --only hs.server 2>/dev/null)
prims=$(echo "$crypto_out" | awk '$1 == "hs.server.primitives" { printf "%.3f", $2 / 1e6 }')
[ -n "$prim_runs" ] && prims=$(median $prim_runs)
prims_old=$(echo "$crypto_out" |
    awk '$1 == "hs.server.x25519" || $1 == "hs.server.ecdsa-p256-sign" { t += $2 } END { printf "%.3f", t / 1e6 }')
echo "$crypto_out" >>"$raw"

ratio() { # value reference
    if [ -z "$1" ] || [ -z "$2" ]; then echo "-"; else printf '%.2fx' "$(calc "$1 / $2")"; fi
}
m() { local v=${1:-}; [ -z "$v" ] && { echo ""; return; }; median $v; }
table=$out/table.md
{
    echo "Loopback HTTP/3, $(uname -m), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?');"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); ngtcp2 $(dpkg-query -W -f '${Version}' ngtcp2-client 2>/dev/null || echo '?'); medians of $runs runs, sides alternating"
    echo
    echo "| side | bulk ${size_mb} MB MB/s | client CPU ms/MB | server CPU ms/MB | server CPU ms/handshake | ${conc} x ${conc_mb} MB aggregate MB/s |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    n_mbs=$(m "${mbs[ngtcp2]:-}") n_c=$(m "${ccpu[ngtcp2]:-}") n_s=$(m "${scpu[ngtcp2]:-}")
    n_h=$(m "${hs[ngtcp2]:-}") n_a=$(m "${agg[ngtcp2]:-}")
    for side in "${sides[@]}"; do
        a=$(m "${mbs[$side]:-}") c=$(m "${ccpu[$side]:-}") s=$(m "${scpu[$side]:-}")
        h=$(m "${hs[$side]:-}") g=$(m "${agg[$side]:-}")
        f() { [ -z "$1" ] && echo "failed" || printf "%.${2}f" "$1"; }
        if [ "$side" = ngtcp2 ]; then
            echo "| ngtcp2 (GnuTLS) | $(f "$a" 1) | $(f "$c" 2) | $(f "$s" 2) | $(f "$h" 3) | $(f "$g" 1) |"
        else
            echo "| quince, ${side#quince/} | $(f "$a" 1) ($(ratio "$a" "$n_mbs")) | $(f "$c" 2) ($(ratio "$c" "$n_c")) | $(f "$s" 2) ($(ratio "$s" "$n_s")) | $(f "$h" 3) ($(ratio "$h" "$n_h")) | $(f "$g" 1) ($(ratio "$g" "$n_a")) |"
        fi
    done
    echo
    echo "mbedTLS primitives of one server handshake (bench-crypto hs.server.primitives, all of them, median of one per run: ${prim_runs:-none}): $prims ms;" \
        "X25519 keygen+derive + ECDSA P-256 sign alone: $prims_old ms"
    q=$(m "${hs[quince/mbedtls]:-}")
    [ -n "$q" ] && echo "quince mbedTLS server CPU per handshake / primitives: $(ratio "$q" "$prims") (X25519 + sign alone: $(ratio "$q" "$prims_old")); run by run: $(for x in $hs_ratio; do printf '%.2fx ' "$x"; done)"
    if [ "$scale" = 1 ]; then
        echo
        echo "Scale (bench-hold, $batch handshakes measured at each level; one run per side):"
        echo
        for side in "${sides[@]}"; do
            echo "- $side:"
            echo "${scale_rows[$side]:-failed}" | sed 's/^/  - /'
        done
    fi
    for f in "${failures[@]}"; do
        echo
        echo "FAILED: $f"
    done
} >"$table"
cat "$table"
log "raw results in $out/"
[ ${#failures[@]} -eq 0 ]
