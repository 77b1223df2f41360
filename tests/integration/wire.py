"""The agent <-> manager wire format (docs/PROTOCOL.md) for tests that speak it by hand:
varints, strings, frames."""
import struct


def v(n):
    """Unsigned LEB128 varint."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def s(b):
    """A string field: its length as a varint, then its bytes."""
    b = b.encode() if isinstance(b, str) else b
    return v(len(b)) + b


def read_v(buf, off):
    """The varint at buf[off:]: (value, offset after it)."""
    n = shift = 0
    while True:
        b = buf[off]
        off += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, off


def read_s(buf, off):
    n, off = read_v(buf, off)
    return buf[off:off + n], off + n


def frame(msg_type, payload):
    return b"TL" + bytes([1, msg_type]) + struct.pack("<I", len(payload)) + payload


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def recv_frame(sock):
    """(type, payload) of the next frame."""
    hdr = recv_exact(sock, 8)
    return hdr[3], recv_exact(sock, struct.unpack("<I", hdr[4:8])[0])
