#!/usr/bin/env python3
"""Runs scripts/screenshot.sh against quince-server at 1200 and at 420 px width: each PNG must
exist (a real PNG of the requested size), the page must report "connected", and the page must fit
the window (its scroll width no wider than the window: no sideways scrolling at 420 px). The PNGs
are kept in the build directory (tests/interop/demo-1200.png, demo-420.png) to be looked at."""
import re
import os
import shutil
import struct
import subprocess
import sys
import tempfile


def main():
    script, server = sys.argv[1:3]
    if shutil.which('chromium') is None:
        print('chromium not installed (scripts/setup.sh installs it)')
        return 1
    keep = sys.argv[3] if len(sys.argv) > 3 else None
    work = tempfile.mkdtemp(prefix='quince-shot-')
    try:
        for width in (1200, 420):
            png = os.path.join(work, 'demo-%d.png' % width)
            env = dict(os.environ, WIDTH=str(width))
            r = subprocess.run(['bash', script, png, server], capture_output=True, text=True,
                               timeout=320, env=env)
            print(r.stdout, r.stderr)
            if r.returncode != 0 or 'page: connected' not in r.stdout:
                print('FAILED: the page did not report "connected" at %d px' % width)
                return 1
            data = open(png, 'rb').read()
            if data[:8] != b'\x89PNG\r\n\x1a\n':
                print('FAILED: not a PNG')
                return 1
            w, h = struct.unpack('>II', data[16:24])
            if (w, h) != (width, 900) or len(data) < 20000:
                print('FAILED: PNG %dx%d, %d bytes' % (w, h, len(data)))
                return 1
            m = re.search(r'layout: scroll-width=(\d+) inner-width=(\d+)', r.stdout)
            if m is None or int(m.group(1)) > int(m.group(2)):
                print('FAILED: the page does not fit %d px (%s)' % (width, m.group(0) if m else
                                                                 'no layout line'))
                return 1
            print('PNG %dx%d, %d bytes; %s' % (w, h, len(data), m.group(0)))
            if keep:
                shutil.copy(png, os.path.join(keep, 'demo-%d.png' % width))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
