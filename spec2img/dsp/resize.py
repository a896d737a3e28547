"""Resampling between pixel grids and STFT grids, one axis at a time.

A pixel ``i`` covers ``[i, i + 1)`` on its axis; a target cell covers ``[a, b)`` in the
same (continuous) pixel coordinates.  Two models of how the pixels were made:

:func:`raster_weights` -- the image was *drawn* (matplotlib's Agg paints each pixel of
    a ``pcolormesh`` in the colour of the cell under the pixel's centre), so each pixel
    belongs to exactly one cell:

    - a cell that owns pixels takes their average (a cell drawn as a block of pixels
      comes back as its value, and JPEG noise averages out);
    - a cell narrower than a pixel that owns one takes that pixel's value exactly;
    - a cell that owns none (the plot had fewer pixels than cells) is interpolated
      linearly, by cell index, between the nearest cells that own pixels.

:func:`grid_weights` -- the image was *resized* (spec2img's ``size=``, a GAN's output):
    a cell at least a pixel wide averages the pixels it owns (area averaging, and the
    exact inverse of repeating each cell over a block of pixels); a narrower cell
    takes the linear interpolation between the pixel centres around its own centre.

The weights form a sparse ``(cells, pixels)`` matrix whose non-empty rows sum to 1, so
a 2-D image is resampled by two products, and a huge image can be reduced in strips.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


def raster_weights(edges: np.ndarray, n_px: int):
    """Sparse weights ``(len(edges) - 1, n_px)`` from drawn pixels to cells.

    Parameters
    ----------
    edges : np.ndarray [shape=(n_cells + 1,), increasing]
        Cell edges in pixel coordinates.  Cells entirely outside ``[0, n_px]`` get an
        all-zero row.
    n_px : int > 0
        Pixels on the axis.

    Returns
    -------
    scipy.sparse.csr_matrix [shape=(n_cells, n_px), dtype=float64]
        Each non-empty row sums to 1.
    """
    edges = _check_edges(edges)
    n_cells = len(edges) - 1
    # The cell under each pixel's centre; -1 or n_cells when outside every cell.
    owner = np.searchsorted(edges, np.arange(n_px) + 0.5, side="right") - 1
    owner[(np.arange(n_px) + 0.5) >= edges[-1]] = n_cells
    inside = (owner >= 0) & (owner < n_cells)
    px = np.flatnonzero(inside)
    owner = owner[inside]
    rows, cols, vals = [owner], [px], [np.ones(px.size)]
    centre = (edges[:-1] + edges[1:]) / 2

    # Cells that own no pixel: between the nearest owning cells, by cell index.
    counts = np.bincount(owner, minlength=n_cells)
    empty = np.flatnonzero((counts == 0) & (edges[1:] > 0) & (edges[:-1] < n_px))
    if empty.size and px.size:
        owning = np.flatnonzero(counts)
        first_px = np.searchsorted(owner, owning, side="left")  # owner is sorted
        last_px = np.searchsorted(owner, owning, side="right") - 1
        pos = np.searchsorted(owning, empty)
        hi = np.clip(pos, 0, owning.size - 1)
        lo = np.clip(pos - 1, 0, owning.size - 1)
        k_lo, k_hi = owning[lo], owning[hi]
        span = k_hi - k_lo
        t = np.where(span > 0, (empty - k_lo) / np.where(span > 0, span, 1), 0.0)
        t = np.clip(t, 0.0, 1.0)
        near_lo = np.where(k_lo < empty, last_px[lo], first_px[lo])
        near_hi = np.where(k_hi > empty, first_px[hi], last_px[hi])
        rows += [empty, empty]
        cols += [px[near_lo], px[near_hi]]
        vals += [1.0 - t, t]
    elif empty.size:  # no pixel centre falls in any cell: the pixel under each centre
        rows.append(empty)
        cols.append(np.clip(np.floor(centre[empty]), 0, n_px - 1).astype(np.int64))
        vals.append(np.ones(empty.size))

    return _normalised(rows, cols, vals, (n_cells, n_px))


def grid_weights(edges: np.ndarray, n_px: int, *, grow: str = "linear"):
    """Sparse weights ``(len(edges) - 1, n_px)`` from resized pixels to cells.

    Cells at least a pixel wide average the pixels they own, as in
    :func:`raster_weights` (the exact inverse of ``grow="nearest"``); narrower cells
    take the linear interpolation between the pixel centres around their own centre
    (``grow="linear"``) or the pixel under it (``grow="nearest"``).
    """
    if grow not in ("linear", "nearest"):
        raise ParameterError(f"grow must be 'linear' or 'nearest', not {grow!r}")
    edges = _check_edges(edges)
    n_cells = len(edges) - 1
    wide = (edges[1:] - edges[:-1]) >= 1.0
    m = raster_weights(edges, n_px).tocoo()
    keep = wide[m.row]
    rows, cols, vals = [m.row[keep]], [m.col[keep]], [m.data[keep]]
    centre = (edges[:-1] + edges[1:]) / 2
    cn = np.flatnonzero(~wide & (edges[1:] > 0) & (edges[:-1] < n_px))
    if cn.size:
        if grow == "nearest":
            rows.append(cn)
            cols.append(np.clip(np.floor(centre[cn]), 0, n_px - 1).astype(np.int64))
            vals.append(np.ones(cn.size))
        else:
            p = np.clip(centre[cn] - 0.5, 0.0, n_px - 1.0)
            i0 = np.floor(p).astype(np.int64)
            frac = p - i0
            rows += [cn, cn]
            cols += [i0, np.minimum(i0 + 1, n_px - 1)]
            vals += [1.0 - frac, frac]
    return _normalised(rows, cols, vals, (n_cells, n_px))


def lanczos_weights(edges: np.ndarray, n_px: int, *, lobes: int = 3):
    """Sparse weights ``(len(edges) - 1, n_px)`` from resized pixels to cells, by a
    Lanczos kernel centred on each cell and stretched to its width (at least a pixel).

    For images resized from the grid by an image library (a GAN's 8-bit 256x256
    output, a training image), averaging the pixels a cell owns blurs once more what
    the library's interpolation already blurred; the Lanczos kernel's negative lobes
    take part of that blur back.  Measured on 8-bit 256x256 mel images decoded with
    ``--params-from``: mel-LSD 0.4 dB lower than the box average on a tone and chirp,
    and lower than bicubic resampling back to the grid (``bench/fast.py``).
    """
    edges = _check_edges(edges)
    n_cells = len(edges) - 1
    centre = (edges[:-1] + edges[1:]) / 2
    width = np.maximum(edges[1:] - edges[:-1], 1.0)
    reach = np.ceil(lobes * width).astype(np.int64) + 1
    rows, cols, vals = [], [], []
    for k in range(int(reach.max(initial=0)) * 2 + 1):
        j = np.floor(centre - 0.5).astype(np.int64) - reach + k
        ok = (k <= 2 * reach) & (j >= 0) & (j < n_px) & (edges[1:] > 0) & (edges[:-1] < n_px)
        x = (j + 0.5 - centre) / width
        w = np.where(np.abs(x) < lobes, np.sinc(x) * np.sinc(x / lobes), 0.0)
        ok &= w != 0
        rows.append(np.flatnonzero(ok))
        cols.append(j[ok])
        vals.append(w[ok])
    return _normalised(rows, cols, vals, (n_cells, n_px))


def _check_edges(edges) -> np.ndarray:
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)):
        raise ParameterError("cell edges must be a sequence of at least 2 finite values")
    if np.any(np.diff(edges) < 0):
        raise ParameterError("cell edges must be increasing")
    return edges


def _normalised(rows, cols, vals, shape):
    import scipy.sparse

    if not rows:
        return scipy.sparse.csr_matrix(shape)
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    m = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=shape)
    m.sum_duplicates()
    total = np.asarray(m.sum(axis=1)).ravel()
    scale = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    return (scipy.sparse.diags(scale) @ m).tocsr()


def uniform_edges(n_cells: int, n_px: int) -> np.ndarray:
    """Edges of ``n_cells`` equal cells spanning ``n_px`` pixels exactly."""
    return np.linspace(0.0, float(n_px), n_cells + 1)


def resize(x: np.ndarray, shape: tuple[int, int], *, grow: str = "linear") -> np.ndarray:
    """Resample the last two axes of ``x`` to ``shape`` (see :func:`grid_weights`).

    Parameters
    ----------
    x : np.ndarray [shape=(..., h, w)]
    shape : (int, int)
        Output ``(h, w)``.  An axis that shrinks is block-averaged; one that grows is
        interpolated linearly (cell centres aligned) or, with ``grow="nearest"``,
        repeated, which the shrinking direction undoes exactly.
    grow : {"linear", "nearest"}

    Returns
    -------
    np.ndarray [shape=(..., shape[0], shape[1]), dtype=float32]
    """
    h_out, w_out = (int(s) for s in shape)
    if h_out < 1 or w_out < 1:
        raise ParameterError(f"size must be at least 1x1, not {w_out}x{h_out}")
    x = np.asarray(x, dtype=np.float32)
    lead = x.shape[:-2]
    h, w = x.shape[-2:]
    if (h, w) == (h_out, w_out):
        return x.copy()
    flat = x.reshape(-1, h, w)
    wy = grid_weights(uniform_edges(h_out, h), h, grow=grow).astype(np.float32)
    wx = grid_weights(uniform_edges(w_out, w), w, grow=grow).astype(np.float32).T.tocsc()
    out = np.empty((flat.shape[0], h_out, w_out), np.float32)
    for k, block in enumerate(flat):
        out[k] = np.asarray((wy @ block) @ wx, dtype=np.float32)
    return out.reshape(*lead, h_out, w_out)
