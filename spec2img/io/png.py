"""16-bit grayscale PNG with spec2img metadata in text chunks.

Each metadata key is one ``tEXt`` chunk named ``spec2img:<key>`` holding a plain value
(``2048``, ``hann``, ``-87.25``, ``true``), readable with any PNG tool and parsed as
data, never evaluated.  The same keys also go, as one line, into the standard
``Comment`` chunk, which editors that drop unknown chunks (GIMP) keep: see
:mod:`spec2img.io.comment`.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, MetadataError, Spec2ImgError
from . import comment as _comment
from .atomic import atomic_path, check_input

PREFIX = "spec2img:"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Default cap on pixels read from one image, and on the spectrogram cells its decode
#: computes: 2**27, just above 10 minutes of stereo at 44.1 kHz with the default framing
#: (2 x 1025 x 51680 = 106 million cells).  Decodes that large run blockwise (memory
#: about 1 GB), but time grows with the cells, so a small file cannot claim more
#: unasked.  Raise it for trusted huge images.
DEFAULT_MAX_PIXELS = 2**27
#: Largest spec2img text chunk, in bytes, both as stored and once decompressed.
MAX_TEXT_CHUNK = 4096
#: Most spec2img text chunks in one image.
MAX_TEXT_CHUNKS = 256
#: Most compact forms (Comment and Exif) read from one image.
MAX_FORMS = 16
#: Largest EXIF block read from a header (Riffusion keeps its parameters there).
MAX_EXIF = _comment.MAX_EXIF
#: Pillow modes of 16-bit grayscale.
MODES_16 = ("I;16", "I;16B", "I;16L")

_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
#: Keyword of the standard comment chunk, which holds the compact form.
COMMENT_KEY = "Comment"
_COMMENT_KEYWORDS = (b"Comment", b"comment", b"Description")
_RAW_EXIF_KEYWORD = b"Raw profile type exif"
_KEYWORD_MAX = 79  # bytes, by the PNG specification
_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def write_png(
    path: str | os.PathLike,
    pixels: np.ndarray,
    text: dict[str, str],
    *,
    inputs=(),
    compress_level: int = 6,
    overwrite: bool = True,
) -> Path:
    """Write ``pixels`` (uint16 ``(h, w)``) as a 16-bit grayscale PNG, atomically.

    Parameters
    ----------
    path : path-like
        A ``.png`` file, ``-`` (standard output) or a FIFO or device (written to
        directly); see :func:`spec2img.io.atomic.atomic_path`.
    pixels : np.ndarray [shape=(h, w), dtype=uint16]
    text : dict of str to str
        Metadata, written as :func:`save_png` writes them.
    inputs : iterable of path-like
        Files this output must never overwrite.
    overwrite : bool
        Replace an existing file (``False``: :class:`~spec2img.errors.OutputError`).
    """
    with atomic_path(path, inputs, overwrite=overwrite) as tmp:
        save_png(tmp, pixels, text, compress_level=compress_level)
    return Path(path)


def png_bytes(pixels: np.ndarray, text: dict[str, str], *, compress_level: int = 6) -> bytes:
    """The PNG :func:`write_png` writes, in memory (the editor's downloads)."""
    import io

    buf = io.BytesIO()
    save_png(buf, pixels, text, compress_level=compress_level)
    return buf.getvalue()


def save_png(target, pixels: np.ndarray, text: dict[str, str], *, compress_level: int = 6) -> None:
    """The one PNG writer: 16-bit grayscale ``pixels`` and their metadata into ``target``.

    Each key of ``text`` is written as a ``tEXt`` chunk ``spec2img:<key>``, and all of
    them once more as the compact form in the ``Comment`` chunk, which editors that drop
    unknown chunks (GIMP) keep.

    Parameters
    ----------
    target : path-like or binary file object
    pixels : np.ndarray [shape=(h, w), dtype=uint16]
    text : dict of str to str
    compress_level : int in [0, 9]
        zlib's level.
    """
    from PIL import Image, PngImagePlugin

    pixels = np.ascontiguousarray(pixels, dtype=np.uint16)
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(PREFIX + key, value)
    form = _comment.pack(dict(text))
    if form is not None:
        info.add_text(COMMENT_KEY, form)
    img = Image.fromarray(pixels)  # mode "I;16": 16-bit grayscale
    img.save(target, format="PNG", pnginfo=info, compress_level=compress_level)


@dataclass(frozen=True)
class ImageHeader:
    """What an image file says about itself, read without decoding its pixels.

    Attributes
    ----------
    width, height : int
        Size from the file's header (PNG ``IHDR``).
    format : str
        Pillow's format name: ``"PNG"``, ``"JPEG"``, ...
    text : dict of str to str
        The spec2img metadata, prefix removed: from the ``spec2img:`` text chunks, or
        else from the compact form in the ``Comment`` chunk or in Exif (empty if none).
    exif : bytes
        The raw EXIF block (a PNG's ``eXIf`` chunk, or the ``Raw profile type exif``
        text GIMP writes instead; a JPEG's APP1), at most :data:`MAX_EXIF` bytes; empty
        if there is none.
    source : str
        Where ``text`` was found: ``"text chunks"``, ``"Comment"``, ``"Exif"``, or
        ``""`` (nowhere).
    mode : str
        Colour type of a PNG, as its pixels are stored: ``"L"``, ``"LA"``, ``"RGB"``,
        ``"RGBA"`` or ``"P"``; ``""`` for other formats.
    bit_depth : int
        Bits per sample of a PNG (``0`` for other formats).
    interlaced : bool
        A PNG stored with Adam7 interlacing.
    palette : bytes or None
        A PNG's ``PLTE`` chunk (RGB triples; at most 768 bytes), which identifies sox.
    software : str or None
        A PNG's ``Software`` text (at most :data:`MAX_TEXT_CHUNK` bytes), e.g.
        matplotlib's ``"Matplotlib version3.8.0, ..."``.
    """

    width: int
    height: int
    format: str
    text: dict[str, str]
    exif: bytes = b""
    source: str = ""
    mode: str = ""
    bit_depth: int = 0
    interlaced: bool = False
    palette: bytes | None = None
    software: str | None = None

    def exif_tags(self):
        """The EXIF block parsed as tags (a mapping of tag number to value), or ``None``."""
        if not self.exif:
            return None
        from PIL import Image

        tags = Image.Exif()
        try:
            tags.load(self.exif)
        except Exception:  # untrusted bytes: a broken EXIF block is no EXIF
            return None
        return tags


def read_header(path, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> ImageHeader:
    """Read an image's size and spec2img metadata, refusing it if it has too many pixels.

    The one reader of untrusted image headers: everything that inspects an image
    before decoding it (info, decode's kind detection, manifests, segments,
    ``params_from``) comes here.  A PNG is walked chunk by chunk, never decoding its
    pixels, wherever its text chunks sit: ``IHDR`` gives the size, and only the text
    chunks named ``spec2img:...`` are read (each at most :data:`MAX_TEXT_CHUNK` bytes,
    compressed or not; at most :data:`MAX_TEXT_CHUNKS` of them; a key at most once),
    and an ``eXIf`` chunk of at most :data:`MAX_EXIF` bytes, with the ``Comment``
    chunk and Exif when they hold the compact form (within the same bounds;
    :func:`spec2img.io.comment.resolve` says which source wins).  Other formats are
    opened with Pillow, which reads their header only (a JPEG's comment and Exif too).

    Parameters
    ----------
    path : path-like or binary file object
        A seekable file object (an fsspec file, say) is read in place.
    max_pixels : int or None

    Raises
    ------
    InputError
        Missing or unreadable file, broken header, or more than ``max_pixels`` pixels.
    MetadataError
        Malformed, oversized or repeated spec2img text chunks.
    """
    if hasattr(path, "read"):
        f, path = path, Path(str(getattr(path, "path", None) or getattr(path, "name", "<file>")))
        opened = contextlib.nullcontext(f)
    else:
        path = check_input(path, "an image")
        opened = None
    with _reading(path), opened or open(path, "rb") as f:
        if f.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE:
            header = _png_header(path, f)
        else:
            f.seek(0)
            header = _pillow_header(f, path)
    check_pixels(path, header, max_pixels)
    return header


def check_pixels(path, header: ImageHeader, max_pixels: int | None) -> None:
    """Refuse an image whose header says it has more than ``max_pixels`` pixels."""
    what = f"image of {header.width}x{header.height} pixels"
    check_size(path, what, header.width * header.height, max_pixels)


def check_size(path, what: str, n: int, max_pixels: int | None) -> None:
    """The one pixel-limit check: refuse ``n`` pixels (or cells) beyond ``max_pixels``.

    ``what`` describes the ``n`` things (``"image of 100x100 pixels"``).
    """
    if max_pixels is not None and n > max_pixels:
        raise InputError(
            f"{path}: {what} exceeds the limit of {max_pixels} "
            "(raise max_pixels for trusted images)",
            params=("max_pixels",),
        )


def read_pixels(path: str | os.PathLike, header: ImageHeader) -> tuple[np.ndarray, str]:
    """Decode the pixels of an image whose header :func:`read_header` accepted.

    Returns
    -------
    pixels : np.ndarray
        uint16 ``(h, w)`` for 16-bit grayscale; uint16 ``(h, w, channels)`` for 16-bit
        RGB, RGBA and gray+alpha PNGs (mode ``RGB;16``, ``RGBA;16``, ``LA;16``: full
        depth, see :mod:`spec2img.io.pngdata`); otherwise as Pillow decodes it, in one
        of the modes of :data:`spec2img.io.gray.MODES` (others are converted to RGBA).
    mode : str
        The mode of ``pixels``.
    """
    from PIL import Image, PngImagePlugin

    from . import gray, pngdata

    path = Path(path)
    with _reading(path), open(path, "rb") as f:
        if pngdata.needs_own_decoder(header):
            return pngdata.read_samples(path, f, header), header.mode + ";16"
        # A PNG's size was checked against our own limit, so Pillow's process-wide
        # decompression-bomb limit (which Image.open applies) is not asked again.
        img = PngImagePlugin.PngImageFile(f) if header.format == "PNG" else Image.open(f)
        with img:
            if img.size != (header.width, header.height):
                raise InputError(f"{path}: image changed while it was being read")
            img.load()
            if img.mode not in gray.MODES:
                img = img.convert("RGBA")  # palettes (with their transparency), CMYK, ...
            mode = img.mode
            pixels = np.array(img, dtype=np.uint16 if mode in MODES_16 else None)
    return pixels, mode


def read_png(
    path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, dict[str, str], str]:
    """Read an image's pixels and its spec2img text chunks.

    The size and the text chunks are checked (:func:`read_header`) before any pixel
    is decoded.

    Returns
    -------
    pixels : np.ndarray
        uint16 ``(h, w)`` for 16-bit grayscale; otherwise as Pillow decodes it.
    text : dict of str to str
        The ``spec2img:`` chunks with the prefix removed (empty for plain images).
    mode : str
        Pillow's mode of the file.
    """
    header = read_header(path, max_pixels=max_pixels)
    pixels, mode = read_pixels(path, header)
    return pixels, header.text, mode


@contextlib.contextmanager
def _reading(path: Path):
    """Turn whatever a parser of untrusted bytes raises into one InputError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except Spec2ImgError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image Pillow can read") from None
    except Image.DecompressionBombError as e:
        raise InputError(f"{path}: image too large for Pillow ({_reason(e)})") from None
    except MemoryError:
        raise InputError(f"{path}: image too large to decode in memory") from None
    except OSError as e:
        if e.filename is not None:  # the file itself, not its content
            raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
        raise InputError(f"{path}: broken or truncated image ({_reason(e)})") from None
    except Exception as e:  # Pillow's plugins raise many types for bad data
        raise InputError(f"{path}: broken or truncated image ({_reason(e)})") from None


def _pillow_header(f, path) -> ImageHeader:
    from PIL import Image

    # the size is checked against our own limit by read_header; Pillow's bomb check
    # would refuse large plots the user chose before that
    with no_bomb_limit(), Image.open(f) as img:  # the header (and a JPEG APP segment) only
        exif = img.info.get("exif", b"")
        exif = exif if isinstance(exif, bytes) and len(exif) <= MAX_EXIF else b""
        raw = img.info.get("comment")
        comments = []
        if isinstance(raw, bytes) and len(raw) <= _comment.MAX_FORM:
            raw = raw.decode("latin-1")
        if isinstance(raw, str) and _comment.is_form(raw):
            comments.append(raw)
        text, source = _comment.resolve(path, {}, comments, _comment.exif_forms(exif))
        return ImageHeader(img.width, img.height, img.format or "", text, exif, source)


@contextlib.contextmanager
def no_bomb_limit():
    """Lift Pillow's decompression-bomb limit: for a file the user chose,
    or whose size our own limit checks."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _read(path: Path, f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise InputError(f"{path}: broken or truncated image (PNG ends inside a chunk)")
    return data


def _png_header(path: Path, f) -> ImageHeader:
    """Walk the chunks of a PNG (after its signature): size from IHDR, spec2img text."""
    head = f.read(8)
    if len(head) < 8:
        raise InputError(f"{path}: broken or truncated image (PNG ends before its header)")
    length, ctype = struct.unpack(">I4s", head)
    body = _read(path, f, length + 4) if length == 13 else b""
    if ctype != b"IHDR" or not body or _crc(ctype, body[:-4]) != body[-4:]:
        raise InputError(f"{path}: broken PNG header (IHDR)")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body[:13])
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise InputError(f"{path}: broken PNG header (size {width}x{height})")
    text: dict[str, str] = {}
    exif = b""
    comments: list[str] = []
    exifs: list[str] = []
    palette = software = None
    while (head := f.read(8)) and len(head) == 8:
        length, ctype = struct.unpack(">I4s", head)
        if ctype == b"IEND" or length >= 2**31:
            break
        if ctype == b"PLTE" and length <= 768 and length % 3 == 0 and palette is None:
            palette = _read(path, f, length)
            f.seek(4, os.SEEK_CUR)
            continue
        if ctype == b"eXIf" and length <= MAX_EXIF and not exif:
            data = _read(path, f, length)
            if _crc(ctype, data) != _read(path, f, 4):
                raise InputError(f"{path}: broken image (bad CRC in its eXIf chunk)")
            exif = data
            exifs += _comment.exif_forms(data)
            continue
        if ctype not in _TEXT_CHUNKS:
            f.seek(length + 4, os.SEEK_CUR)
            continue
        start = f.read(min(length, _KEYWORD_MAX + 1))
        keyword = start.split(b"\0", 1)[0]
        if keyword in _COMMENT_KEYWORDS or keyword == _RAW_EXIF_KEYWORD:
            limit = MAX_TEXT_CHUNK if keyword != _RAW_EXIF_KEYWORD else 2 * _comment.MAX_EXIF
            if length <= limit:
                data = start + _read(path, f, length - len(start))
                if _crc(ctype, data) == _read(path, f, 4):
                    raw = _other_text(ctype, data, keyword, limit, comments, exifs)
                    if raw and not exif and len(raw) <= MAX_EXIF:
                        exif = raw[6:] if raw.startswith(b"Exif\0\0") else raw
                continue
        if ctype == b"tEXt" and keyword == b"Software" and software is None:
            rest = f.read(min(length, MAX_TEXT_CHUNK) - len(start))  # another program's
            software = (start + rest)[9:].decode("latin-1")  # text: read as data only
            f.seek(length - len(start) - len(rest) + 4, os.SEEK_CUR)
            continue
        if not start.startswith(PREFIX.encode()):  # another program's text: not ours to judge
            f.seek(length - len(start) + 4, os.SEEK_CUR)
            continue
        keyword = start.split(b"\0", 1)[0].decode("latin-1")
        if length > MAX_TEXT_CHUNK:
            raise MetadataError(
                f"{path}: text chunk {keyword[:80]!r} of {length} bytes exceeds the "
                f"limit of {MAX_TEXT_CHUNK} bytes"
            )
        data = start + _read(path, f, length - len(start))
        if _crc(ctype, data) != _read(path, f, 4):
            raise InputError(f"{path}: broken image (bad CRC in text chunk {keyword!r})")
        key, value = _parse_text(path, ctype, data)
        if key in text:
            raise MetadataError(f"{path}: metadata key {key!r} is given twice")
        if len(text) >= MAX_TEXT_CHUNKS:
            raise MetadataError(f"{path}: more than {MAX_TEXT_CHUNKS} spec2img text chunks")
        text[key] = value
    text, source = _comment.resolve(path, text, comments, exifs)
    mode = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}.get(color, "")
    return ImageHeader(
        width, height, "PNG", text, exif, source, mode, depth, interlace == 1, palette, software
    )


def _other_text(ctype, data, keyword, limit, comments, exifs) -> bytes:
    """Collect the compact form from a Comment or raw-Exif text chunk; return the Exif
    bytes of a raw-Exif text.  Whatever cannot be read is another program's text, not
    ours to judge."""
    if len(comments) + len(exifs) >= MAX_FORMS:
        return b""
    try:
        value = _text_value(Path("."), ctype, data, limit)
    except MetadataError:
        return b""
    if keyword == _RAW_EXIF_KEYWORD:
        raw = _comment.raw_profile_exif(value)
        exifs += _comment.exif_forms(raw)
        return raw
    if _comment.is_form(value):
        comments.append(value)
    return b""


def _text_value(path: Path, ctype: bytes, data: bytes, limit: int = MAX_TEXT_CHUNK) -> str:
    """The text of a ``tEXt``, ``zTXt`` or ``iTXt`` chunk (at most ``limit`` bytes)."""
    keyword, _, rest = data.partition(b"\0")
    what = f"text chunk {keyword[:80].decode('latin-1')!r}"
    if ctype == b"tEXt":
        return rest.decode("latin-1")
    if ctype == b"zTXt":
        if rest[:1] != b"\0":
            raise MetadataError(f"{path}: {what} has an unknown compression method")
        return _inflate(path, what, rest[1:], limit).decode("latin-1")
    # iTXt: compression flag, method, language tag, translated keyword, UTF-8 text
    flag, method = rest[:1], rest[1:2]
    parts = rest[2:].split(b"\0", 2)
    if flag not in (b"\0", b"\1") or method != b"\0" or len(parts) != 3:
        raise MetadataError(f"{path}: {what} is malformed or has an unknown compression")
    value = _inflate(path, what, parts[2], limit) if flag == b"\1" else parts[2]
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise MetadataError(f"{path}: {what} is not valid UTF-8") from None


def _crc(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def _parse_text(path: Path, ctype: bytes, data: bytes) -> tuple[str, str]:
    """``(key, value)`` of a ``tEXt``, ``zTXt`` or ``iTXt`` chunk named ``spec2img:key``."""
    keyword = data.partition(b"\0")[0]
    key = keyword.decode("latin-1")[len(PREFIX) :]
    if not _KEY_RE.fullmatch(key):
        raise MetadataError(f"{path}: bad metadata key {keyword[:80]!r} in a text chunk")
    return key, _text_value(path, ctype, data)


def _inflate(path: Path, what: str, data: bytes, limit: int = MAX_TEXT_CHUNK) -> bytes:
    """Decompress at most ``limit`` bytes; a bomb stops there."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error:
        raise MetadataError(f"{path}: {what} is not valid compressed data") from None
    if len(out) > limit:
        raise MetadataError(f"{path}: {what} inflates beyond the limit of {limit} bytes")
    if not d.eof:
        raise MetadataError(f"{path}: {what} is not valid compressed data (truncated)")
    return out


def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:200]
