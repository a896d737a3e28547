"""Edits of a spectrogram as typed requests and pure NumPy operations on its pixels.

The editor works on the image's own 16-bit pixels ``(channels, rows, frames)`` (row 0
the lowest frequency), the very values an export writes.  Pixels are linear in dB, so
a gain is an offset and healing interpolates in dB; pixel 0 is silence.

Every request coming from the page is validated here, as data with bounds, before it
touches the session: :func:`parse_edit` turns a JSON object into one of the frozen
dataclasses below or raises :class:`~spec2img.errors.ParameterError` with a message
that names the bad field.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..dsp.scale import PIXEL_MAX
from ..errors import ParameterError
from . import paint as _paint
from .paint import MAX_HARMONICS, Canvas
from .select import MAX_FEATHER, MAX_MASK_CELLS, MAX_POLYGON, MAX_TOLERANCE_DB, Shape, shape_mask

#: Gains the editor accepts, dB (a boost is limited by the image's headroom anyway).
MAX_GAIN_DB = 120.0
#: Points of one brush stroke.
MAX_POINTS = 20_000
#: Cells one edit may touch (about 10 minutes of stereo at n_fft 2048).
MAX_EDIT_CELLS = 2**27
#: Cells one brush stroke may paint, counted dab by dab (dabs x the ellipse's box x
#: channels): the work of a stroke, which overlapping dabs multiply (about 1 s of work).
MAX_BRUSH_CELLS = 2**26
#: Columns of context on each side that :func:`heal_patch` reads at most.
HEAL_CONTEXT = 16
#: How far (dB) one side of a heal may stand above the other: beyond it, the louder side
#: is a neighbouring sound (a word's tail), not the background to fill with.
HEAL_STEP_DB = 6.0


@dataclass(frozen=True)
class Region:
    """Cells ``[t0, t1) x [r0, r1)`` of some channels (frames, rows; row 0 lowest)."""

    channels: tuple[int, ...]
    t0: int
    t1: int
    r0: int
    r1: int

    @property
    def cells(self) -> int:
        return len(self.channels) * (self.t1 - self.t0) * (self.r1 - self.r0)


@dataclass(frozen=True)
class Erase:
    """Silence the selection (fading by its feather)."""

    shape: Shape


@dataclass(frozen=True)
class Gain:
    """Add ``gain_db`` to every non-silent cell of the selection."""

    shape: Shape
    gain_db: float


@dataclass(frozen=True)
class Heal:
    """Replace the selection by a dB interpolation between its neighbours in time."""

    shape: Shape


@dataclass(frozen=True)
class Brush:
    """A stroke through ``points`` ``(frame, row)``, an ellipse of ``radius``
    ``(frames, rows)`` at each, adding up to ``gain_db`` where it paints.

    ``softness`` in [0, 1]: 0 is a hard edge, 1 fades from the centre to the rim.
    """

    channels: tuple[int, ...]
    points: tuple[tuple[float, float], ...]
    radius: tuple[float, float]
    gain_db: float
    softness: float


@dataclass(frozen=True)
class Paint:
    """New sound along a stroke: a tone (the stroke's frequency, and ``harmonics``
    overtones ``falloff_db`` quieter each) or noise over the brush's area, ``level_db``
    below the image's top, added to what is there."""

    channels: tuple[int, ...]
    points: tuple[tuple[float, float], ...]
    radius: tuple[float, float]
    level_db: float
    softness: float
    harmonics: int
    falloff_db: float
    mode: str
    seed: int


@dataclass(frozen=True)
class Cut:
    """Erase the selection after copying it to the clipboard."""

    shape: Shape


@dataclass(frozen=True)
class Paste:
    """The clipboard's cells placed from frame ``frame`` on, frequencies times ``ratio``
    (1: the same frequencies), over ``channels`` (default: the ones copied)."""

    frame: int
    ratio: float
    channels: tuple[int, ...] | None


@dataclass(frozen=True)
class Move:
    """The selection's cells moved ``by`` frames later and ``ratio`` times higher
    (``keep``: copied there, the original left in place)."""

    shape: Shape
    by: int
    ratio: float
    keep: bool = False


@dataclass(frozen=True)
class Picture:
    """A PNG or JPEG painted into a rectangle: brightness as level (white ``level_db``
    below the top, black silent, ``range_db`` between)."""

    region: Region
    data: bytes
    level_db: float
    range_db: float


Edit = Erase | Gain | Heal | Brush | Paint | Cut | Paste | Move | Picture


@dataclass(frozen=True)
class Grid:
    """What validation needs to know about the spectrogram."""

    channels: int
    rows: int
    frames: int
    #: Seconds per frame and the time of frame 0 (0 for centred frames).
    frame_seconds: float
    frame_offset: float
    #: Centre frequency of each row, Hz, increasing.
    row_hz: tuple[float, ...]


# ------------------------------------------------------------------ validation


#: Largest magnitude any number of a request may have, before its own bounds are
#: checked (so that no arithmetic ever sees 1e308 or a 400-digit integer).
MAX_NUMBER = 1e12


def finite(x, key: str) -> float | None:
    """``x`` as a float if it is a plain, finite JSON number of sane size, else None."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    if isinstance(x, int) and not -MAX_NUMBER <= x <= MAX_NUMBER:  # float(10**400) raises
        return None
    x = float(x)
    return x if math.isfinite(x) and abs(x) <= MAX_NUMBER else None


def _number(data: dict, key: str, lo: float, hi: float, *, default=None) -> float:
    v = data.get(key, default)
    if v is None:
        raise ParameterError(f"{key!r} is required")
    x = finite(v, key)
    if x is None or not lo <= x <= hi:
        raise ParameterError(
            f"{key!r} must be a finite number in [{lo:g}, {hi:g}], not {_short(v)}"
        )
    return x


def _pair(data: dict, key: str) -> tuple[float, float] | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise ParameterError(f"{key!r} must be a pair [low, high], not {_short(v)}")
    out = [finite(x, key) for x in v]
    if None in out:
        raise ParameterError(
            f"{key!r} must hold two finite numbers within +-{MAX_NUMBER:g}, not {_short(v)}"
        )
    if not out[0] < out[1]:
        raise ParameterError(f"{key!r} must be [low, high] with low < high, not {_short(v)}")
    return out[0], out[1]


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _channels(data: dict, grid: Grid) -> tuple[int, ...]:
    v = data.get("channels")
    if v is None:
        return tuple(range(grid.channels))
    if not isinstance(v, list) or not v or len(v) > grid.channels:
        raise ParameterError(
            f"'channels' must be a non-empty list of channel numbers, not {_short(v)}"
        )
    out = set()
    for c in v:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < grid.channels:
            raise ParameterError(
                f"'channels' holds {_short(c)}; channels are 0 to {grid.channels - 1}"
            )
        out.add(c)
    return tuple(sorted(out))


def _index_range(pair, n: int, key: str) -> tuple[int, int]:
    a, b = pair
    if not (a.is_integer() and b.is_integer()) or not 0 <= a < b <= n:
        raise ParameterError(f"{key!r} must be whole numbers 0 <= low < high <= {n}, not {pair}")
    return int(a), int(b)


def parse_region(data: dict, grid: Grid) -> Region:
    """The region of a rectangle request.

    Time is given either as ``frames: [t0, t1]`` (cell indices, end exclusive) or
    ``time: [start, end]`` in seconds (the frames whose centres lie inside); frequency
    as ``rows: [r0, r1]`` or ``freq: [low, high]`` in Hz (the rows whose centre
    frequencies lie inside); either may be left out for all of it.
    """
    frames, time = _pair(data, "frames"), _pair(data, "time")
    rows, freq = _pair(data, "rows"), _pair(data, "freq")
    if frames is not None and time is not None:
        raise ParameterError("give 'frames' or 'time', not both")
    if rows is not None and freq is not None:
        raise ParameterError("give 'rows' or 'freq', not both")
    if frames is not None:
        t0, t1 = _index_range(frames, grid.frames, "frames")
    elif time is not None:
        start, end = time
        t0 = max(0, math.ceil((start - grid.frame_offset) / grid.frame_seconds))
        t1 = min(grid.frames, math.floor((end - grid.frame_offset) / grid.frame_seconds) + 1)
    else:
        t0, t1 = 0, grid.frames
    if rows is not None:
        r0, r1 = _index_range(rows, grid.rows, "rows")
    elif freq is not None:
        hz = np.asarray(grid.row_hz)
        r0 = int(np.searchsorted(hz, freq[0], side="left"))
        r1 = int(np.searchsorted(hz, freq[1], side="right"))
    else:
        r0, r1 = 0, grid.rows
    if t0 >= t1 or r0 >= r1:
        raise ParameterError("the rectangle holds no cells of the spectrogram")
    region = Region(_channels(data, grid), t0, t1, r0, r1)
    if region.cells > MAX_EDIT_CELLS:
        raise ParameterError(f"the rectangle has {region.cells} cells, beyond {MAX_EDIT_CELLS}")
    return region


def parse_edit(data, grid: Grid) -> Edit:
    """Validate a JSON edit request (a dict) against ``grid``: the parser of its
    ``op`` in :data:`OPS`.

    Raises
    ------
    ParameterError
        Anything missing, of the wrong type, not finite or out of range.
    """
    if not isinstance(data, dict):
        raise ParameterError(f"an edit must be a JSON object, not {type(data).__name__}")
    op = data.get("op")
    record = OPS.get(op) if isinstance(op, str) else None
    if record is None:
        raise ParameterError(f"'op' must be one of {sorted(OPS)}, not {_short(op)}")
    return record.parse(data, grid)


def parse_shape(data: dict, grid: Grid, *, region_of) -> Shape:
    """The selection fields of a request: ``lasso: [[frame, row], ...]`` or
    ``wand: {"seed": [frame, row], "channel": c, "tolerance_db": x}`` or a rectangle
    (``frames``/``time``, ``rows``/``freq``), and ``feather`` (cells, 0 to
    :data:`MAX_FEATHER`).  ``region_of(data, grid)`` parses a rectangle."""
    feather = _number(data, "feather", 0.0, MAX_FEATHER, default=0.0)
    lasso, wand = data.get("lasso"), data.get("wand")
    if lasso is not None and wand is not None:
        raise ParameterError("give 'lasso' or 'wand', not both")
    if lasso is not None:
        if not isinstance(lasso, list) or not 3 <= len(lasso) <= MAX_POLYGON:
            raise ParameterError(
                f"'lasso' must be a list of 3 to {MAX_POLYGON} [frame, row] points"
            )
        pts = [_point(p, grid, "lasso") for p in lasso]
        arr = np.asarray(pts)
        t0 = max(0, math.ceil(arr[:, 0].min()))
        t1 = min(grid.frames, math.floor(arr[:, 0].max()) + 1)
        r0 = max(0, math.ceil(arr[:, 1].min()))
        r1 = min(grid.rows, math.floor(arr[:, 1].max()) + 1)
        if t0 >= t1 or r0 >= r1:
            raise ParameterError("the lasso holds no cells of the spectrogram")
        box = Region(_channels(data, grid), t0, t1, r0, r1)
        return Shape(box, polygon=tuple(pts), feather=feather)
    if wand is not None:
        if not isinstance(wand, dict):
            raise ParameterError(f"'wand' must be an object with a seed, not {_short(wand)}")
        t, r = _point(wand.get("seed"), grid, "wand seed")
        ti, ri = int(round(t)), int(round(r))
        if not (0 <= ti < grid.frames and 0 <= ri < grid.rows):
            raise ParameterError(f"the wand's seed {[t, r]} is outside the spectrogram")
        ch = wand.get("channel", 0)
        if isinstance(ch, bool) or not isinstance(ch, int) or not 0 <= ch < grid.channels:
            raise ParameterError(f"the wand's 'channel' must be 0 to {grid.channels - 1}")
        tol = _number(wand, "tolerance_db", 0.0, MAX_TOLERANCE_DB, default=10.0)
        box = region_of(data, grid)
        if not (box.t0 <= ti < box.t1 and box.r0 <= ri < box.r1):
            raise ParameterError("the wand's seed lies outside the window it searches")
        per = box.cells // len(box.channels)
        if per > MAX_MASK_CELLS:  # search a window of frames around the seed
            half = max(1, MAX_MASK_CELLS // (box.r1 - box.r0) // 2)
            box = Region(box.channels, max(box.t0, ti - half), min(box.t1, ti + half),
                         box.r0, box.r1)  # fmt: skip
        return Shape(box, wand=(ti, ri, ch, tol), feather=feather)
    return Shape(region_of(data, grid), feather=feather)


def _point(p, grid, what: str) -> tuple[float, float]:
    ok = isinstance(p, list | tuple) and len(p) == 2
    t, r = (finite(p[0], what), finite(p[1], what)) if ok else (None, None)
    if t is None or r is None:
        raise ParameterError(f"{what} point {_short(p)} is not a [frame, row] pair of numbers")
    if not (-grid.frames <= t <= 2 * grid.frames and -grid.rows <= r <= 2 * grid.rows):
        raise ParameterError(f"{what} point {[t, r]} is far outside the spectrogram")
    return t, r


def _shape(data: dict, grid: Grid) -> Shape:
    return parse_shape(data, grid, region_of=parse_region)


def parse_selection(data, grid: Grid) -> Shape:
    """A selection request (copy, solo): a rectangle, ``lasso`` or ``wand``, and
    ``feather``, as the edits take them."""
    if not isinstance(data, dict):
        raise ParameterError(f"a selection must be a JSON object, not {type(data).__name__}")
    return _shape(data, grid)


def _stroke(data: dict, grid: Grid) -> tuple[tuple, tuple[float, float]]:
    pts = data.get("points")
    if not isinstance(pts, list) or not 1 <= len(pts) <= MAX_POINTS:
        raise ParameterError(f"'points' must be a list of 1 to {MAX_POINTS} [frame, row] pairs")
    out = []
    for p in pts:
        ok = isinstance(p, list | tuple) and len(p) == 2
        t, r = (finite(p[0], "points"), finite(p[1], "points")) if ok else (None, None)
        if t is None or r is None:
            raise ParameterError(f"'points' holds {_short(p)}, not a [frame, row] pair of numbers")
        if not (-grid.frames <= t <= 2 * grid.frames and -grid.rows <= r <= 2 * grid.rows):
            raise ParameterError(f"brush point {_short(p)} is far outside the spectrogram")
        out.append((t, r))
    rt, rr = _pair_any(data, "radius")
    if not (0.5 <= rt <= grid.frames and 0.5 <= rr <= grid.rows):
        raise ParameterError(
            f"'radius' must be [frames, rows] within [0.5, {grid.frames}] x [0.5, {grid.rows}]"
        )
    return tuple(out), (rt, rr)


def _parse_brush(data: dict, grid: Grid) -> Brush:
    points, radius = _stroke(data, grid)
    brush = Brush(
        channels=_channels(data, grid), points=points, radius=radius,
        gain_db=_number(data, "gain_db", -MAX_GAIN_DB, MAX_GAIN_DB),
        softness=_number(data, "softness", 0.0, 1.0, default=0.5),
    )  # fmt: skip
    cells = brush_cells(brush)
    if cells > MAX_BRUSH_CELLS:
        raise ParameterError(
            f"the brush stroke paints {cells} cells dab by dab, beyond {MAX_BRUSH_CELLS}; "
            "use fewer points or a smaller radius"
        )
    return brush


def _parse_paint(data: dict, grid: Grid) -> Paint:
    points, radius = _stroke(data, grid)
    mode = data.get("mode", "tone")
    if mode not in ("tone", "noise"):
        raise ParameterError(f"'mode' must be 'tone' or 'noise', not {_short(mode)}")
    harmonics = _number(data, "harmonics", 0, MAX_HARMONICS, default=0)
    seed = _number(data, "seed", 0, 2**31 - 1, default=0)
    if not (harmonics.is_integer() and seed.is_integer()):
        raise ParameterError("'harmonics' and 'seed' must be whole numbers")
    return Paint(
        channels=_channels(data, grid), points=points, radius=radius,
        level_db=_number(data, "level_db", 0.0, MAX_GAIN_DB, default=20.0),
        softness=_number(data, "softness", 0.0, 1.0, default=0.5),
        harmonics=int(harmonics), falloff_db=_number(data, "falloff_db", 0.0, 60.0, default=6.0),
        mode=mode, seed=int(seed),
    )  # fmt: skip


def _ratio(data: dict) -> float:
    return _number(data, "ratio", 0.125, 8.0, default=1.0)


def _parse_paste(data: dict, grid: Grid) -> Paste:
    frame = _number(data, "frame", -grid.frames, grid.frames)
    if not frame.is_integer():
        raise ParameterError(f"'frame' must be a whole number, not {frame}")
    ch = None if data.get("channels") is None else _channels(data, grid)
    return Paste(int(frame), _ratio(data), ch)


def _parse_move(data: dict, grid: Grid) -> Move:
    by = _number(data, "by", -grid.frames, grid.frames, default=0)
    if not by.is_integer():
        raise ParameterError(f"'by' must be a whole number of frames, not {by}")
    keep = data.get("keep", False)
    if not isinstance(keep, bool):
        raise ParameterError(f"'keep' must be true or false, not {_short(keep)}")
    return Move(_shape(data, grid), int(by), _ratio(data), keep)


#: Bytes of a picture (base64 in the JSON body, which is at most 1 MiB).
MAX_PICTURE_BYTES = 700_000


def _parse_picture(data: dict, grid: Grid) -> Picture:
    import base64
    import binascii

    raw = data.get("data")
    if not isinstance(raw, str) or not raw:
        raise ParameterError("'data' must hold the picture's bytes as base64 text")
    if len(raw) > MAX_PICTURE_BYTES * 4 // 3 + 4:
        raise ParameterError(f"the picture is larger than {MAX_PICTURE_BYTES} bytes")
    try:
        blob = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ParameterError("'data' is not valid base64") from None
    region = parse_region(data, grid)
    if region.cells // len(region.channels) > _paint.MAX_PAINT_CELLS:
        raise ParameterError("the picture's rectangle is too large; select a smaller one")
    return Picture(
        region, blob, _number(data, "level_db", 0.0, MAX_GAIN_DB, default=20.0),
        _number(data, "range_db", 1.0, MAX_GAIN_DB, default=60.0),
    )  # fmt: skip


def _pair_any(data: dict, key: str) -> tuple[float, float]:
    v = data.get(key)
    if not isinstance(v, list | tuple) or len(v) != 2 or None in (a := [finite(x, key) for x in v]):
        raise ParameterError(f"{key!r} must be a pair of finite numbers, not {_short(v)}")
    return a[0], a[1]


# ------------------------------------------------------------------ operations


def gain_pixels(patch: np.ndarray, gain, db_step: float) -> np.ndarray:
    """``patch`` (uint16) with ``gain`` dB added (a number or an array broadcasting to it).

    Silent cells stay silent; cells pushed below the floor become silent; boosts stop
    at the top of the range (pixel 65535).
    """
    px = patch.astype(np.float32)
    out = px + np.asarray(gain, np.float32) / np.float32(db_step)
    out = np.where((patch == 0) | (out < 0.5), 0.0, np.minimum(out, PIXEL_MAX))
    return np.rint(out).astype(np.uint16)


def heal_patch(
    block: np.ndarray, t0: int, t1: int, r0: int, r1: int, *, mask=None, step_db: float = 0.0
) -> np.ndarray:
    """Cells ``[r0:r1, t0:t1]`` of ``block`` (``(k, rows, frames)`` uint16) rebuilt from
    their neighbours in time.

    Each row is a straight line in dB between the median of up to
    :data:`HEAL_CONTEXT` columns just before and just after the selection *on that row*
    (``mask``, ``(r1 - r0, t1 - t0)``, > 0 where selected: a lasso's row starts and
    ends where the lasso does, so its context is what lies outside the lasso, not the
    rest of its bounding box); the median ignores a stray click in the context.  At an
    end of the recording the other side is held.  With ``step_db`` (dB per pixel) the
    louder side is held to at most :data:`HEAL_STEP_DB` above the quieter one: a word
    that ends just before a cough is a neighbouring sound, not the background the gap
    should be filled with (drawn across, it would leave a ghost of itself).  What was
    inside (a click, a cough) is not looked at.
    """
    frames = block.shape[-1]
    n = r1 - r0
    if mask is None:
        starts = np.full(n, t0)
        ends = np.full(n, t1)
    else:
        sel = np.asarray(mask) > 0
        any_ = sel.any(axis=1)
        starts = np.where(any_, t0 + np.argmax(sel, axis=1), t0)
        ends = np.where(any_, t1 - np.argmax(sel[:, ::-1], axis=1), t1)
    out = np.zeros(block.shape[:-2] + (n, t1 - t0), np.float32)
    cap = np.inf if step_db <= 0 else HEAL_STEP_DB / step_db
    for key in sorted(set(zip(starts.tolist(), ends.tolist(), strict=True))):
        a, b = key
        rows = np.flatnonzero((starts == a) & (ends == b))
        k = max(2, min(HEAL_CONTEXT, (b - a + 1) // 2 + 1))
        left = block[:, r0 + rows][..., max(0, a - k) : a]
        right = block[:, r0 + rows][..., b : min(frames, b + k)]
        if left.shape[-1] == 0 and right.shape[-1] == 0:
            raise ParameterError("heal needs frames outside the selection to fill it from")
        lv = np.median(left, axis=-1) if left.shape[-1] else None
        rv = np.median(right, axis=-1) if right.shape[-1] else None
        lv = rv if lv is None else lv
        rv = lv if rv is None else rv
        lv, rv = np.minimum(lv, rv + cap), np.minimum(rv, lv + cap)
        x = (np.arange(a, b, dtype=np.float32) - (a - 0.5)) / np.float32(b - a)
        out[:, rows, a - t0 : b - t0] = lv[..., None] * (1 - x) + rv[..., None] * x
    return np.rint(np.clip(out, 0, PIXEL_MAX)).astype(np.uint16)


def _steps(brush: Brush) -> np.ndarray:
    """Dabs added between consecutive points (at most half a radius apart)."""
    rt, rr = brush.radius
    seg = np.diff(np.asarray(brush.points, np.float64), axis=0)
    n = np.maximum(1, np.ceil(np.hypot(seg[:, 0] / rt, seg[:, 1] / rr) * 2)).astype(np.int64)
    return np.minimum(n, 1000)


def dabs(brush: Brush) -> np.ndarray:
    """The stroke's dab centres ``(n, 2)``: its points joined by steps of at most half a
    radius, so a fast stroke is a line and not a row of dots."""
    pts = np.asarray(brush.points, np.float64)
    if len(pts) < 2:
        return pts
    seg = np.diff(pts, axis=0)
    dense = [pts[:1]]
    for p, d, k in zip(pts[:-1], seg, _steps(brush), strict=True):
        dense.append(p + d * (np.arange(1, k + 1)[:, None] / k))
    return np.concatenate(dense)


def brush_cells(brush: Brush) -> int:
    """Cells a stroke computes, dab by dab: its work, known before doing any."""
    n = 1 + int(_steps(brush).sum()) if len(brush.points) > 1 else 1
    rt, rr = brush.radius
    box = (2 * math.ceil(rt) + 2) * (2 * math.ceil(rr) + 2)
    return n * box * len(brush.channels)


def brush_mask(brush: Brush, rows: int, frames: int):
    """Where the stroke paints: ``(t0, t1, r0, r1, mask)`` with ``mask`` in [0, 1] of
    shape ``(r1 - r0, t1 - t0)``, or None if it misses the spectrogram.

    Points are joined by steps of at most half a radius, so a fast stroke is a line and
    not a row of dots; overlapping dabs take the maximum, so painting over the same
    place does not add up within one stroke.
    """
    rt, rr = brush.radius
    pts = _paint.densify(np.asarray(brush.points, np.float64), rt, rr)
    return _paint.dab_mask(pts, rt, rr, brush.softness, rows, frames, len(brush.channels),
                           limit=MAX_EDIT_CELLS)  # fmt: skip


@dataclass
class Applied:
    """What an edit changes: the new pixels of ``region``; the new phase of bins
    ``[b0, b1)`` over its frames (radians, one block per channel), when the edit chose
    it; whether hearing it needs phase iterations (True), never does (False: the phase
    was chosen with the magnitude), or only when the session's phase is an estimate
    (None); and the clipboard it fills (cut)."""

    region: Region
    pixels: np.ndarray
    phase: tuple[int, int, np.ndarray] | None = None
    iterate: bool | None = None
    clip: Clip | None = None


@dataclass
class Clip:
    """Copied cells: pixels ``(channels, rows, frames)`` of rectangle ``t0, t1, r0, r1``,
    the selection's ``mask`` over it, and the phase of bins ``[b0, b1)`` there."""

    channels: tuple[int, ...]
    t0: int
    t1: int
    r0: int
    r1: int
    pixels: np.ndarray
    mask: np.ndarray
    b0: int
    b1: int
    phase: np.ndarray


def _amp(canvas: Canvas, px: np.ndarray) -> np.ndarray:
    amp = np.power(10.0, (px.astype(np.float64) * canvas.db_step + canvas.db_min) / 20.0)
    amp[px == 0] = 0.0
    return amp


def _pixels(canvas: Canvas, amp: np.ndarray) -> np.ndarray:
    db = 20.0 * np.log10(np.maximum(amp, 1e-300))
    x = (db - canvas.db_min) / canvas.db_step
    return np.rint(np.clip(x, 0, PIXEL_MAX)).astype(np.uint16)


def _bins(canvas: Canvas, r0: int, r1: int) -> tuple[int, int]:
    """The linear STFT bins rows ``[r0, r1)`` stand for."""
    if canvas.basis is None:
        return r0, r1
    cols = np.flatnonzero(canvas.basis[r0:r1].any(axis=0))
    return (int(cols[0]), int(cols[-1]) + 1) if cols.size else (0, 0)


def _phase_of(canvas: Canvas, channels, b0, b1, t0, t1) -> np.ndarray:
    q = canvas.phase_q[list(channels), b0:b1, t0:t1]
    return q.astype(np.float64) * (2 * np.pi / 65536)


def _add(canvas: Canvas, channels, b0, b1, t0, t1, X) -> Applied | None:
    """Complex cells ``X`` (bins ``[b0, b1)`` x frames ``[t0, t1)``) added to the sound
    there: new pixels, and the phase of the sum where ``X`` is not zero."""
    live = np.abs(X) > 0
    if not live.any():
        return None
    old_phase = _phase_of(canvas, channels, b0, b1, t0, t1)
    if canvas.basis is None:
        region = Region(tuple(channels), t0, t1, b0, b1)
        S = _amp(canvas, take(canvas.px, region)) * np.exp(1j * old_phase) + X[None]
        new = _pixels(canvas, np.abs(S))
        phase = np.where(live[None], np.angle(S), old_phase)
    else:  # mel rows: add the bands' power, take the painted phase where painted
        rows = np.flatnonzero(canvas.basis[:, b0:b1].any(axis=1))
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
        region = Region(tuple(channels), t0, t1, r0, r1)
        M = canvas.basis[r0:r1, b0:b1] @ np.abs(X)
        old = _amp(canvas, take(canvas.px, region))
        new = _pixels(canvas, np.sqrt(old**2 + M[None] ** 2))
        phase = np.where(live[None], np.angle(X)[None], old_phase)
    return Applied(region, new, (b0, b1, phase.astype(np.float32)), iterate=False)


def _apply_paint(edit: Paint, canvas: Canvas) -> Applied | None:
    args = (canvas, edit.points, edit.radius, edit.level_db, edit.softness, edit.harmonics,
            edit.falloff_db)  # fmt: skip
    if edit.mode == "tone":
        found = _paint.tone_patch(*args)
    else:
        found = _paint.noise_patch(*args, seed=edit.seed)
    if found is None:
        return None
    b0, b1, t0, t1, X = found
    if (b1 - b0) * (t1 - t0) * len(edit.channels) > MAX_EDIT_CELLS:
        raise ParameterError("the stroke covers too many cells")
    return _add(canvas, edit.channels, b0, b1, t0, t1, X)


def _apply_picture(edit: Picture, canvas: Canvas) -> Applied | None:
    r = edit.region
    gray = _paint.decode_picture(edit.data, r.r1 - r.r0, r.t1 - r.t0)
    b0, b1, t0, t1, X = _paint.picture_patch(canvas, gray, r, edit.level_db, edit.range_db, 0)
    return _add(canvas, r.channels, b0, b1, t0, t1, X)


def _masked(edit, canvas: Canvas) -> Applied:
    """Erase, gain or heal over a selection (rectangle, lasso or wand, feathered)."""
    region, mask = shape_mask(edit.shape, canvas.px, canvas.db_min, canvas.db_step)
    old = take(canvas.px, region)
    if isinstance(edit, Erase | Cut):
        if mask is None:
            return Applied(region, np.zeros_like(old))
        cut = 20 * np.log10(np.maximum(1.0 - mask, 1e-15))  # 1 -> -300 dB: silence
        return Applied(region, gain_pixels(old, cut.astype(np.float32), canvas.db_step))
    if isinstance(edit, Gain):
        g = edit.gain_db if mask is None else edit.gain_db * mask
        return Applied(region, gain_pixels(old, g, canvas.db_step))
    block = canvas.px[list(region.channels)]
    healed = heal_patch(block, region.t0, region.t1, region.r0, region.r1, mask=mask,
                        step_db=canvas.db_step)  # fmt: skip
    if mask is not None:
        healed = np.rint(old * (1 - mask) + healed * mask).astype(np.uint16)
    return Applied(region, healed, iterate=True)


def copy_clip(shape: Shape, canvas: Canvas) -> Clip:
    """The cells of the selection ``shape``, their mask and phase."""
    region, mask = shape_mask(shape, canvas.px, canvas.db_min, canvas.db_step)
    per = (region.t1 - region.t0) * (region.r1 - region.r0)
    if per > MAX_MASK_CELLS:
        raise ParameterError(f"the selection has {per} cells, beyond {MAX_MASK_CELLS} to copy")
    if mask is None:
        mask = np.ones((region.r1 - region.r0, region.t1 - region.t0), np.float32)
    b0, b1 = _bins(canvas, region.r0, region.r1)
    phase = _phase_of(canvas, region.channels, b0, b1, region.t0, region.t1)
    return Clip(region.channels, region.t0, region.t1, region.r0, region.r1,
                take(canvas.px, region), mask, b0, b1, phase.astype(np.float32))  # fmt: skip


def _paste(clip: Clip, frame: int, ratio: float, channels, canvas: Canvas) -> Applied | None:
    """The clip placed at ``frame``, frequencies times ``ratio``, blended in by its mask:
    inside it, the clip's cells replace what was there."""
    channels = tuple(channels or clip.channels)
    if len(channels) != len(clip.channels) and len(clip.channels) != 1:
        raise ParameterError(
            f"the clipboard holds {len(clip.channels)} channel(s); paste into as many"
        )
    rows, frames = canvas.px.shape[1:]
    dt = frame - clip.t0
    t0, t1 = max(0, clip.t0 + dt), min(frames, clip.t1 + dt)
    if t0 >= t1:
        return None
    idx = np.arange(rows, dtype=np.float64)
    lo_hz, hi_hz = canvas.hz_of_row(clip.r0), canvas.hz_of_row(clip.r1 - 1)
    if ratio == 1.0:
        r0, r1 = clip.r0, clip.r1
        src = np.arange(r0, r1, dtype=np.float64) - clip.r0
    else:
        r0 = int(np.ceil(canvas.row_of_hz(lo_hz * ratio) - 1e-9))
        top = hi_hz * ratio
        r1 = rows if top > canvas.row_hz[-1] else int(np.floor(canvas.row_of_hz(top) + 1e-9)) + 1
        r0, r1 = max(0, r0), min(rows, r1)
        if r0 >= r1:
            raise ParameterError("the pasted cells would lie beyond the frequency range")
        src = canvas.row_of_hz(canvas.hz_of_row(idx[r0:r1]) / ratio) - clip.r0
    if ratio != 1.0 and canvas.basis is None:
        return _paste_shifted(clip, dt, ratio, channels, canvas, t0, t1)
    region = Region(channels, t0, t1, r0, r1)
    cols = slice(t0 - dt - clip.t0, t1 - dt - clip.t0)
    n = clip.r1 - clip.r0
    lo = np.clip(np.floor(src).astype(int), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    f = (src - lo)[:, None]
    inside = ((src >= -0.5) & (src <= n - 0.5))[:, None]
    cpx = clip.pixels[:, :, cols].astype(np.float64)
    if len(clip.channels) == 1 and len(channels) > 1:
        cpx = np.repeat(cpx, len(channels), axis=0)
    pix = cpx[:, lo] * (1 - f) + cpx[:, hi] * f
    pix = np.where(cpx[:, lo] == 0, cpx[:, hi], np.where(cpx[:, hi] == 0, cpx[:, lo], pix))
    m = (clip.mask[lo, cols] * (1 - f) + clip.mask[hi, cols] * f) * inside
    new_amp = _amp(canvas, np.rint(pix).astype(np.uint16))
    old = take(canvas.px, region)
    # the phase in linear bins: bin k takes source bin k / ratio, its phase scaled so
    # that a tone's advance per frame scales with its frequency
    b0, b1 = _bins(canvas, r0, r1)
    kb = np.arange(b0, b1)
    ks = np.clip(np.rint(kb / ratio).astype(int), clip.b0, clip.b1 - 1)
    cph = clip.phase[:, ks - clip.b0][:, :, cols].astype(np.float64)
    if len(clip.channels) == 1 and len(channels) > 1:
        cph = np.repeat(cph, len(channels), axis=0)
    ph_clip = ratio * (cph + np.pi * ks[None, :, None]) - np.pi * kb[None, :, None]
    old_phase = _phase_of(canvas, channels, b0, b1, t0, t1)
    if canvas.basis is None:
        S = (
            _amp(canvas, old) * np.exp(1j * old_phase) * (1 - m)
            + new_amp * np.exp(1j * ph_clip) * m
        )
        new = _pixels(canvas, np.abs(S))
        phase = np.where(m[None] > 0, np.angle(S), old_phase)
    else:
        new = _pixels(canvas, _amp(canvas, old) * (1 - m) + new_amp * m)
        mb = (canvas.basis[r0:r1, b0:b1].T @ m) > 0
        phase = np.where(mb[None], ph_clip, old_phase)
    return Applied(region, new, (b0, b1, phase.astype(np.float32)), iterate=ratio != 1.0)


def _paste_shifted(clip: Clip, dt, ratio, channels, canvas: Canvas, t0, t1) -> Applied | None:
    """A paste ``ratio`` times higher (linear rows): the peak-locked vocoder of
    :mod:`.shift` keeps each partial's lobe and phase a sinusoid's."""
    from .shift import shift_pitch

    n_bins = canvas.n_bins
    lo = max(0, int(np.floor(clip.r0 * min(1.0, ratio))) - 4)
    hi = min(n_bins, int(np.ceil(clip.r1 * max(1.0, ratio))) + 4)
    cols = slice(t0 - dt - clip.t0, t1 - dt - clip.t0)
    T = t1 - t0
    if (hi - lo) * T * len(clip.channels) > MAX_EDIT_CELLS // 8:
        raise ParameterError("the selection is too large to move in frequency; select less")
    amp = np.zeros((len(clip.channels), hi - lo, T))
    ph = np.zeros_like(amp)
    mask = np.zeros((hi - lo, T))
    amp[:, clip.r0 - lo : clip.r1 - lo] = _amp(canvas, clip.pixels[:, :, cols]) * (
        clip.mask[:, cols] > 0
    )
    ph[:, clip.b0 - lo : clip.b1 - lo] = clip.phase[:, :, cols]
    mask[clip.r0 - lo : clip.r1 - lo] = clip.mask[:, cols]
    amp, ph, mask = shift_pitch(amp, ph, mask, ratio, n_fft=canvas.n_fft,
                                hop=canvas.hop_length, first_bin=lo)  # fmt: skip
    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        raise ParameterError("the moved cells would lie beyond the frequency range")
    r0, r1 = lo + int(rows[0]), lo + int(rows[-1]) + 1
    m = mask[r0 - lo : r1 - lo]
    amp, ph = amp[:, r0 - lo : r1 - lo], ph[:, r0 - lo : r1 - lo]
    if len(clip.channels) == 1 and len(channels) > 1:
        amp, ph = np.repeat(amp, len(channels), axis=0), np.repeat(ph, len(channels), axis=0)
    region = Region(channels, t0, t1, r0, r1)
    old = take(canvas.px, region)
    old_phase = _phase_of(canvas, channels, r0, r1, t0, t1)
    S = _amp(canvas, old) * np.exp(1j * old_phase) * (1 - m) + amp * np.exp(1j * ph) * m
    new = _pixels(canvas, np.abs(S))
    phase = np.where(m[None] > 0, np.angle(S), old_phase)
    return Applied(region, new, (r0, r1, phase.astype(np.float32)), iterate=False)


def _apply_paste(edit: Paste, canvas: Canvas) -> Applied | None:
    if canvas.clip is None:
        raise ParameterError("the clipboard is empty: copy (Ctrl+C) or cut (Ctrl+X) first")
    return _paste(canvas.clip, edit.frame, edit.ratio, edit.channels, canvas)


def _apply_cut(edit: Cut, canvas: Canvas) -> Applied:
    clip = copy_clip(edit.shape, canvas)
    out = _masked(edit, canvas)
    out.clip = clip
    return out


def _apply_move(edit: Move, canvas: Canvas) -> Applied | None:
    """Cut and paste in one step, over the box holding both places."""
    clip = copy_clip(edit.shape, canvas)
    if edit.keep:  # a duplicate: the original stays where it is
        region = Region(clip.channels, clip.t0, clip.t1, clip.r0, clip.r1)
        erased = Applied(region, take(canvas.px, region))
    else:
        erased = _masked(Erase(edit.shape), canvas)
    # the union of source and destination, on a copy of the frames it spans
    rows, frames = canvas.px.shape[1:]
    a = max(0, min(clip.t0, clip.t0 + edit.by))
    b = min(frames, max(clip.t1, clip.t1 + edit.by))
    if (b - a) * rows * len(clip.channels) > MAX_EDIT_CELLS:
        raise ParameterError("the move spans too many cells; move a shorter distance")
    ch = list(clip.channels)
    sub = Canvas(**{**canvas.__dict__, "px": canvas.px[ch, :, a:b].copy(),
                    "phase_q": canvas.phase_q[ch, :, a:b].copy(), "clip": None})  # fmt: skip
    local = Region(tuple(range(len(ch))), erased.region.t0 - a, erased.region.t1 - a,
                   erased.region.r0, erased.region.r1)  # fmt: skip
    put(sub.px, local, erased.pixels)
    shifted = Clip(**{**clip.__dict__, "channels": local.channels, "t0": clip.t0 - a,
                      "t1": clip.t1 - a})  # fmt: skip
    pasted = _paste(shifted, clip.t0 - a + edit.by, edit.ratio, None, sub)
    if pasted is not None:
        put(sub.px, pasted.region, pasted.pixels)
        pb0, pb1, ph = pasted.phase
        q = np.rint(ph * (65536 / (2 * np.pi))).astype(np.int64) % 65536
        sub.phase_q[:, pb0:pb1, pasted.region.t0 : pasted.region.t1] = q
        r0 = min(erased.region.r0, pasted.region.r0)
        r1 = max(erased.region.r1, pasted.region.r1)
        t0 = min(erased.region.t0, pasted.region.t0 + a)
        t1 = max(erased.region.t1, pasted.region.t1 + a)
        b0, b1 = _bins(canvas, r0, r1)
        phase = sub.phase_q[:, b0:b1, t0 - a : t1 - a].astype(np.float32) * np.float32(
            2 * np.pi / 65536
        )
        region = Region(clip.channels, t0, t1, r0, r1)
        pixels = sub.px[:, r0:r1, t0 - a : t1 - a].copy()
        return Applied(region, pixels, (b0, b1, phase), iterate=pasted.iterate)
    return erased


def _apply_brush(edit: Brush, canvas: Canvas) -> Applied | None:
    found = brush_mask(edit, canvas.px.shape[1], canvas.px.shape[2])
    if found is None:
        return None
    t0, t1, r0, r1, mask = found
    region = Region(edit.channels, t0, t1, r0, r1)
    return Applied(region, gain_pixels(take(canvas.px, region), edit.gain_db * mask,
                                       canvas.db_step))  # fmt: skip


@dataclass(frozen=True)
class Op:
    """One kind of edit: everything the editor (and a journal of edits) knows of it.

    Attributes
    ----------
    name : str
        The ``op`` of its JSON.
    kind : type
        Its frozen dataclass.
    parse : callable (dict, Grid) -> edit
        The validator: bounds-checks a JSON object (``ParameterError`` naming the field).
    apply : callable (edit, Canvas) -> Applied or None
        Pure: reads the canvas, never writes it.
    to_json : callable (edit) -> dict
        Its canonical fields (in cells), without ``op``: ``parse`` of them gives the
        edit back exactly.
    describe : callable (edit) -> str
        The undo history's label.
    """

    name: str
    kind: type
    parse: Callable
    apply: Callable
    to_json: Callable
    describe: Callable


#: The operations, by name.
OPS: dict[str, Op] = {}
_BY_KIND: dict[type, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to :data:`OPS` (a new operation needs nothing else)."""
    OPS[op.name] = op
    _BY_KIND[op.kind] = op
    return op


def spec(edit) -> Op:
    """The :class:`Op` record of an edit."""
    try:
        return _BY_KIND[type(edit)]
    except KeyError:
        raise TypeError(f"not an edit: {edit!r}") from None


def apply(edit: Edit, canvas: Canvas) -> Applied | None:
    """What ``edit`` changes on ``canvas`` (its record's applier); None when it changes
    nothing."""
    return spec(edit).apply(edit, canvas)


def describe(edit: Edit) -> str:
    """A short label for the undo history."""
    return spec(edit).describe(edit)


def to_json(edit: Edit) -> dict:
    """The canonical JSON of ``edit``, in cells: :func:`parse_edit` of it gives ``edit``
    back exactly, on any recording of the same grid."""
    return {"op": spec(edit).name, **spec(edit).to_json(edit)}


def _region_json(r: Region) -> dict:
    return {"channels": list(r.channels), "frames": [r.t0, r.t1], "rows": [r.r0, r.r1]}


def _shape_json(shape: Shape) -> dict:
    out = {"feather": shape.feather} if shape.feather else {}
    if shape.polygon is not None:
        return {"channels": list(shape.box.channels),
                "lasso": [list(p) for p in shape.polygon], **out}  # fmt: skip
    out.update(_region_json(shape.box))
    if shape.wand is not None:
        t, r, ch, tol = shape.wand
        out["wand"] = {"seed": [t, r], "channel": ch, "tolerance_db": tol}
    return out


def _stroke_json(e) -> dict:
    return {"channels": list(e.channels), "points": [list(p) for p in e.points],
            "radius": list(e.radius), "softness": e.softness}  # fmt: skip


def _gain(data: dict, grid: Grid) -> Gain:
    return Gain(_shape(data, grid), _number(data, "gain_db", -MAX_GAIN_DB, MAX_GAIN_DB))


def _ratio_label(name):
    return lambda e: name + (f" x{e.ratio:g}" if e.ratio != 1 else "")


def _paint_label(e: Paint) -> str:
    extra = f" +{e.harmonics} harmonics" if e.harmonics else ""
    return f"paint {e.mode} -{e.level_db:g} dB{extra}"


def _picture_json(e: Picture) -> dict:
    import base64

    return {**_region_json(e.region), "data": base64.b64encode(e.data).decode("ascii"),
            "level_db": e.level_db, "range_db": e.range_db}  # fmt: skip


register(
    Op(
        "erase",
        Erase,
        lambda d, g: Erase(_shape(d, g)),
        _masked,
        lambda e: _shape_json(e.shape),
        lambda e: "erase",
    )
)
register(
    Op(
        "gain",
        Gain,
        _gain,
        _masked,
        lambda e: {**_shape_json(e.shape), "gain_db": e.gain_db},
        lambda e: f"gain {e.gain_db:+.1f} dB",
    )
)
register(
    Op(
        "heal",
        Heal,
        lambda d, g: Heal(_shape(d, g)),
        _masked,
        lambda e: _shape_json(e.shape),
        lambda e: "heal",
    )
)
register(
    Op(
        "brush",
        Brush,
        _parse_brush,
        _apply_brush,
        lambda e: {**_stroke_json(e), "gain_db": e.gain_db},
        lambda e: f"brush {e.gain_db:+.1f} dB",
    )
)
register(
    Op(
        "paint",
        Paint,
        _parse_paint,
        _apply_paint,
        lambda e: {
            **_stroke_json(e),
            "level_db": e.level_db,
            "harmonics": e.harmonics,
            "falloff_db": e.falloff_db,
            "mode": e.mode,
            "seed": e.seed,
        },
        _paint_label,
    )
)
register(
    Op(
        "cut",
        Cut,
        lambda d, g: Cut(_shape(d, g)),
        _apply_cut,
        lambda e: _shape_json(e.shape),
        lambda e: "cut",
    )
)
register(
    Op(
        "paste",
        Paste,
        _parse_paste,
        _apply_paste,
        lambda e: {
            "frame": e.frame,
            "ratio": e.ratio,
            **({} if e.channels is None else {"channels": list(e.channels)}),
        },
        _ratio_label("paste"),
    )
)
register(
    Op(
        "move",
        Move,
        _parse_move,
        _apply_move,
        lambda e: {**_shape_json(e.shape), "by": e.by, "ratio": e.ratio, "keep": e.keep},
        lambda e: _ratio_label("duplicate" if e.keep else "move")(e),
    )
)
register(Op("image", Picture, _parse_picture, _apply_picture, _picture_json,
            lambda e: "picture"))  # fmt: skip


def take(px: np.ndarray, region: Region) -> np.ndarray:
    """A copy of ``region``'s cells of ``px``."""
    return px[list(region.channels), region.r0 : region.r1, region.t0 : region.t1].copy()


def put(px: np.ndarray, region: Region, patch: np.ndarray) -> None:
    """Write ``patch`` into ``region`` of ``px`` in place."""
    for i, c in enumerate(region.channels):
        px[c, region.r0 : region.r1, region.t0 : region.t1] = patch[i]
