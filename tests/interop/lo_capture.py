"""Helpers for tests that capture loopback traffic with tshark (test_tshark.py,
ngtcp2_tls.py)."""
import os
import time


def end_marker_captured(path, probe, probe_port, limit_s=20):
    """Sends a unique marker datagram to probe_port (which the capture filter
    includes) until its bytes are in the capture file at path; True once they
    are, False after limit_s. Loopback is captured in order, so everything sent
    before the marker is in the file too. The file merely growing proves less:
    dumpcap writes in chunks and, stopped while behind, leaves unread packets
    in the kernel without counting them as dropped."""
    marker = b"quince-capture-end-" + os.urandom(8).hex().encode()
    deadline = time.monotonic() + limit_s
    while True:
        probe.sendto(marker, ("127.0.0.1", probe_port))
        time.sleep(0.2)
        with open(path, "rb") as f:
            if marker in f.read():
                return True
        if time.monotonic() > deadline:
            return False
