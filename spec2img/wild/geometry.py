"""Where each STFT cell lies in a plot drawn by ``librosa.display.specshow``.

specshow draws a ``pcolormesh`` whose cells are *centred* on the bin frequencies and
frame times: edges sit half-way between neighbouring centres, and the outer edges half a
step beyond the first and last centre.  So a linear-frequency image spans
``[-df/2, sr/2 + df/2]`` Hz and ``[-hop/2, (T - 1/2) hop] / sr`` seconds, and the axes
limits are exactly those edges (pcolormesh adds no margins).

The frequency axis is then drawn on one of matplotlib's scales:

``linear``
    uniform rows (also the layout of spec2img's own images and of GAN outputs);
``log``
    ``symlog`` with base 2, ``linthresh`` = C2 (65.4 Hz) and ``linscale`` 0.5, as
    librosa.display sets it for ``y_axis='log'``;
``mel``
    rows are mel bands centred on ``librosa.mel_frequencies(n_mels, fmin, fmax)``, on a
    ``symlog`` axis with base 2 and ``linthresh`` 1000 Hz (librosa's ``y_axis='mel'``);
``plainlog``
    matplotlib's plain ``log`` scale (``ax.set_yscale('log')`` on a specshow or a
    ``pcolormesh``, tick labels ``10^k``): the bins of a ``linear`` axis on a
    logarithmic one, whose visible range (``fmin``, the axis's bottom) must be given,
    since 0 Hz has no place on it.

Functions return cell edges in pixel coordinates of the plot area, ready for
:func:`spec2img.dsp.resize.raster_weights`.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

Y_AXES = ("linear", "log", "mel", "plainlog")
#: C2 in Hz (MIDI note 36), librosa.display's linear threshold for ``y_axis='log'``.
C2_HZ = 440.0 * 2.0 ** ((36 - 69) / 12)
#: matplotlib symlog parameters (base, linthresh, linscale) per axis type.
SYMLOG = {"log": (2.0, C2_HZ, 0.5), "mel": (2.0, 1000.0, 1.0)}


def centres_to_edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges half-way between centres, extended half a step at both ends.

    This is how ``pcolormesh(shading='nearest')`` (specshow's ``'auto'`` with one
    coordinate per cell) turns centres into edges, in data units.
    """
    c = np.asarray(centres, dtype=np.float64)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    half = np.diff(c) / 2
    return np.concatenate([[c[0] - half[0]], c[:-1] + half, [c[-1] + half[-1]]])


def _symlog(values: np.ndarray, axis: str) -> np.ndarray:
    from matplotlib.scale import SymmetricalLogTransform

    base, linthresh, linscale = SYMLOG[axis]
    tr = SymmetricalLogTransform(base, linthresh, linscale)
    return np.asarray(tr.transform_non_affine(np.asarray(values, dtype=np.float64)))


def row_centres(
    y_axis: str, n_rows: int, *, sample_rate: int, n_fft: int, scale: str = "linear",
    fmin: float = 0.0, fmax: float | None = None,
) -> np.ndarray:  # fmt: skip
    """Centre of each image row (lowest first) in the data units of ``y_axis``.

    Hz for ``log`` and ``mel`` and for STFT bins on a ``linear`` axis; the row index for
    mel bands on a ``linear`` axis (uniform rows).
    """
    if y_axis not in Y_AXES:
        raise ParameterError(f"y_axis must be one of {list(Y_AXES)}, not {y_axis!r}")
    if y_axis == "mel":
        import librosa

        fmax = sample_rate / 2 if fmax is None else fmax
        return librosa.mel_frequencies(n_mels=n_rows, fmin=fmin, fmax=fmax, htk=False)
    if scale == "mel":
        if y_axis in ("log", "plainlog"):
            raise ParameterError(
                "y_axis='log' draws STFT bins; these rows are mel bands "
                "(use y_axis mel for a specshow mel plot, linear for uniform rows)",
                params=("y_axis",),
            )
        return np.arange(n_rows, dtype=np.float64)
    return np.arange(n_rows) * (sample_rate / n_fft)


def row_edges_px(
    y_axis: str, centres: np.ndarray, top: float, bottom: float,
    limits: tuple[float | None, float | None] = (None, None),
) -> np.ndarray:  # fmt: skip
    """Row-cell edges in pixel coordinates, for cells ordered top (highest) first.

    Parameters
    ----------
    y_axis : {"linear", "log", "mel", "plainlog"}
    centres : np.ndarray
        Row centres, lowest first, in data units (see :func:`row_centres`).
    top, bottom : float
        Pixel coordinates of the plot area's upper and lower edge (``top < bottom``).
    limits : (float or None, float or None)
        Visible range of the axis in data units (``ylim``); ``None`` means the outer
        cell edge, as specshow leaves it.

    Returns
    -------
    np.ndarray [shape=(len(centres) + 1,), increasing]
        Edge ``i`` is the top of the ``i``-th row from the top.
    """
    edges = centres_to_edges(centres)
    lo = edges[0] if limits[0] is None else float(limits[0])
    hi = edges[-1] if limits[1] is None else float(limits[1])
    if not hi > lo:
        raise ParameterError(f"frequency range must have fmin < fmax, not {lo:g} >= {hi:g}")
    pts = np.concatenate([[lo, hi], edges])
    if y_axis in SYMLOG:
        pts = _symlog(pts, y_axis)
    elif y_axis == "plainlog":
        if not lo > 0:
            raise ParameterError(
                f"a plain log axis needs fmin > 0 (the bottom of the visible range), not {lo:g}",
                params=("fmin",),
            )
        # cells reaching 0 Hz or below (DC) end under the axis: half the bottom will do
        pts = np.log10(np.maximum(pts, lo / 2))
    t_lo, t_hi, t = pts[0], pts[1], pts[2:]
    frac = (t - t_lo) / (t_hi - t_lo)  # 0 at the bottom of the plot, 1 at the top
    return (bottom - frac * (bottom - top))[::-1]


def column_edges_px(n_frames: int, left: float, right: float) -> np.ndarray:
    """Frame-cell edges in pixel coordinates: frames are equally wide on a time axis."""
    return np.linspace(left, right, n_frames + 1)
