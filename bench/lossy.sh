#!/usr/bin/env bash
# Lossy-path benchmark: a client downloads a file over HTTP/3 from quince-server and, in the
# same run, from ngtcp2's gtlsserver, each through its own bench/lossy_relay (5 ms delay each
# way, loss, duplication and jitter as listed, the same seed for both servers in a run).
#
#   bench/lossy.sh [--build DIR] [--runs R] [--client gtls|quince] [--only N[,N..]]
#                  [--qlog DIR] [--cc cubic|newreno] [--crypto mbedtls|openssl] [--no-build]
#
# Scenarios (loss, duplication, jitter; 10 MB, 2 MB at 30% loss):
#   1: 0/0/0  2: 0/0/2 ms  3: 0/0/10 ms  4: 5%/0/2 ms  5: 5%/5%/10 ms  6: 10%/0/2 ms
#   7: 30%/0/2 ms (2 MB)
# Runs alternate quince, ngtcp2, quince, ... (default 3 each); every download is checked
# byte for byte (cmp) and bounded by 240 s. The time of a download is from the client's
# start until its output file is complete (closed after writing: bench/download_time.py),
# for both clients and both servers alike: it leaves out the closing period (RFC 9000
# §10.2, 3 PTO) that quince-client waits through before exiting and gtlsclient does not.
# Both servers start with a 10 ms initial RTT (--initial-rtt). Prints one Markdown table:
# median seconds per server and the ratio quince / ngtcp2 (<= 1.0: Quince as fast or
# faster); the median process wall times follow in a second table. Raw lines in
# DIR/lossy-results/raw.txt. --qlog DIR keeps quince-server's qlog of each run there.
# --cc passes quince-server --cc (when it has that option). --crypto runs quince-server and
# quince-client on that crypto backend (QUINCE_CRYPTO; the build needs it: -Dcrypto=mbedtls,openssl,
# which the script sets up for a new DIR when --crypto is given). Needs ngtcp2-client and
# ngtcp2-server (Debian), openssl, python3. --no-build uses DIR's binaries as they are
# (DIR/commit, if there, names their commit in the table).
# Cleans up every process it starts.
set -euo pipefail
cd "$(dirname "$0")/.."

build="build-bench"
runs=3
client=gtls
only=
qlog_keep=
cc_opt=()
no_build=0
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --client) client=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --qlog) qlog_keep=$2; shift 2 ;;
    --cc) cc_opt=(--cc "$2"); shift 2 ;;
    --crypto) export QUINCE_CRYPTO=$2; shift 2 ;;
    --no-build) no_build=1; shift ;;
    -h | --help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lossy.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "lossy.sh: $*" >&2; }
for t in gtlsclient gtlsserver openssl python3; do
    command -v "$t" >/dev/null || { log "$t not found"; exit 1; }
done
if [ "$no_build" = 0 ]; then
    crypto_opt=()
    [ -n "${QUINCE_CRYPTO:-}" ] && crypto_opt=(-Dcrypto=mbedtls,openssl)
    [ -d "$build" ] || meson setup "$build" -Dbuildtype=release "${crypto_opt[@]}" >/dev/null
    meson compile -C "$build" quince-server quince-client lossy-relay >/dev/null
fi
case $build in /*) bdir=$build ;; *) bdir=$PWD/$build ;; esac
qserver=$bdir/apps/quince-server
qclient=$bdir/apps/quince-client
relay=$bdir/bench/lossy-relay
out=$bdir/lossy-results
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"
[ -n "$qlog_keep" ] && mkdir -p "$qlog_keep"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quince-lossy.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
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
{ openssl enc -aes-128-ctr -nosalt -pass pass:quince -in /dev/zero 2>/dev/null || true; } |
    head -c 10000000 >"$root/f10"
head -c 2000000 "$root/f10" >"$root/f2"

free_port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server kind qlogdir -> sets server_pid server_port
start_server() {
    local port
    if [ "$1" = quince ]; then
        local ql=()
        [ -n "$2" ] && ql=(--qlog-dir "$2")
        "$qserver" --listen 127.0.0.1:0 --root "$root" --cert "$tmp/cert.pem" \
            --key "$tmp/key.pem" --no-webtransport --initial-rtt 10 "${ql[@]}" "${cc_opt[@]}" \
            >"$tmp/server.out" 2>"$tmp/server.err" &
        server_pid=$!
        for _ in $(seq 200); do
            port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out" 2>/dev/null)
            [ -n "$port" ] && break
            sleep 0.05
        done
    else
        port=$(free_port)
        gtlsserver --initial-rtt=10ms -q -d "$root" --timeout=60s 127.0.0.1 "$port" \
            "$tmp/key.pem" "$tmp/cert.pem" >"$tmp/server.out" 2>&1 &
        server_pid=$!
        sleep 0.3
    fi
    pids+=("$server_pid")
    if [ -z "$port" ] || ! kill -0 "$server_pid" 2>/dev/null; then
        log "$1 server did not start"
        return 1
    fi
    server_port=$port
}
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# start_relay port loss dup jitter seed -> relay_pid relay_port
start_relay() {
    rm -f "$tmp/relay.port"
    "$relay" --listen 0 --to "127.0.0.1:$1" --loss "$2" --dup "$3" --delay 5 --jitter "$4" \
        --seed "$5" --port-file "$tmp/relay.port" >/dev/null 2>"$tmp/relay.err" &
    relay_pid=$!
    pids+=("$relay_pid")
    for _ in $(seq 100); do
        [ -s "$tmp/relay.port" ] && break
        sleep 0.02
    done
    relay_port=$(cat "$tmp/relay.port")
}

# run_client file -> c_done (until the file is complete), c_wall (until the client exits),
# c_rc
run_client() {
    local url=https://127.0.0.1:$relay_port/$1
    rm -f "$dl/$1"
    local cmd t
    if [ "$client" = quince ]; then
        cmd=(timeout -s KILL 240 "$qclient" --insecure --timeout 120 --output "$dl" "$url")
    else
        cmd=(timeout -s KILL 240 gtlsclient --initial-rtt=10ms -q --exit-on-all-streams-close --download="$dl"
            --timeout=60s 127.0.0.1 "$relay_port" "$url")
    fi
    t=$(python3 bench/download_time.py "$dl/$1" -- "${cmd[@]}" \
        2>"$tmp/client.log" </dev/null) || true
    c_done=$(sed -n 's/.*done=\([^ ]*\).*/\1/p' <<<"$t")
    c_wall=$(sed -n 's/.*wall=\([^ ]*\).*/\1/p' <<<"$t")
    c_rc=$(sed -n 's/.*rc=\([^ ]*\).*/\1/p' <<<"$t")
    [ -n "$c_rc" ] || c_rc=timeout
    if [ "$c_rc" = 0 ] && { [ "$c_done" = NA ] || ! cmp -s "$root/$1" "$dl/$1"; }; then
        c_rc=cmp
    fi
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

scen=("0 0 0 f10" "0 0 2 f10" "0 0 10 f10" "0.05 0 2 f10" "0.05 0.05 10 f10" "0.10 0 2 f10"
    "0.30 0 2 f2")
rows=()
wrows=()
for i in "${!scen[@]}"; do
    n=$((i + 1))
    if [ -n "$only" ] && ! [[ ",$only," == *",$n,"* ]]; then continue; fi
    read -r loss dup jit file <<<"${scen[$i]}"
    declare -A times=([quince]="" [ngtcp2]="")
    declare -A walls=([quince]="" [ngtcp2]="")
    fails=""
    for r in $(seq "$runs"); do
        for kind in quince ngtcp2; do
            qd=
            if [ "$kind" = quince ] && [ -n "$qlog_keep" ]; then
                qd=$qlog_keep/s$n-r$r
                mkdir -p "$qd"
            fi
            start_server "$kind" "$qd" || { fails+=" $kind:nostart"; continue; }
            start_relay "$server_port" "$loss" "$dup" "$jit" "$((n * 100 + r))"
            run_client "$file"
            stop_pid "$relay_pid"
            stop_pid "$server_pid"
            rstats=$(tr '\n' ' ' <"$tmp/relay.err")
            echo "s$n loss=$loss dup=$dup jitter=${jit}ms $kind client=$client run$r rc=$c_rc done=$c_done wall=$c_wall $rstats" >>"$raw"
            log "s$n loss=$loss dup=$dup jitter=${jit}ms $kind run $r: rc=$c_rc done ${c_done}s, exit ${c_wall}s"
            if [ "$c_rc" = 0 ]; then
                times[$kind]+=" $c_done"
                walls[$kind]+=" $c_wall"
            else
                fails+=" $kind:run$r:rc=$c_rc"
            fi
        done
    done
    # shellcheck disable=SC2086
    mq=$( [ -n "${times[quince]}" ] && median ${times[quince]} || echo NA)
    # shellcheck disable=SC2086
    mn=$( [ -n "${times[ngtcp2]}" ] && median ${times[ngtcp2]} || echo NA)
    ratio=NA
    if [ "$mq" != NA ] && [ "$mn" != NA ]; then
        ratio=$(python3 -c "print('%.2f' % ($mq / $mn))")
    fi
    size=$([ "$file" = f2 ] && echo 2 || echo 10)
    rows+=("| $n | $(python3 -c "print('%g%%' % ($loss * 100))") | $(python3 -c "print('%g%%' % ($dup * 100))") | $jit ms | $size MB | $mq s | $mn s | $ratio |${fails:+ failed:$fails}")
    # shellcheck disable=SC2086
    wq=$( [ -n "${walls[quince]}" ] && median ${walls[quince]} || echo NA)
    # shellcheck disable=SC2086
    wn=$( [ -n "${walls[ngtcp2]}" ] && median ${walls[ngtcp2]} || echo NA)
    wrows+=("| $n | $wq s | $wn s |")
    unset times walls
done

{
    # --no-build: DIR/commit may name the commit the binaries were built from.
    rev=$(cat "$bdir/commit" 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo '?')
    echo "$rev, $(uname -m), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg);"
    echo "client $client (ngtcp2 $(dpkg-query -W -f '${Version}' ngtcp2-client 2>/dev/null || echo '?')), Quince crypto ${QUINCE_CRYPTO:-default}, 5 ms each way, medians of $runs"
    echo
    echo "| # | loss | dup | jitter | size | quince-server | gtlsserver | ratio |"
    echo "| --- | --- | --- | --- | --- | ---: | ---: | ---: |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Until the client exited (closing period included), medians:"
    echo
    echo "| # | quince-server | gtlsserver |"
    echo "| --- | ---: | ---: |"
    printf '%s\n' "${wrows[@]}"
} >"$out/table.md"
cat "$out/table.md"
