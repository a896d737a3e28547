"""Reading any raster image in bounded memory, and finding the plot area in it.

:class:`Raster` opens an image of any Pillow mode (L, I;16, RGB, RGBA, P, LA, CMYK
JPEG, ...) without Pillow's decompression-bomb limit (the user chose the file; our own
``max_pixels`` applies if given), lets libjpeg decode a huge JPEG at 1/2, 1/4 or 1/8
scale when the plot's cells are large enough, and hands out rows in strips so that no
full-size float copy is ever made.

:func:`find_plot_area` trims a uniform border (the colour the corners share: white,
transparent, ...) when it surrounds the plot on all four sides, as a figure's margin
does (a dark band on one side is more likely silence), and, inside it, finds the axes
frame of a ``bbox_inches='tight'`` plot: the dark rectangle with room for tick labels on
its left and mostly background outside, with tick marks giving the line width.  The
plot area is then the rectangle through the middle of the frame lines, which is where
matplotlib puts the axes edges.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError
from ..io.png import no_bomb_limit

#: Pixels per strip when streaming an image.
STRIP_PIXELS = 1 << 22
#: Largest decoded size, in bytes, before a JPEG is decoded at reduced scale.
DRAFT_BUDGET = 1 << 28
#: Regions up to this many pixels are searched for an axes frame.
FRAME_SEARCH_PIXELS = 40_000_000
_BG_TOLERANCE = 40
_DARK = 96
_FAINT = 140  # a frame line under 0.6 pixel wide, over white
_MAX_TICK = 40  # pixels a tick mark may extend the frame's left line
_GRAY_MODES = {"L": 255.0, "I;16": 65535.0, "I;16B": 65535.0, "I;16L": 65535.0, "I": 65535.0}


@dataclass(frozen=True)
class PlotArea:
    """Where the data are: a rectangle in continuous pixel coordinates, and masks.

    ``left``/``right`` are x coordinates, ``top``/``bottom`` y coordinates (``top <
    bottom``); pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``.  ``masked`` lists pixel
    boxes ``(l, t, r, b)`` (exclusive ends) whose pixels are frame lines, not data.
    """

    left: float
    top: float
    right: float
    bottom: float
    masked: tuple[tuple[int, int, int, int], ...] = ()
    how: str = "whole image"


class Raster:
    """An opened image, read strip by strip.

    Parameters
    ----------
    path : path-like
    max_pixels : int or None
        Refuse images with more pixels than this; ``None``: no limit.
    """

    def __init__(self, path: str | os.PathLike, *, max_pixels: int | None = None) -> None:
        from PIL import Image, UnidentifiedImageError

        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder, not an image")
        try:
            with no_bomb_limit():
                self.img = Image.open(self.path)
        except UnidentifiedImageError:
            raise InputError(f"{self.path}: not an image Pillow can read") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise InputError(f"{self.path}: broken or truncated image ({_reason(e)})") from None
        w, h = self.img.size
        if max_pixels is not None and w * h > max_pixels:
            self.close()
            raise InputError(
                f"{self.path}: image of {w}x{h} pixels exceeds the limit of {max_pixels} pixels"
            )
        self.full_size = (w, h)
        self.scale = 1  # original pixels per decoded pixel
        self._loaded = False
        self.ink = None  # an ink.Ink: how rgba() shows text and lines (None: as they are)

    # -- opening -------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the decoded (possibly reduced) image."""
        return self.img.size

    @property
    def exif(self):
        return self.img.getexif()

    def draft(self, max_scale: int, *, gray: bool) -> None:
        """Let libjpeg decode at ``1/s`` scale, ``s`` in 1, 2, 4, 8 and ``s <= max_scale``.

        The scale is the smallest that keeps the decoded image within
        :data:`DRAFT_BUDGET` bytes, and never more than ``max_scale`` unless the budget
        demands it.  Only JPEG files support this; others are decoded at full size.
        """
        if self.img.format != "JPEG" or self._loaded:
            return
        w, h = self.full_size
        channels = 1 if gray else 3
        s = 1
        while s < 8 and (2 * s <= max_scale or w * h * channels / (s * s) > DRAFT_BUDGET):
            s *= 2
        mode = "L" if gray and self.img.mode in ("L", "RGB") else None
        if s > 1 or mode:
            result = self.img.draft(mode, (-(-w // s), -(-h // s)))
            if result is not None:
                self.scale = w / self.img.size[0]

    def load(self) -> None:
        try:
            with no_bomb_limit():
                self.img.load()
        except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as e:
            raise InputError(f"{self.path}: broken or truncated image ({_reason(e)})") from None
        except MemoryError:
            raise InputError(f"{self.path}: image too large to decode in memory") from None
        self._loaded = True

    def close(self) -> None:
        self.img.close()

    def __enter__(self) -> Raster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- pixels --------------------------------------------------------------------------
    @property
    def is_single_channel(self) -> bool:
        return self.img.mode in _GRAY_MODES or self.img.mode in ("1", "LA", "La", "F")

    def strips(self, box: tuple[int, int, int, int]):
        """Yield ``(row0, pixels)`` covering ``box`` (left, top, right, bottom) in strips."""
        left, top, right, bottom = box
        rows = max(1, STRIP_PIXELS // max(1, right - left))
        for r in range(top, bottom, rows):
            yield r, self.region((left, r, right, min(bottom, r + rows)))

    def region(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """Pixels of ``box``: ``(h, w)`` for single-channel modes, ``(h, w, 4)`` RGBA uint8
        otherwise (alpha 255 where the image has none)."""
        if not self._loaded:
            self.load()
        part = self.img.crop(box)
        mode = part.mode
        if mode in _GRAY_MODES or mode == "F":
            return np.asarray(part)
        if mode in ("1",):
            return np.asarray(part.convert("L"))
        if mode in ("LA", "La"):
            a = np.asarray(part.convert("LA"))
            return np.dstack([a[..., 0]] * 3 + [a[..., 1]])
        return np.asarray(part.convert("RGBA"))

    def gray_max(self, values: np.ndarray) -> float:
        """Full-scale value of a single-channel image's pixels."""
        mode = self.img.mode
        if mode in _GRAY_MODES:
            return _GRAY_MODES[mode]
        if mode == "F":
            return 1.0
        return 255.0

    def rgba(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """Pixels of ``box`` as ``(h, w, 4)`` uint8 RGBA (for trimming and frames),
        seen through :attr:`ink` when it is set."""
        px = self.as_rgba(self.region(box))
        return px if self.ink is None else self.ink.view(px)

    def as_rgba(self, px: np.ndarray) -> np.ndarray:
        """A :meth:`region` result as ``(h, w, 4)`` uint8 RGBA."""
        if px.ndim == 3:
            return px
        g = px.astype(np.float32) * np.float32(255.0 / self.gray_max(px))
        g = np.clip(np.rint(g), 0, 255).astype(np.uint8)
        return np.dstack([g, g, g, np.full_like(g, 255)])


def find_plot_area(raster: Raster, *, crop=None, trim: bool = True, ink=None) -> PlotArea:
    """The rectangle of the image that holds the spectrogram; the frame is searched
    through ``ink`` (an :class:`~spec2img.wild.ink.Ink`; ``None``: decided here from
    the page's margins), so a white frame on a dark page is found like a black one."""
    from .ink import ring_ink

    if ink is None and crop is None:
        w, h = raster.size
        edges = ((0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h))
        ring = [raster.as_rgba(raster.region(b)).reshape(-1, 4) for b in edges]
        ink = ring_ink(np.concatenate(ring))
    previous, raster.ink = raster.ink, ink
    try:
        return _find_plot_area(raster, crop=crop, trim=trim)
    finally:
        raster.ink = previous


def _find_plot_area(raster: Raster, *, crop=None, trim: bool = True) -> PlotArea:
    """The rectangle of the image that holds the spectrogram.

    Parameters
    ----------
    raster : Raster
    crop : (l, t, r, b) or None
        The plot area given by hand, in pixels of the original image (Pillow's crop
        box: right and bottom exclusive).  Disables the automatic search.
    trim : bool
        Trim uniform borders and look for an axes frame.
    """
    w, h = raster.size
    s = raster.scale
    if crop is not None:
        left, top, right, bottom = (float(v) / s for v in crop)
        fw, fh = raster.full_size
        if not (0 <= left < right <= w + 1e-9 and 0 <= top < bottom <= h + 1e-9):
            raise ParameterError(
                f"crop box {','.join(f'{v:g}' for v in crop)} must satisfy "
                f"0 <= left < right <= {fw} and 0 <= top < bottom <= {fh}"
            )
        return PlotArea(left, top, right, bottom, how="--crop")
    if not trim:
        return PlotArea(0.0, 0.0, float(w), float(h))
    box = _trim_uniform(raster)
    how = "whole image" if box == (0, 0, w, h) else "trimmed border"
    l0, t0, r0, b0 = box
    if (r0 - l0) * (b0 - t0) <= FRAME_SEARCH_PIXELS:
        frame = _spectrogram_frame(raster.rgba(box))
        if frame is not None:
            left, top, right, bottom, lw = frame
            x0, y0, x1, y1 = l0 + left, t0 + top, l0 + right, t0 + bottom
            pad = lw + 1  # the line and a pixel of anti-aliasing or JPEG ringing
            masked = (
                (x0, y0, x0 + pad, y1 + 1), (x1 + 1 - pad, y0, x1 + 1, y1 + 1),
                (x0, y0, x1 + 1, y0 + pad), (x0, y1 + 1 - pad, x1 + 1, y1 + 1),
            )  # fmt: skip
            return PlotArea(
                x0 + lw / 2, y0 + lw / 2, x1 + 1 - lw / 2, y1 + 1 - lw / 2,
                masked=masked, how="axes frame",
            )  # fmt: skip
    return PlotArea(float(l0), float(t0), float(r0), float(b0), how=how)


def _trim_uniform(raster: Raster) -> tuple[int, int, int, int]:
    """Bounding box of the pixels that differ from the colour the corners share."""
    w, h = raster.size
    corners = [raster.rgba((x, y, x + 1, y + 1))[0, 0].astype(int)
               for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]  # fmt: skip
    bg = None
    for c in corners:
        if sum(_same_colour(c, d) for d in corners) >= 3:
            bg = c
            break
    if bg is None:
        return (0, 0, w, h)
    rows = np.zeros(h, bool)
    cols = np.zeros(w, bool)
    for r, px in raster.strips((0, 0, w, h)):
        fg = _differs(px, bg, raster.gray_max(px))
        rows[r : r + px.shape[0]] = fg.any(axis=1)
        cols |= fg.any(axis=0)
    if not rows.any():  # one colour throughout (a silent plot, say): all of it is data
        return (0, 0, w, h)
    r = np.flatnonzero(rows)
    c = np.flatnonzero(cols)
    box = (int(c[0]), int(r[0]), int(c[-1]) + 1, int(r[-1]) + 1)
    # A figure's margin surrounds the plot on all four sides; a border on fewer sides is
    # more likely silence drawn in the colormap's darkest colour (a quiet start, an empty
    # top band), which is data.  Transparent borders are never data.
    if bg[3] >= 16 and not (box[0] > 0 and box[1] > 0 and box[2] < w and box[3] < h):
        return (0, 0, w, h)
    return box


def _same_colour(a: np.ndarray, b: np.ndarray) -> bool:
    if a[3] < 16 and b[3] < 16:
        return True
    return bool(np.all(np.abs(a - b) <= _BG_TOLERANCE))


def _differs(px: np.ndarray, bg: np.ndarray, gray_max: float) -> np.ndarray:
    """Pixels of a :meth:`Raster.region` that are not the background colour ``bg``."""
    if px.ndim == 2:  # single channel: compare with the background's gray, scaled
        scale = gray_max / 255.0
        lo, hi = (float(bg[0]) - _BG_TOLERANCE) * scale, (float(bg[0]) + _BG_TOLERANCE) * scale
        return (px < lo) | (px > hi)
    alpha = px[..., 3]
    if bg[3] < 16:
        return alpha >= 16
    fg = alpha < 16
    for k in range(3):
        fg |= np.abs(px[..., k].astype(np.int16) - int(bg[k])) > _BG_TOLERANCE
    return fg


def _longest_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``mask`` (h, w): length and end row of the longest run of True."""
    h, w = mask.shape
    run = np.zeros(w, np.int64)
    best = np.zeros(w, np.int64)
    end = np.zeros(w, np.int64)
    for i in range(h):
        run = np.where(mask[i], run + 1, 0)
        longer = run > best
        best = np.where(longer, run, best)
        end = np.where(longer, i, end)
    return best, end


#: Panels of a figure searched for the one that holds a picture.
MAX_PANELS = 4


def _spectrogram_frame(rgba: np.ndarray):
    """:func:`_find_frame` of the panel that holds a picture: a figure of stacked
    panels (librosa's documentation draws the waveform above the spectrogram) has
    one frame per panel, and a panel whose inside is mostly blank (a waveform, a
    line plot) is passed over for the next one."""
    rgba = rgba.copy()
    first = None
    for _ in range(MAX_PANELS):
        frame = _find_frame(rgba)
        if frame is None:
            return first
        left, top, right, bottom, lw = frame
        inside = rgba[top + lw + 1 : bottom - lw, left + lw + 1 : right - lw]
        if first is None:
            first = frame
        if inside.size == 0 or _blank(inside) < 0.5:
            return frame
        rgba[top : bottom + 1, left : right + 1] = 255  # look past this panel
    return first


def _blank(rgba: np.ndarray) -> float:
    """The fraction of pixels of the most common colour (a plot's background)."""
    px = rgba[::2, ::2, :3].reshape(-1, 3).astype(np.int32)
    keys = (px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2]
    return float(np.bincount(np.unique(keys, return_inverse=True)[1]).max() / len(keys))


def _find_frame(rgba: np.ndarray):
    """Outer edges ``(left, top, right, bottom)`` (inclusive) and line width of an axes
    frame in ``rgba``, or ``None`` if there is no convincing one.  Below about 60
    dpi matplotlib's 0.8-pt frame is under 0.6 pixel wide and, over white, drawn
    as a gray of 110-130: where no frame of dark lines is found, one of such gray
    lines is looked for."""
    h, w = rgba.shape[:2]
    if h < 8 or w < 8:
        return None
    for dark_level in (_DARK, _FAINT):
        found = _frame_of(rgba, dark_level)
        if found is not None:
            return found
    return None


def _frame_of(rgba: np.ndarray, dark_level: int):
    h, w = rgba.shape[:2]
    dark = (rgba[..., :3].max(axis=-1) <= dark_level) & (rgba[..., 3] >= 128)
    run, end = _longest_runs(dark)
    cand = np.flatnonzero(run >= 0.3 * h)
    for c in cand[:3]:  # the left line is among the first long dark columns
        r0, r1 = int(end[c] - run[c] + 1), int(end[c])
        # tick labels sit left of and below a frame: a "frame" touching the left edge
        # is more likely silence at the start of a dark-colormap plot
        if c == 0 or dark[r0 : r1 + 1, c - 1].mean() > 0.5:
            continue
        # the left line's run may go on into a tick mark beyond the top or bottom line
        # (a tick at time 0 sits on the left edge): step back to the horizontal lines
        for _ in range(_MAX_TICK):
            if r0 >= r1 or _dark_from(dark[r0], c) >= 0.3 * w:
                break
            r0 += 1
        for _ in range(_MAX_TICK):
            if r1 <= r0 or _dark_from(dark[r1], c) >= 0.3 * w:
                break
            r1 -= 1
        span = slice(r0, r1 + 1)
        c1 = c + _dark_from(dark[r0], c) - 1
        if c1 - c < 0.3 * w or c1 - c < 8:
            continue
        ok = (
            r1 + 1 < h
            and dark[span, c1].mean() >= 0.9
            and dark[r1, c : c1 + 1].mean() >= 0.9
            and (c1 + 1 >= w or dark[span, c1 + 1].mean() <= 0.5)
            and (r0 == 0 or dark[r0 - 1, c : c1 + 1].mean() <= 0.5)
            and dark[r1 + 1, c : c1 + 1].mean() <= 0.5
        )
        if ok:
            return int(c), r0, int(c1), r1, _line_width(dark, c, r0, r1)
    return None


def _dark_from(row: np.ndarray, c: int) -> int:
    """Length of the run of dark pixels in ``row`` starting at column ``c``."""
    rest = row[c:]
    return len(rest) if rest.all() else int(np.argmin(rest))


def _line_width(dark: np.ndarray, c: int, r0: int, r1: int) -> int:
    """Thickness of the frame lines, read from the tick marks left of the left line."""
    lengths = []
    for col in (c - 2, c - 3):
        if col < 0:
            continue
        m = np.concatenate([[False], dark[r0 + 2 : r1 - 1, col], [False]])
        d = np.diff(m.astype(np.int8))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        lengths += list(ends - starts)
    if not lengths:
        return 1
    return int(np.clip(np.median(lengths), 1, 6))


def _reason(e: BaseException) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return msg[:200]
