#!/usr/bin/env python3
"""Time a download client: when its output file is complete, and when it exits.

    bench/download_time.py FILE -- COMMAND [ARG...]

Runs COMMAND and prints one line, "done=S wall=S rc=N": wall is from the start until
COMMAND exits; done is from the start until FILE (in a directory that must exist) was
last closed after writing (inotify IN_CLOSE_WRITE), "NA" if it never was. Both clients
of bench/lossy.sh (quince-client and ngtcp2's gtlsclient) close the file when the
response stream ends, before the connection is closed: "done" leaves out the closing
period (RFC 9000 §10.2) that each spends differently before exiting. Linux only.
"""
import ctypes
import os
import select
import struct
import subprocess
import sys
import time

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    path = sys.argv[1]
    directory, name = os.path.split(os.path.abspath(path))
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        sys.stderr.write("download_time.py: inotify_init1 failed\n")
        return 2
    if libc.inotify_add_watch(fd, directory.encode(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0:
        sys.stderr.write("download_time.py: cannot watch %s\n" % directory)
        return 2
    done = None
    t0 = time.monotonic()
    proc = subprocess.Popen(sys.argv[3:], stdout=sys.stderr)

    def drain():
        nonlocal done
        while True:
            try:
                buf = os.read(fd, 65536)
            except BlockingIOError:
                return
            at = time.monotonic()
            off = 0
            while off + 16 <= len(buf):
                _, mask, _, nlen = struct.unpack_from("iIII", buf, off)
                ev_name = buf[off + 16:off + 16 + nlen].split(b"\0", 1)[0].decode()
                off += 16 + nlen
                if ev_name == name and mask & (IN_CLOSE_WRITE | IN_MOVED_TO):
                    done = at

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while proc.poll() is None:
        if poller.poll(20):
            drain()
    drain()
    wall = time.monotonic() - t0
    print("done=%s wall=%.3f rc=%d" % ("NA" if done is None else "%.3f" % (done - t0), wall,
                                        proc.returncode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
