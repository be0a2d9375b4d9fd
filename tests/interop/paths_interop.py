#!/usr/bin/env python3
"""Real paths against ngtcp2's example peers (gtlsclient/gtlsserver 0.12) and our own
apps, over loopback: NAT rebinding and migration, graceful shutdown (issue 10).

usage: paths_interop.py QUINCE_SERVER QUINCE_CLIENT GTLSCLIENT GTLSSERVER CASE

CASE  nat-rebinding      gtlsclient --change-local-addr=50ms --nat-rebinding (its request
                         held back past the rebinding) downloads 10 MB from quince-server,
                         byte-exact; the server followed and validated it (its log)
      nat-rebinding-upload  the same rebinding with no --delay-stream, while gtlsclient also
                         sends a 20 MB request body (GET; read and dropped by the server): what
                         it sends from the new port moves the server, and the 10 MB response
                         completes byte-exact
      change-local-addr  gtlsclient --change-local-addr=50ms (a new port, path validation,
                         a new connection ID; its request held back to 200 ms so that the
                         move always comes first) downloads 10 MB from quince-server
      goaway             SIGTERM to quince-server while quince-client fetches 50 files and
                         10 MB on one connection: the client logs GOAWAY, the connection
                         ends with H3_NO_ERROR from the server, every file arrives byte-exact
                         and the server exits 0 within its 4 s shutdown
      restart-quince-client  quince-server (--reset-key-file K) is killed (SIGKILL) while
      restart-gtlsclient     quince-client / gtlsclient downloads 10 MB, and started again
                         on the same port with the same K: the client's next packet draws a
                         stateless reset (RFC 9000 §10.3) and the client gives up within
                         1 s of the restart (its idle timeout is 30 s)
      preferred-address  gtlsserver --preferred-ipv4-addr offers a second address (another
                         port, RFC 9000 §9.6): quince-client validates it once the handshake
                         is confirmed, moves there and downloads 10 MB byte-exact
      client-migrate-gtlsserver  quince-client --migrate (a new local port after 1 MB)
      client-migrate-quince      downloads 10 MB from gtlsserver / quince-server, byte-exact;
                         quince-client validated the new path (and quince-server followed)
Each case is bounded (alarm); processes and the directory go on any exit.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ngtcp2_interop import Failure, Run, check, free_udp_port, NG_COMMON  # noqa: E402

CASE_LIMIT_S = 120


def server_args(r, port, extra):
    return [r.qserver, "--listen", "127.0.0.1:%d" % port, "--root", r.root, "--cert", r.cert,
            "--key", r.key, "--timeout", "90", "--verbose"] + extra


def start_server(r, port, extra, log_name):
    err = open(os.path.join(r.tmp, log_name), "wb")
    p = r.spawn(server_args(r, port, extra), subprocess.PIPE, err)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = p.stdout.readline().decode()
        if not line:
            break
        m = re.match(r"listening on ([0-9.]+):(\d+)$", line.strip())
        if m:
            r.port = int(m.group(2))
            r.server = p
            return p
    raise Failure("quince-server did not print 'listening on'")


def migration_case(r, case):
    extra = ["--change-local-addr=50ms"]
    if case == "change-local-addr":
        # The request waits until the client has moved: with a fast backend the
        # whole 10 MB could otherwise arrive before the 50 ms timer fires, and no
        # migration would happen at all (seen in CI with QUINCE_CRYPTO=openssl).
        extra += ["--delay-stream=200ms"]
    if case == "nat-rebinding":
        # After a rebinding gtlsclient sends nothing until something of its own is
        # due (what the server sends goes to the old port, which it ignores): its
        # request, held back past the rebinding, is what the server sees first
        # from the new port. (Mid-transfer rebinding: tests/sim/test_migration.c.)
        extra += ["--nat-rebinding", "--delay-stream=300ms"]
    if case == "nat-rebinding-upload":
        # No held-back request: the rebinding comes while the request body still flows.
        body = os.path.join(r.tmp, "body")
        with open(body, "wb") as f:
            f.write(b"\0" * 20_000_000)
        extra += ["--nat-rebinding", "-m", "GET", "--data=" + body]
    r.start_quince_server([])
    rc, log = r.run_gtlsclient(["10mb"], extra, True)
    slog = r.stop_quince_server()
    check(rc == 0, "gtlsclient exit status %d:\n%s\n--- server:\n%s" %
          (rc, log[-3000:], slog[-3000:]))
    check(r.same("10mb"), "10mb differs from the served file\n--- server:\n" + slog[-3000:])
    m = re.search(r"migrations (\d+), path challenges (\d+), paths validated (\d+)", slog)
    check(m is not None, "quince-server logged no path counters:\n" + slog[-3000:])
    migrations, challenges, validated = (int(x) for x in m.groups())
    check(migrations >= 1 and challenges >= 1 and validated >= 1,
          "quince-server did not follow and validate the new address (migrations %d, "
          "challenges %d, validated %d)" % (migrations, challenges, validated))
    print("ok: 10 MB byte-exact; server migrations %d, challenges %d, validated %d" %
          (migrations, challenges, validated))


def grow_then(path, size, limit_s):
    """Wait until the file at path holds at least size bytes."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if os.path.getsize(path) >= size:
                return True
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    return False


def goaway_case(r):
    names = ["10mb"] + ["f%02d" % i for i in range(49)]
    start_server(r, 0, [], "server.err")
    args = [r.qclient, "--insecure", "--output", r.out, "--timeout", "40", "--verbose"] + \
        ["https://127.0.0.1:%d/%s" % (r.port, n) for n in names]
    log = open(os.path.join(r.tmp, "client.log"), "wb")
    client = r.spawn(args, log, subprocess.STDOUT)
    check(grow_then(os.path.join(r.out, "10mb"), 100_000, 30),
          "the download did not start:\n" + r.read_log("client.log")[-2000:])
    t0 = time.monotonic()
    r.server.send_signal(signal.SIGTERM)
    try:
        src = r.server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Failure("quince-server did not exit within 10 s of SIGTERM")
    took = time.monotonic() - t0
    try:
        rc = client.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Failure("quince-client did not end after the server's shutdown")
    clog = r.read_log("client.log")
    slog = r.read_log("server.err")
    check(src == 0, "quince-server exit status %d:\n%s" % (src, slog[-2000:]))
    check(took < 4.5, "quince-server took %.3f s to shut down (its bound: 4 s)" % took)
    check(re.search(r"GOAWAY \d+ from the server", clog) is not None,
          "quince-client saw no GOAWAY:\n" + clog[-3000:])
    # The server's CONNECTION_CLOSE (H3_NO_ERROR) comes once all was acknowledged,
    # unless the client, done with every request, closed first.
    m = re.search(r"connection closed by the server: application error (0x[0-9a-f]+)", clog)
    check((m is not None and m.group(1) == "0x100") or (m is None and rc == 0),
          "the connection did not end cleanly:\n" + clog[-3000:])
    for n in names:
        check(r.same(n), "%s differs from the served file\n%s" % (n, clog[-2000:]))
    print("ok: GOAWAY seen, 50 files byte-exact, server down in %.3f s, client exit %d" %
          (took, rc))


def restart_case(r, who):
    key = os.path.join(r.tmp, "reset.key")
    start_server(r, 0, ["--reset-key-file", key], "server.err")
    port = r.port
    if who == "quince-client":
        args = [r.qclient, "--insecure", "--output", r.out, "--timeout", "40", "--verbose",
                "https://127.0.0.1:%d/10mb" % port]
    else:
        # gtlsclient 0.12 has no keep-alive: with only ACKs to send it stays silent after
        # its server died, and no reset can reach it (2 runs in 5 sat to the 10 s bound).
        # A request body that it is still sending (GET with 40 MB, which quince-server
        # reads and drops) gives it packets to retransmit, as a real client mid-upload.
        body = os.path.join(r.tmp, "body")
        with open(body, "wb") as f:
            f.write(b"\0" * 40_000_000)
        args = [r.ngclient] + NG_COMMON + ["--exit-on-all-streams-close", "--download=" + r.out,
                                           "--timeout=30s", "--no-quic-dump", "--no-http-dump",
                                           "-m", "GET", "--data=" + body,
                                           "127.0.0.1", str(port),
                                           "https://127.0.0.1:%d/10mb" % port]
    log = open(os.path.join(r.tmp, "client.log"), "wb")
    client = r.spawn(args, log, subprocess.STDOUT)
    check(grow_then(os.path.join(r.out, "10mb"), 1_000_000, 30),
          "the download did not start:\n" + r.read_log("client.log")[-2000:])
    r.server.send_signal(signal.SIGKILL)
    r.server.wait()
    got = os.path.getsize(os.path.join(r.out, "10mb"))
    start_server(r, port, ["--reset-key-file", key], "server2.err")
    t0 = time.monotonic()
    try:
        rc = client.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Failure("%s still runs 10 s after the restart:\n%s" %
                      (who, r.read_log("client.log")[-2000:]))
    took = time.monotonic() - t0
    clog = r.read_log("client.log")
    slog = r.read_log("server2.err")
    check(got < 10_000_000, "the download had finished before the kill")
    check(took < 1.0, "%s ended %.3f s after the restart:\n%s\n--- server:\n%s" %
          (who, took, clog[-2000:], slog[-2000:]))
    if who == "quince-client":
        check(rc != 0, "quince-client exited 0 after losing its server:\n" + clog[-1500:])
        check("stateless reset" in clog, "quince-client did not report a stateless reset:\n" +
              clog[-2000:])
    else:
        # gtlsclient 0.12 exits 0 whatever ended the connection; its log names the reset.
        check(re.search(r"pkt rx \d+ SR token=", clog) is not None,
              "gtlsclient did not see a stateless reset:\n" + clog[-1500:])
    print("ok: killed at %d bytes; %s ended %.3f s after the restart (exit %d)" %
          (got, who, took, rc))


def preferred_address_case(r):
    pport = free_udp_port()
    r.start_gtlsserver(["--preferred-ipv4-addr=127.0.0.1:%d" % pport])
    rc, err = r.run_quince_client(["10mb"], [])
    check(rc == 0, "quince-client exit %d:\n%s" % (rc, err[-3000:]))
    check(r.same("10mb"), "10mb differs from the served file")
    m = re.search(r"migrations (\d+), paths validated (\d+)", err)
    check(m is not None and int(m.group(1)) == 1 and int(m.group(2)) >= 1,
          "quince-client did not move to the preferred address:\n" + err[-2000:])
    m2 = re.search(r"server address ([0-9.]+):(\d+)", err)
    check(m2 is not None and int(m2.group(2)) == pport,
          "quince-client ended on %s, not 127.0.0.1:%d" % (m2.group(0) if m2 else "?", pport))
    check(r.server.poll() is None, "gtlsserver died")
    print("ok: 10 MB byte-exact; quince-client moved to the preferred address 127.0.0.1:%d "
          "(migrations %s, paths validated %s)" % (pport, m.group(1), m.group(2)))


def client_migrate_case(r, against):
    """quince-client --migrate: a new local port mid-download (RFC 9000 §9.2)."""
    if against == "gtlsserver":
        r.start_gtlsserver([])
    else:
        start_server(r, 0, [], "server.err")
    rc, err = r.run_quince_client(["10mb"], ["--migrate"])
    check(rc == 0, "quince-client exit %d:\n%s" % (rc, err[-3000:]))
    check(r.same("10mb"), "10mb differs from the served file")
    check(re.search(r"migrated to port \d+", err) is not None,
          "quince-client did not migrate:\n" + err[-2000:])
    m = re.search(r"migrations (\d+), paths validated (\d+)", err)
    check(m is not None and int(m.group(1)) == 1 and int(m.group(2)) >= 1,
          "quince-client's path counters:\n" + err[-2000:])
    if against == "quince":
        slog = r.stop_quince_server()
        m = re.search(r"migrations (\d+), path challenges (\d+), paths validated (\d+)", slog)
        check(m is not None and int(m.group(1)) >= 1 and int(m.group(3)) >= 1,
              "quince-server did not follow:\n" + slog[-2000:])
    else:
        check(r.server.poll() is None, "gtlsserver died")
    print("ok: 10 MB byte-exact from %s across quince-client's migration" % against)


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    qserver, qclient, ngclient, ngserver, case = sys.argv[1:]
    r = Run(qserver, qclient, ngclient, ngserver)

    def on_alarm(signum, frame):
        raise Failure("case overran %d s" % CASE_LIMIT_S)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(CASE_LIMIT_S)
    try:
        if case in ("nat-rebinding", "nat-rebinding-upload", "change-local-addr"):
            migration_case(r, case)
        elif case == "goaway":
            goaway_case(r)
        elif case == "preferred-address":
            preferred_address_case(r)
        elif case in ("restart-quince-client", "restart-gtlsclient"):
            restart_case(r, case[len("restart-"):])
        elif case in ("client-migrate-gtlsserver", "client-migrate-quince"):
            client_migrate_case(r, case[len("client-migrate-"):])
        else:
            raise Failure("unknown case " + case)
        return 0
    except Failure as e:
        print("FAIL: %s: %s" % (case, e), file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        r.cleanup()


if __name__ == "__main__":
    sys.exit(main())
