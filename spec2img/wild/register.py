"""Sub-pixel registration of a plot area against the grid of cells drawn in it.

Trimming a border or finding an axes frame locates the plot area only to within half a
pixel: the rasteriser fills every pixel whose centre lies inside the axes, so an edge at
172.8 px and one at 173.4 px give the same picture.  When a cell is one or two pixels
tall, half a pixel is half a cell, and most pixels would be credited to the wrong cell.

The picture itself says where the cells are: two neighbouring pixel rows inside one cell
have the same colour, and a row boundary that is a cell boundary usually shows a change.
:func:`register` tries edge positions within +-0.6 px of the estimate and keeps the pair
(per axis) whose predicted cell boundaries collect the most colour change.  Where the
cells are narrower than pixels every row boundary is a cell boundary, the score does not
depend on the edges, and the estimate is kept.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import replace

import numpy as np

#: Edge offsets tried, in pixels, around the estimated plot area.
OFFSETS = np.round(np.arange(-0.6, 0.6001, 0.05), 2)
#: Rows (columns) sampled to build the column (row) profile.
MAX_LINES = 512


def difference_profiles(raster, box, levels_of) -> tuple[np.ndarray, np.ndarray]:
    """Mean absolute change between neighbouring rows and between neighbouring columns.

    Parameters
    ----------
    raster : spec2img.wild.raster.Raster
    box : (int, int, int, int)
        Pixels to look at (left, top, right, bottom).
    levels_of : callable(pixels) -> (level, valid)
        Colour to value, as :meth:`spec2img.wild.colormap.ColormapInverse.pixel_levels`.

    Returns
    -------
    rows : np.ndarray [shape=(bottom - top - 1,)]
        ``rows[i]``: change between rows ``top + i`` and ``top + i + 1``.
    cols : np.ndarray [shape=(right - left - 1,)]
    """
    c0, r0, c1, r1 = box
    w, h = c1 - c0, r1 - r0
    sample_cols = np.unique(np.linspace(0, w - 1, min(w, MAX_LINES)).astype(np.int64))
    sample_rows = set(np.unique(np.linspace(0, h - 1, min(h, MAX_LINES)).astype(np.int64)))
    row_d = np.zeros(max(h - 1, 0))
    col_d = np.zeros(max(w - 1, 0))
    with warnings.catch_warnings():  # lines of foreign colours only: no change known
        warnings.simplefilter("ignore", RuntimeWarning)
        return _profiles(raster, box, levels_of, sample_cols, sample_rows, row_d, col_d, r0, w)


def _profiles(raster, box, levels_of, sample_cols, sample_rows, row_d, col_d, r0, w):
    prev = None
    for r, px in raster.strips(box):
        level, valid = levels_of(px)
        level = np.where(valid, level, np.nan)
        sub = level[:, sample_cols]
        if prev is not None:
            sub = np.vstack([prev, sub])
            start = r - r0 - 1
        else:
            start = r - r0
        if len(sub) > 1:
            d = np.nanmean(np.abs(np.diff(sub, axis=0)), axis=1)
            row_d[start : start + len(d)] = np.nan_to_num(d)
        prev = sub[-1:]
        rows_here = [i - (r - r0) for i in range(r - r0, r - r0 + len(level)) if i in sample_rows]
        if rows_here and w > 1:
            d = np.abs(np.diff(level[rows_here], axis=1))
            col_d += np.nan_to_num(np.nanmean(d, axis=0))
    return row_d, col_d


def best_edges(
    profile: np.ndarray, start: int, lo: float, hi: float,
    edges_for: Callable[[float, float], np.ndarray],
) -> tuple[float, float]:  # fmt: skip
    """The edge pair near ``(lo, hi)`` whose cell boundaries best match ``profile``.

    Parameters
    ----------
    profile : np.ndarray
        ``profile[i]``: change between pixel lines ``start + i`` and ``start + i + 1``.
    start : int
        Pixel coordinate of the first line of the profile.
    lo, hi : float
        Estimated plot-area edges (continuous pixel coordinates).
    edges_for : callable(lo, hi) -> np.ndarray
        Increasing cell edges for a plot area spanning ``lo..hi``.
    """
    if profile.size < 2 or not np.any(profile > 0):
        return lo, hi
    centres = start + np.arange(profile.size + 1) + 0.5
    best = (-np.inf, lo, hi)
    for da in OFFSETS:
        for db in OFFSETS:
            a, b = lo + da, hi + db
            if b - a < 2:
                continue
            owner = np.searchsorted(edges_for(a, b), centres, side="right")
            score = float(profile[owner[1:] != owner[:-1]].sum())
            score -= 1e-9 * (abs(da) + abs(db))  # ties: stay with the estimate
            if score > best[0]:
                best = (score, a, b)
    return best[1], best[2]


def register(raster, area, edges_fn, levels_of):
    """``area`` moved (by at most 0.6 px per edge) onto the cell grid the pixels show.

    Parameters
    ----------
    raster : spec2img.wild.raster.Raster
    area : spec2img.wild.raster.PlotArea
    edges_fn : callable(area) -> (x_edges, y_edges)
        Cell edges for a plot area (:func:`spec2img.wild.plain.cell_edges`).
    levels_of : callable(pixels) -> (level, valid)
    """
    w, h = raster.size
    pad = max((min(b[2] - b[0], b[3] - b[1]) for b in area.masked), default=0)
    c0 = max(0, math.ceil(area.left) + pad)
    c1 = min(w, math.floor(area.right) - pad)
    r0 = max(0, math.ceil(area.top) + pad)
    r1 = min(h, math.floor(area.bottom) - pad)
    if c1 - c0 < 4 or r1 - r0 < 4:
        return area
    row_d, col_d = difference_profiles(raster, (c0, r0, c1, r1), levels_of)

    def y_edges(top, bottom):
        return edges_fn(replace(area, top=top, bottom=bottom))[1]

    def x_edges(left, right):
        return edges_fn(replace(area, left=left, right=right))[0]

    top, bottom = best_edges(row_d, r0, area.top, area.bottom, y_edges)
    left, right = best_edges(col_d, c0, area.left, area.right, x_edges)
    return replace(area, left=left, top=top, right=right, bottom=bottom)
