"""Where matplotlib put a figure's axes, to a fraction of a pixel.

matplotlib snaps the lines it draws to whole pixels: a line of odd width (the
0.8-pt frame and tick marks at 72 or 100 dpi) is centred on the pixel whose left
edge is nearest the true position, one of even width on the nearest pixel edge.
The measured centre of a tick mark therefore says its true position only to within
half a pixel, and a least-squares line through the ticks, extended to the frame's
edge, is as far out as that: at 72 dpi a pixel is 28 ms of an 8-s figure, and
the duration read from the axis missed by a segment or two of ``plt.specgram``'s
128 samples (0.3-0.8 dB mel-LSD on speech).

:func:`axis_end` reads every tick as the interval of positions that draws it there
and keeps only the axis ends that fit all of them at once (with the value at the
frame's left edge fixed by the drawing tool, e.g. ``plt.specgram``'s first column
starts ``(NFFT - noverlap) / 2`` in).  :func:`default_frame` says where the frame
is exactly when the figure keeps matplotlib's default layout (``plt.subplots()``,
with or without a default ``fig.colorbar``), which the figure's size and dpi
(PNG's ``pHYs``) give.  Every loop is over a fixed grid and the ticks of one axis.
"""

from __future__ import annotations

import math

import numpy as np

#: matplotlib's default subplot parameters (``figure.subplot.*``).
SUBPLOT = {"left": 0.125, "right": 0.9, "bottom": 0.11, "top": 0.88}
#: ``fig.colorbar(ax=ax)`` takes ``fraction`` 0.15 and ``pad`` 0.05 of the axes' width.
_BAR_SHARE = 1 - 0.15 - 0.05


def _interval(c: float) -> tuple[float, float]:
    """The true positions that a line snapped to whole pixels and measured centred at
    ``c`` can have: odd widths sit on pixel centres, even widths on pixel edges; a
    centre that is neither (a resampled image) gets a pixel either side."""
    frac = c - math.floor(c)
    if abs(frac - 0.5) <= 0.2:  # odd width: drawn at round(x) + 0.5
        x = math.floor(c)
        return x - 0.5, x + 0.5
    if frac <= 0.2 or frac >= 0.8:  # even width: drawn at round(x)
        x = round(c)
        return x - 0.5, x + 0.5
    return c - 1.0, c + 1.0


def default_frame(
    size: tuple[int, int], dpi: float | None, left: float, right: float, *, bar: bool
) -> tuple[float, float] | None:
    """The frame's exact left and right (pixels) if the figure keeps matplotlib's
    default layout, else ``None``.

    ``size`` is the image's pixel size, ``dpi`` its stated resolution, ``left`` and
    ``right`` the measured centres of the frame's sides, ``bar`` whether a colour
    bar stands right of the axes.  The figure's width in inches is taken to a tenth
    (``figsize=(6.4, 4.8)`` and the like; the image is ``int(width * dpi)`` pixels
    wide); the layout is believed only if both sides, snapped as matplotlib snaps
    them, land on the pixels measured.
    """
    if not dpi or not (20 <= dpi <= 1200):
        return None
    dpi = float(round(dpi))
    w = size[0]
    widths = {round(i / 10, 1) for i in (math.floor(10 * w / dpi), math.ceil(10 * w / dpi))}
    fits = [fw * dpi for fw in widths if int(fw * dpi + 1e-9) == w]
    if not fits and w / dpi == round(w / dpi, 1):
        fits = [float(w)]
    right_frac = SUBPLOT["left"] + (SUBPLOT["right"] - SUBPLOT["left"]) * (_BAR_SHARE if bar else 1)
    found = []
    for fw in fits:
        x0, x1 = SUBPLOT["left"] * fw, right_frac * fw
        a0, b0 = _interval(left)
        a1, b1 = _interval(right)
        if a0 <= x0 < b0 and a1 <= x1 < b1:
            found.append((x0, x1))
    return found[0] if len(found) == 1 else None


def axis_end(
    pairs, left: float, right: float, *, t_left: float, frame=None, steps: int = 40
) -> tuple[float, float] | None:
    """The values at the frame's right edge that every tick allows: ``(lo, hi)``.

    Parameters
    ----------
    pairs : list of (float, float)
        ``(measured tick centre, value)`` of labels that lie on the axis's line.
    left, right : float
        Measured centres of the frame's sides (pixels).
    t_left : float
        The value at the frame's left edge (the drawing tool's convention).
    frame : (float, float) or None
        The frame's exact sides (:func:`default_frame`), if known.

    Returns
    -------
    (float, float) or None
        ``None`` when no axis fits every tick (a misread label, a resampled image).
    """
    if len(pairs) < 2:
        return None
    if frame is not None:
        x0s = np.array([frame[0]])
        x1_lo = x1_hi = frame[1]
    else:
        a0, b0 = _interval(left)
        x0s = np.linspace(a0, b0, steps + 1)
        x1_lo, x1_hi = _interval(right)
    lo = hi = None
    # ticks right of the left edge (one on it says nothing of the scale)
    ticks = [(_interval(c), v - t_left) for c, v in pairs if v > t_left]
    if len(ticks) < 2:
        return None
    for x0 in x0s:
        s_lo, s_hi = 0.0, math.inf  # value per pixel
        for (a, b), dv in ticks:
            if a <= x0:
                continue
            s_lo = max(s_lo, dv / (b - x0))
            s_hi = min(s_hi, dv / (a - x0))
        if s_lo > s_hi or s_hi == math.inf:
            continue
        t_lo, t_hi = t_left + s_lo * (x1_lo - x0), t_left + s_hi * (x1_hi - x0)
        lo = t_lo if lo is None else min(lo, t_lo)
        hi = t_hi if hi is None else max(hi, t_hi)
    return None if lo is None else (lo, hi)
