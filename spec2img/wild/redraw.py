"""White noise drawn the way a figure's tool drew the picture: the noise ruler's calibration.

A periodogram cell of noise is exponential (chi-squared with two degrees of freedom), so
its dB have a known spread and shape whatever the noise's level or colour.  Drawn, the
cells are resampled onto pixels (``imshow``'s antialiasing, ``pcolormesh``'s gouraud
shading) and the spread a picture shows depends on how many frames and bins share a
pixel.  Rather than model that, the same tool draws white noise at the same geometry
(frames per pixel column, pixels per row) with matplotlib, and the picture's noise is
compared with it (:func:`spec2img.wild.estimate.range_from_noise`).
"""

from __future__ import annotations

import functools

import numpy as np

#: Most pixel columns drawn for a calibration (a longer picture is drawn shorter at the
#: same frames per column).
MAX_COLUMNS = 480


def drawn_noise(
    tool: str,
    *,
    sr: int,
    n_samples: int,
    n_fft: int,
    hop_length: int,
    width: float,
    height: float,
    cmap: str = "viridis",
    seed: int = 0,
    top_db: float | None = None,
) -> tuple[np.ndarray, float, int]:
    """Draw white noise as ``tool`` would in an axes box of ``width`` x ``height`` pixels.

    Parameters
    ----------
    tool : {"specgram", "scipy"}
        ``plt.specgram`` (``imshow`` of ``10 log10`` PSD, Hann) or ``pcolormesh`` of
        ``scipy.signal.spectrogram`` in dB (Tukey(0.25), gouraud shading).
    sr, n_samples : the audio the picture shows
    n_fft, hop_length : the tool's framing
    width, height : the axes box in pixels
    top_db : float > 0 or None
        The dB range the colours span, down from the noise's maximum; ``None``:
        the noise's own minimum to maximum, as the tools draw it.  A fixed range
        keeps what a drawing does to deep dips from following the noise's random
        minimum (:func:`spec2img.wild.estimate.range_from_dips`).

    Returns
    -------
    (rgba, top_db, columns)
        ``(height, columns, 4)`` uint8 pixels (read-only: the drawing is kept for
        the next picture of the same geometry, as in a folder of figures), the dB
        range the colours span, and the width drawn (at most :data:`MAX_COLUMNS`,
        keeping frames per column).
    """
    w, h = max(int(round(width)), 8), max(int(round(height)), 8)
    top = None if top_db is None else float(top_db)
    return _drawn(tool, int(sr), int(n_samples), int(n_fft), int(hop_length), w, h, cmap, seed, top)


@functools.lru_cache(maxsize=8)
def _drawn(
    tool: str,
    sr: int,
    n_samples: int,
    n_fft: int,
    hop_length: int,
    width: int,
    height: int,
    cmap: str,
    seed: int,
    top_db: float | None,
) -> tuple[np.ndarray, float, int]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .shipped import shipped_style

    columns = min(width, MAX_COLUMNS)
    n = max(int(n_samples * columns / width), n_fft + hop_length)
    y = np.random.default_rng(seed).standard_normal(n)
    with shipped_style():  # drawn as matplotlib ships, whatever the caller's style
        fig = Figure(figsize=(columns / 100, height / 100), dpi=100)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        if tool == "scipy":
            from scipy import signal

            f, t, sxx = signal.spectrogram(y, sr, nperseg=n_fft, noverlap=n_fft - hop_length)
            img = ax.pcolormesh(t, f, 10 * np.log10(np.maximum(sxx, 1e-20)), shading="gouraud",
                                cmap=cmap)  # fmt: skip
        else:
            _, _, _, img = ax.specgram(y, NFFT=n_fft, Fs=sr, noverlap=n_fft - hop_length, cmap=cmap)
        if top_db is not None:
            img.set_clim(img.get_clim()[1] - top_db, img.get_clim()[1])
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
    rgba = np.array(canvas.buffer_rgba(), dtype=np.uint8)
    rgba.flags.writeable = False
    lo, hi = img.get_clim()
    return rgba, float(hi - lo), columns
