"""Reading a figure's axes: the tick marks of both axes and the numbers beside them.

matplotlib draws tick marks outward from the axes frame (3.5 pt long) and centres
each label on its tick: below the frame for the x axis, left of it (right-aligned)
for the y axis.  :func:`read_axes` finds the first row below the frame and the first
column left of it that hold short dark runs (the ticks), cuts the label text next
to each tick into glyphs (columns of ink), and reads every glyph by template matching
against the same characters rendered by matplotlib in its default font (DejaVu Sans)
at the labels' digit height (:func:`spec2img.wild.colorbar.classify`).

The result is raw: ``(pixel, value)`` pairs, ``None`` where a label could not be
read.  What they mean (a linear time axis, a log or mel frequency axis) is decided in
:mod:`spec2img.wild.figure`, where a misread label is outvoted by the others.

Every loop is over ticks (at most :data:`MAX_TICKS`) or over a band a few labels
high, so the time spent is bounded whatever the image holds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from .colorbar import _correlate, classify, column_runs, luma

#: Characters of axis tick labels (matplotlib's minus sign is U+2212).
AXIS_GLYPHS = "0123456789.:\u2212+e"
#: More tick marks than this on one axis is not an axis (a texture, a grid of blobs).
MAX_TICKS = 60
#: More glyphs than this beside a tick is not a tick label (and is not read).
MAX_GLYPHS = 12
_INK = 128
_MAX_TICK_WIDTH = 6  # pixels: 0.8 pt at up to ~500 dpi
_SEARCH = 24  # pixels past the frame line searched for tick marks


@dataclass(frozen=True)
class Axis:
    """The ticks of one axis.

    Attributes
    ----------
    ticks : tuple of float
        Tick positions, pixels (x for the x axis, y for the y axis; pixel centres are
        at ``i + 0.5``).
    labels : tuple of str
        The text read beside each tick (``""`` when nothing was read).
    values : tuple of float or None
        The number each label says (seconds for ``m:ss`` labels).
    digit_height : int
        Pixel height of the labels' digits (0 when unknown).
    """

    ticks: tuple[float, ...]
    labels: tuple[str, ...]
    values: tuple[float | None, ...]
    digit_height: int = 0

    @property
    def readable(self) -> list[tuple[float, float]]:
        """``(pixel, value)`` of the ticks whose labels were read."""
        return [(t, v) for t, v in zip(self.ticks, self.values, strict=True) if v is not None]


def read_axes(rgba: np.ndarray, area) -> tuple[Axis | None, Axis | None]:
    """The x and y axes of the plot whose data area is ``area`` in ``rgba``.

    Parameters
    ----------
    rgba : np.ndarray [shape=(h, w, 4), dtype=uint8]
        The whole figure.
    area : spec2img.wild.raster.PlotArea
        The axes frame (from :func:`spec2img.wild.raster.find_plot_area`).

    Returns
    -------
    (Axis or None, Axis or None)
        ``None`` for an axis without tick marks.
    """
    ink = luma(rgba[..., :3]) < _INK
    ink &= rgba[..., 3] >= 128
    lum = luma(rgba[..., :3])
    return _x_axis(ink, lum, area), _y_axis(ink, lum, area)


def _ticks_in(line: np.ndarray, offset: int) -> list[tuple[int, int]] | None:
    """Short runs of ink along ``line`` (tick marks), as ``(start, end)`` pixel
    indices offset by ``offset``; ``None`` unless it looks like a row of ticks."""
    if line.mean() > 0.5:
        return None
    runs = column_runs(line)
    if len(runs) < 2 or len(runs) > MAX_TICKS:
        return None
    if max(e - s for s, e in runs) > _MAX_TICK_WIDTH:
        return None
    return [(s + offset, e + offset) for s, e in runs]


def _centre(weights: np.ndarray, start: int) -> float:
    w = np.asarray(weights, np.float64)
    if w.sum() <= 0:
        return start + len(w) / 2
    return float(start + np.sum(np.arange(len(w)) * w) / w.sum() + 0.5)


def _x_axis(ink: np.ndarray, lum: np.ndarray, area) -> Axis | None:
    h, w = ink.shape
    c0, c1 = max(0, int(area.left) - 3), min(w, int(np.ceil(area.right)) + 3)
    r = int(area.bottom)
    runs = None
    for r in range(int(area.bottom), min(h, int(area.bottom) + _SEARCH)):
        runs = _ticks_in(ink[r, c0:c1], c0)
        if runs:
            break
    if not runs:
        return None
    dark = 255.0 - lum
    ticks = [_centre(dark[r, s - 1 : e + 1], s - 1) for s, e in runs]
    # the tick marks end where their columns turn white
    cols = [int(t) for t in ticks]
    end = r
    while end < h and ink[end, cols].mean() >= 0.5 and end - r < _SEARCH:
        end += 1
    spacing = float(np.median(np.diff(ticks))) if len(ticks) > 1 else 40.0
    lo = max(0, int(min(ticks) - spacing / 2))
    hi = min(w, int(max(ticks) + spacing / 2) + 1)
    rows = ink[end:, lo:hi].any(axis=1)
    line = [(s, e) for s, e in column_runs(rows) if e - s >= 5]
    if not line:
        return Axis(tuple(ticks), ("",) * len(ticks), (None,) * len(ticks))
    a, b = line[0]
    a, b = a + end, b + end
    height = b - a
    band = ink[a:b, lo:hi]
    glyph_runs = column_runs(band.any(axis=0))
    words = _split_at_ticks(_words(glyph_runs, height, gap=1.0), [t - lo for t in ticks])
    labels, values = [], []
    for t in ticks:
        best = None
        for word in words:
            mid = lo + (word[0][0] + word[-1][1]) / 2
            if abs(mid - t) < min(spacing / 3, 3 * height) and (
                best is None or abs(mid - t) < best[0]
            ):
                best = (abs(mid - t), word)
        if best is None or len(best[1]) > MAX_GLYPHS:
            labels.append("")
            values.append(None)
            continue
        text = _read_word(lum, a, b, lo, best[1], height)
        labels.append(text)
        values.append(parse_value(text))
    return Axis(tuple(ticks), tuple(labels), tuple(values), height)


def _y_axis(ink: np.ndarray, lum: np.ndarray, area) -> Axis | None:
    h, w = ink.shape
    r0, r1 = max(0, int(area.top) - 3), min(h, int(np.ceil(area.bottom)) + 3)
    c = int(np.ceil(area.left)) - 1
    runs = None
    for c in range(int(np.ceil(area.left)) - 1, max(-1, int(area.left) - _SEARCH), -1):
        runs = _ticks_in(ink[r0:r1, c], r0)
        if runs:
            break
    if not runs:
        return None
    dark = 255.0 - lum
    ticks = [_centre(dark[s - 1 : e + 1, c], s - 1) for s, e in runs]
    ticks = _major(ticks, [_length(ink[int(t)], c, -1) for t in ticks])
    rows = [int(t) for t in ticks]
    end = c
    while end >= 0 and ink[rows, end].mean() >= 0.5 and c - end < _SEARCH:
        end -= 1
    spacing = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 40.0
    half = max(3, int(spacing / 2) - 1)
    # a first look: the height of each label's last glyph (a digit, or an exponent)
    heights, regions = [], []
    for t in ticks:
        a, b = max(0, int(t) - half), min(h, int(t) + half + 1)
        region = ink[a:b, : end + 1]
        runs_ = column_runs(region.any(axis=0))
        if not runs_:
            regions.append(None)
            continue
        s, e = runs_[-1]
        inked = np.flatnonzero(region[:, s:e].any(axis=1))
        heights.append(int(inked[-1] - inked[0] + 1))
        regions.append((a, region, runs_))
    if not heights:
        return Axis(tuple(ticks), ("",) * len(ticks), (None,) * len(ticks))
    first = int(np.median(heights))
    labels, values, digit = [], [], []
    for found in regions:
        text = value = None
        if found is not None:
            a, region, runs_ = found
            words = _words(runs_, first)
            word = words[-1]
            if end + 1 - word[-1][1] <= 3 * max(first, 5) and len(word) <= MAX_GLYPHS:
                text, value, dh = _read_label(lum, region, a, word)
                if value is not None and "^" in text and len(words) >= 3:
                    text, value = _mantissa(lum, region, a, words, text, value, dh)
                if dh:
                    digit.append(dh)
        labels.append(text or "")
        values.append(value)
    height = int(np.median(digit)) if digit else first
    return Axis(tuple(ticks), tuple(labels), tuple(values), height)


def _length(row: np.ndarray, start: int, step: int) -> int:
    """How many pixels of ink run from ``start`` along ``row`` (a tick mark's length)."""
    n, i = 0, start
    while 0 <= i < len(row) and row[i] and n < _SEARCH:
        n += 1
        i += step
    return n


def _major(ticks: list[float], lengths: list[int]) -> list[float]:
    """The major ticks: matplotlib draws minor ticks shorter (2 pt against 3.5 pt) and
    leaves them unlabelled (a log axis's ticks between the powers of ten)."""
    lengths = np.asarray(lengths)
    if len(ticks) < 3 or lengths.max() < 1.4 * max(1, lengths.min()):
        return ticks
    keep = lengths >= (lengths.max() + lengths.min()) / 2
    return [t for t, k in zip(ticks, keep, strict=True) if k] if keep.sum() >= 2 else ticks


def _read_label(lum: np.ndarray, region: np.ndarray, a: int, word):
    """The text, value and digit height of one y-axis label whose glyph columns are
    ``word`` in ``region`` (ink of rows ``a:``, from column 0).

    Glyphs sitting on one baseline are the number; glyphs raised above it at the end
    of the label are an exponent, as matplotlib's log axes write ``10^k``
    (``LogFormatterSciNotation``: mathtext, the exponent at 70 % size), read with
    templates of their own size.
    """
    spans = []
    for s, e in word:
        r = np.flatnonzero(region[:, s:e].any(axis=1))
        spans.append((a + int(r[0]), a + int(r[-1]) + 1))
    bottom = max(b for _, b in spans)
    tall = max(b - t for t, b in spans)
    raised = [b < bottom - 0.3 * tall for _, b in spans]
    split = len(word)
    for k in range(1, len(word)):
        if all(raised[k:]) and any(
            spans[i][1] - spans[i][0] >= 0.45 * tall for i in range(k, len(word))
        ):
            split = k
            break
    base, sup = word[:split], word[split:]
    base_spans = [spans[i] for i in range(split) if not raised[i]] or spans[:split]
    height = max(b - t for t, b in base_spans)
    b0 = max(b for _, b in base_spans)
    text = _read_word(lum, b0 - height, b0, 0, base, height)
    if not sup:
        return text, parse_value(text), height
    sup_spans = spans[split:]
    sh = max(b - t for t, b in sup_spans)
    sb = max(b for _, b in sup_spans)
    rows = slice(max(0, sb - sh - 1), sb + 1)
    exponent = "".join(_exponent_glyph(lum[rows, s:e], height) for s, e in sup)
    label = f"{text}^{exponent}"
    try:
        k = int(exponent.replace("\u2212", "-"))
    except ValueError:
        return label, None, height
    if text not in ("10", "2") or abs(k) > 30:
        return label, None, height
    return label, float(int(text)) ** k, height


def _mantissa(lum: np.ndarray, region: np.ndarray, a: int, words, text: str, value, height):
    """A minor tick's label of a log axis, ``2×10^3`` (matplotlib labels the ticks
    between the powers of ten when the axis spans less than a decade): the digit and
    the times sign before the ``10^k`` already read, each a spaced word of its own."""
    gap = 1.2 * max(height, 5)
    mant, times = words[-3], words[-2]
    if len(times) != 1 or len(mant) > 2:
        return text, value
    if words[-1][0][0] - times[-1][1] > gap or times[0][0] - mant[-1][1] > gap:
        return text, value
    s, e = times[0]
    r = np.flatnonzero(region[:, s:e].any(axis=1))
    if classify([lum[a + r[0] : a + r[-1] + 1, s:e]], height, "\u00d7+") != "\u00d7":
        return text, value
    r = np.flatnonzero(region[:, mant[0][0] : mant[-1][1]].any(axis=1))
    digits = _read_word(lum, a + int(r[0]), a + int(r[-1]) + 1, 0, mant, int(r[-1] - r[0] + 1))
    m = parse_value(digits)
    if m is None or not (1 <= m <= 9) or m != int(m):
        return f"{digits}\u00d7{text}", None
    return f"{digits}\u00d7{text}", m * value


def _read_word(lum: np.ndarray, a: int, b: int, x0: int, runs, height: int) -> str:
    """The text of one label: glyphs at columns ``runs`` (offset ``x0``) of rows
    ``a:b`` (the digits' rows).  A decimal point too faint to count as ink (small
    fonts) is found as light ink on the baseline between two glyphs."""
    out = []
    for k, (s, e) in enumerate(runs):
        out.append(classify([lum[a:b, x0 + s : x0 + e]], height, AXIS_GLYPHS, aligned=True))
        if k + 1 < len(runs):
            # the gap's inner columns (its edges hold the neighbours' anti-aliasing;
            # digits 5 pixels tall (50 dpi) leave a gap of two columns: all of it)
            edge = 0 if height <= 5 else 1
            gap = lum[a:b, x0 + e + edge : x0 + runs[k + 1][0] - edge] < 215
            if gap.size:
                low = gap[int(0.65 * (b - a)) :].any(axis=0)
                high = gap[: int(0.6 * (b - a))].any(axis=0)
                if np.any(low & ~high):
                    out.append(".")
    return "".join(out)


def _words(runs, height, *, gap=0.5):
    """Group glyph column runs into words: a gap wider than ``gap`` digit heights
    separates two labels (or a label from an axis title)."""
    if not runs:
        return []
    gap = max(3.0, gap * height)
    words = [[runs[0]]]
    for s, e in runs[1:]:
        if s - words[-1][-1][1] > gap:
            words.append([(s, e)])
        else:
            words[-1].append((s, e))
    return words


def _split_at_ticks(words, ticks):
    """Words that hold more than one tick's label (long labels such as librosa's
    ``1.5e+03`` nearly touch), split so that each part is centred on its tick, as
    matplotlib centres every label (left to right: the cut between two ticks whose
    left part is centred nearest the left tick, then the wider gap)."""
    out = []
    for word in words:
        inside = [t for t in ticks if word[0][0] <= t <= word[-1][1]]
        start = 0
        for a, b in zip(inside[:-1], inside[1:], strict=True):
            best = None
            for k in range(start, len(word) - 1):
                if not a < (word[k][1] + word[k + 1][0]) / 2 < b:
                    continue
                off = abs((word[start][0] + word[k][1]) / 2 - a)
                key = (round(off), -(word[k + 1][0] - word[k][1]))
                if best is None or key < best[0]:
                    best = (key, k)
            if best is not None:
                out.append(word[start : best[1] + 1])
                start = best[1] + 1
        out.append(word[start:])
    return out


_EXPONENT_CHARS = "0123456789\u2212"


def _exponent_glyph(img: np.ndarray, base_height: int) -> str:
    """One character of a ``10^k`` label's exponent, against exponents rendered by
    matplotlib's mathtext beside a ``10`` whose digits are ``base_height`` tall."""
    ink = 1.0 - img.astype(np.float32) / 255.0
    rows = np.flatnonzero(ink.max(axis=1) > 0.5)
    cols = np.flatnonzero(ink.max(axis=0) > 0.5)
    if rows.size == 0 or cols.size == 0:
        return ""
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    gh, gw = ink.shape
    best, best_score = "", -np.inf
    for ch, tmpls in _exponent_templates(base_height).items():
        for tmpl in tmpls:
            th, tw = tmpl.shape
            cost = abs(np.log(gh / th)) * 2 + abs(np.log(gw / gh * th / tw)) * 0.5
            score = _correlate(ink, tmpl) - cost
            if score > best_score:
                best, best_score = ch, score
    return best


@functools.lru_cache(maxsize=8)
def _exponent_templates(base_height: int) -> dict:
    """Each exponent character as mathtext draws it after a ``10``, at three font
    sizes whose digits are ``base_height`` pixels tall (the hinting of a 5-pixel
    glyph changes with a fraction of a point)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .shipped import shipped_style

    out: dict[str, list] = {ch: [] for ch in _EXPONENT_CHARS}
    for frac in (-0.35, 0.0, 0.35):
        # DejaVu Sans digits are 0.729 em tall; 100 dpi: a point is 100 / 72 pixels
        size_pt = (base_height + frac) / 0.729 * 72 / 100
        for ch in _EXPONENT_CHARS:
            exp = "-" if ch == "\u2212" else ch
            with shipped_style():  # not the caller's style (white text on black)
                fig = Figure(figsize=(1, 1), dpi=100)
                FigureCanvasAgg(fig)
                fig.text(0.1, 0.3, "$\\mathdefault{10^{" + exp + "}}$", fontsize=size_pt)
                fig.canvas.draw()
            ink = 1.0 - np.asarray(fig.canvas.buffer_rgba())[..., :3].mean(axis=-1) / 255.0
            runs = column_runs(ink.max(axis=0) > 0.5)
            if len(runs) < 3:
                continue
            glyph = ink[:, runs[2][0] : runs[-1][1]]
            r = np.flatnonzero(glyph.max(axis=1) > 0.5)
            c = np.flatnonzero(glyph.max(axis=0) > 0.5)
            out[ch].append(glyph[r[0] : r[-1] + 1, c[0] : c[-1] + 1])
    return out


_NUMBER = re.compile(r"^[+\-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+\-]?\d+)?$")
_CLOCK = re.compile(r"^([+\-]?)(\d+):(\d\d)(?::(\d\d))?$")


def parse_value(text: str) -> float | None:
    """The number a tick label says: ``"1.5"``, ``"\u22122"``, ``"1e3"``, ``"0:05"``
    (minutes:seconds) or ``"1:02:03"`` (hours), as seconds for clock labels; ``None``
    for anything else."""
    t = text.replace("\u2212", "-").strip()
    m = _CLOCK.match(t)
    if m:
        sign, a, b, c = m.groups()
        secs = int(a) * 60 + int(b) if c is None else int(a) * 3600 + int(b) * 60 + int(c)
        if int(b) >= 60 or (c is not None and int(c) >= 60):
            return None
        return -float(secs) if sign == "-" else float(secs)
    if _NUMBER.match(t):
        try:
            v = float(t)
        except ValueError:
            return None
        return v if np.isfinite(v) else None
    return None
