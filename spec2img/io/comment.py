"""The parameters in the places editors keep: the PNG ``Comment`` and Exif.

GIMP drops every ``spec2img:*`` text chunk when it exports a PNG but keeps the
standard ``Comment`` chunk (see docs/editors.md for what each editor keeps), so every
spec2img PNG also carries all its keys in one compact, versioned line there::

    spec2img/1 {"version":"1","sample_rate":"22050","n_fft":"2048",...}

The values are the same strings as the ``spec2img:*`` chunks hold, so both forms go
through the same validation (:meth:`spec2img.params.Metadata.from_text`).  The same line
is also recognised in Exif (``ImageDescription`` or ``UserComment``, in a PNG's ``eXIf``
chunk, in the ``Raw profile type exif`` text GIMP and ImageMagick write, or in a JPEG),
but spec2img does not write Exif: GIMP lets an Exif description override the PNG
comment on export, and ImageMagick drops ``eXIf``.

When several sources are present the ``spec2img:*`` chunks win (they are the primary
record: one chunk per key, which tools copy verbatim), then the Comment, then Exif; a
source that disagrees with the one used gets one warning.  Everything here parses
untrusted bytes as data, within the bounds below.
"""

from __future__ import annotations

import binascii
import json
import re
import warnings

from ..errors import MetadataError, Spec2ImgWarning

#: Start of the compact form; the number is the version of the form.
MARKER = "spec2img/"
FORM_VERSION = 1
#: Longest compact form read or written, in characters.
MAX_FORM = 4096
#: Longest Exif block read, in bytes.
MAX_EXIF = 65536
#: Most keys in one compact form.
MAX_KEYS = 256
#: Where the parameters were found, as :attr:`~spec2img.io.png.ImageHeader.source` says.
SOURCES = ("text chunks", "Comment", "Exif", "params-from")

_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_IMAGE_DESCRIPTION = 0x010E
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
#: Warnings already given in this process: one per image and problem.
_warned: set[str] = set()


def pack(text: dict[str, str]) -> str | None:
    """The compact form of ``text`` (keys without the ``spec2img:`` prefix), or None if
    it would exceed :data:`MAX_FORM` characters (the text chunks then stand alone)."""
    body = json.dumps(text, separators=(",", ":"), ensure_ascii=True)
    form = f"{MARKER}{FORM_VERSION} {body}"
    return form if len(form) <= MAX_FORM else None


def is_form(value: str) -> bool:
    """True if ``value`` claims to be a compact form (of any version)."""
    return value.lstrip().startswith(MARKER)


def unpack(value: str) -> dict[str, str]:
    """Parse a compact form into ``{key: value}`` strings, as untrusted data.

    Raises
    ------
    MetadataError
        Not a compact form, an unknown version, too long, or not a flat JSON object of
        valid keys and scalar values.
    """
    value = value.strip()
    if len(value) > MAX_FORM:
        raise MetadataError(f"the spec2img comment exceeds {MAX_FORM} characters")
    head, _, body = value.partition(" ")
    version = head[len(MARKER) :]
    if not head.startswith(MARKER) or not version.isdigit():
        raise MetadataError(f"not a spec2img comment (it starts {value[:20]!r})")
    if int(version) != FORM_VERSION:
        raise MetadataError(
            f"the spec2img comment is form version {version[:8]}; this spec2img reads "
            f"version {FORM_VERSION}"
        )
    try:
        d = json.loads(body, object_pairs_hook=_pairs)
    except (ValueError, RecursionError) as e:
        raise MetadataError(f"the spec2img comment is not valid JSON ({_short(e)})") from None
    if not isinstance(d, dict):
        raise MetadataError("the spec2img comment is not a JSON object")
    if len(d) > MAX_KEYS:
        raise MetadataError(f"the spec2img comment has more than {MAX_KEYS} keys")
    out = {}
    for key, v in d.items():
        if not _KEY_RE.fullmatch(key):
            raise MetadataError(f"bad metadata key {key[:80]!r} in the spec2img comment")
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, int | float):
            v = repr(v)
        elif not isinstance(v, str):
            raise MetadataError(f"metadata key {key!r} in the spec2img comment is not a value")
        out[key] = v
    return out


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"key {k[:40]!r} is given twice")
        d[k] = v
    return d


def exif_forms(data: bytes) -> list[str]:
    """Compact forms found in an Exif block's ``ImageDescription`` and ``UserComment``.

    ``data`` is a TIFF structure (a PNG ``eXIf`` chunk), optionally after ``Exif\\0\\0``
    (JPEG APP1).  Anything unreadable is not ours: it yields nothing.
    """
    if not data or len(data) > MAX_EXIF:
        return []
    from PIL import Image

    found = []
    try:
        exif = Image.Exif()
        exif.load(bytes(data))
        values = [exif.get(_IMAGE_DESCRIPTION)]
        values.append(exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT))
    except Exception:  # a parser of untrusted bytes: a broken block is simply not ours
        return []
    for v in values:
        if isinstance(v, bytes):  # UserComment: an 8-byte character-code prefix
            v = v[8:].decode("latin-1") if v[:8].rstrip(b"\0") in (b"ASCII", b"") else ""
        if isinstance(v, str):
            v = v.strip("\0 ")
            if is_form(v) and len(v) <= MAX_FORM:
                found.append(v)
    return found


def raw_profile_exif(value: str) -> bytes:
    """The Exif bytes of a ``Raw profile type exif`` text (ImageMagick's and GIMP's
    hex form: a name line, a length line, then hex digits), or ``b""``."""
    lines = value.strip().split("\n", 2)
    if len(lines) < 3:
        return b""
    digits = "".join(lines[2].split())
    if len(digits) > 2 * MAX_EXIF:
        return b""
    try:
        return binascii.unhexlify(digits)
    except (binascii.Error, ValueError):
        return b""


def resolve(
    path, chunks: dict[str, str], comments: list[str], exifs: list[str]
) -> tuple[dict[str, str], str]:
    """Choose the parameters of an image from its sources; return ``(text, source)``.

    Parameters
    ----------
    chunks : dict
        The ``spec2img:*`` text chunks (prefix removed).
    comments, exifs : list of str
        Compact forms found in Comment chunks and in Exif.

    The first non-empty source of chunks, Comment, Exif is used; a compact form that
    disagrees with it, or cannot be read while another source is there, is warned
    about once.  A compact form that cannot be read and is the only source raises
    :class:`MetadataError`.
    """
    candidates: list[tuple[str, dict[str, str] | MetadataError]] = []
    if chunks:
        candidates.append(("text chunks", chunks))
    for source, forms in (("Comment", comments), ("Exif", exifs)):
        for form in forms:
            try:
                candidates.append((source, unpack(form)))
            except MetadataError as e:
                candidates.append((source, e))
    if not candidates:
        return {}, ""
    good = [(s, t) for s, t in candidates if isinstance(t, dict)]
    if not good:
        source, err = candidates[0]
        raise MetadataError(f"{path}: in its {source}: {err}")
    source, text = good[0]
    for other, t in candidates:
        if t is text:
            continue
        if isinstance(t, MetadataError):
            _warn_once(f"{path}: ignoring the spec2img form in its {other} ({t}); "
                       f"using its {source}")  # fmt: skip
        elif t != text:
            keys = sorted(k for k in set(t) | set(text) if t.get(k) != text.get(k))
            shown = ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
            _warn_once(
                f"{path}: its {other} disagrees with its {source} on {shown}; using the "
                f"{source} (order of precedence: spec2img text chunks, Comment, Exif)"
            )
    return text, source


def _warn_once(message: str) -> None:
    if message in _warned or len(_warned) > 1000:
        return
    _warned.add(message)
    warnings.warn(Spec2ImgWarning(message), stacklevel=4)


def _short(e: BaseException) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:120]
