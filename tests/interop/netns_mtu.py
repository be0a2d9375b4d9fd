#!/usr/bin/env python3
"""PMTU discovery over real links of MTU 1280, in network namespaces this test creates and
removes (needs root and iproute2's `ip`; issue 10).

usage: netns_mtu.py QUINCE_SERVER QUINCE_CLIENT GTLSCLIENT GTLSSERVER CASE

CASE  veth-quince   quince-client downloads 10 MB from quince-server across a veth pair of
                    MTU 1280: byte-exact, and both ends settled at 1252 (1280 - 28)
      veth-gtlsclient  gtlsclient downloads 10 MB from quince-server across it: byte-exact,
                    quince-server settled at 1252
      veth-gtlsserver  quince-client downloads 10 MB from gtlsserver across it: byte-exact,
                    quince-client settled at 1252
      router        client - router - server: 1500 on the client's link, 1280 on the
                    server's (the real black hole: the client's own route says 1500, and
                    the router drops what is larger than 1280); quince-client downloads
                    10 MB from quince-server, byte-exact, and settles at 1252
Each case is bounded (alarm); processes and namespaces go on any exit.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ngtcp2_interop import Failure, Run, check, NG_COMMON  # noqa: E402

CASE_LIMIT_S = 120
TAG = "q10-%d" % os.getpid()


def ip(*args, ns=None):
    cmd = ["ip"] + (["-n", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr.decode(errors="replace")))


class Net:
    def __init__(self, router):
        self.names = []
        self.cli, self.srv = TAG + "-c", TAG + "-s"
        self.add(self.cli)
        self.add(self.srv)
        if not router:
            self.link(self.cli, "vc", "10.210.0.1/24", self.srv, "vs", "10.210.0.2/24", 1280)
            self.server_ip = "10.210.0.2"
            return
        self.rtr = TAG + "-r"
        self.add(self.rtr)
        self.link(self.cli, "vc", "10.211.0.1/24", self.rtr, "rc", "10.211.0.2/24", 1500)
        self.link(self.rtr, "rs", "10.212.0.1/24", self.srv, "vs", "10.212.0.2/24", 1280)
        r = subprocess.run(["ip", "netns", "exec", self.rtr, "sysctl", "-qw",
                            "net.ipv4.ip_forward=1"], stderr=subprocess.PIPE)
        check(r.returncode == 0, "ip_forward: " + r.stderr.decode(errors="replace"))
        ip("route", "add", "default", "via", "10.211.0.2", ns=self.cli)
        ip("route", "add", "default", "via", "10.212.0.1", ns=self.srv)
        self.server_ip = "10.212.0.2"

    def add(self, name):
        ip("netns", "add", name)
        self.names.append(name)
        ip("link", "set", "lo", "up", ns=name)

    def link(self, a, an, aaddr, b, bn, baddr, mtu):
        tmp_a, tmp_b = "%s%d" % (an, os.getpid() % 100000), "%s%d" % (bn, os.getpid() % 100000)
        ip("link", "add", tmp_a, "type", "veth", "peer", "name", tmp_b)
        ip("link", "set", tmp_a, "netns", a)
        ip("link", "set", tmp_b, "netns", b)
        for ns, dev, addr in ((a, tmp_a, aaddr), (b, tmp_b, baddr)):
            ip("link", "set", dev, "mtu", str(mtu), ns=ns)
            ip("addr", "add", addr, "dev", dev, ns=ns)
            ip("link", "set", dev, "up", ns=ns)

    def cleanup(self):
        for n in self.names:
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)


def in_ns(ns, args):
    return ["ip", "netns", "exec", ns] + args


def quince_server(r, net):
    err = open(os.path.join(r.tmp, "server.err"), "wb")
    p = r.spawn(in_ns(net.srv, [r.qserver, "--listen", net.server_ip + ":4433", "--root", r.root,
                                "--cert", r.cert, "--key", r.key, "--timeout", "90",
                                "--verbose"]), subprocess.PIPE, err)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = p.stdout.readline().decode()
        if not line:
            break
        if line.startswith("listening on"):
            r.server = p
            return p
    raise Failure("quince-server did not start:\n" + r.read_log("server.err")[-2000:])


def stop_server(r):
    p = r.server
    check(p.poll() is None, "the server died (status %s)" % p.poll())
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise Failure("the server did not exit on SIGTERM")


def quince_client(r, net):
    args = in_ns(net.cli, [r.qclient, "--insecure", "--output", r.out, "--timeout", "60",
                           "https://%s:4433/10mb" % net.server_ip])
    p = r.spawn(args, subprocess.DEVNULL, subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=70)
    except subprocess.TimeoutExpired:
        raise Failure("quince-client overran its --timeout")
    err = err.decode(errors="replace")
    check(p.returncode == 0, "quince-client exit %d:\n%s" % (p.returncode, err[-3000:]))
    m = re.search(r"quince-client: pmtu (\d+) \(probes (\d+), lost (\d+)", err)
    check(m is not None, "quince-client printed no pmtu:\n" + err[-2000:])
    return int(m.group(1)), err


def server_pmtu(r):
    slog = r.read_log("server.err")
    m = re.search(r"quince-server: paths: pmtu (\d+)", slog)
    check(m is not None, "quince-server logged no pmtu:\n" + slog[-2000:])
    return int(m.group(1))


def run_case(r, case):
    net = Net(router=case == "router")
    try:
        if case in ("veth-quince", "router"):
            quince_server(r, net)
            cpmtu, err = quince_client(r, net)
            stop_server(r)
            spmtu = server_pmtu(r)
            check(r.same("10mb"), "10mb differs from the served file")
            check(cpmtu == 1252, "quince-client settled at %d, not 1252:\n%s" % (cpmtu, err[-1500:]))
            if case == "veth-quince":
                check(spmtu == 1252, "quince-server settled at %d, not 1252" % spmtu)
            print("ok: 10 MB byte-exact; client pmtu %d, server pmtu %d" % (cpmtu, spmtu))
        elif case == "veth-gtlsclient":
            quince_server(r, net)
            log = open(os.path.join(r.tmp, "client.log"), "wb")
            p = r.spawn(in_ns(net.cli, [r.ngclient] + NG_COMMON +
                              ["-q", "--exit-on-all-streams-close", "--download=" + r.out,
                               "--timeout=30s", net.server_ip, "4433",
                               "https://%s:4433/10mb" % net.server_ip]), log, subprocess.STDOUT)
            try:
                rc = p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                raise Failure("gtlsclient did not finish in 60 s")
            stop_server(r)
            check(rc == 0, "gtlsclient exit %d:\n%s" % (rc, r.read_log("client.log")[-2000:]))
            check(r.same("10mb"), "10mb differs from the served file")
            spmtu = server_pmtu(r)
            check(spmtu == 1252, "quince-server settled at %d, not 1252" % spmtu)
            print("ok: 10 MB byte-exact to gtlsclient; server pmtu %d" % spmtu)
        elif case == "veth-gtlsserver":
            log = open(os.path.join(r.tmp, "ngserver.log"), "wb")
            r.server = r.spawn(in_ns(net.srv, [r.ngserver] + NG_COMMON +
                                     ["-q", "-d", r.root, "--timeout=60s", net.server_ip, "4433",
                                      r.key, r.cert]), log, subprocess.STDOUT)
            time.sleep(0.5)
            cpmtu, err = quince_client(r, net)
            check(r.same("10mb"), "10mb differs from the served file")
            check(cpmtu == 1252, "quince-client settled at %d, not 1252" % cpmtu)
            print("ok: 10 MB byte-exact from gtlsserver; client pmtu %d" % cpmtu)
        else:
            raise Failure("unknown case " + case)
    finally:
        for p in r.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        net.cleanup()


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
        run_case(r, case)
        return 0
    except Failure as e:
        print("FAIL: %s: %s" % (case, e), file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        r.cleanup()


if __name__ == "__main__":
    sys.exit(main())
