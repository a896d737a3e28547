"""Mutations of valid inputs: bytes, PNG chunks, spec2img metadata, JPEG and audio headers.

Each mutator is ``f(data, rng) -> (data, description)`` and never fails: when its
structure is missing (a chunk edit on a file that no longer splits into chunks) it
falls back to a byte mutation.  :func:`mutate` stacks one to four of them, chosen by
the seed's kind, and describes what it did, so that a failing case can be read and
replayed.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib

import numpy as np
import pngbytes

from spec2img import params as P

Mutation = tuple[bytes, str]

INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
INTERESTING_INTS = (0, 1, 2, 7, 8, 15, 16, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                    0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)  # fmt: skip

# Metadata values that are wrong in every way we could think of, plus the edges of the
# bounds in spec2img.params (so that they follow the code if the bounds change).
JUNK_VALUES = (
    "", " ", "0", "-0", "1", "-1", "2", "3", "15", "16", "17", "0.5", "1.5", "-1.5",
    str(P.MAX_SAMPLE_RATE), str(P.MAX_SAMPLE_RATE + 1), str(P.MIN_N_FFT - 1),
    str(P.MAX_N_FFT), str(P.MAX_N_FFT + 1), str(P.MAX_CHANNELS), str(P.MAX_CHANNELS + 1),
    str(P.MAX_N_MELS), str(P.MAX_N_MELS + 1), str(P.MAX_N_SAMPLES), str(P.MAX_N_SAMPLES + 1),
    repr(P.MAX_ABS_DB), repr(-P.MAX_ABS_DB), repr(P.MAX_DB), repr(P.MAX_DB + 1), "770", "-770",
    str(2**31), str(2**63), str(10**12), "9" * 20, "9" * 21, "9" * 400,
    "1e308", "-1e308", "1e-308", "5e-324", "1e309", "nan", "NaN", "-nan", "inf", "-inf",
    "Infinity", "1_000", "0x10", "1e3", "+5", " 64 ", "64\n", "6\x004",
    "true", "false", "True", "yes", "null", "None", "[]", "{}", "[1, 2]",
    '{"a": [1, {"b": [2, {"c": null}]}], "d": "e"}', "[" * 500 + "]" * 500,
    "x" * 257, "x" * 4096, "x" * 1_000_000, "é", "ü" * 30, "\u2603", "\U0001f600",
    "\x1b[31mred\x1b[0m", "\x00", "a\x00b", "١٢٣", "２０４８",
    "hann", "hamming", "boxcar", "linear", "mel", "bark", "hann:5", "kaiser:8.6",
    "kaiser:1e308", "kaiser:-1e3", "gaussian:0", "gaussian:nan", "taylor:4:1e300",
    "taylor:1e7", "taylor:3e8", "chebwin:1e9", "general_cosine:0", "general_hamming:1e308",
    "exponential:0:0", "exponential:1e300:1e-300", "dpss:30000", "dpss:3",
    "tukey:nan", "kaiser", "kaiser:", ":", "hann:1:2:3:4:5:6:7:8", "../../etc/passwd",
    "__import__('os').system('true')", "${HOME}", "%s%n",
)  # fmt: skip


def _pos(rng: random.Random, n: int) -> int:
    """A position in ``range(n)``, biased towards the start (headers live there)."""
    if n <= 1:
        return 0
    return min(n - 1, int(rng.paretovariate(1.2)) - 1) if rng.random() < 0.5 else rng.randrange(n)


# ---- bytes ------------------------------------------------------------------------


def flip_bits(data: bytes, rng: random.Random) -> Mutation:
    b = bytearray(data or b"\0")
    k = rng.choice((1, 1, 2, 4, 8))
    spots = [_pos(rng, len(b)) for _ in range(k)]
    for i in spots:
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b), f"flip {k} bit(s) at {spots[:3]}"


def set_bytes(data: bytes, rng: random.Random) -> Mutation:
    b = bytearray(data or b"\0")
    i = _pos(rng, len(b))
    if rng.random() < 0.5:
        b[i] = rng.choice(INTERESTING_BYTES)
        return bytes(b), f"byte {i} = {b[i]:#x}"
    width, order = rng.choice((2, 4)), rng.choice("<>")
    value = rng.choice(INTERESTING_INTS) & ((1 << (8 * width)) - 1)
    packed = struct.pack(order + ("H" if width == 2 else "I"), value)
    b[i : i + width] = packed
    return bytes(b), f"{width}-byte int {value:#x} ({order}) at {i}"


def truncate(data: bytes, rng: random.Random) -> Mutation:
    n = len(data)
    cut = rng.choice((0, 1, 8, 16, 33, n // 2, n - 12, n - 1, rng.randrange(n + 1)))
    cut = max(0, min(n, cut))
    return data[:cut], f"truncate to {cut} of {n} bytes"


def extend(data: bytes, rng: random.Random) -> Mutation:
    n = rng.choice((1, 16, 1000, 100_000))
    tail = rng.choice((b"\0" * n, bytes(rng.randrange(256) for _ in range(min(n, 1000))),
                       data[-64:] * (n // 64 + 1)))  # fmt: skip
    return data + tail, f"append {len(tail)} bytes"


def splice(data: bytes, rng: random.Random) -> Mutation:
    n = len(data)
    i = _pos(rng, n + 1)
    k = rng.choice((1, 4, 16, 256))
    op = rng.choice(("delete", "insert", "repeat"))
    if op == "delete":
        return data[:i] + data[i + k :], f"delete {k} bytes at {i}"
    if op == "insert":
        return data[:i] + bytes(rng.randrange(256) for _ in range(k)) + data[
            i:
        ], f"insert {k} at {i}"
    return data[:i] + data[i : i + k] * 8 + data[i + k :], f"repeat {k} bytes x8 at {i}"


BYTE_MUTATORS = (flip_bits, set_bytes, truncate, extend, splice)


def byte_mutation(data: bytes, rng: random.Random) -> Mutation:
    return rng.choice(BYTE_MUTATORS)(data, rng)


# ---- PNG chunks -------------------------------------------------------------------


def _png_op(fn):
    """Run a chunk-level edit, falling back to a byte mutation when the PNG does not split."""

    def mutator(data: bytes, rng: random.Random) -> Mutation:
        chunks = pngbytes.split(data)
        if not chunks:
            return byte_mutation(data, rng)
        return fn(chunks, rng)

    mutator.__name__ = fn.__name__
    return mutator


@_png_op
def corrupt_crc(chunks, rng):
    i = rng.randrange(len(chunks))
    chunks[i][2] = bytes(b ^ 0xFF for b in chunks[i][2]) or b"\0\0\0\0"
    return pngbytes.join(chunks, fix_crc=False), f"corrupt CRC of {chunks[i][0]!r}"


@_png_op
def edit_chunk(chunks, rng):
    """A byte edit inside one chunk's body, with a valid CRC so that the parser sees it."""
    i = rng.randrange(len(chunks))
    body, desc = byte_mutation(chunks[i][1], rng)
    chunks[i][1] = body
    return pngbytes.join(chunks), f"{chunks[i][0]!r}: {desc} (re-CRC'd)"


@_png_op
def drop_chunk(chunks, rng):
    i = rng.randrange(len(chunks))
    t = chunks.pop(i)[0]
    return pngbytes.join(chunks, fix_crc=False), f"drop {t!r}"


@_png_op
def duplicate_chunk(chunks, rng):
    i = rng.randrange(len(chunks))
    j = rng.randrange(len(chunks) + 1)
    chunks.insert(j, list(chunks[i]))
    return pngbytes.join(chunks, fix_crc=False), f"copy {chunks[i][0]!r} to {j}"


@_png_op
def move_chunk(chunks, rng):
    i, j = rng.randrange(len(chunks)), rng.randrange(len(chunks))
    chunks.insert(j, chunks.pop(i))
    return pngbytes.join(chunks, fix_crc=False), f"move chunk {i} to {j}"


@_png_op
def edit_ihdr(chunks, rng):
    ihdr = next((c for c in chunks if c[0] == b"IHDR" and len(c[1]) == 13), None)
    if ihdr is None:
        return pngbytes.join(chunks), "no IHDR to edit"
    w, h, depth, color, comp, filt, inter = struct.unpack(">IIBBBBB", ihdr[1])
    field = rng.choice(("size", "size", "depth", "color", "comp", "inter"))
    if field == "size":
        sizes = (0, 1, 2, w - 1, w + 1, h, 2 * w, 65535, 100_000, 2**31 - 1, 2**31, 2**32 - 1)
        w, h = (rng.choice(sizes) if rng.random() < 0.7 else w,
                rng.choice(sizes + (h - 1, h + 1)) if rng.random() < 0.7 else h)  # fmt: skip
        w, h = w % 2**32, h % 2**32
    elif field == "depth":
        depth = rng.choice((0, 1, 2, 3, 4, 8, 16, 32, 255))
    elif field == "color":
        color = rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 255))
    elif field == "comp":
        comp, filt = rng.choice(((1, 0), (0, 1), (255, 255)))
    else:
        inter = rng.choice((0, 1, 2, 255))
    ihdr[1] = struct.pack(">IIBBBBB", w, h, depth, color, comp, filt, inter)
    return pngbytes.join(
        chunks
    ), f"IHDR {w}x{h} depth {depth} color {color} c/f {comp}/{filt} i {inter}"


@_png_op
def edit_pixels(chunks, rng):
    """Rewrite the decompressed image data: bad filter bytes, short or long rows, a bomb."""
    idat = b"".join(c[1] for c in chunks if c[0] == b"IDAT")
    try:
        raw = bytearray(zlib.decompress(idat))
    except zlib.error:
        return pngbytes.join(chunks), "IDAT does not decompress: unchanged"
    op = rng.choice(("filter", "noise", "short", "long", "bomb"))
    if op == "filter" and raw:
        raw[_pos(rng, len(raw))] = rng.choice((5, 6, 255))
    elif op == "noise" and raw:
        for _ in range(rng.choice((1, 10, 100))):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
    elif op == "short":
        raw = raw[: rng.randrange(len(raw) + 1)]
    elif op == "long":
        raw += bytes(rng.randrange(256) for _ in range(rng.choice((1, 100, 5000))))
    first = next(i for i, c in enumerate(chunks) if c[0] == b"IDAT")
    chunks = [c for c in chunks if c[0] != b"IDAT"]
    deflate = zlib.compressobj(6)
    data = deflate.compress(bytes(raw))
    if op == "bomb":  # far more rows than the header says, at little cost in the file
        zeros = bytes(1_000_000)
        for _ in range(rng.choice((1, 20))):
            data += deflate.compress(zeros)
    chunks.insert(first, [b"IDAT", data + deflate.flush(), b""])
    return pngbytes.join(chunks), f"pixel data: {op} ({len(raw)} bytes raw)"


@functools.cache
def _bomb(n: int) -> bytes:
    """``n`` zero bytes, deflated (about 1000 times smaller)."""
    return zlib.compress(bytes(n), 9)


EXTRA_CHUNKS = (b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf", b"tRNS", b"PLTE", b"sBIT",
                b"gAMA", b"pHYs", b"acTL", b"fcTL", b"fdAT", b"IDAT", b"IEND", b"IHDR",
                b"abCd", b"ZZZZ")  # fmt: skip


@_png_op
def insert_chunk(chunks, rng):
    ctype = rng.choice(EXTRA_CHUNKS)
    n = rng.choice((0, 1, 4, 13, 26, 100, 5000))
    body = bytes(rng.randrange(256) for _ in range(n))
    if ctype in (b"zTXt", b"iCCP") and rng.random() < 0.5:  # a compressed bomb
        body = b"Comment\0\0" + _bomb(rng.choice((10**6, 50 * 10**6)))
    j = rng.randrange(1, len(chunks) + 1)
    chunks.insert(j, [ctype, body, b""])
    return pngbytes.join(chunks), f"insert {ctype!r} of {len(body)} bytes at {j}"


def _with_text(png: bytes, chunks) -> bytes:
    """``png`` (no text chunks) with the text chunks of ``chunks`` put back after IHDR."""
    text = [c for c in chunks if pngbytes.text_key(c[0], c[1]) is not None]
    out = pngbytes.split(png)
    return pngbytes.join(out[:1] + text + out[1:], fix_crc=False)


def _pil_png(pixels: np.ndarray, mode: str | None = None, **save) -> bytes:
    from PIL import Image

    img = Image.fromarray(pixels)
    if mode is not None:
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG", **save)
    return buf.getvalue()


@_png_op
def reshape_pixels(chunks, rng):
    """Re-encode the pixels one or two rows or columns off, or in another mode, keeping the
    metadata: valid PNGs that reach the shape and mode checks."""
    from PIL import Image

    data = pngbytes.join(chunks, fix_crc=False)
    try:
        with Image.open(io.BytesIO(data)) as img:
            pixels = np.asarray(img)
    except Exception:  # noqa: BLE001 - already broken: nothing to reshape
        return byte_mutation(data, rng)
    if pixels.ndim != 2:
        return byte_mutation(data, rng)
    op = rng.choice(("wider", "narrower", "taller", "shorter", "8-bit", "RGB", "RGBA", "LA",
                     "P", "1", "16-bit"))  # fmt: skip
    k = rng.choice((1, 1, 2))
    mode = None
    if op == "wider":
        pixels = np.pad(pixels, [(0, 0), (0, k)], mode="edge")
    elif op == "narrower" and pixels.shape[1] > k:
        pixels = pixels[:, :-k]
    elif op == "taller":
        pixels = np.pad(pixels, [(k, 0), (0, 0)], mode="edge")
    elif op == "shorter" and pixels.shape[0] > k:
        pixels = pixels[k:]
    elif op == "16-bit":
        pixels = pixels.astype(np.uint16) * 257 if pixels.dtype == np.uint8 else pixels
    else:
        pixels = (pixels >> 8).astype(np.uint8) if pixels.dtype == np.uint16 else pixels
        mode = None if op == "8-bit" else op
    try:
        png = _pil_png(np.ascontiguousarray(pixels), mode)
    except (ValueError, OSError, TypeError):  # Pillow has no such conversion from this mode
        return data, f"pixels: {op} impossible from {pixels.dtype}"
    return _with_text(png, chunks), f"pixels: {op}"


def regenerate(data: bytes, rng: random.Random) -> Mutation:
    """A new spec2img PNG with random valid metadata (all framings, scales, levels, widths
    one frame off) and random, black or white pixels: decodes of images nobody encoded."""
    sr = rng.choice((1, 2, 100, 8000, 44100, P.MAX_SAMPLE_RATE))
    n_fft = rng.choice((P.MIN_N_FFT, 17, 31, 64, 255, 1024, 4096))
    win = rng.choice((n_fft, rng.randint(2, n_fft)))
    hop = rng.choice((max(1, win // 4), rng.randint(1, win)))
    center = rng.random() < 0.7
    nyquist = sr / 2
    fmin = rng.choice((0.0, rng.uniform(0, nyquist)))
    try:
        params = P.SpecParams(
            sample_rate=sr, n_fft=n_fft, hop_length=hop, win_length=win, center=center,
            window=rng.choice(("hann", "hann", "hamming", "blackman", "kaiser:8.6", "tukey:0.5")),
            scale=rng.choice(("linear", "mel")), n_mels=rng.choice((1, 2, 12, 128)),
            fmin=fmin, fmax=rng.choice((None, rng.uniform(fmin, nyquist))),
        )  # fmt: skip
        db_min = rng.choice((-P.MAX_ABS_DB, -120.0, rng.uniform(-300, 0)))
        db_max = rng.choice((P.MAX_DB, db_min + 1e-3, db_min + 120.0))
        frames = rng.choice((1, 2, 10, 60))
        n = params.min_samples + (frames - 1) * hop + rng.randrange(hop)
        meta = P.Metadata(params=params, db_min=db_min, db_max=min(db_max, P.MAX_DB),
                          n_samples=n, channels=rng.choice((1, 1, 2, 3)))  # fmt: skip
    except P.ParameterError as e:  # a corner the draw did not avoid: say so, keep the seed
        return data, f"regenerate skipped ({e})"
    h, w = meta.shape
    w = max(1, w + rng.choice((0, 0, 0, 1, -1)))
    fill = rng.choice(("random", "zero", "max"))
    pixels = {
        "random": lambda: np.asarray(
            np.random.default_rng(rng.randrange(2**32)).integers(0, 65536, (h, w))
        ),
        "zero": lambda: np.zeros((h, w)),
        "max": lambda: np.full((h, w), 65535),
    }[fill]()
    pixels = pixels.astype(np.uint16)  # fmt: skip
    if rng.random() < 0.2:
        pixels = (pixels >> 8).astype(np.uint8)
    png = _pil_png(pixels)
    text = [pngbytes.text_chunk("spec2img:" + k, v) for k, v in meta.to_text().items()]
    p = meta.params
    desc = (f"regenerate {w}x{h} {fill}: {meta.channels} ch x {n} samples at {sr} Hz, n_fft "
            f"{n_fft} hop {hop} win {win} {p.window}{'' if center else ' uncentred'} {p.scale}"
            f"{'/' + str(p.n_mels) if p.scale == 'mel' else ''}, dB {db_min:.6g}..{meta.db_max:.6g}")  # fmt: skip
    return _with_text(png, [[b"IHDR", b"", b""], *text]), desc


# ---- spec2img metadata ------------------------------------------------------------


def _meta_positions(chunks) -> dict[str, int]:
    out = {}
    for i, (t, body, _) in enumerate(chunks):
        key = pngbytes.text_key(t, body)
        if key is not None and key.startswith("spec2img:"):
            out[key[len("spec2img:") :]] = i
    return out


def _text_kind(value: str, rng: random.Random) -> str:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return rng.choice(("iTXt", "iTXt+z"))
    return rng.choice(("tEXt", "tEXt", "tEXt", "zTXt", "iTXt", "iTXt+z"))


def _current_value(chunks, i: int) -> str:
    t, body, _ = chunks[i]
    rest = body.split(b"\0", 1)[1]
    try:
        if t == b"tEXt":
            return rest.decode("latin-1")
        if t == b"zTXt":
            return zlib.decompress(rest[1:]).decode("latin-1")
        flag, rest = rest[0], rest[2:]
        text = rest.split(b"\0", 2)[2]
        return (zlib.decompress(text) if flag else text).decode("utf-8")
    except (zlib.error, IndexError, UnicodeDecodeError):
        return ""


def _near(value: str, rng: random.Random) -> str:
    """A value next to a valid one: off by one, doubled, halved, negated, scaled."""
    try:
        x = float(value)
    except ValueError:
        return rng.choice(JUNK_VALUES)
    is_int = x.is_integer() and "." not in value
    y = rng.choice((x - 1, x + 1, 2 * x, x / 2, -x, x * 1e6, x + 0.5, x * (1 + 1e-9)))
    return str(int(y)) if is_int and float(y).is_integer() else repr(y)


def set_metadata(data: bytes, rng: random.Random) -> Mutation:
    """Rewrite one spec2img key with a junk or neighbouring value, in any text chunk type."""
    chunks = pngbytes.split(data)
    if not chunks:
        return byte_mutation(data, rng)
    where = _meta_positions(chunks)
    key = rng.choice(sorted(where) or list(P.KEYS))
    value = (_near(_current_value(chunks, where[key]), rng) if key in where and rng.random() < 0.4
             else rng.choice(JUNK_VALUES))  # fmt: skip
    kind = _text_kind(value, rng)
    new = pngbytes.text_chunk("spec2img:" + key, value, kind)
    if key in where:
        chunks[where[key]] = new
    else:
        chunks.insert(1, new)
    return pngbytes.join(
        chunks
    ), f"{key}={value[:40]!r}{'...' if len(value) > 40 else ''} as {kind}"


def metadata_keys(data: bytes, rng: random.Random) -> Mutation:
    """Delete, duplicate (with another value) or add spec2img keys."""
    chunks = pngbytes.split(data)
    if not chunks:
        return byte_mutation(data, rng)
    where = _meta_positions(chunks)
    op = rng.choice(("delete", "duplicate", "unknown", "all"))
    if op == "delete" and where:
        key = rng.choice(sorted(where))
        del chunks[where[key]]
        return pngbytes.join(chunks), f"delete key {key}"
    if op == "duplicate" and where:
        key = rng.choice(sorted(where))
        value = rng.choice((_current_value(chunks, where[key]), rng.choice(JUNK_VALUES)))
        new = pngbytes.text_chunk("spec2img:" + key, value, _text_kind(value, rng))
        chunks.insert(rng.randrange(1, len(chunks)), new)
        return pngbytes.join(chunks), f"second {key}={value[:40]!r}"
    if op == "unknown":
        n = rng.choice((1, 300, 5000))
        for k in range(n):
            chunks.insert(
                1, pngbytes.text_chunk(f"spec2img:extra{k}", rng.choice(("1", "x" * 200)))
            )
        return pngbytes.join(chunks), f"add {n} unknown spec2img keys"
    # A full, plausible metadata set on an image that may not match it at all.
    sr = rng.choice((1, 8000, 44100, P.MAX_SAMPLE_RATE))
    n_fft = rng.choice((P.MIN_N_FFT, 64, 2048, P.MAX_N_FFT))
    values = dict(version="1", sample_rate=str(sr), n_fft=str(n_fft),
                  hop_length=str(rng.choice((1, n_fft // 4, n_fft))), win_length=str(n_fft),
                  window=rng.choice(("hann", "kaiser:8", "dpss:3")),
                  center=rng.choice(("true", "false")), scale=rng.choice(("linear", "mel")),
                  n_mels=str(rng.choice((1, 30, P.MAX_N_MELS))), fmin="0.0",
                  fmax=repr(sr / 2), db_min=rng.choice(("-100.0", "-1000.0")),
                  db_max=rng.choice(("0.0", "500.0", "1000.0")),
                  n_samples=str(rng.choice((0, 1, 100, 10**6, 10**12))),
                  channels=str(rng.choice((1, 2, 3, P.MAX_CHANNELS))))  # fmt: skip
    chunks = [c for c in chunks if pngbytes.text_key(c[0], c[1]) is None
              or not pngbytes.text_key(c[0], c[1]).startswith("spec2img:")]  # fmt: skip
    for k, v in values.items():
        chunks.insert(1, pngbytes.text_chunk("spec2img:" + k, v))
    return pngbytes.join(chunks), "metadata " + " ".join(f"{k}={v}" for k, v in values.items())


# ---- JPEG and audio headers -------------------------------------------------------


def edit_jpeg_frame(data: bytes, rng: random.Random) -> Mutation:
    """Rewrite the size or component count in a JPEG start-of-frame segment."""
    for marker in (b"\xff\xc0", b"\xff\xc1", b"\xff\xc2"):
        i = data.find(marker)
        if i >= 0 and i + 10 <= len(data):
            b = bytearray(data)
            field = rng.choice(("height", "width", "components", "precision"))
            if field in ("height", "width"):
                value = rng.choice((0, 1, 0xFFFF, 0x8000))
                b[i + (5 if field == "height" else 7) : i + (7 if field == "height" else 9)] = (
                    struct.pack(">H", value)
                )
            elif field == "components":
                value = rng.choice((0, 2, 4, 255))
                b[i + 9] = value
            else:
                value = rng.choice((0, 12, 16, 255))
                b[i + 4] = value
            return bytes(b), f"JPEG SOF {field} = {value}"
    return byte_mutation(data, rng)


def edit_audio_header(data: bytes, rng: random.Random) -> Mutation:
    """Rewrite a RIFF/WAVE ``fmt``/``data`` field or a FLAC STREAMINFO byte range."""
    b = bytearray(data)
    if data[:4] == b"RIFF" and (i := data.find(b"fmt ")) >= 0 and i + 24 <= len(data):
        fields = {"channels": (i + 10, "<H"), "rate": (i + 12, "<I"), "bytes/s": (i + 16, "<I"),
                  "block": (i + 20, "<H"), "bits": (i + 22, "<H"), "format": (i + 8, "<H")}  # fmt: skip
        j = data.find(b"data")
        if j >= 0:
            fields["data size"] = (j + 4, "<I")
        fields["riff size"] = (4, "<I")
        name = rng.choice(sorted(fields))
        at, fmt = fields[name]
        value = rng.choice(INTERESTING_INTS) & (0xFFFF if fmt == "<H" else 0xFFFFFFFF)
        b[at : at + struct.calcsize(fmt)] = struct.pack(fmt, value)
        return bytes(b), f"WAV {name} = {value}"
    if data[:4] == b"fLaC" and len(b) > 42:
        at = rng.randrange(8, 8 + 34)  # STREAMINFO: sizes, rate, channels, depth, total samples
        b[at] = rng.choice(INTERESTING_BYTES)
        return bytes(b), f"FLAC STREAMINFO byte {at} = {b[at]:#x}"
    return byte_mutation(data, rng)


# ---- choosing ---------------------------------------------------------------------

#: Seed kind -> (mutator, weight).
MUTATORS = {
    "spec2img": ((set_metadata, 8), (metadata_keys, 3), (reshape_pixels, 3), (regenerate, 4),
                 (edit_chunk, 3), (corrupt_crc, 1),
                 (drop_chunk, 1), (duplicate_chunk, 1), (move_chunk, 1), (edit_ihdr, 3),
                 (edit_pixels, 2), (insert_chunk, 2), (flip_bits, 2), (set_bytes, 1),
                 (truncate, 2), (extend, 1), (splice, 1)),
    "png": ((metadata_keys, 2), (set_metadata, 1), (reshape_pixels, 1), (edit_chunk, 3),
            (corrupt_crc, 1),
            (drop_chunk, 1), (duplicate_chunk, 1), (move_chunk, 1), (edit_ihdr, 3),
            (edit_pixels, 2), (insert_chunk, 2), (flip_bits, 2), (set_bytes, 1),
            (truncate, 2), (extend, 1), (splice, 1)),
    "jpeg": ((edit_jpeg_frame, 3), (flip_bits, 3), (set_bytes, 2), (truncate, 3), (extend, 1),
             (splice, 2)),
    "wav": ((edit_audio_header, 4), (flip_bits, 2), (set_bytes, 2), (truncate, 2), (extend, 1),
            (splice, 1)),
}  # fmt: skip
MUTATORS["flac"] = MUTATORS["wav"]


def mutate(data: bytes, kind: str, rng: random.Random) -> Mutation:
    """Apply one to four mutations suited to ``kind``; return the bytes and what was done."""
    table = MUTATORS[kind]
    fns, weights = [m for m, _ in table], [w for _, w in table]
    steps = []
    for _ in range(4):
        fn = rng.choices(fns, weights)[0]
        try:
            data, desc = fn(data, rng)
        except Exception as e:  # noqa: BLE001 - a bug of the fuzzer, not of spec2img
            desc = f"MUTATOR FAILED ({type(e).__name__}: {e})"
        steps.append(f"{fn.__name__}: {desc}")
        if rng.random() < 0.6:
            break
    return data, "; ".join(steps)
