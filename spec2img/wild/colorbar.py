"""A figure's colour bar: its colours (an unknown colormap) and its tick labels (the dB).

:func:`read_colour_bar` looks right of the plot area for a vertical strip that is
uniform across and changes along its length (``fig.colorbar()``, sox's dB scale),
reads its colour sequence bottom to top, finds the tick marks on its right side and
reads the numbers beside them: each label is cut into glyphs, and every glyph is
matched against the same characters rendered by matplotlib in its default font at the
label's size.  Labels are believed only if their values lie on a straight line
through the tick positions (within half a pixel); the line then gives the dB at every
row of the bar.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError, ParameterError
from .raster import FRAME_SEARCH_PIXELS, Raster, find_plot_area

#: Characters of tick labels: digits, signs (hyphen and the minus sign), a point, "dB".
GLYPHS = "0123456789\u2212+.dB"
_INK = 128  # luminance below which a pixel is text or a line
_BG_TOLERANCE = 40


@dataclass(frozen=True)
class ColourBar:
    """What a colour bar says.

    Attributes
    ----------
    box : (int, int, int, int)
        Its inside (left, top, right, bottom), pixels, exclusive ends.
    lut : np.ndarray [shape=(rows, 3)]
        Colour of each row inside, bottom row first.
    labels : tuple of float
        Tick label values read (empty if none could be read).
    db_range : (float, float) or None
        Values at the bar's bottom and top edges (the colormap's ends).
    lut_range : (float, float) or None
        Values at the centres of the first and last rows of ``lut``.
    line : (float, float) or None
        ``(intercept, slope)``: the value at pixel row ``y`` is ``intercept + slope y``.
    """

    box: tuple[int, int, int, int]
    lut: np.ndarray
    labels: tuple[float, ...] = ()
    db_range: tuple[float, float] | None = None
    lut_range: tuple[float, float] | None = None
    line: tuple[float, float] | None = None


def read_colour_bar(
    path: str | os.PathLike, *, crop=None, required: bool = True
) -> ColourBar | None:
    """Find and read the vertical colour bar right of a figure's plot area.

    Parameters
    ----------
    path : path-like
    crop : (l, t, r, b) or None
        The plot area, if known.
    required : bool
        Raise :class:`~spec2img.errors.ParameterError` when there is no colour bar
        (else return ``None``).
    """
    with Raster(path) as raster:
        w, h = raster.size
        if w * h > FRAME_SEARCH_PIXELS:
            if not required:
                return None
            raise InputError(
                f"{path}: too large to search for a colour bar; name the colormap with cmap",
                params=("cmap",),
            )
        area = find_plot_area(raster, crop=crop)
        # only the part right of the plot is read: the bar, its ticks and labels
        x0 = max(0, min(w - 1, int(area.right) - 2))
        rgba = raster.rgba((x0, 0, w, h))
    found = find_bar(rgba, replace(area, left=area.left - x0, right=area.right - x0))
    if found is not None:
        left, top, right, bottom = found.box
        found = replace(found, box=(left + x0, top, right + x0, bottom))
    if found is None:
        if required:
            raise ParameterError(
                f"{path}: no colour bar found right of the plot for cmap 'auto'; name "
                "the colormap with cmap",
                params=("cmap",),
            )
        return None
    return found


def luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def find_bar(rgba: np.ndarray, area) -> ColourBar | None:
    """The colour bar in an RGBA image right of the plot area ``area``."""
    h, w = rgba.shape[:2]
    rgb = rgba[..., :3].astype(np.int16)
    bg = rgb[0, 0] if rgba[0, 0, 3] >= 128 else np.array([255, 255, 255], np.int16)
    x0 = int(np.ceil(area.right)) + 2
    top, bottom = max(0, int(area.top)), min(h, int(np.ceil(area.bottom)))
    if x0 >= w - 3 or bottom - top < 16:
        return None
    band = rgb[top:bottom, x0:]
    nonbg = np.abs(band - bg).max(axis=-1) > _BG_TOLERANCE
    same = np.abs(np.diff(band, axis=1)).max(axis=-1) <= 6  # like the next column
    score = (nonbg[:, :-1] & same).mean(axis=0)
    good = score >= 0.3
    best = None  # longest run of strip-like columns
    start = None
    for i, g in enumerate(np.append(good, False)):
        if g and start is None:
            start = i
        elif not g and start is not None:
            if i - start >= 3 and (best is None or i - start > best[1] - best[0]):
                best = (start, i)
            start = None
    if best is None:
        return None
    c0, c1 = x0 + best[0], x0 + best[1] + 1  # the last column matched its neighbour
    mid = (c0 + c1) // 2
    col = np.abs(rgb[:, mid] - bg).max(axis=-1) > _BG_TOLERANCE
    r = np.flatnonzero(col[top:bottom]) + top
    if r.size < 16:
        return None
    # the bar may reach beyond the plot's rows a little: follow it to its ends
    r0, r1 = int(r[0]), int(r[-1]) + 1
    while r0 > 0 and col[r0 - 1]:
        r0 -= 1
    while r1 < h and col[r1]:
        r1 += 1
    # leave out the outline: two pixels each side (a 0.8-pt line, anti-aliased)
    inner = (c0 + 2, r0 + 2, c1 - 2, r1 - 2)
    if inner[2] - inner[0] < 1 or inner[3] - inner[1] < 8:
        return None
    x_lo, t, x_hi, b = inner
    lut = np.median(rgb[t:b, x_lo:x_hi].astype(np.float64), axis=1)[::-1]
    bar = ColourBar(box=inner, lut=lut)
    ticks = tick_rows(rgba, c1, r0, r1)
    if len(ticks) < 2:
        return bar
    values = read_labels(rgba, ticks, c1)
    return _with_scale(bar, ticks, values, (r0, r1))


def tick_rows(rgba: np.ndarray, right: int, r0: int, r1: int) -> list[float]:
    """Centres (pixel rows) of the tick marks right of a bar whose colours end at
    column ``right``: the first column past the outline whose dark pixels come in
    short runs."""
    h, w = rgba.shape[:2]
    for x in range(right, min(w - 1, right + 16)):
        dark = 255 - luma(rgba[r0:r1, x : x + 2, :3]).min(axis=1)
        runs = column_runs(dark > 255 - _INK)
        if not runs:
            continue
        if max(e - s for s, e in runs) > 8:  # the outline, or a label: not ticks
            continue
        if len(runs) < 2:
            continue
        ticks = []
        for s, e in runs:
            lo, hi = max(0, s - 1), min(len(dark), e + 1)
            wts = dark[lo:hi]
            ticks.append(float(r0 + np.sum(np.arange(lo, hi) * wts) / np.sum(wts) + 0.5))
        return ticks
    return []


def read_labels(rgba: np.ndarray, ticks: list[float], right: int) -> list[float | None]:
    """The number beside each tick mark (``None`` where none can be read)."""
    h, w = rgba.shape[:2]
    lum = luma(rgba[..., :3])
    spacing = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 20.0
    half = max(4, int(spacing / 2) - 1)
    x0 = right + 2
    # the labels start after the tick marks: the first column of ink past a gap
    out = []
    for ty in ticks:
        a, b = max(0, int(ty) - half), min(h, int(ty) + half + 1)
        strip = lum[a:b, x0:] < _INK
        cols = strip.any(axis=0)
        c = 0
        while c < len(cols) and cols[c]:  # the tick itself
            c += 1
        while c < len(cols) and not cols[c]:
            c += 1
        if c >= len(cols):
            out.append(None)
            continue
        text = strip[:, c:]
        ends = np.flatnonzero(text.any(axis=0))
        # the label ends at the first gap wider than a glyph's height / 2
        runs = column_runs(text.any(axis=0))
        if not runs:
            out.append(None)
            continue
        height = _ink_height(text)
        kept = [runs[0]]
        for s, e in runs[1:]:
            if s - kept[-1][1] > max(3, height * 0.6):
                break
            kept.append((s, e))
        del ends
        out.append(_parse(_read_glyphs(lum[a:b, x0 + c :], text, kept, height)))
    return out


def _read_glyphs(lum: np.ndarray, ink: np.ndarray, runs, height: int) -> str:
    """The text of one label whose glyphs are the column ``runs`` of ``lum`` (ink
    ``ink``).  The glyphs are read on the digits' rows (the most common glyph height
    and top), where a minus sign sits half-way up and a point on the baseline: at
    72 dpi both are a pixel or two of ink, told apart only by where they sit, and a
    label's ``d`` (taller than the digits) is not taken for an ``8``."""
    spans = []
    for s, e in runs:
        r = np.flatnonzero(ink[:, s:e].any(axis=1))
        spans.append((int(r[0]), int(r[-1]) + 1))
    tall = [(t, b - t) for t, b in spans if b - t >= 0.6 * height]
    if not tall:
        return classify([lum[:, s:e] for s, e in runs], height)
    heights = [h for _, h in tall]
    digit = max(set(heights), key=lambda h: (heights.count(h), -h))
    top = float(np.median([t for t, h in tall if h == digit]))
    out = []
    for (s, e), (t, b) in zip(runs, spans, strict=True):
        if b - t <= max(2, 0.3 * digit):  # a dash or a point: where it sits says which
            out.append("\u2212" if (t + b) / 2 < top + 0.75 * digit else ".")
        else:
            out.append(classify([lum[:, s:e]], digit, sizes=(0, 1)))
    return "".join(out)


def column_runs(cols: np.ndarray) -> list[tuple[int, int]]:
    runs, s = [], None
    for i, v in enumerate(np.append(cols, False)):
        if v and s is None:
            s = i
        elif not v and s is not None:
            runs.append((s, i))
            s = None
    return runs


def _ink_height(mask: np.ndarray) -> int:
    r = np.flatnonzero(mask.any(axis=1))
    return int(r[-1] - r[0] + 1) if r.size else 0


def classify(
    glyphs: list[np.ndarray],
    height: int,
    chars: str = GLYPHS,
    *,
    aligned: bool = False,
    sizes: tuple[int, ...] = (0,),
) -> str:
    """The characters of glyph images (luminance), against matplotlib's own glyphs
    of ``chars`` rendered so that their digits are ``height`` pixels tall (and
    ``height + k`` for each ``k`` of ``sizes``: hinting moves a small glyph's strokes
    by a pixel, and the best match of any size is kept).

    With ``aligned``, each glyph image starts at the digits' top row, so where the ink
    sits (a point on the baseline, a minus sign half-way up) counts too.
    """
    if height < 5:
        return ""
    out = []
    for g in glyphs:
        ink = 1.0 - g.astype(np.float32) / 255.0
        rows = np.flatnonzero(ink.max(axis=1) > 0.5)
        if rows.size == 0:
            continue
        cols = np.flatnonzero(ink.max(axis=0) > 0.5)
        top = rows[0] / height
        ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        gh, gw = ink.shape
        best, best_score = "", -np.inf
        # small glyphs change shape with where they fall between pixels: templates
        # drawn at three sub-pixel offsets
        variants = [(k, 0.0) for k in sizes]
        if height <= SMALL_GLYPHS:
            variants += [(k, off) for k in sizes for off in (1 / 3, 2 / 3)]
        for k, off in variants:
            for ch, (tmpl, rel_top, rel_h) in _templates(height + k, chars, off).items():
                # size and place against the digits' height tell signs and points apart
                th, tw = tmpl.shape
                shape_cost = abs(gh / height - rel_h) * 4 + abs(np.log(gw / gh * th / tw)) * 0.5
                if aligned:  # a pixel of slack: anti-aliasing may drop a faint row
                    shape_cost = (
                        max(0.0, abs(gh / height - rel_h) - 1.0 / height) * 4
                        + max(0.0, abs(top - rel_top) - 1.0 / height) * 4
                        + abs(np.log(gw / gh * th / tw)) * 0.5
                    )
                score = _correlate(ink, tmpl) - shape_cost
                if score > best_score:
                    best, best_score = ch, score
        out.append(best)
    return "".join(out)


def _correlate(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _fit(a), _fit(b)
    a, b = a - a.mean(), b - b.mean()
    den = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _fit(img: np.ndarray, size=(16, 12)) -> np.ndarray:
    """A glyph's bounding box resampled to a fixed grid (its aspect is compared apart)."""
    from PIL import Image

    im = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    return np.asarray(im.resize(size[::-1], Image.BILINEAR), np.float32) / 255.0


#: Digits this many pixels tall or fewer (about 60 dpi) are matched against templates
#: drawn at several sub-pixel offsets.
SMALL_GLYPHS = 7


@functools.lru_cache(maxsize=48)
def _templates(digit_height: int, chars: str = GLYPHS, offset: float = 0.0) -> dict:
    """Each glyph of ``chars`` rendered by matplotlib (default font) so that its
    digits are ``digit_height`` pixels tall, ``offset`` pixels right of a pixel
    boundary: (ink, top relative to the digits, height relative to the digits)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .shipped import shipped_style

    size_pt = digit_height / 0.729 * 72 / 100  # DejaVu Sans digits are 0.729 em tall
    out = {}
    ref_top = ref_h = None
    for ch in "0" + chars:
        with shipped_style():  # the caller's style (a black face) must not reach these
            family = matplotlib.rcParams["font.family"]
            fig = Figure(figsize=(1, 1), dpi=100)
            FigureCanvasAgg(fig)
            fig.text(0.2 + offset / 100, 0.3, ch, fontsize=size_pt, family=family, color="black")
            fig.canvas.draw()
        buf = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        ink = 1.0 - buf.mean(axis=-1) / 255.0
        rows = np.flatnonzero(ink.max(axis=1) > 0.5)
        cols = np.flatnonzero(ink.max(axis=0) > 0.5)
        if rows.size == 0:
            continue
        glyph = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        if ref_top is None:
            ref_top, ref_h = rows[0], rows[-1] - rows[0] + 1
            continue
        out[ch] = (glyph, (rows[0] - ref_top) / ref_h, glyph.shape[0] / ref_h)
    return out


_NUMBER = re.compile(r"[+\-]?\d+(?:\.\d+)?")


def _parse(text: str) -> float | None:
    text = text.replace("\u2212", "-")
    m = _NUMBER.search(text)
    return float(m.group()) if m else None


#: matplotlib's tick locator (``MaxNLocator``) puts ticks at multiples of one of these
#: steps (times a power of ten).
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0)


def _unround(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The tick values whole-number labels were rounded from, and which labels agree:
    ticks evenly spaced in pixels, at multiples of a locator's step, each printed as
    its value rounded (halves to even, as Python formats -2.5 and -7.5: -2 and -8).
    ``None`` if the labels are not whole numbers or no step explains three of them
    and 60 % (a misread label is outvoted, as on a straight line)."""
    if len(t) < 3 or np.any(v != np.round(v)):
        return None
    gap = float(np.median(np.diff(np.sort(t))))
    if gap <= 0:
        return None
    span = float(np.ptp(t))  # the mean spacing (matplotlib snaps ticks to whole pixels)
    gap = span / max(1, round(span / gap))
    k = np.rint((t - t[0]) / gap)  # tick index (labels left unread leave gaps)
    if np.any(np.abs(k * gap - (t - t[0])) > max(1.5, 0.05 * gap)) or len(set(k)) < len(k):
        return None
    need = max(3, int(np.ceil(0.6 * len(t))))
    best = None
    for p in range(-1, 4):
        for step in _NICE_STEPS:
            s = step * 10.0**p
            for i in range(len(t)):  # a label read right fixes the multiple of s
                for first in np.round((v[i] + np.array([-0.5, 0.0, 0.5])) / s) * s:
                    want = first - (k - k[i]) * s + 0.0  # values fall downwards
                    ok = np.round(want) == v
                    if ok.sum() >= need and (best is None or ok.sum() > best[1].sum()):
                        best = (want, ok)
    return best


def _with_scale(bar: ColourBar, ticks, values, rows) -> ColourBar:
    """The bar with the dB of its ends, if the labels fit a line through the ticks."""
    pairs = [(t, v) for t, v in zip(ticks, values, strict=True) if v is not None]
    if len(pairs) < 2:
        return bar
    t = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    # a misread label must not move the line: keep the line through two labels that
    # most others agree with (within 3/4 of a pixel), then fit it to those
    best = None
    for i in range(len(t)):
        for j in range(i + 1, len(t)):
            if t[j] == t[i]:
                continue
            slope = (v[j] - v[i]) / (t[j] - t[i])
            if slope >= 0:  # values rise upwards
                continue
            ok = np.abs(v[i] + slope * (t - t[i]) - v) <= abs(slope) * 0.75
            if best is None or ok.sum() > best.sum():
                best = ok
    if best is None or best.sum() < len(t):
        # '%+2.0f dB' rounds ticks 2.5 dB apart (-2.5 is printed -2, -7.5 -8): the
        # values the labels stand for, if a locator's step explains them all
        unrounded = _unround(t, v)
        if unrounded is not None and (best is None or unrounded[1].sum() > best.sum()):
            v, best = unrounded
    if best is None or best.sum() < max(2, int(np.ceil(0.6 * len(t)))):
        return bar
    t, v = t[best], v[best]
    slope, icpt = np.polyfit(t, v, 1)
    r0, r1 = rows
    _, top, _, bottom = bar.box
    outer = (float(icpt + slope * (r1 - 1.0)), float(icpt + slope * (r0 + 1.0)))
    lut_range = (float(icpt + slope * (bottom - 0.5)), float(icpt + slope * (top + 0.5)))
    return ColourBar(bar.box, bar.lut, tuple(float(x) for x in v), outer, lut_range,
                     (float(icpt), float(slope)))  # fmt: skip
