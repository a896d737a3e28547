"""sox's ``spectrogram`` effect: what its PNGs look like, learned from its source and docs.

``sox in.wav -n spectrogram -o out.png`` writes an 8-bit *palette* PNG (no text chunks):

palette
    four fixed entries (background, text, labels, grid: black, white, light and middle
    gray; ``-l`` light background: beige or gray, black, dark gray, dark gray), then
    ``-q`` + 2 = 251 colours (``-m`` gray, ``-h`` high colour, ``-l`` reversed).  Pixel
    index ``4 + c`` shows level ``c``: ``c = 0`` below the range, ``c = 250`` at or
    above 0 dBFS, else ``c = 1 + floor((1 + x / z) * 249)`` for ``x`` dB in
    ``[-z, 0)`` (``-z`` range, default 120; ``-Z`` shifts the top, default 0 dBFS).
level
    ``10 log10`` of the power of a Hann-windowed DFT whose window is scaled to sum to
    2, so a full-scale sine reads 0 dBFS: the image carries absolute levels.
framing
    DFT size ``2 (y - 1)`` for ``-y y``, else the smallest power of two above
    ``550 / channels - 2`` (1024 for mono); rows are the bins, DC at the bottom.
    Windows step by half the DFT size, shortened so that a whole number of steps make
    one column of ``sample_rate / pixels_per_second`` samples (``-x`` width, default
    800, over the audio's duration; or ``-X``); a column is the mean power of its steps.
layout
    the spectrogram at 58 px from the left and 48 px from the bottom, one grid line
    around it, a 14-px dB scale 37 px right of it with labels, 35 px of margin on the
    right, 30 px on top (50 with a ``-t`` title); ``-r`` writes the spectrogram alone.

Nothing here runs sox; the facts above were measured against sox 14.4.2's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Layout of a sox spectrogram with axes, in pixels.
LEFT, BELOW, BETWEEN, BAR_WIDTH, RIGHT, TOP = 58, 48, 37, 14, 35, 30
TITLE_HEIGHT = 20
#: The four fixed palette entries of dark and light backgrounds.
FIXED_DARK = ((0, 0, 0), (255, 255, 255), (191, 191, 191), (127, 127, 127))
FIXED_LIGHT = ((221, 216, 208), (0, 0, 0), (63, 63, 63), (63, 63, 63))
FIXED_LIGHT_MONO = ((223, 223, 223), (0, 0, 0), (63, 63, 63), (63, 63, 63))
#: sox's -z bounds.
Z_RANGE = (20, 180)
_FONT_Y = 12


@dataclass(frozen=True)
class SoxPalette:
    """A palette that sox wrote.

    Attributes
    ----------
    light : bool
        ``-l``: light background.
    variant : str
        ``"default"``, ``"-m"``, ``"-h"``, ``"-m -h"`` with ``" -l"`` appended when
        light, or ``"custom"`` (``-p`` or ``-A``).
    lut : np.ndarray [shape=(points, 3)]
        Colour of each level ``c``, in 0..255.
    """

    light: bool
    variant: str
    lut: np.ndarray

    @property
    def points(self) -> int:
        return len(self.lut)


def palette_colours(points: int, *, monochrome=False, high_colour=False, light=False):
    """sox's colours for levels ``0..points-1`` (permutation 1), from its documented curves."""
    x = np.arange(points) / (points - 1)
    if monochrome:
        c = np.stack([x, x, x], axis=1)
        if high_colour:
            ramp = np.where(x < 0.4, 0.0, 5 / 3 * (x - 0.4))
            c[:, 1] = ramp
            c[:, 2] = ramp
    elif high_colour:
        # seven phases; in each a channel is 0, 1, rising or falling
        states = ((4, 5, 0, 0, 2, 1, 1), (0, 0, 2, 1, 1, 3, 2), (4, 1, 1, 3, 0, 0, 2))
        phase = np.minimum(np.floor(7 * x), 6).astype(int)
        f = 7 * x - phase
        shapes = (0 * f, 0 * f + 1, np.sin(f * np.pi / 2), np.cos(f * np.pi / 2), f, 1 - f)
        c = np.stack(
            [np.choose(np.take(np.array(s), phase), shapes) for s in states], axis=1
        )  # fmt: skip
    else:
        r = np.where(x < 0.13, 0, np.where(x < 0.73, np.sin((x - 0.13) / 0.6 * np.pi / 2), 1))
        g = np.where(x < 0.6, 0, np.where(x < 0.91, np.sin((x - 0.6) / 0.31 * np.pi / 2), 1))
        b = np.where(
            x < 0.6, 0.5 * np.sin(x / 0.6 * np.pi), np.where(x < 0.78, 0, (x - 0.78) / 0.22)
        )  # fmt: skip
        c = np.stack([r, g, b], axis=1)
    rgb = np.floor(0.5 + 255 * c)
    return rgb[::-1] if light else rgb


def identify_palette(palette: bytes | None) -> SoxPalette | None:
    """The sox palette a PNG's ``PLTE`` chunk holds, or ``None`` if it is not sox's."""
    if palette is None or len(palette) % 3 or not 6 * 3 <= len(palette) <= 255 * 3:
        return None
    pal = np.frombuffer(palette, np.uint8).reshape(-1, 3).astype(np.float64)
    fixed = tuple(tuple(int(v) for v in row) for row in pal[:4])
    if fixed == FIXED_DARK:
        light = False
    elif fixed in (FIXED_LIGHT, FIXED_LIGHT_MONO):
        light = True
    else:
        return None
    lut = pal[4:]
    n = len(lut)
    for mono in (False, True):
        if light and (fixed == FIXED_LIGHT_MONO) != mono:
            continue
        for high in (False, True):
            if np.abs(palette_colours(n, monochrome=mono, high_colour=high, light=light)
                      - lut).max() <= 1:  # fmt: skip
                name = " ".join(f for f, on in (("-m", mono), ("-h", high), ("-l", light)) if on)
                return SoxPalette(light, name or "default", lut)
    # -p permutes the channels and -A uses a fixed table: still sox if the levels run
    # smoothly from one end to the other
    steps = np.abs(np.diff(lut, axis=0)).sum(axis=1)
    if n >= 16 and steps.max() <= 48:
        return SoxPalette(light, "custom" + (" -l" if light else ""), lut)
    return None


@dataclass(frozen=True)
class SoxLayout:
    """Where the parts of a sox spectrogram are, in top-down pixel coordinates.

    Attributes
    ----------
    data : (left, top, right, bottom)
        The spectrogram (all channels, with the separating grid lines), exclusive ends.
    raw : bool
        ``-r``: the image is the spectrogram alone.
    channels : int
    rows : int
        Rows per channel (DFT size / 2 + 1).
    bar : (left, top, right, bottom) or None
        The dB scale.
    title : bool
    """

    data: tuple[int, int, int, int]
    raw: bool
    channels: int
    rows: int
    bar: tuple[int, int, int, int] | None
    title: bool

    @property
    def n_fft(self) -> int:
        return 2 * (self.rows - 1)

    @property
    def columns(self) -> int:
        return self.data[2] - self.data[0]


def _channels(c_rows: int, n_fft: int | None) -> tuple[int, int] | None:
    """(channels, rows) for ``c_rows`` rows of stacked channels (one grid row apart)."""
    options = []
    for ch in (1, 2):
        rows, extra = divmod(c_rows - (ch - 1), ch)
        if extra or rows < 3:
            continue
        if n_fft is not None:
            if rows == n_fft // 2 + 1:
                return ch, rows
            continue
        options.append((ch, rows, (rows - 1) & (rows - 2) == 0))  # sox's own sizes: 2^k + 1
    for ch, rows, p2 in options:
        if p2:
            return ch, rows
    return (options[0][0], options[0][1]) if options else None


def _is_grid_line(px: np.ndarray, *, lossy: bool) -> bool:
    """Whether a row of pixels is sox's gray grid line (of a dark or light figure).

    Exact colours within 8 levels in a palette PNG; through JPEG, whose chroma bleeds
    from the spectrogram beside it, most pixels' brightness near the gray's.
    """
    for fixed in (FIXED_DARK, FIXED_LIGHT):
        if np.abs(px - np.array(fixed[3])).max() <= 8:
            return True
        if lossy:
            err = np.abs(px.mean(axis=-1) - np.mean(fixed[3]))
            if np.median(err) <= 24 and np.quantile(err, 0.9) <= 40:
                return True
    return False


def layout(
    width: int, height: int, rgba_row, *, n_fft: int | None = None, lossy: bool = False
) -> SoxLayout | None:
    """The layout of a sox spectrogram of ``width`` x ``height`` pixels.

    Parameters
    ----------
    rgba_row : callable(y, x0, x1) -> np.ndarray [shape=(x1 - x0, 4), dtype=uint8]
        Pixels of one row (to tell a title, a raw image and the channels apart).
    n_fft : int or None
        The DFT size if the user knows it (``-y``), to tell mono from stereo.
    lossy : bool
        The colours may be off (a JPEG or a re-saved copy): the grid line is judged by
        most of its pixels, not all.
    """
    cols = width - (LEFT + BETWEEN + BAR_WIDTH + RIGHT)
    if cols >= 8:
        grid = None
        for title in (False, True):
            c_rows = height - BELOW - TOP - TITLE_HEIGHT * title
            top = height - BELOW - c_rows
            if c_rows < 3:
                continue
            line = rgba_row(top - 1, LEFT - 1, LEFT + cols + 1)[:, :3].astype(int)
            below = rgba_row(height - BELOW, LEFT - 1, LEFT + cols + 1)[:, :3].astype(int)
            if _is_grid_line(line, lossy=lossy) and _is_grid_line(below, lossy=lossy):
                grid = (title, c_rows, top)  # the same gray line above and below
                break
        if grid is not None:
            title, c_rows, top = grid
            shape = _channels(c_rows, n_fft)
            if shape is not None:
                ch, rows = shape
                k = min(400, c_rows)
                base = BELOW + (c_rows - k) // 2  # bottom-up row of the scale's bottom
                bar = (width - RIGHT - BAR_WIDTH, height - base - k, width - RIGHT, height - base)
                data = (LEFT, top, LEFT + cols, top + c_rows)
                return SoxLayout(data, False, ch, rows, bar, title)
    shape = _channels(height, n_fft)
    if shape is None:
        return None
    return SoxLayout((0, 0, width, height), True, shape[0], shape[1], None, False)


def label_tops(ink: np.ndarray) -> np.ndarray:
    """Top rows of the text lines in ``ink`` (rows x columns of booleans)."""
    rows = ink.any(axis=1)
    starts = np.flatnonzero(rows & ~np.concatenate([[False], rows[:-1]]))
    return starts


def z_from_labels(tops: np.ndarray, k: int) -> int | None:
    """sox's ``-z`` from the top rows of the dB-scale labels (top-down pixel rows).

    sox labels the scale every ``10 ceil(z (12 + 2) / (10 (k - 1)))`` dB from ``-z``
    up, at ``i / z (k - 1)`` pixels above its bottom: the spacing and count of the
    labels give ``z``.  ``None`` if no ``z`` in 20..180 fits within a pixel.
    """
    tops = np.sort(np.asarray(tops, dtype=np.float64))
    if len(tops) < 2:
        return None
    measured = tops[-1] - tops  # distance above the lowest label
    best, best_err = None, 1.0
    for z in range(Z_RANGE[0], Z_RANGE[1] + 1):
        step = 10 * math.ceil(z / 10 * (_FONT_Y + 2) / (k - 1))
        ys = np.floor(np.arange(0, z + 1, step) / z * (k - 1) + 0.5)
        if len(ys) != len(tops):
            continue
        err = float(np.abs(np.sort(ys - ys[0]) - np.sort(measured)).max())
        if err < best_err:
            best, best_err = z, err
    return best


def framing(sample_rate: int, n_fft: int, columns: int, duration: float) -> tuple[int, int]:
    """sox's ``(step, steps_per_column)`` for ``columns`` columns over ``duration`` s."""
    pps = min(5000.0, columns / duration)
    return block_framing(int(sample_rate / pps), n_fft)


def block_framing(block: int, n_fft: int) -> tuple[int, int]:
    """sox's ``(step, steps_per_column)`` for ``block`` samples a column (as its time
    axis shows them)."""
    step = n_fft // 2
    step = int(block / math.ceil(block / step) + 0.5) if block >= 1 else 1
    steps = max(1, math.floor(block / step + 0.5))
    return max(step, 1), steps


#: The palette variants sox draws by itself (``-p`` permutations are not among them).
VARIANTS = tuple(
    (mono, high, light)
    for light in (False, True)
    for mono in (False, True)
    for high in (False, True)
)
#: Mean distance (8-bit RGB) within which a scale's colours are taken for a variant's.
FIT_DISTANCE = 10.0


def fit_palette(scale: np.ndarray, *, light: bool, points: int = 251) -> SoxPalette | None:
    """The sox palette whose curve the dB scale's colours lie on (a copy whose colours
    are off: a JPEG, a screenshot), with sox's exact colours, or ``None``.

    Parameters
    ----------
    scale : np.ndarray [shape=(rows, 3)]
        The scale's colours, bottom (``-z``) to top.
    light : bool
        ``-l``: the figure's background is light.
    points : int
        Levels of the palette (``-q`` + 2: 251 by default).
    """
    from scipy.spatial import cKDTree

    scale = np.asarray(scale, np.float64)
    if len(scale) < 16:
        return None
    best = None
    for mono, high, lit in VARIANTS:
        if lit != light:
            continue
        lut = palette_colours(points, monochrome=mono, high_colour=high, light=lit)
        # a dense copy of the curve: the scale's rows fall between its levels
        dense = np.concatenate([lut[:-1, None] + (lut[1:] - lut[:-1])[:, None]
                                * np.linspace(0, 1, 8, endpoint=False)[None, :, None]
                                ]).reshape(-1, 3)  # fmt: skip
        d, k = cKDTree(dense).query(scale)
        order = np.diff(k.astype(float))
        # the scale runs along the curve, bottom to top, in one direction
        if np.mean(d) <= FIT_DISTANCE and np.mean(order >= 0) >= 0.9:
            if best is None or np.mean(d) < best[0]:
                name = " ".join(f for f, on in (("-m", mono), ("-h", high), ("-l", lit)) if on)
                best = (float(np.mean(d)), SoxPalette(lit, name or "default", lut))
    return None if best is None else best[1]


def looks_like_sox(raster) -> SoxLayout | None:
    """The layout of an image that shows a sox spectrogram with axes without its palette
    (converted to RGB, a JPEG, a screenshot at 1:1): the grid box at sox's place on all
    four sides, its background in the corner, a colour scale at its place.  ``None``
    otherwise; only a few rows and columns are read."""
    w, h = raster.size
    if w * h > 16_000_000 or w < LEFT + BETWEEN + BAR_WIDTH + RIGHT + 8 or h < BELOW + TOP + 8:
        return None

    def row(y, x0, x1):
        return raster.rgba((x0, y, x1, y + 1))[0]

    lay = layout(w, h, row, lossy=True)
    if lay is None or lay.raw or lay.bar is None:
        return None
    left, top, right, bottom = lay.data
    corner = raster.rgba((0, 0, 4, 4))[..., :3].reshape(-1, 3).astype(int)
    light = bool(np.median(corner) > 128)
    bg = np.array((FIXED_LIGHT if light else FIXED_DARK)[0])
    if np.abs(np.median(corner, axis=0) - bg).max() > 16:
        return None
    for x in (left - 1, right):
        col = raster.rgba((x, top, x + 1, bottom))[:, 0, :3].astype(int)
        if not _is_grid_line(col, lossy=True):
            return None
    bar = raster.rgba(lay.bar)[..., :3].astype(np.float64)
    scale = np.median(bar[:, 2:-2], axis=1)[::-1]
    if fit_palette(scale, light=light) is not None:
        return lay
    steps = np.abs(np.diff(scale, axis=0)).sum(axis=1)  # another palette (-p): smooth
    if np.ptp(scale, axis=0).max() >= 128 and np.quantile(steps, 0.95) <= 24:
        return lay
    return None


def leading_zeros(n_fft: int, step: int) -> int:
    """Zeros before the first sample in sox's first window: ``ceil((n_fft - step) / 2)``
    (C's ``(step - n_fft) / 2`` rounds toward zero: 292, not 291, for a step of 441;
    with it every cell of a figure matches its computation with the periodic window)."""
    return n_fft - step - (n_fft - step) // 2


def tail_columns(n_fft: int, block: int) -> int:
    """How many of the last columns are read for a recording's end: a window's length
    (where the end can show) and half as many before it (the level to fade from)."""
    return int(math.ceil(1.5 * n_fft / max(block, 1))) + 4


def end_from_tail(
    power: np.ndarray, *, first: int, step: int, steps: int, n_fft: int, lo: int, hi: int
) -> tuple[int, str]:
    """Where the recording ends, in samples, from how its last columns fade.

    sox pads the end with zeros and shortens the windows that reach past the end to the
    ``n`` samples before it (a Hann window of ``n`` points, its gain scaled by
    ``(n / n_fft)^2``), so such a window holds ``(n / n_fft)^3`` of the power a full
    one would (Parseval, for a steady sound).  The end in
    ``[lo, hi)`` (what the time axis allows) whose faded power best matches the
    columns' (in dB, the level before the fade fitted) is taken; when no window drawn
    reaches past ``lo`` or the columns are near silence, the middle of what is left.

    Parameters
    ----------
    power : np.ndarray [shape=(columns,)]
        Total power of each of the last columns (linear, any reference; 0: silent).
    first : int
        Index of ``power[0]`` among all the columns.
    step, steps : int
        sox's window step and windows per column (:func:`framing`).
    """
    zeros = leading_zeros(n_fft, step)
    cols = first + np.arange(len(power))
    starts = (cols[:, None] * steps + np.arange(steps)[None, :]) * step - zeros
    last_end = int(starts.max()) + n_fft
    seen_hi = min(hi, last_end)
    ok = power > 0
    if seen_hi <= lo or ok.sum() < 3:
        return (max(lo, min(last_end, hi)) + hi) // 2, "no fade drawn: the middle"
    db = 10 * np.log10(np.where(ok, power, 1.0))
    floor = float(db[ok].min()) if (~ok).any() else -np.inf  # sox's floor, if reached
    top = float(np.max(db[ok]))
    if top - float(np.median(db[ok])) > 40:  # mostly silence already: nothing to fit
        return (lo + hi) // 2, "the end is silent: the middle"
    candidates = np.unique(np.linspace(lo, seen_hi, min(seen_hi - lo + 1, 1200)).astype(int))
    best, best_cost = None, np.inf
    for end in candidates:
        f = (np.clip(end - starts, 0, n_fft) / n_fft).astype(np.float64) ** 3
        f = f.mean(axis=1)
        full = f > 0.5
        if not full.any():
            continue
        pred = 10 * np.log10(np.maximum(f, 1e-30))
        fit = full & ok
        if not fit.any():
            continue
        if fit.sum() >= 4:  # the level before the fade, and its trend (a swelling sound)
            slope, level = np.polyfit(cols[fit], (db - pred)[fit], 1)
            pred = pred + level + slope * cols
        else:
            pred = pred + float(np.median((db - pred)[fit]))
        # a silent column must be predicted near or below the quietest drawn one
        miss = np.where(ok, np.abs(db - np.maximum(pred, floor)), np.maximum(0.0, pred - floor))
        cost = float(np.sum(np.minimum(miss, 20.0)))
        if cost < best_cost:
            best, best_cost = int(end), cost
    if best is None:
        return (lo + hi) // 2, "no fade fits: the middle"
    # a fade of under half a dB in the last column cannot be told from none: the end
    # lies at or after ``best``, maybe past the last window
    if best >= seen_hi - 0.035 * n_fft and seen_hi < hi:
        return (best + hi) // 2, "no fade in the last columns: the middle of what is left"
    return best, "fitted to the fade of the last columns"
