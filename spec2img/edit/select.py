"""Selections of a spectrogram as masks: rectangles, lassos (polygons), magic-wand regions.

A selection reaches the server compactly -- a rectangle as its corners, a lasso as its
polygon, a wand as its seed cell and tolerance -- and becomes here a bounding box
(:class:`~spec2img.edit.ops.Region`) and, unless it is a plain hard-edged rectangle, a
mask in [0, 1] over that box.  The wand's region is found on the server, where the
pixels are.  Everything is pure NumPy (and :mod:`scipy.ndimage` for the wand's
connected cells and the feather's distances), bounded by :data:`MAX_MASK_CELLS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ParameterError

#: Cells of one mask (its bounding box): 16 M cells, 64 MB as float32.
MAX_MASK_CELLS = 2**24
#: Vertices of one lasso polygon.
MAX_POLYGON = 5_000
#: Feather width in cells.
MAX_FEATHER = 64.0
#: Wand tolerance in dB.
MAX_TOLERANCE_DB = 60.0
#: Rows of a window lobe's skirt the wand takes beyond its tolerance (a Hann window's
#: main lobe reaches two bins from its peak; one more for a partial between bins).
WAND_SKIRT = 3


@dataclass(frozen=True)
class Shape:
    """A validated selection: a rectangle, a polygon or a wand seed, and a feather.

    ``box`` is the rectangle (for a lasso the polygon's bounding box; for a wand the
    window searched); ``polygon`` holds ``(frame, row)`` vertices; ``wand`` is
    ``(frame, row, channel, tolerance_db)``; ``feather`` the width in cells of the soft
    inner edge (0: hard).
    """

    box: object  # an ops.Region: channels, t0, t1, r0, r1
    polygon: tuple[tuple[float, float], ...] | None = None
    wand: tuple[int, int, int, float] | None = None
    feather: float = 0.0

    @property
    def plain(self) -> bool:
        """A hard-edged rectangle: no mask needed."""
        return self.polygon is None and self.wand is None and self.feather == 0


def polygon_mask(points: np.ndarray, t0: int, t1: int, r0: int, r1: int) -> np.ndarray:
    """Cells of ``[r0, r1) x [t0, t1)`` whose centres lie inside the closed polygon
    ``points`` (``(n, 2)`` of ``(frame, row)``), even-odd rule: ``(r1 - r0, t1 - t0)`` bool.

    A scanline fill: per row, the crossings of the edges with the row's centre line,
    sorted, filled pairwise -- O(rows x edges), not O(cells x edges).
    """
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    out = np.zeros((r1 - r0, t1 - t0), bool)
    cols = np.arange(t0, t1, dtype=np.float64)
    for i, y in enumerate(range(r0, r1)):
        hit = (y0 <= y) != (y1 <= y)  # the edge crosses the line (half-open at its ends)
        if not hit.any():
            continue
        a, b, c, d = x0[hit], y0[hit], x1[hit], y1[hit]
        xs = np.sort(a + (y - b) * (c - a) / (d - b))
        for lo, hi in zip(xs[0::2], xs[1::2], strict=False):
            out[i] |= (cols >= lo) & (cols < hi)
    return out


def wand_mask(
    db: np.ndarray, seed: tuple[int, int], tolerance_db: float, *, skirt: int = 0
) -> np.ndarray | None:
    """The cells of ``db`` (``(rows, frames)``, silence at -inf) connected to ``seed``
    (row, frame) through cells within ``tolerance_db`` of it (4-neighbours): bool, or
    None when the seed is silent.

    ``skirt`` rows more are taken above and below, as long as the level keeps falling
    away from the selection: the skirts of a partial's window lobe, which lie further
    below its peak than any useful tolerance, belong to the sound too (without them a
    hum line erased leaves its lobe's edges behind).
    """
    from scipy import ndimage

    r, t = seed
    level = db[r, t]
    if not np.isfinite(level):
        return None
    near = np.abs(db - level) <= tolerance_db
    labels, _ = ndimage.label(near)
    m = labels == labels[r, t]
    front, live = m, np.isfinite(db)
    for _ in range(skirt):
        grow = np.zeros_like(m)
        grow[1:] |= front[:-1] & (db[1:] < db[:-1])
        grow[:-1] |= front[1:] & (db[:-1] < db[1:])
        grow &= ~m & live
        if not grow.any():
            break
        m |= grow
        front = grow
    return m


def feather_mask(hard: np.ndarray, width: float) -> np.ndarray:
    """``hard`` (bool) with a soft inner edge ``width`` cells wide: 1 deep inside, a
    raised-cosine fall to 0 at the border (float32)."""
    m = hard.astype(np.float32)
    if width <= 0 or not hard.any():
        return m
    from scipy import ndimage

    padded = np.pad(hard, 1)  # the box's own border is a border too
    dist = ndimage.distance_transform_edt(padded)[1:-1, 1:-1]
    x = np.clip(dist / (width + 0.5), 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * x)).astype(np.float32) * m


def shape_mask(shape: Shape, px: np.ndarray, db_min: float, db_step: float):
    """The selection ``shape`` over ``px`` (``(channels, rows, frames)`` uint16):
    ``(Region, mask)`` with ``mask`` float32 ``(r1 - r0, t1 - t0)`` in [0, 1] (None for
    a plain rectangle), shrunk to the cells the mask holds.

    Raises
    ------
    ParameterError
        The selection holds no cell (e.g. a wand on silence).
    """
    box = shape.box
    if shape.plain:
        return box, None
    if box.cells // len(box.channels) > MAX_MASK_CELLS:
        raise ParameterError(
            f"the selection's box has {box.cells // len(box.channels)} cells, beyond "
            f"{MAX_MASK_CELLS}; select a smaller area"
        )
    if shape.polygon is not None:
        hard = polygon_mask(np.asarray(shape.polygon, np.float64), box.t0, box.t1, box.r0,
                            box.r1)  # fmt: skip
    elif shape.wand is not None:
        t, r, ch, tol = shape.wand
        block = px[ch, box.r0 : box.r1, box.t0 : box.t1]
        db = block.astype(np.float32) * np.float32(db_step) + np.float32(db_min)
        db[block == 0] = -np.inf
        hard = wand_mask(db, (r - box.r0, t - box.t0), tol, skirt=WAND_SKIRT)
        if hard is None:
            raise ParameterError("the wand was clicked on silence: click on sound to select it")
    else:
        hard = np.ones((box.r1 - box.r0, box.t1 - box.t0), bool)
    rows = np.flatnonzero(hard.any(axis=1))
    cols = np.flatnonzero(hard.any(axis=0))
    if not rows.size:
        raise ParameterError("the selection holds no cells of the spectrogram")
    a, b, c, d = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    mask = feather_mask(hard[a:b, c:d], shape.feather)
    region = replace(box, t0=box.t0 + int(c), t1=box.t0 + int(d), r0=box.r0 + int(a),
                     r1=box.r0 + int(b))  # fmt: skip
    return region, mask
