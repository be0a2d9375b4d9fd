#!/usr/bin/env python3
"""Quince as a user gets it: installed into a temporary prefix, used from outside the tree.

Usage: consumer.py CHECK --build-root B --source-root S [options]
CHECK is one of:
  headers     the installed headers are exactly the public and support headers (per folder,
              plus quince_config.h), each compiles alone with only pkg-config's Cflags, and
              every function a public header declares carries QUINCE_API;
  symbols     libquince.so exports only QUINCE_API functions of the installed headers, all
              of them (but those of --unbuilt rooms), all with a folder prefix, and the
              crypto API;
  pkgconfig   --program compiled with `cc prog.c $(pkg-config --cflags --libs quince)`
              against the installed prefix, then run (--mode);
  subproject  a meson project in a temporary directory with Quince in subprojects/quince
              (a symlink to the source tree) and dependency('quince'), then run (--mode).
--mode selftest: the program must exit 0. --mode echo: the program is a WebTransport echo
server (started with 127.0.0.1:0, it prints cert-sha256: and webtransport: lines) that must
pass `quince-client --webtransport` on /echo and refuse /other with 404.
Everything happens in a temporary directory that is removed at the end.
"""
import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CFLAGS = ['-std=c11', '-Wall', '-Wextra', '-Wpedantic', '-Werror']
PREFIXES = ('quince_', 'quic_', 'crypto_', 'h3_', 'wt_', 'bind_', 'io_')
# What a user needs to configure TLS (crypto/crypto.h, crypto/tls.h).
REQUIRED = [
    'crypto_strerror', 'crypto_hash', 'crypto_hash_len',
    'crypto_privkey_parse', 'crypto_privkey_free',
    'crypto_cert_chain_parse', 'crypto_cert_chain_free',
    'crypto_x509_parse_chain', 'crypto_x509_der_free', 'crypto_x509_spki_sha256',
    'crypto_x509_store_new', 'crypto_x509_store_add', 'crypto_x509_store_free',
    'crypto_cert_generate', 'crypto_short_lived_cert_generate', 'crypto_short_lived_cert_free',
    'crypto_tls_config_set_credentials',
]
TIMEOUT = 240


def run(cmd, **kw):
    kw.setdefault('timeout', TIMEOUT)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit('FAILED: %s\n%s%s' % (' '.join(map(shlex.quote, cmd)), r.stdout, r.stderr))
    return r.stdout


class Install:
    """meson install --destdir into a temporary directory."""

    def __init__(self, build_root, work):
        opts = {o['name']: o['value'] for o in
                json.loads(run(['meson', 'introspect', '--buildoptions', build_root]))}
        self.dest = os.path.join(work, 'dest')
        run(['meson', 'install', '-C', build_root, '--destdir', self.dest, '--no-rebuild',
             '--quiet'])
        self.prefix = self.dest + opts['prefix']
        self.include = os.path.join(self.prefix, opts['includedir'])
        self.libdir = os.path.join(self.prefix, opts['libdir'])
        self.env = dict(os.environ)
        self.env['PKG_CONFIG_PATH'] = os.path.join(self.libdir, 'pkgconfig')
        self.env['LD_LIBRARY_PATH'] = self.libdir

    def pkg_config(self, *args):
        return shlex.split(run(['pkg-config', '--define-variable=prefix=' + self.prefix]
                               + list(args) + ['quince'], env=self.env))


def strip_c(text):
    """The header's top-level statements: comments, preprocessor lines and brace bodies gone."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'^\s*#(?:[^\n]*\\\n)*[^\n]*', ' ', text, flags=re.M)
    out, depth = [], 0
    for ch in text:
        if ch == '{':
            depth += 1
            if depth == 1:
                out.append(';')
        elif ch == '}':
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return [' '.join(s.split()) for s in ''.join(out).split(';')]


def declarations(path):
    """(name, has QUINCE_API) for each non-static function a header declares."""
    decls = []
    for st in strip_c(open(path).read()):
        if '(' not in st or st.startswith(('typedef', 'static', 'enum', 'struct', 'union')):
            continue
        m = re.search(r'(\w+)\s*\(', st)
        if m and m.group(1) != 'QUINCE_API':
            decls.append((m.group(1), 'QUINCE_API' in st.split(m.group(1))[0]))
    return decls


def installed_headers(inst):
    found = []
    for root, _, files in os.walk(inst.include):
        for f in files:
            found.append(os.path.relpath(os.path.join(root, f), inst.include))
    return sorted(found)


def check_headers(a, inst, work):
    expected = sorted(['quince/quince_config.h'] + ['quince/' + h for h in a.public + a.support])
    found = installed_headers(inst)
    errors = []
    for h in sorted(set(found) - set(expected)):
        errors.append('installed but not public or support: %s' % h)
    for h in sorted(set(expected) - set(found)):
        errors.append('not installed: %s' % h)
    cflags = inst.pkg_config('--cflags')
    if cflags != ['-I' + os.path.join(inst.include, 'quince')]:
        errors.append('pkg-config Cflags: %s' % cflags)
    cc = shlex.split(os.environ.get('CC', 'cc'))
    for h in found:
        rel = h[len('quince/'):]
        src = os.path.join(work, 'one.c')
        # Twice: the include guard must hold.
        open(src, 'w').write('#include "%s"\n#include "%s"\nint quince_consumer_unused;\n'
                             % (rel, rel))
        r = subprocess.run(cc + CFLAGS + cflags + ['-fsyntax-only', src], capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            errors.append('%s does not compile alone from the prefix:\n%s' % (rel, r.stderr))
    for h in a.public:
        for name, api in declarations(os.path.join(inst.include, 'quince', h)):
            if not api:
                errors.append('%s: %s is declared without QUINCE_API' % (h, name))
    print('%d headers installed:' % len(found))
    for h in found:
        print('  include/%s%s' % (h, ' (support)' if h[len('quince/'):] in a.support else ''))
    return errors


def check_symbols(a, inst, work):
    lib = os.path.join(inst.libdir, 'libquince.so')
    out = run(['nm', '-D', '--defined-only', lib])
    exported = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            exported.add(parts[2].split('@')[0])
    declared = {}
    for h in installed_headers(inst):
        for name, api in declarations(os.path.join(inst.include, h)):
            if api:
                declared[name] = h
    errors = []
    for s in sorted(exported):
        if not s.startswith(PREFIXES):
            errors.append('exported without a folder prefix: %s' % s)
        elif s not in declared:
            errors.append('exported but not QUINCE_API in an installed header: %s' % s)
    unbuilt = tuple(r + '_' for r in a.unbuilt)
    for s in sorted(set(declared) - exported):
        if not (unbuilt and s.startswith(unbuilt)):
            errors.append('declared QUINCE_API in %s but not exported: %s' % (declared[s], s))
    for r in a.unbuilt:
        if any(s.startswith(r + '_') for s in exported):
            errors.append('room %s is listed as unbuilt but exports symbols' % r)
    for s in REQUIRED:
        if s not in exported:
            errors.append('the crypto API lacks %s' % s)
    counts = {}
    for s in exported:
        p = s.split('_')[0]
        counts[p] = counts.get(p, 0) + 1
    print('%d symbols exported: %s' % (len(exported), ', '.join(
        '%s_ %d' % kv for kv in sorted(counts.items()))))
    if a.unbuilt:
        print('not built yet (their declarations are not required): %s' % ', '.join(a.unbuilt))
    return errors


def run_program(a, exe, env):
    if a.mode == 'selftest':
        r = subprocess.run([exe], capture_output=True, text=True, timeout=60, env=env)
        print(r.stdout + r.stderr)
        return [] if r.returncode == 0 else ['%s exited with %d' % (exe, r.returncode)]
    with tempfile.TemporaryFile(mode='w+') as out:
        p = subprocess.Popen([exe, '127.0.0.1:0'], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            info = None
            for _ in range(200):
                out.seek(0)
                text = out.read()
                h = re.search(r'cert-sha256: ([0-9a-f]{64})', text)
                u = re.search(r'webtransport: https://(127\.0\.0\.1:\d+)/', text)
                if h and u:
                    info = (h.group(1), u.group(1))
                    break
                if p.poll() is not None:
                    break
                time.sleep(0.05)
            if info is None:
                out.seek(0)
                return ['the echo server did not start:\n' + out.read()]
            client = [a.client, '--webtransport']
            ok = subprocess.run(client + ['https://%s/echo' % info[1], '--cert-hash', info[0]],
                                capture_output=True, text=True, timeout=30)
            nope = subprocess.run(client + ['https://%s/other' % info[1], '--cert-hash', info[0]],
                                  capture_output=True, text=True, timeout=30)
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        print(ok.stdout + ok.stderr + nope.stdout)
        errors = []
        if ok.returncode != 0 or 'result: PASS' not in ok.stdout:
            errors.append('the echo checks failed')
        if nope.returncode == 0 or 'status 404' not in nope.stdout:
            errors.append('/other was not refused with 404')
        if p.returncode != 0:
            out.seek(0)
            errors.append('the echo server exited with %d:\n%s' % (p.returncode, out.read()))
        return errors


def check_pkgconfig(a, inst, work):
    exe = os.path.join(work, 'prog')
    cc = shlex.split(os.environ.get('CC', 'cc'))
    cmd = (cc + CFLAGS + a.cflag + [a.program, '-o', exe]
           + inst.pkg_config('--cflags', '--libs') + a.cflag)
    print(' '.join(cmd))
    run(cmd, env=inst.env)
    return run_program(a, exe, inst.env)


MESON_BUILD = """project('quince-consumer', 'c', default_options: ['c_std=c11', 'warning_level=3'])
quince = dependency('quince', fallback: 'quince')
executable('prog', 'prog.c', dependencies: quince)
"""


def check_subproject(a, work):
    proj = os.path.join(work, 'proj')
    os.makedirs(os.path.join(proj, 'subprojects'))
    os.symlink(os.path.abspath(a.source_root), os.path.join(proj, 'subprojects', 'quince'))
    shutil.copy(a.program, os.path.join(proj, 'prog.c'))
    open(os.path.join(proj, 'meson.build'), 'w').write(MESON_BUILD)
    build = os.path.join(work, 'build')
    opts = ['-Dwerror=true', '--force-fallback-for=quince', '-Dbuildtype=' + a.buildtype]
    if a.sanitize != 'none':
        opts += ['-Db_sanitize=' + a.sanitize, '-Db_lundef=false']
    env = dict(os.environ)
    env.pop('MESON_TESTTHREADS', None)
    run(['meson', 'setup', build, proj] + opts, env=env)
    run(['meson', 'compile', '-C', build], env=env)
    return run_program(a, os.path.join(build, 'prog'), env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('check', choices=['headers', 'symbols', 'pkgconfig', 'subproject'])
    ap.add_argument('--build-root', required=True)
    ap.add_argument('--source-root', required=True)
    ap.add_argument('--public', nargs='*', default=[])
    ap.add_argument('--support', nargs='*', default=[])
    ap.add_argument('--unbuilt', nargs='*', default=[])
    ap.add_argument('--program')
    ap.add_argument('--mode', choices=['selftest', 'echo'], default='selftest')
    ap.add_argument('--client')
    ap.add_argument('--sanitize', default='none')
    ap.add_argument('--buildtype', default='debugoptimized')
    a = ap.parse_args()
    # Header paths as installed: relative to the source root (meson passes absolute ones).
    src = os.path.abspath(a.source_root)
    a.public = [os.path.relpath(os.path.abspath(h), src) for h in a.public]
    a.support = [os.path.relpath(os.path.abspath(h), src) for h in a.support]
    a.cflag = ['-fsanitize=' + a.sanitize] if a.sanitize != 'none' else []
    with tempfile.TemporaryDirectory(prefix='quince-consumer-') as work:
        if a.check == 'subproject':
            errors = check_subproject(a, work)
        else:
            inst = Install(a.build_root, work)
            errors = {'headers': check_headers, 'symbols': check_symbols,
                      'pkgconfig': check_pkgconfig}[a.check](a, inst, work)
    for e in errors:
        print('FAILED: ' + e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
