"""PNG at the byte level, leniently: split into chunks, edit, join with fresh CRCs.

The fuzzer uses this to make mutations that reach the parser (a re-CRC'd edit of a
chunk's body) as well as ones that stop at the checksum.  Unlike spec2img's own reader
it never refuses anything: a file it cannot split is simply mutated as bytes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(ctype: bytes, body: bytes, crc: bytes | None = None) -> bytes:
    """One chunk: length, type, body and CRC (computed unless given)."""
    if crc is None:
        crc = struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)
    return struct.pack(">I", len(body)) + ctype + body + crc


def split(data: bytes) -> list[list[bytes]] | None:
    """``[[type, body, crc], ...]`` up to the end of the data, or None if not a PNG."""
    if not data.startswith(SIGNATURE):
        return None
    chunks, pos = [], len(SIGNATURE)
    while pos + 12 <= len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 12 + n
        if end > len(data):
            return None
        chunks.append([data[pos + 4 : pos + 8], data[pos + 8 : end - 4], data[end - 4 : end]])
        pos = end
    return chunks if pos == len(data) else None


def join(chunks, *, fix_crc: bool = True) -> bytes:
    """The PNG file of ``chunks``; CRCs recomputed unless ``fix_crc`` is false (new chunks,
    with an empty CRC, always get theirs)."""
    return SIGNATURE + b"".join(
        chunk(t, body, None if fix_crc or not crc else crc) for t, body, crc in chunks
    )


def text_chunk(key: str, value: str, kind: str = "tEXt") -> list[bytes]:
    """A ``tEXt``, ``zTXt`` or ``iTXt`` (or ``iTXt+z``, compressed) chunk as ``[type, body, b""]``."""
    keyword = key.encode("latin-1", "replace")
    if kind == "tEXt":
        return [b"tEXt", keyword + b"\0" + value.encode("latin-1"), b""]
    if kind == "zTXt":
        return [b"zTXt", keyword + b"\0\0" + zlib.compress(value.encode("latin-1")), b""]
    text = value.encode("utf-8")
    flag = kind == "iTXt+z"
    if flag:
        text = zlib.compress(text)
    return [b"iTXt", keyword + b"\0" + bytes([flag, 0]) + b"\0\0" + text, b""]


def text_key(ctype: bytes, body: bytes) -> str | None:
    """The keyword of a text chunk, or None for other chunks."""
    if ctype not in (b"tEXt", b"zTXt", b"iTXt") or b"\0" not in body:
        return None
    return body.split(b"\0", 1)[0].decode("latin-1")


# Adam7 passes: (x0, y0, dx, dy).
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2))  # fmt: skip


def interlaced_gray(pixels: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    """An Adam7-interlaced 8- or 16-bit grayscale PNG (Pillow cannot write one)."""
    h, w = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    raw = bytearray()
    for x0, y0, dx, dy in ADAM7:
        sub = pixels[y0::dy, x0::dx]
        if sub.size:
            rows = sub.astype(">u2" if depth == 16 else np.uint8)
            for row in rows:
                raw += b"\0" + row.tobytes()
    chunks = [[b"IHDR", struct.pack(">IIBBBBB", w, h, depth, 0, 0, 0, 1), b""]]
    chunks += [text_chunk(k, v) for k, v in (text or {}).items()]
    chunks += [[b"IDAT", zlib.compress(bytes(raw)), b""], [b"IEND", b"", b""]]
    return join(chunks)
