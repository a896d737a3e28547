"""Edits of a spectrogram as typed requests and pure NumPy operations on its pixels.

The editor works on the image's own 16-bit pixels ``(channels, rows, frames)`` (row 0
the lowest frequency), the very values an export writes.  Pixels are linear in dB, so
a gain is an offset and healing interpolates in dB; pixel 0 is silence.

Every request coming from the page is validated here, as data with bounds, before it
touches the session: :func:`parse_edit` turns a JSON object into one of the frozen
dataclasses below or raises :class:`~spec2img.errors.ParameterError` with a message
that names the bad field.

The operations are one table, :data:`OPS`: an op name -> :class:`Op` record (its
validator, its applier, its canonical JSON and its label).  The journal, the exported
edit lists and ``spec2img apply`` go through the same table, so a new operation is one
new record (:func:`register`) and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..dsp.scale import PIXEL_MAX
from ..errors import ParameterError

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
    """Silence every cell of ``region``."""

    region: Region


@dataclass(frozen=True)
class Gain:
    """Add ``gain_db`` to every non-silent cell of ``region``."""

    region: Region
    gain_db: float


@dataclass(frozen=True)
class Heal:
    """Replace ``region`` by a dB interpolation between its neighbours in time."""

    region: Region


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


Edit = Erase | Gain | Heal | Brush


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
    """Validate a JSON edit request (a dict) against ``grid``: the ``op`` record's
    validator (:data:`OPS`).

    Raises
    ------
    ParameterError
        Anything missing, of the wrong type, not finite or out of range.
    """
    if not isinstance(data, dict):
        raise ParameterError(f"an edit must be a JSON object, not {type(data).__name__}")
    op = data.get("op")
    if not isinstance(op, str) or op not in OPS:
        raise ParameterError(f"'op' must be one of {sorted(OPS)}, not {_short(op)}")
    return OPS[op].parse(data, grid)


def _parse_rect(kind):
    def parse(data: dict, grid: Grid):
        return kind(parse_region(data, grid))

    return parse


def _parse_gain(data: dict, grid: Grid) -> Gain:
    return Gain(parse_region(data, grid), _number(data, "gain_db", -MAX_GAIN_DB, MAX_GAIN_DB))


def _parse_brush(data: dict, grid: Grid) -> Brush:
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
    radius = _pair_any(data, "radius")
    rt, rr = radius
    if not (0.5 <= rt <= grid.frames and 0.5 <= rr <= grid.rows):
        raise ParameterError(
            f"'radius' must be [frames, rows] within [0.5, {grid.frames}] x [0.5, {grid.rows}]"
        )
    brush = Brush(
        channels=_channels(data, grid), points=tuple(out), radius=(rt, rr),
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


def heal_patch(block: np.ndarray, t0: int, t1: int, r0: int, r1: int) -> np.ndarray:
    """Cells ``[r0:r1, t0:t1]`` of ``block`` (``(k, rows, frames)`` uint16) rebuilt from
    their neighbours in time.

    Each row is a straight line in dB between the median of up to
    :data:`HEAL_CONTEXT` columns just before ``t0`` and just after ``t1`` (the median
    ignores a stray click in the context); at an end of the recording the other side
    is held.  What was inside (a click, a cough) is not looked at.
    """
    frames = block.shape[-1]
    k = max(2, min(HEAL_CONTEXT, (t1 - t0 + 1) // 2 + 1))
    left = block[:, r0:r1, max(0, t0 - k) : t0]
    right = block[:, r0:r1, t1 : min(frames, t1 + k)]
    if left.shape[-1] == 0 and right.shape[-1] == 0:
        raise ParameterError("heal needs frames outside the selection to fill it from")
    lv = np.median(left, axis=-1) if left.shape[-1] else None
    rv = np.median(right, axis=-1) if right.shape[-1] else None
    lv = rv if lv is None else lv
    rv = lv if rv is None else rv
    x = (np.arange(t0, t1, dtype=np.float32) - (t0 - 0.5)) / np.float32(t1 - t0)
    out = lv[..., None] * (1 - x) + rv[..., None] * x
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
    pts = dabs(brush)
    t0 = max(0, math.floor(pts[:, 0].min() - rt))
    t1 = min(frames, math.ceil(pts[:, 0].max() + rt) + 1)
    r0 = max(0, math.floor(pts[:, 1].min() - rr))
    r1 = min(rows, math.ceil(pts[:, 1].max() + rr) + 1)
    if t0 >= t1 or r0 >= r1:
        return None
    if (t1 - t0) * (r1 - r0) * len(brush.channels) > MAX_EDIT_CELLS:
        raise ParameterError("the brush stroke covers too many cells")
    mask = np.zeros((r1 - r0, t1 - t0), np.float32)
    hard = 1.0 - brush.softness
    for t, r in pts:  # each dab touches only its own bounding box
        a, b = max(t0, math.floor(t - rt)), min(t1, math.ceil(t + rt) + 1)
        c, d = max(r0, math.floor(r - rr)), min(r1, math.ceil(r + rr) + 1)
        if a >= b or c >= d:
            continue
        dt = (np.arange(a, b) - t) / rt
        dr = (np.arange(c, d) - r) / rr
        dist = np.sqrt(dr[:, None] ** 2 + dt[None, :] ** 2)
        if hard >= 1.0:
            m = (dist <= 1.0).astype(np.float32)
        else:
            m = np.clip((1.0 - dist) / (1.0 - hard), 0.0, 1.0)
            m = (0.5 - 0.5 * np.cos(np.pi * m)).astype(np.float32)
        view = mask[c - r0 : d - r0, a - t0 : b - t0]
        np.maximum(view, m, out=view)
    if not mask.any():
        return None
    return t0, t1, r0, r1, mask


def apply(edit: Edit, px: np.ndarray, db_step: float):
    """The cells ``edit`` changes in ``px`` (``(channels, rows, frames)`` uint16): its
    record's applier (:data:`OPS`).

    Returns
    -------
    (Region, np.ndarray [shape=(len(channels), r1 - r0, t1 - t0), dtype=uint16]) or None
        The region and its new pixels; None when the edit changes nothing.
    """
    return spec(edit).apply(edit, px, db_step)


def _apply_brush(edit: Brush, px: np.ndarray, db_step: float):
    found = brush_mask(edit, px.shape[1], px.shape[2])
    if found is None:
        return None
    t0, t1, r0, r1, mask = found
    region = Region(edit.channels, t0, t1, r0, r1)
    return region, gain_pixels(take(px, region), edit.gain_db * mask, db_step)


def _apply_erase(edit: Erase, px: np.ndarray, db_step: float):
    r = edit.region
    return r, np.zeros((len(r.channels), r.r1 - r.r0, r.t1 - r.t0), np.uint16)


def _apply_gain(edit: Gain, px: np.ndarray, db_step: float):
    return edit.region, gain_pixels(take(px, edit.region), edit.gain_db, db_step)


def _apply_heal(edit: Heal, px: np.ndarray, db_step: float):
    r = edit.region
    return r, heal_patch(px[list(r.channels)], r.t0, r.t1, r.r0, r.r1)


def take(px: np.ndarray, region: Region) -> np.ndarray:
    """A copy of ``region``'s cells of ``px``."""
    return px[list(region.channels), region.r0 : region.r1, region.t0 : region.t1].copy()


def put(px: np.ndarray, region: Region, patch: np.ndarray) -> None:
    """Write ``patch`` into ``region`` of ``px`` in place."""
    for i, c in enumerate(region.channels):
        px[c, region.r0 : region.r1, region.t0 : region.t1] = patch[i]


def describe(edit: Edit) -> str:
    """A short label for the undo history."""
    return spec(edit).describe(edit)


def to_json(edit: Edit) -> dict:
    """The canonical JSON of ``edit``, in cells: :func:`parse_edit` of it gives ``edit``
    back exactly (floats survive JSON's round trip), on any recording of the same grid."""
    return {"op": spec(edit).name, **spec(edit).to_json(edit)}


def _region_json(r: Region) -> dict:
    return {"channels": list(r.channels), "frames": [r.t0, r.t1], "rows": [r.r0, r.r1]}


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Op:
    """One kind of edit: everything the editor, the journal and ``apply`` know of it.

    Attributes
    ----------
    name : str
        The ``op`` of its JSON.
    kind : type
        Its frozen dataclass.
    parse : callable (dict, Grid) -> edit
        The validator: bounds-checks a JSON object (``ParameterError`` naming the field).
    apply : callable (edit, px, db_step) -> (Region, new pixels) or None
        Pure: reads ``px``, never writes it.
    to_json : callable (edit) -> dict
        Its canonical fields (in cells), without ``op``.
    describe : callable (edit) -> str
        The undo history's label.
    new_content : bool
        It puts new content under the old phase (heal): re-synthesis iterates there even
        with an exact kept phase, and the export runs the full decode.
    """

    name: str
    kind: type
    parse: Callable
    apply: Callable
    to_json: Callable
    describe: Callable
    new_content: bool = False


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


def _rect_json(e) -> dict:
    return _region_json(e.region)


def _gain_json(e: Gain) -> dict:
    return {**_region_json(e.region), "gain_db": e.gain_db}


def _brush_json(e: Brush) -> dict:
    return {
        "channels": list(e.channels), "points": [list(p) for p in e.points],
        "radius": list(e.radius), "gain_db": e.gain_db, "softness": e.softness,
    }  # fmt: skip


for _op in (
    Op("erase", Erase, _parse_rect(Erase), _apply_erase, _rect_json, lambda e: "erase"),
    Op("gain", Gain, _parse_gain, _apply_gain, _gain_json,
       lambda e: f"gain {e.gain_db:+.1f} dB"),
    Op("heal", Heal, _parse_rect(Heal), _apply_heal, _rect_json, lambda e: "heal",
       new_content=True),
    Op("brush", Brush, _parse_brush, _apply_brush, _brush_json,
       lambda e: f"brush {e.gain_db:+.1f} dB"),
):  # fmt: skip
    register(_op)
