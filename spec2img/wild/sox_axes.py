"""The numbers sox prints around its spectrogram, read without knowing its font.

sox labels its axes in a small bitmap font of its own.  Rather than carry that font,
the reader learns it from the figure: it cuts the labels into glyphs, gives identical
bitmaps one identity (the same glyph is the same character), and works out which
character each glyph is from what the labels must say:

1. The dB scale's labels sit where ``-z`` puts them (:func:`~spec2img.wild.sox.z_from_labels`
   reads ``z`` from their positions), so their values are ``top - z + i step`` for an
   unknown top (``-Z``, 0 by default); the one top whose strings (``"-120"``, ``"+0"``)
   fit the glyphs one-to-one names the signs and most digits.
2. The frequency labels (kHz, ``DC`` at the bottom) and the time labels (seconds or
   milliseconds, as the caption below says) must each be an arithmetic progression
   whose values are linear in their pixel positions; the glyphs still unknown (digits
   the dB scale lacks, the decimal point) are given every assignment of the characters
   left, and only those under which both axes make sense survive.  All survivors must
   agree on the rate and the duration, else nothing is read.

The frequency axis's top row is Nyquist (snapped to a usual rate within a bin); the
time axis gives seconds per column, hence the whole samples sox gave each column, and
:func:`duration` the recording's length within one such block per column.  The work is
bounded: a few strips next to the plot are read, at most :data:`MAX_LABELS` labels
each, and at most :data:`MAX_TRIALS` assignments are tried.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np

#: Usual sample rates, snapped to when the axis's top is within a bin of one's Nyquist.
USUAL_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000,
               64000, 88200, 96000, 176400, 192000)  # fmt: skip
#: Bounds on the work done on any image.
MAX_LABELS = 80
MAX_GLYPHS = 12
MAX_TRIALS = 20_000
#: dB tops (``-Z``) tried for the scale's labels.
Z_TOPS = range(-180, 181)
_NUMBER = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


@dataclass(frozen=True)
class Label:
    """One printed label: its centre along the axis and its glyphs' identities."""

    pos: float
    glyphs: tuple[int, ...]


@dataclass
class SoxAxes:
    """What a sox figure's labels say.

    Attributes
    ----------
    sr : int or None
        Sample rate, from the frequency axis (twice its top).
    seconds_per_column : float or None
        The time axis's scale (see :func:`duration`).
    db_range : (low, high) or None
        The dB scale's ends, from its labels' values.
    notes : list of str
        What was read and how, for ``info``.
    problem : str or None
        What could not be read (``sr``/``duration`` are then ``None``).
    """

    sr: int | None = None
    duration: float | None = None
    db_range: tuple[float, float] | None = None
    seconds_per_column: float | None = None
    notes: list = field(default_factory=list)
    problem: str | None = None


class _Font:
    """Identities of glyph bitmaps: equal bitmaps at the same height are one glyph."""

    def __init__(self):
        self.ids: dict = {}

    def id(self, bitmap: np.ndarray, top: int) -> int:
        key = (bitmap.shape, top, np.packbits(bitmap).tobytes())
        return self.ids.setdefault(key, len(self.ids))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of the runs of True in a 1-D boolean array."""
    f = np.concatenate([[False], flags, [False]]).astype(np.int8)
    d = np.diff(f)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(),
                    strict=True))  # fmt: skip


def _line_labels(ink: np.ndarray, font: _Font, gap: int = 4) -> list[tuple[float, tuple]]:
    """Labels of one text line ``ink`` (rows x columns): ``(centre column, glyphs)``;
    glyphs are split at empty columns, labels at gaps of ``gap`` columns or more."""
    cols = _runs(ink.any(axis=0))
    labels, current = [], []
    for c0, c1 in cols:
        if current and c0 - current[-1][1] >= gap:
            labels.append(current)
            current = []
        current.append((c0, c1))
        if len(labels) > MAX_LABELS:
            break
    if current:
        labels.append(current)
    out = []
    for glyphs in labels[:MAX_LABELS]:
        ids = []
        for c0, c1 in glyphs[:MAX_GLYPHS]:
            g = ink[:, c0:c1]
            rows = np.flatnonzero(g.any(axis=1))
            ids.append(font.id(g[rows[0] : rows[-1] + 1], int(rows[0])))
        out.append(((glyphs[0][0] + glyphs[-1][1] - 1) / 2, tuple(ids)))
    return out


def _lines(ink: np.ndarray) -> list[tuple[int, int]]:
    """Text lines of ``ink``: runs of rows with ink, at least 3 rows tall."""
    return [(r0, r1) for r0, r1 in _runs(ink.any(axis=1)) if r1 - r0 >= 3][:MAX_LABELS]


def _vertical_labels(ink: np.ndarray, font: _Font) -> list[Label]:
    """One label per text line (an axis's labels stacked up): centre row and glyphs."""
    out = []
    for r0, r1 in _lines(ink):
        found = _line_labels(ink[r0:r1], font, gap=10**6)
        if found:
            out.append(Label((r0 + r1 - 1) / 2, found[0][1]))
    return out


def _db_strings(values) -> list[str]:
    return [f"{v:+d}" if v >= 0 else f"{v:d}" for v in values]


def _bind(mapping: dict, glyphs, text: str) -> bool:
    """Extend ``mapping`` (glyph id -> character) so that ``glyphs`` read ``text``."""
    if len(glyphs) != len(text):
        return False
    for g, ch in zip(glyphs, text, strict=True):
        have = mapping.get(g)
        if have is None:
            if ch in mapping.values():
                return False
            mapping[g] = ch
        elif have != ch:
            return False
    return True


def _progression(labels: list[Label], mapping: dict, *, origin: tuple | None = None):
    """``(values, slope, intercept)`` if the labels read as numbers in arithmetic
    progression linear in their positions (``origin``: a known ``(pos, value)``), else
    ``None``."""
    values = []
    for lab in labels:
        text = "".join(mapping.get(g, "?") for g in lab.glyphs)
        if not _NUMBER.fullmatch(text):
            return None
        values.append(float(text))
    pos = [lab.pos for lab in labels]
    if origin is not None:
        pos.insert(0, origin[0])
        values.insert(0, origin[1])
    v, p = np.array(values), np.array(pos)
    if len(v) < 2:
        return None
    d = np.diff(v)
    if d[0] == 0 or not np.allclose(d[int(origin is not None) :], d[-1], rtol=1e-6, atol=1e-9):
        return None
    slope, icpt = np.polyfit(v, p, 1)
    if np.abs(p - (slope * v + icpt)).max() > 1.0:  # a pixel's rounding at most
        return None
    return v, float(slope), float(icpt)


def _db_mapping(labels: list[Label], k: int) -> tuple[dict, int, float] | None:
    """Glyph mapping, ``-z`` and top value of the dB scale's labels: the ``(z, top)``
    that puts them nearest where they are and reads as their glyphs (ties: ``-Z 0``
    and a round ``z``, sox's defaults), if all that fit agree on the glyphs."""
    from .sox import _FONT_Y, Z_RANGE

    if len(labels) < 2:
        return None
    labels = sorted(labels, key=lambda lab: -lab.pos)  # bottom (lowest dB) first
    above = labels[0].pos - np.array([lab.pos for lab in labels])
    found = []
    for z in range(Z_RANGE[0], Z_RANGE[1] + 1):
        step = 10 * math.ceil(z / 10 * (_FONT_Y + 2) / (k - 1))
        if z // step + 1 != len(labels):
            continue
        ys = np.floor(np.arange(len(labels)) * step / z * (k - 1) + 0.5)
        err = float(np.abs(ys - above).max())
        if err > 1.0:  # sox puts label i at i step / z of the scale
            continue
        for top in Z_TOPS:
            values = top - z + step * np.arange(len(labels))
            mapping: dict = {}
            if all(_bind(mapping, lab.glyphs, s) for lab, s in
                   zip(labels, _db_strings(values.tolist()), strict=True)):  # fmt: skip
                found.append(((err, top != 0, z % 10 != 0), mapping, z, float(top)))
    if not found or any(f[1] != found[0][1] for f in found):
        return None
    _, mapping, z, top = min(found, key=lambda f: f[0])
    return mapping, z, top


def _caption_unit(ink: np.ndarray, font: _Font) -> str | None:
    """``"s"`` or ``"ms"`` from the time axis's caption ``Time (s)`` / ``Time (ms)``:
    seven glyphs, or eight whose sixth repeats the third (the ``m`` of ``Time``)."""
    for r0, r1 in _lines(ink):
        glyphs = [g for _, ids in _line_labels(ink[r0:r1], font, gap=10**6) for g in ids]
        if len(glyphs) == 7:
            return "s"
        if len(glyphs) == 8 and glyphs[5] == glyphs[2]:
            return "ms"
        return None
    return None


def snap_rate(nyquist_hz: float, n_fft: int) -> tuple[int, bool]:
    """The sample rate of a Nyquist read off an axis: a usual rate when within a bin."""
    for sr in USUAL_RATES:
        if abs(sr / 2 - nyquist_hz) <= sr / n_fft:
            return sr, True
    hundreds = 100 * round(nyquist_hz / 50)
    if abs(hundreds / 2 - nyquist_hz) <= 2 * nyquist_hz / n_fft:
        return hundreds, False
    return int(round(2 * nyquist_hz)), False


def ink_of(px: np.ndarray, rgb, *, light: bool, lossy: bool) -> np.ndarray:
    """Pixels of ``px`` (rows x columns x 3) drawn in colour ``rgb`` on sox's background.

    Exact within 24 levels in a palette PNG; in a lossy copy (JPEG at quality 50 and
    up leaves every label pixel on its side), brightness nearer ``rgb``'s than the
    background's: the strips read hold only the background and one colour of ink.
    """
    from .sox import FIXED_DARK, FIXED_LIGHT

    px = np.asarray(px)[..., :3].astype(np.int16)
    if not lossy:
        return np.all(np.abs(px - np.array(rgb)) <= 24, axis=-1)
    bg = float(np.mean((FIXED_LIGHT if light else FIXED_DARK)[0]))
    lum = px.mean(axis=-1)
    return np.abs(lum - float(np.mean(rgb))) < np.abs(lum - bg)


def _drop_bleed(ink: np.ndarray, tallest: int = 16) -> np.ndarray:
    """``ink`` without columns inked over more than ``tallest`` rows in a run: no label
    is that tall, but a JPEG's ringing beside the colour scale is."""
    out = ink.copy()
    for c in np.flatnonzero(ink.sum(axis=0) > tallest):
        for r0, r1 in _runs(ink[:, c]):
            if r1 - r0 > tallest:
                out[r0:r1, c] = False
    return out


def read_axes(raster, lay, *, light: bool, lossy: bool = False) -> SoxAxes:
    """Read the rate, the duration and the dB scale from a sox figure's labels.

    Parameters
    ----------
    raster : spec2img.wild.raster.Raster
        The open image.
    lay : spec2img.wild.sox.SoxLayout
        Its layout (not raw).
    light : bool
        ``-l``: dark labels on a light background.
    lossy : bool
        The colours may be off (no sox palette: a JPEG, a re-saved copy): ink is told
        from the background by brightness (:func:`ink_of`).
    """
    w, h = raster.size
    left, top, right, bottom = lay.data
    label_rgb = (63, 63, 63) if light else (191, 191, 191)
    text_rgb = (0, 0, 0) if light else (255, 255, 255)

    def ink(box, rgb):
        x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
        if x1 <= x0 or y1 <= y0:
            return np.zeros((0, 0), bool)
        found = ink_of(raster.rgba((x0, y0, x1, y1)), rgb, light=light, lossy=lossy)
        return _drop_bleed(found) if lossy else found

    font = _Font()
    out = SoxAxes()
    mapping: dict = {}
    # 1. the dB scale: its values name most glyphs
    if lay.bar is not None:
        _, bt, br, bb = lay.bar
        db = _vertical_labels(ink((br + 1, bt - 6, w, bb + 5), label_rgb), font)
        found = _db_mapping(db, bb - bt)
        if found is not None:
            mapping, z, db_top = found
            out.db_range = (db_top - z, db_top)
            out.notes.append(f"dB scale labels: {db_top - z:+g} .. {db_top:+g} dBFS")
    # 2. frequency labels right of the plot (the lowest channel's), DC at the bottom
    ch_top = bottom - lay.rows
    freq = _vertical_labels(ink((right + 4, ch_top - 5, right + BETWEEN_LABELS, bottom + 6),
                                label_rgb), font)  # fmt: skip
    freq = sorted(freq, key=lambda lab: -lab.pos)
    # 3. time labels below the plot, and the caption's unit below them
    strip = ink((left - 30, bottom + 5, right + 30, bottom + 22), label_rgb)
    lines = _lines(strip)
    times = []
    if lines:
        r0, r1 = lines[0]
        x0 = max(0, left - 30)  # where the strip starts (clipped at the image's edge)
        times = [Label(x0 + c, g) for c, g in _line_labels(strip[r0:r1], font)]
    unit = _caption_unit(ink((left, bottom + 15, right, bottom + 40), text_rgb), font)
    if len(freq) < 3:
        out.problem = "the frequency axis's labels"
        return out
    if len(times) < 2:
        out.problem = "the time axis's labels"
        return out
    if unit is None:
        out.problem = "the time axis's unit (its caption)"
        return out
    dc, freq = freq[0], freq[1:]
    unknown = sorted({g for lab in (*freq, *times) for g in lab.glyphs} - set(mapping)
                     - set(dc.glyphs))  # fmt: skip
    alphabet = [c for c in "0123456789." if c not in mapping.values()]
    if len(unknown) > len(alphabet) or math.perm(len(alphabet), len(unknown)) > MAX_TRIALS:
        out.problem = f"the axes' labels ({len(unknown)} glyphs not on the dB scale)"
        return out
    readings = set()
    for chars in itertools.permutations(alphabet, len(unknown)):
        m = {**mapping, **dict(zip(unknown, chars, strict=True))}
        f = _progression(freq, m, origin=(dc.pos, 0.0))
        if f is None:
            continue
        t = _progression(times, m)
        if t is None:
            continue
        khz_per_row = -1 / f[1]  # rows go up as kHz rise
        nyquist = 1000 * khz_per_row * (lay.rows - 1)
        seconds_per_px = (1 / t[1]) * (1e-3 if unit == "ms" else 1.0)
        readings.add((round(nyquist, 3), round(seconds_per_px * lay.columns, 6)))
        if len(readings) > 1:
            break
    if len(readings) != 1:
        out.problem = ("the axes' labels (no reading fits)" if not readings
                       else "the axes' labels (more than one reading fits)")  # fmt: skip
        return out
    nyquist, shown = readings.pop()
    sr, usual = snap_rate(nyquist, lay.n_fft)
    out.sr = sr
    out.seconds_per_column = shown / lay.columns
    out.notes.append(
        f"frequency axis: top {nyquist / 1000:.3f} kHz -> sr {sr}"
        + ("" if usual else " (not a usual rate)")
    )
    out.notes.append(f"time axis ({unit}): {lay.columns} columns show {shown:.4f} s")
    return out


#: How far right of the plot the frequency labels reach (the dB scale starts 37 px out).
BETWEEN_LABELS = 36


def interval(seconds_per_column: float, sr: int, columns: int) -> tuple[int, int, int] | None:
    """``(block, lo, hi)``: the whole samples sox gave a column, and the recording's
    length in samples, in ``[lo, hi)``, that the time axis allows (see :func:`duration`);
    ``None`` when the axis does not show a whole number of samples a column."""
    block = sr * seconds_per_column
    whole = round(block)
    if whole < 1 or abs(block - whole) > max(0.02 * whole, 0.5):
        return None
    lo = (columns - 1) * whole
    hi = max(columns * (whole + 1), (columns + 1) * whole)
    return whole, lo, hi


def duration(seconds_per_column: float, sr: int, columns: int) -> tuple[float, str] | None:
    """The audio's duration from the time axis's scale, and how it was judged.

    sox gives each column ``block`` samples and labels its time axis at ``sr / block``
    pixels a second, so the axis says ``block`` (a whole number: ``None`` when it is
    not one).  With ``-x`` alone, ``block = int(sr D / columns)``; when the DFT size
    is given too, sox rounds the width to whole blocks instead: ``D`` lies in
    ``[(columns - 1) block, max(columns (block + 1), (columns + 1) block)) / sr``.
    The roundest duration in that interval (whole seconds down to hundredths) is taken,
    else its middle (clips are often cut round); the interval is narrower than 1 % once a column holds 200 samples
    and the plot is 200 columns wide.
    """
    found = interval(seconds_per_column, sr, columns)
    if found is None:
        return None
    whole, lo, hi = found
    lo, hi = lo / sr, hi / sr
    for grid in (1.0, 0.5, 0.1, 0.05, 0.01):
        d = math.ceil(lo / grid - 1e-9) * grid
        if d < hi - 1e-12:
            return d, f"{whole} samples a column: {lo:.4f} .. {hi:.4f} s, the roundest"
    return (lo + hi) / 2, f"{whole} samples a column: {lo:.4f} .. {hi:.4f} s, the middle"
