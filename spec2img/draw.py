"""Drawing spectrogram images with matplotlib: labelled figures and ``specshow``-like axes.

One drawing for every face: ``spec2img show`` (the CLI's preview), an image's
notebook display (:mod:`spec2img.display`) and :meth:`SpectrogramImage.plot
<spec2img.io.image.SpectrogramImage.plot>` all call :func:`specshow`.  Time is in
seconds, frequency in Hz on the image's own scale (linear bins, or mel bands labelled
in Hz), colours in dB.  Figures are built without pyplot (no global state); pyplot is
imported only when :func:`specshow` is given no axes, as librosa's is.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

#: Cells drawn at most (rows, columns); larger images are averaged down for display.
MAX_DRAWN = (1500, 3000)


def specshow(image, *, ax=None, channel: int = 0, cmap: str = "magma", relative=None):
    """Draw one channel of a spectrogram image into a matplotlib axes.

    Like :func:`librosa.display.specshow` with ``x_axis="time"`` and
    ``y_axis="linear"`` (or ``"mel"``, labelled in Hz): the x axis is in seconds, the
    y axis in Hz, the colours in dB.

    Parameters
    ----------
    image : SpectrogramImage
    ax : matplotlib.axes.Axes or None
        Where to draw; ``None``: the current axes of pyplot.
    channel : int >= 0
        Which channel.
    cmap : str
        A matplotlib colormap name.
    relative : bool or None
        Show dB relative to the image's peak; ``None``: when the image says its level
        is relative (``level=relative`` in its metadata).

    Returns
    -------
    matplotlib.image.AxesImage
        The drawn image, for a colour bar (``fig.colorbar(im, ax=ax)``).

    Examples
    --------
    >>> import numpy as np, spec2img
    >>> from matplotlib.figure import Figure
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    >>> ax = Figure().subplots()
    >>> im = spec2img.encode(y, sr).plot(ax=ax)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('Time (s)', 'Frequency (Hz)')
    """
    from .dsp.resize import resize

    image = image.on_grid()
    meta, p = image.meta, image.params
    if isinstance(channel, bool) or not isinstance(channel, int | np.integer):
        raise ParameterError(f"channel must be a whole number, not {channel!r}")
    if not 0 <= channel < meta.channels:
        raise ParameterError(
            f"channel={channel} is not one of the image's {meta.channels} channel(s)"
        )
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    db = image.db()[channel]  # (bins, frames), lowest bin first
    bins, frames = db.shape
    if bins > MAX_DRAWN[0] or frames > MAX_DRAWN[1]:
        db = resize(db[None], (min(bins, MAX_DRAWN[0]), min(frames, MAX_DRAWN[1])))[0]
    sr, hop = p.sample_rate, p.hop_length
    x0, x1 = -0.5 * hop / sr, (frames - 0.5) * hop / sr
    if p.scale == "mel":
        extent_y = (-0.5, bins - 0.5)
    else:
        df = sr / p.n_fft
        extent_y = (-df / 2, sr / 2 + df / 2)
    if relative is None:
        relative = meta.extra.get("level") == "relative"
    offset = meta.db_max if relative else 0.0  # a relative level is shown below its peak
    im = ax.imshow(
        db - offset, origin="lower", aspect="auto", interpolation="nearest", cmap=cmap,
        extent=(x0, x1, *extent_y), vmin=meta.db_min - offset, vmax=meta.db_max - offset,
    )  # fmt: skip
    ax.set_xlabel("Time (s)")
    if p.scale == "mel":
        ax.set_ylabel("Frequency (Hz, mel scale)")
        _mel_ticks(ax, p, bins)
    else:
        ax.set_ylabel("Frequency (Hz)")
    return im


def figure(image, *, title: str = "", cmap: str = "magma", fig=None):
    """A labelled preview: one :func:`specshow` panel per channel, a dB colour bar and a
    title with the key parameters.

    Parameters
    ----------
    image : SpectrogramImage
    title : str
        Shown before the parameters (a file name).
    cmap : str
        A matplotlib colormap name.
    fig : matplotlib.figure.Figure or None
        Draw into this figure; ``None``: a new one attached to no canvas (no pyplot
        state).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    image = image.on_grid()
    meta = image.meta
    c = meta.channels
    relative = meta.extra.get("level") == "relative"
    if fig is None:
        fig = Figure(figsize=figsize(c), layout="constrained")
    axes = fig.subplots(c, 1, sharex=True, squeeze=False)[:, 0]
    for k, ax in enumerate(axes):
        im = specshow(image, ax=ax, channel=k, cmap=cmap, relative=relative)
        if c > 1:
            ax.set_ylabel(f"channel {k}\n{ax.get_ylabel()}")
        if k < c - 1:
            ax.set_xlabel("")
    bar = fig.colorbar(im, ax=list(axes), format="%+.0f")
    bar.set_label("dB (relative to the peak)" if relative else "dB (ref = 1.0)")
    fig.suptitle(f"{title}  |  {describe(image)}" if title else describe(image), fontsize="medium")
    return fig


def describe(image) -> str:
    """The key parameters in one line: rate, framing, scale, duration."""
    meta, p = image.meta, image.params
    sr = p.sample_rate
    scale = f"mel {p.n_mels} bands {p.fmin:g}-{p.fmax:g} Hz" if p.scale == "mel" else "linear"
    return (
        f"{sr} Hz, n_fft {p.n_fft}, hop {p.hop_length}, {p.window}, {scale}, "
        f"{meta.n_samples / sr:.2f} s"
    )


def figsize(channels: int) -> tuple[float, float]:
    """Inches of a preview with ``channels`` panels."""
    return (10.0, 1.5 + 3.0 * channels)


def _mel_ticks(ax, params, bins: int) -> None:
    """Label a mel-band axis in Hz at round frequencies."""
    import librosa

    centres = librosa.mel_frequencies(bins + 2, fmin=params.fmin, fmax=params.fmax)[1:-1]
    candidates = [0, 100, 200, 500, 1000, 2000, 3000, 5000, 8000, 10000, 15000, 20000, 40000]
    ticks = [f for f in candidates if centres[0] <= f <= centres[-1]]
    ax.set_yticks(np.interp(ticks, centres, np.arange(bins)))
    ax.set_yticklabels([f"{f / 1000:g}k" if f >= 1000 else f"{f:g}" for f in ticks])
