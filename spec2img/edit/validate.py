"""Requests as untrusted data: JSON objects to the typed records of :mod:`.records`.

Every request coming from the page (and every entry of an edit list) is validated
here, with bounds, before it touches the session: each parser turns a JSON object
into a frozen record or raises :class:`~spec2img.errors.ParameterError` with a message
that names the bad field.  No number reaches arithmetic before :func:`finite` has seen
it.  :func:`spec2img.edit.ops.parse_edit` picks the parser of an ``op`` from the one
table, :data:`spec2img.edit.ops.OPS`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from . import paint as _paint
from .paint import MAX_HARMONICS
from .records import (
    MAX_BRUSH_CELLS,
    MAX_EDIT_CELLS,
    MAX_GAIN_DB,
    MAX_POINTS,
    Brush,
    Clip,
    Copied,
    Gain,
    Grid,
    Held,
    Move,
    Paint,
    Paste,
    Picture,
    Region,
)
from .select import MAX_FEATHER, MAX_MASK_CELLS, MAX_POLYGON, MAX_TOLERANCE_DB, Shape

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
    return Paste(int(frame), _ratio(data), ch, _source(data.get("from"), grid))


#: Largest ``at`` of a paste's source (the most edits an edit list may hold).
MAX_AT = 200_000
#: Radians of one step of a kept phase (16-bit steps, 65536 a turn).
PHASE_STEP = 2 * np.pi / 65536


def _source(v, grid: Grid) -> Copied | Held | None:
    """A paste's ``from``: ``{"at": EDITS, <a selection>}`` (the selection of the state
    after the list's first EDITS edits) or ``{"cells": {...}}`` (the cells themselves)."""
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ParameterError(
            f"'from' must be an object (an 'at' and a selection, or 'cells'), not {_short(v)}"
        )
    if "cells" in v:
        return Held(_cells(v["cells"], grid))
    at = _number(v, "at", 0, MAX_AT)
    if not at.is_integer():
        raise ParameterError(f"'from' 'at' must be a whole number of edits, not {at}")
    try:
        shape = _shape(v, grid)
    except ParameterError as e:
        raise ParameterError(f"'from': {e}") from None
    return Copied(int(at), shape)


def _cells(c, grid: Grid) -> Clip:
    """Copied cells as JSON: their rectangle (``channels``, ``frames``, ``rows``), the
    linear ``bins`` their phase covers, and three little-endian arrays in base64:
    ``pixels`` (uint16, channels x rows x frames), ``mask`` (float32 in [0, 1], rows x
    frames) and ``phase`` (uint16 steps of a turn / 65536, channels x bins x frames)."""
    if not isinstance(c, dict):
        raise ParameterError(f"'from' 'cells' must be an object, not {_short(c)}")
    if c.get("channels") is None:
        raise ParameterError("'from' 'cells' needs 'channels'")
    ch = _channels(c, grid)
    spans = []
    for key, n in (("frames", grid.frames), ("rows", grid.rows), ("bins", grid.bins or grid.rows)):
        pair = _pair(c, key)
        if pair is None:
            raise ParameterError(f"'from' 'cells' needs {key!r}")
        spans.append(_index_range(pair, n, key))
    (t0, t1), (r0, r1), (b0, b1) = spans
    T = t1 - t0
    if (r1 - r0) * T > MAX_MASK_CELLS or (b1 - b0) * T > MAX_MASK_CELLS:
        raise ParameterError(f"the copied cells are more than {MAX_MASK_CELLS} a channel")
    pixels = _array(c, "pixels", "<u2", (len(ch), r1 - r0, T))
    mask = _array(c, "mask", "<f4", (r1 - r0, T))
    if not (np.isfinite(mask).all() and mask.min(initial=0) >= 0 and mask.max(initial=0) <= 1):
        raise ParameterError("'from' 'cells' 'mask' must hold numbers in [0, 1]")
    q = _array(c, "phase", "<u2", (len(ch), b1 - b0, T))
    phase = (q.astype(np.float64) * PHASE_STEP).astype(np.float32)
    return Clip(ch, t0, t1, r0, r1, pixels.astype(np.uint16), mask.astype(np.float32),
                b0, b1, phase)  # fmt: skip


def _array(c: dict, key: str, dtype: str, shape: tuple) -> np.ndarray:
    import base64
    import binascii

    want = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = c.get(key)
    if not isinstance(raw, str) or len(raw) != 4 * -(-want // 3):
        raise ParameterError(
            f"'from' 'cells' {key!r} must be base64 of {want} bytes ({dtype} {list(shape)})"
        )
    try:
        blob = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ParameterError(f"'from' 'cells' {key!r} is not valid base64") from None
    if len(blob) != want:
        raise ParameterError(f"'from' 'cells' {key!r} holds {len(blob)} bytes, not {want}")
    return np.frombuffer(blob, dtype).reshape(shape)


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


def _steps(brush: Brush) -> np.ndarray:
    """Dabs added between consecutive points (at most half a radius apart)."""
    rt, rr = brush.radius
    seg = np.diff(np.asarray(brush.points, np.float64), axis=0)
    n = np.maximum(1, np.ceil(np.hypot(seg[:, 0] / rt, seg[:, 1] / rr) * 2)).astype(np.int64)
    return np.minimum(n, 1000)


def brush_cells(brush: Brush) -> int:
    """Cells a stroke computes, dab by dab: its work, known before doing any."""
    n = 1 + int(_steps(brush).sum()) if len(brush.points) > 1 else 1
    rt, rr = brush.radius
    box = (2 * math.ceil(rt) + 2) * (2 * math.ceil(rr) + 2)
    return n * box * len(brush.channels)


def _gain(data: dict, grid: Grid) -> Gain:
    return Gain(_shape(data, grid), _number(data, "gain_db", -MAX_GAIN_DB, MAX_GAIN_DB))
