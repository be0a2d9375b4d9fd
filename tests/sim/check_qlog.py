#!/usr/bin/env python3
"""Run qlog_transfer, then parse its JSON-SEQ qlog record by record and check the fields."""
import json
import subprocess
import sys

exe, path = sys.argv[1], sys.argv[2]
subprocess.run([exe, path], check=True)
data = open(path, 'rb').read()
assert data.startswith(b'\x1e'), 'records start with RS'
records = data.split(b'\x1e')[1:]
assert all(r.endswith(b'\n') for r in records), 'records end with LF'
objs = [json.loads(r) for r in records]

hdr = objs[0]
assert hdr['file_schema'] == 'urn:ietf:params:qlog:file:sequential'
assert hdr['serialization_format'] == 'application/qlog+json-seq'
assert hdr['trace']['vantage_point']['type'] == 'client'
assert 'urn:ietf:params:qlog:events:quic' in hdr['trace']['event_schemas']

names = {}
last = -1.0
frame_types = set()
for ev in objs[1:]:
    assert isinstance(ev['time'], (int, float)) and ev['time'] >= last, ev
    last = ev['time']
    names[ev['name']] = names.get(ev['name'], 0) + 1
    d = ev['data']
    if ev['name'] in ('quic:packet_sent', 'quic:packet_received'):
        h = d['header']
        assert h['packet_type'] in ('initial', 'handshake', '1RTT'), h
        assert isinstance(h['packet_number'], int)
        assert d['raw']['length'] >= d['raw']['payload_length'] > 0
        for f in d['frames']:
            frame_types.add(f['frame_type'])
            if f['frame_type'] == 'stream':
                assert isinstance(f['stream_id'], int) and isinstance(f['offset'], int)
            if f['frame_type'] == 'ack':
                for lo, hi in f['acked_ranges']:
                    assert lo <= hi
    elif ev['name'] == 'quic:packet_lost':
        assert d['header']['packet_type'] in ('initial', 'handshake', '1RTT')
    elif ev['name'] == 'quic:recovery_metrics_updated':
        assert d['congestion_window'] > 0 and d['smoothed_rtt'] > 0
    elif ev['name'] == 'quic:congestion_state_updated':
        states = ('slow_start', 'conservative_slow_start', 'congestion_avoidance', 'recovery',
                  'application_limited')
        assert d['new'] in states and d.get('old', 'slow_start') in states, d
        assert d.get('old') != d['new'], d
    else:
        raise AssertionError('unexpected event ' + ev['name'])

for n in ('quic:packet_sent', 'quic:packet_received', 'quic:packet_lost',
          'quic:recovery_metrics_updated', 'quic:congestion_state_updated'):
    assert names.get(n, 0) > 0, (n, names)
for ft in ('stream', 'ack', 'crypto', 'padding', 'handshake_done', 'new_connection_id'):
    assert ft in frame_types, (ft, frame_types)
first_sent = next(e for e in objs[1:] if e['name'] == 'quic:packet_sent')
assert first_sent['data']['header']['packet_type'] == 'initial'
assert first_sent['data']['raw']['length'] >= 1200
print('qlog ok:', names, sorted(frame_types))
