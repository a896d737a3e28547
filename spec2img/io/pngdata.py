"""Full-depth pixels of the 16-bit PNGs that Pillow reduces to 8 bits.

Pillow has no 16-bit colour modes: it reads 16-bit RGB, RGBA and gray+alpha PNGs (what
ImageMagick writes after ``-draw`` or ``-type TrueColor``) as 8 bits per sample, which
would cost a spec2img image 8 of its 16 bits.  This module decodes those PNGs itself:
the ``IDAT`` stream is inflated up to the size the header implies (no more), the PNG
row filters are undone (a compiled kernel), and Adam7 interlacing is taken apart.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..dsp.jit import kernel
from ..errors import InputError

#: Samples per pixel by PNG colour type.
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
_COLOR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
#: Bytes of filtered rows turned into samples at a time.
_BLOCK_BYTES = 1 << 24
#: Adam7 passes: (first column, first row, column step, row step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
          (1, 0, 2, 2), (0, 1, 1, 2))  # fmt: skip


def needs_own_decoder(header) -> bool:
    """True for a PNG whose samples Pillow would cut to 8 bits (16-bit colour or alpha)."""
    return (
        header.format == "PNG" and header.bit_depth == 16 and header.mode in ("RGB", "LA", "RGBA")
    )


def read_samples(path, f, header) -> np.ndarray:
    """Decode a 16-bit PNG's samples as uint16 ``(h, w, channels)``.

    ``f`` is the open file; ``header`` the :class:`~spec2img.io.png.ImageHeader`
    :func:`~spec2img.io.png.read_header` accepted (its size is within bounds).
    """
    w, h = header.width, header.height
    channels = CHANNELS[_COLOR_TYPES[header.mode]]
    bpp = 2 * channels
    passes = _passes(w, h, header.interlaced)
    expected = sum(ph * (1 + pw * bpp) for _, _, pw, ph in passes)
    raw = _inflate_idat(path, f, expected)
    out = np.zeros((h, w, channels), np.uint16)
    at = 0
    for (x0, y0, dx, dy), (_, _, pw, ph) in zip(_steps(header.interlaced), passes, strict=True):
        if pw == 0 or ph == 0:
            continue
        size = ph * (1 + pw * bpp)
        rows = np.empty((ph, pw * bpp), np.uint8)
        bad = unfilter(raw[at : at + size], ph, pw * bpp, bpp, rows)
        if bad >= 0:
            raise InputError(f"{path}: broken image (unknown PNG filter in row {bad})")
        at += size
        target = out[y0::dy, x0::dx]
        step = max(1, _BLOCK_BYTES // max(1, pw * bpp))  # bounded temporaries
        for r in range(0, ph, step):
            block = rows[r : r + step].reshape(-1, pw, channels, 2)
            target[r : r + step] = (block[..., 0].astype(np.uint16) << 8) | block[..., 1]
        del rows
    return out


def _steps(interlaced: bool):
    return _ADAM7 if interlaced else ((0, 0, 1, 1),)


def _passes(w: int, h: int, interlaced: bool):
    return [
        (x0, y0, -(-(w - x0) // dx), -(-(h - y0) // dy)) for x0, y0, dx, dy in _steps(interlaced)
    ]


def _inflate_idat(path, f, expected: int) -> np.ndarray:
    """The inflated ``IDAT`` data, exactly ``expected`` bytes (more is an error, not a bomb)."""
    f.seek(8)
    d = zlib.decompressobj()
    buf = np.empty(expected, np.uint8)
    got = 0
    while True:
        head = f.read(8)
        if len(head) < 8:
            break
        length, ctype = struct.unpack(">I4s", head)
        if ctype == b"IEND" or length >= 2**31:
            break
        if ctype != b"IDAT":
            f.seek(length + 4, 1)
            continue
        data = f.read(length)
        f.seek(4, 1)  # CRC: zlib's own checksum guards the data
        try:
            part = d.decompress(d.unconsumed_tail + data, expected - got + 1)
        except zlib.error as e:
            raise InputError(f"{path}: broken or truncated image (PNG data: {e})") from None
        if got + len(part) > expected:
            raise InputError(f"{path}: broken image (more pixel data than its size)")
        buf[got : got + len(part)] = np.frombuffer(part, np.uint8)
        got += len(part)
        if d.eof:
            break
    if got < expected:
        raise InputError(f"{path}: broken or truncated image (PNG data ends early)")
    return buf


def _unfilter_np(raw, h, stride, bpp, out):
    """NumPy version of :func:`unfilter` (row by row; Average and Paeth pixel by pixel)."""
    prior = np.zeros(stride, np.int32)
    for y in range(h):
        kind = int(raw[y * (stride + 1)])
        x = raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)].astype(np.int32)
        if kind == 0:
            row = x
        elif kind == 1:
            row = np.cumsum(x.reshape(-1, bpp), axis=0).reshape(-1) & 255
        elif kind == 2:
            row = (x + prior) & 255
        elif kind in (3, 4):
            row = np.zeros(stride, np.int32)
            for i in range(0, stride, bpp):
                a = row[i - bpp : i] if i else np.zeros(bpp, np.int32)
                b = prior[i : i + bpp]
                if kind == 3:
                    pred = (a + b) >> 1
                else:
                    c = prior[i - bpp : i] if i else np.zeros(bpp, np.int32)
                    p = a + b - c
                    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
                    pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
                row[i : i + bpp] = (x[i : i + bpp] + pred) & 255
        else:
            return y
        out[y] = row
        prior = row
    return -1


@kernel(fallback=_unfilter_np)
def unfilter(raw, h, stride, bpp, out):
    """Undo the PNG row filters of ``raw`` (``h`` rows of a filter byte then ``stride``
    bytes) into ``out`` uint8 ``(h, stride)``; return -1, or the first bad row."""
    for y in range(h):
        base = y * (stride + 1)
        kind = raw[base]
        if kind > 4:
            return y
        for i in range(stride):
            x = np.int32(raw[base + 1 + i])
            a = np.int32(out[y, i - bpp]) if i >= bpp else np.int32(0)
            b = np.int32(out[y - 1, i]) if y > 0 else np.int32(0)
            if kind == 0:
                v = x
            elif kind == 1:
                v = x + a
            elif kind == 2:
                v = x + b
            elif kind == 3:
                v = x + ((a + b) >> 1)
            else:
                c = np.int32(out[y - 1, i - bpp]) if (y > 0 and i >= bpp) else np.int32(0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                if pa <= pb and pa <= pc:
                    v = x + a
                elif pb <= pc:
                    v = x + b
                else:
                    v = x + c
            out[y, i] = v & 255
    return -1
