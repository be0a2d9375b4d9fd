#!/usr/bin/env python3
"""Runs scripts/screenshot.sh against quince-server: the PNG must exist (a real PNG of the
requested 1200x900 size) and the page must report "connected"."""
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
    work = tempfile.mkdtemp(prefix='quince-shot-')
    try:
        png = os.path.join(work, 'demo.png')
        r = subprocess.run(['bash', script, png, server], capture_output=True, text=True,
                           timeout=140)
        print(r.stdout, r.stderr)
        if r.returncode != 0 or 'page: connected' not in r.stdout:
            print('FAILED: the page did not report "connected"')
            return 1
        data = open(png, 'rb').read()
        if data[:8] != b'\x89PNG\r\n\x1a\n':
            print('FAILED: not a PNG')
            return 1
        w, h = struct.unpack('>II', data[16:24])
        if (w, h) != (1200, 900) or len(data) < 20000:
            print('FAILED: PNG %dx%d, %d bytes' % (w, h, len(data)))
            return 1
        print('PNG %dx%d, %d bytes' % (w, h, len(data)))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
