"""Back to 16-bit gray: what editors write back into a spectrogram image.

A spec2img image is 16-bit grayscale, but editors save what suits them: 8-bit gray
(Pillow, "export as 8 bit"), gray+alpha (ImageMagick's ``-draw``, an eraser in GIMP),
RGB or RGBA with three equal channels (``-type TrueColor``, "convert to RGB").  All of
them mean one value per pixel:

- 8-bit values are spread over 0..65535 (``v * 257``: 255 stays full scale);
- alpha is composited over black, so a transparent, erased region is silence (pixel 0),
  as a black one is;
- equal red, green and blue are that value; unequal ones (a colour was painted) give
  their luminance (ITU-R BT.709 weights), with one warning.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..dsp.scale import PIXEL_MAX
from ..errors import Spec2ImgWarning

#: Luminance weights of red, green and blue (ITU-R BT.709, as sRGB defines them).
LUMA = (0.2126, 0.7152, 0.0722)
#: Pillow modes taken as they are; any other mode is converted to RGBA first.
MODES = ("I;16", "I;16B", "I;16L", "I", "L", "LA", "RGB", "RGBA",
         "RGB;16", "LA;16", "RGBA;16")  # fmt: skip


def to_gray16(pixels: np.ndarray, mode: str, *, name="image") -> np.ndarray:
    """One 16-bit value per pixel from decoded ``pixels`` of a Pillow ``mode``.

    Parameters
    ----------
    pixels : np.ndarray [shape=(h, w) or (h, w, channels)]
        uint8 samples, or uint16 for the 16-bit modes (``I;16*``, and ``RGB;16``,
        ``LA;16``, ``RGBA;16`` from :mod:`spec2img.io.pngdata`), int32 for ``I``.
    mode : str
        One of :data:`MODES`.
    name : str
        The file, named in the warning about unequal channels.

    Returns
    -------
    np.ndarray [shape=(h, w), dtype=uint16]
    """
    a = np.asarray(pixels)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    wide = mode.endswith(";16") or mode.startswith("I")
    if mode == "I":  # 32-bit integers (16-bit gray in some Pillow versions)
        a = np.clip(a, 0, PIXEL_MAX)
    if a.ndim == 2:
        values = a.astype(np.uint16) if wide else _widen(a)
        return np.ascontiguousarray(values, dtype=np.uint16)
    has_alpha = mode.startswith(("LA", "RGBA"))
    colour = a[..., :-1] if has_alpha else a
    if colour.shape[-1] == 3:
        gray = _gray_of(colour, name)
    else:
        gray = colour[..., 0]
    full = PIXEL_MAX if wide else 255
    if not wide:
        gray = _widen(gray)
    gray = np.asarray(gray, dtype=np.uint16)
    if has_alpha:
        alpha = a[..., -1]
        if np.any(alpha != full):
            # over black: v * alpha / full, rounded; fully opaque pixels stay exact
            scaled = (gray.astype(np.uint64) * alpha.astype(np.uint64) + full // 2) // full
            gray = scaled.astype(np.uint16)
    return np.ascontiguousarray(gray)


def _widen(a: np.ndarray) -> np.ndarray:
    return a.astype(np.uint16) * np.uint16(PIXEL_MAX // 255)


def _gray_of(rgb: np.ndarray, name) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.array_equal(r, g) and np.array_equal(g, b):
        return r
    differ = int(np.count_nonzero((r != g) | (g != b)))
    warnings.warn(
        Spec2ImgWarning(
            f"{name}: its red, green and blue differ in {differ} pixels "
            f"({100 * differ / r.size:.3g}%); decoding their luminance"
        ),
        stacklevel=3,
    )
    luma = LUMA[0] * r.astype(np.float32) + LUMA[1] * g + LUMA[2] * b
    top = np.iinfo(rgb.dtype).max
    return np.clip(np.rint(luma), 0, top).astype(rgb.dtype)
