#!/usr/bin/env python3
"""Size report of a linked image from its GNU ld map (scripts/size.sh).

Every input section the linker kept is counted under its output section
(.text, .rodata, .data, .bss) and its owner: Quince's layers (base, crypto,
quic, h3, wt, bind: the core's objects are named <layer>_<file>.c.o), the
image's own program, mbedTLS, newlib, libgcc and the start-up files.

  size_report.py MAP [--name NAME] [--budget-core-text BYTES] [--budget-flash BYTES]
                     [--goal-core-text BYTES] [--goal-flash BYTES]

Prints one table per image; exits 1 when Quince's .text is over
--budget-core-text or the image's flash (.text, .rodata, .data and the
other loaded read-only sections) is over --budget-flash. A goal is only
reported (met, or by how much it is missed).
  size_report.py --self-test   checks the parser on a small map.
"""
import re
import sys

LAYERS = ('base', 'crypto', 'quic', 'h3', 'wt', 'bind')
KINDS = ('.text', '.rodata', '.data', '.bss')
# Output sections that end up in flash besides .text/.rodata/.data (start-up
# code and tables); .data is in flash too (its initial values).
FLASH_EXTRA = ('.init', '.fini', '.ARM.exidx', '.ARM.extab', '.eh_frame', '.init_array',
               '.fini_array', '.preinit_array')
INPUT_RE = re.compile(r'^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$')
OUTPUT_RE = re.compile(r'^(\.[\w.]+)\s*(?:0x([0-9a-f]+)\s+0x([0-9a-f]+))?')


def owner(path):
    """Who an input file belongs to."""
    m = re.search(r'libquince_internal\.a(?:\.p/|\()([a-z0-9]+)_', path)
    if m and m.group(1) in LAYERS:
        return m.group(1)
    if 'mbed' in path:
        return 'mbedtls'
    if 'libgcc' in path:
        return 'libgcc'
    if re.search(r'lib(c|g|m|nosys)(_nano)?\.a', path):
        return 'newlib'
    if re.search(r'crt\w*\.o', path):
        return 'startup'
    return 'program'


def kind(out):
    """The output section as one of KINDS, or the flash extras, or None."""
    if out in KINDS:
        return out
    if out in FLASH_EXTRA:
        return 'extra'
    return None


def parse(lines):
    """{owner: {kind: bytes}} from a map's 'Linker script and memory map'."""
    table = {}
    out = None
    pending = None  # an input section name on a line of its own
    started = False
    for line in lines:
        line = line.rstrip('\n')
        if not started:
            started = line.startswith('Linker script and memory map')
            continue
        if line.startswith('.') or (line and not line[0].isspace() and not line.startswith('*')):
            m = OUTPUT_RE.match(line)
            out = kind(m.group(1)) if m else None
            pending = None
            continue
        if out is None:
            continue
        m = INPUT_RE.match(line)
        if m is None:
            s = line.strip()
            pending = s if s.startswith('.') or s.startswith('COMMON') else None
            continue
        name = m.group(1) or pending
        pending = None
        if name is None or name.startswith('*'):
            continue  # *fill* and symbol lines
        size = int(m.group(3), 16)
        if size == 0:
            continue
        who = owner(m.group(4))
        table.setdefault(who, {}).setdefault(out, 0)
        table[who][out] += size
    return table


def report(name, table):
    rows = [o for o in LAYERS if o in table] + \
           [o for o in ('program', 'mbedtls', 'newlib', 'libgcc', 'startup') if o in table]
    print(f'image {name}: bytes per owner and section (Cortex-M4 -Os)')
    print(f"{'owner':<10}" + ''.join(f'{k:>9}' for k in KINDS) + f"{'flash':>9}")
    tot = {k: 0 for k in KINDS + ('extra',)}
    core = {k: 0 for k in KINDS}
    for o in rows:
        cells = table[o]
        flash = sum(cells.get(k, 0) for k in ('.text', '.rodata', '.data', 'extra'))
        print(f'{o:<10}' + ''.join(f'{cells.get(k, 0):>9}' for k in KINDS) + f'{flash:>9}')
        for k in tot:
            tot[k] += cells.get(k, 0)
        if o in LAYERS:
            for k in KINDS:
                core[k] += cells.get(k, 0)
    flash = tot['.text'] + tot['.rodata'] + tot['.data'] + tot['extra']
    core_flash = core['.text'] + core['.rodata'] + core['.data']
    print(f"{'quince':<10}" + ''.join(f'{core[k]:>9}' for k in KINDS) + f'{core_flash:>9}')
    print(f"{'image':<10}" + ''.join(f'{tot[k]:>9}' for k in KINDS) + f'{flash:>9}')
    return core, flash


def self_test():
    sample = """Archive member included to satisfy reference by file (symbol)
Linker script and memory map

.text           0x00008000      0x200
 .text.main     0x00008000       0x20 cross/images/image-client.p/client.c.o
 .text.quic_conn_recv
                0x00008020      0x100 libquince_internal.a.p/quic_conn_recv.c.o
                0x00008020                quic_conn_recv
 *fill*         0x00008120        0x4
 .text.h3_x     0x00008124       0x10 libquince_internal.a.p/h3_frame.c.o
 .text          0x00008134       0x30 /usr/lib/arm-none-eabi/lib/thumb/v7e-m/nofp/libc_nano.a(lib_a-memcpy.o)
 .text          0x00008164       0x40 /tmp/m/library/libmbedcrypto.a(gcm.o)
.rodata         0x00008200       0x40
 .rodata.k      0x00008200       0x40 libquince_internal.a.p/h3_huffman_table.c.o
.data           0x20000000        0x8
 .data.x        0x20000000        0x8 libquince_internal.a.p/base_buf.c.o
.bss            0x20000008       0x10
 COMMON         0x20000008       0x10 /usr/lib/x/libc_nano.a(lib_a-impure.o)
.debug_info     0x00000000      0x999
 .debug_info    0x00000000      0x999 libquince_internal.a.p/quic_conn.c.o
"""
    t = parse(sample.splitlines(True))
    want = {'program': {'.text': 0x20}, 'quic': {'.text': 0x100}, 'h3': {'.text': 0x10, '.rodata': 0x40},
            'newlib': {'.text': 0x30, '.bss': 0x10}, 'mbedtls': {'.text': 0x40}, 'base': {'.data': 8}}
    if t != want:
        print('self-test failed:', t)
        return 1
    print('self-test ok')
    return 0


def main(argv):
    if '--self-test' in argv:
        return self_test()
    path = argv[1]
    name = path
    budget_text = budget_flash = goal_text = goal_flash = None
    i = 2
    while i < len(argv):
        if argv[i] == '--name':
            name = argv[i + 1]
        elif argv[i] == '--budget-core-text':
            budget_text = int(argv[i + 1])
        elif argv[i] == '--budget-flash':
            budget_flash = int(argv[i + 1])
        elif argv[i] == '--goal-core-text':
            goal_text = int(argv[i + 1])
        elif argv[i] == '--goal-flash':
            goal_flash = int(argv[i + 1])
        else:
            print('unknown argument', argv[i])
            return 2
        i += 2
    with open(path, encoding='utf-8', errors='replace') as f:
        core, flash = report(name, parse(f))
    status = 0
    if budget_text is not None:
        ok = core['.text'] <= budget_text
        print(f"{'ok  ' if ok else 'OVER'} {name}: Quince .text {core['.text']} B, budget {budget_text} B")
        status |= not ok
    if budget_flash is not None:
        ok = flash <= budget_flash
        print(f"{'ok  ' if ok else 'OVER'} {name}: image flash {flash} B, budget {budget_flash} B")
        status |= not ok
    for what, have, goal in (('Quince .text', core['.text'], goal_text),
                             ('image flash', flash, goal_flash)):
        if goal is not None:
            state = 'met' if have <= goal else f'missed by {have - goal} B'
            print(f'goal {name}: {what} {have} B, goal {goal} B: {state}')
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv))
