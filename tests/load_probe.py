#!/usr/bin/env python3
"""load_probe.py SOCKET MODEL: the LOAD length checks of an RTL device served by `xnca sim`
(docs/protocol.md 3.3), speaking the wire protocol itself (standard library only).

A LOAD whose weight_bytes disagrees with the payload (8 bytes too many, 8 too few) must end in
BAD_ARGUMENT at LOAD_END (never hang: every reply within the socket timeout), the correct LOAD
must then succeed and HELLO must still echo its nonce. Exit 0 when all hold, else 1."""
import socket
import struct
import sys
import zlib


def crc16(data):
    c = 0xffff
    for x in data:
        c ^= x << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) & 0xffff if c & 0x8000 else (c << 1) & 0xffff
    return c


def cobs_encode(data):
    out, blk = bytearray(), bytearray()
    for x in data:
        if x == 0:
            out += bytes([len(blk) + 1]) + blk
            blk = bytearray()
        else:
            blk.append(x)
            if len(blk) == 254:
                out += bytes([255]) + blk
                blk = bytearray()
    return bytes(out + bytes([len(blk) + 1]) + blk)


def cobs_decode(enc):
    out, i = bytearray(), 0
    while i < len(enc):
        c = enc[i]
        out += enc[i + 1:i + c]
        i += c
        if c < 255 and i < len(enc):
            out.append(0)
    return bytes(out)


class Device:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(120)
        self.s.connect(path)
        self.buf = bytearray()
        self.tag = 0

    def request(self, op, payload):
        """one request; returns (status, payload after status and credit)"""
        self.tag = (self.tag + 1) & 255
        body = bytes([op, self.tag]) + struct.pack('<H', len(payload)) + payload
        body += struct.pack('>H', crc16(body))
        self.s.sendall(b'\0' + cobs_encode(body) + b'\0')
        while True:
            while 0 not in self.buf:
                data = self.s.recv(65536)
                if not data:
                    raise SystemExit('load_probe: device gone')
                self.buf += data
            i = self.buf.index(0)
            frame = bytes(self.buf[:i])
            del self.buf[:i + 1]
            if frame:
                b = cobs_decode(frame)
                if crc16(b) != 0 or b[1] != self.tag:
                    raise SystemExit('load_probe: bad reply frame')
                return b[4], b[7:-2]


def main():
    dev = Device(sys.argv[1])
    f = open(sys.argv[2], 'rb').read()
    payload = f[48:48 + struct.unpack('<I', f[32:36])[0]]

    def load(weight_bytes, data):
        desc = (bytes([3, f[15]]) + f[8:12] + bytes([f[12], f[20]]) + f[16:20]
                + bytes([f[21], f[22], f[23], f[26]]) + f[24:26]
                + struct.pack('<I', weight_bytes) + bytes(6))
        st, _ = dev.request(3, desc)
        if st:
            return ('LOAD_BEGIN', st, 0)
        for off in range(0, len(data), 1000):
            st, _ = dev.request(4, struct.pack('<I', off) + data[off:off + 1000])
            if st:
                return ('LOAD_DATA', st, 0)
        st, rest = dev.request(5, struct.pack('<I', zlib.crc32(data)))
        return ('LOAD_END', st, struct.unpack('<H', rest[1:3])[0] if st else 0)

    wb = len(payload)
    results = [
        ('weight_bytes 8 too large', load(wb + 8, payload + bytes(8)),
         lambda r: r[:2] == ('LOAD_END', 6) and r[2] == 11),
        ('weight_bytes 8 too small', load(wb - 8, payload[:-8]),
         lambda r: r[:2] == ('LOAD_END', 6) and r[2] in (11, 12)),
        ('the right weight_bytes', load(wb, payload), lambda r: r == ('LOAD_END', 0, 0)),
    ]
    st, rest = dev.request(1, b'\x11\x22\x33\x44')
    results.append(('HELLO afterwards', (st, rest[-4:]), lambda r: r == (0, b'\x11\x22\x33\x44')))
    ok = True
    for name, r, good in results:
        print('load_probe: %s: %s %s' % (name, r, 'ok' if good(r) else 'WRONG'))
        ok = ok and good(r)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
