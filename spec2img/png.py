"""16-bit grayscale PNG with spec2img metadata in text chunks.

Each metadata key is one ``tEXt`` chunk named ``spec2img:<key>`` holding a plain value
(``2048``, ``hann``, ``-87.25``, ``true``), readable with any PNG tool and parsed as
data, never evaluated.
"""

from __future__ import annotations

import os
import warnings
import zlib
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import InputError

PREFIX = "spec2img:"
#: Default cap on pixels read from one image; raise it for trusted huge images.
DEFAULT_MAX_PIXELS = 2**28


def write_png(
    path: str | os.PathLike,
    pixels: np.ndarray,
    text: dict[str, str],
    *,
    inputs=(),
    compress_level: int = 6,
) -> Path:
    """Write ``pixels`` (uint16 ``(h, w)``) as a 16-bit grayscale PNG, atomically.

    Parameters
    ----------
    path : path-like
    pixels : np.ndarray [shape=(h, w), dtype=uint16]
    text : dict of str to str
        Metadata; each key is written as a ``tEXt`` chunk ``spec2img:<key>``.
    inputs : iterable of path-like
        Files this output must never overwrite.
    """
    from PIL import Image, PngImagePlugin

    pixels = np.ascontiguousarray(pixels, dtype=np.uint16)
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(PREFIX + key, value)
    img = Image.fromarray(pixels)  # mode "I;16": 16-bit grayscale
    with atomic_path(path, inputs) as tmp:
        img.save(tmp, format="PNG", pnginfo=info, compress_level=compress_level)
    return Path(path)


def read_png(
    path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> tuple[np.ndarray, dict[str, str], str]:
    """Read an image's pixels and its spec2img text chunks.

    Returns
    -------
    pixels : np.ndarray
        uint16 ``(h, w)`` for 16-bit grayscale; otherwise as Pillow decodes it.
    text : dict of str to str
        The ``spec2img:`` chunks with the prefix removed (empty for plain images).
    mode : str
        Pillow's mode of the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if max_pixels is not None and w * h > max_pixels:
                    raise InputError(
                        f"{path}: image of {w}x{h} pixels exceeds the limit of "
                        f"{max_pixels} pixels (raise it with --max-pixels for trusted images)"
                    )
                img.load()
                mode = img.mode
                text = {
                    k[len(PREFIX) :]: v
                    for k, v in getattr(img, "text", {}).items()
                    if isinstance(k, str) and k.startswith(PREFIX)
                }
                if mode in ("I;16", "I;16B", "I;16L"):
                    pixels = np.array(img, dtype=np.uint16)
                else:
                    pixels = np.array(img)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image Pillow can read") from None
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        zlib.error,
        Image.DecompressionBombError,
    ) as e:
        raise InputError(f"{path}: broken or truncated image ({_reason(e)})") from None
    return pixels, text, mode


def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:200]
