"""Labelled previews: ``spec2img show IMAGE|AUDIO [-o preview.png]``.

A matplotlib figure with time in seconds, frequency in Hz on the image's own scale
(linear bins, or mel bands labelled in Hz), one panel per channel, a dB colour bar and
a title with the file name and the key parameters.  Files are drawn with the Agg
canvas directly (no pyplot state); pyplot is imported only to open a window.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError
from ..io.atomic import atomic_path, check_output
from ..io.image import SpectrogramImage

#: Output formats by extension.
FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg", ".jpg": "jpg", ".jpeg": "jpg"}
#: Cells drawn at most (rows, columns); larger images are averaged down for display.
MAX_DRAWN = (1500, 3000)
_NON_INTERACTIVE = ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template")


def show(
    src: str | os.PathLike,
    dst: str | os.PathLike | None = None,
    *,
    dpi: int = 100,
    cmap: str = "magma",
    plain=None,
    overwrite: bool = True,
) -> Path | None:
    """Draw a preview of a spectrogram image or of an audio file's spectrogram.

    Parameters
    ----------
    src : path-like
        spec2img image, Riffusion image, or audio file (encoded with the defaults).
    dst : path-like or None
        Figure file (``.png``, ``.pdf``, ``.svg``, ``.jpg``).  ``None`` opens a window
        when there is a display, else writes ``<src stem>_preview.png`` in the current
        folder.
    dpi : int > 0
    cmap : str
        matplotlib colormap.
    plain : mapping or None
        Parameters of an image without spec2img metadata, as
        :func:`spec2img.load_image` takes them (``preset``, ``sr``, ``duration``, ...).
    overwrite : bool
        Replace an existing figure file (``False``: refuse it).

    Returns
    -------
    Path or None
        The file written, or ``None`` if a window was shown.
    """
    from ..wild.colormap import colormap_lut

    colormap_lut(cmap)  # validate the name before any work
    if dst is not None:
        _format(dst)
        check_output(dst, [src], overwrite=overwrite)
    image = read_for_preview(src, plain=plain)
    if dst is None:
        if _interactive():
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=_figsize(image.meta.channels), layout="constrained")
            figure(image, title=Path(src).name, cmap=cmap, fig=fig)
            plt.show()
            return None
        dst = Path(f"{Path(src).stem}_preview.png")
        check_output(dst, [src], overwrite=overwrite)
    fig = figure(image, title=Path(src).name, cmap=cmap)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_path(dst, [src], overwrite=overwrite) as tmp:
        fig.savefig(tmp, format=_format(dst), dpi=dpi)
    return Path(dst)


def read_for_preview(src: str | os.PathLike, *, plain=None) -> SpectrogramImage:
    """The spectrogram image of ``src``: an image file, or an audio file encoded."""
    from PIL import Image, UnidentifiedImageError

    from ..pipeline import encode, read_image
    from ..wild.identify import identify

    path = Path(src)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    try:
        with Image.open(path):
            is_image = True
    except (UnidentifiedImageError, OSError):
        is_image = False
    if not is_image:
        from ..io.audio import load_audio

        y, sr = load_audio(path)
        return encode(y, sr)
    identity = identify(path, plain)
    if not plain and identity.kind == "plain" and identity.tool is None:
        raise InputError(
            f"{path}: no spec2img metadata to draw it with; give its parameters "
            "(--preset, --sr, --n-fft, --duration, ...), or decode it first and "
            "show the audio"
        )
    return read_image(identity)


def figure(image: SpectrogramImage, *, title: str = "", cmap: str = "magma", fig=None):
    """Draw ``image`` into ``fig``, or into a new :class:`~matplotlib.figure.Figure` that
    is attached to no canvas (so no pyplot state); return the figure."""
    from matplotlib.figure import Figure

    from ..dsp.resize import resize

    image = image.on_grid()
    meta, p = image.meta, image.params
    db = image.db()  # (channels, bins, frames), lowest bin first
    c, bins, frames = db.shape
    shown = db
    if bins > MAX_DRAWN[0] or frames > MAX_DRAWN[1]:
        shown = resize(db, (min(bins, MAX_DRAWN[0]), min(frames, MAX_DRAWN[1])))
    sr, hop = p.sample_rate, p.hop_length
    x0, x1 = -0.5 * hop / sr, (frames - 0.5) * hop / sr
    if p.scale == "mel":
        extent_y = (-0.5, bins - 0.5)
        ylabel = "Frequency (Hz, mel scale)"
    else:
        df = sr / p.n_fft
        extent_y = (-df / 2, sr / 2 + df / 2)
        ylabel = "Frequency (Hz)"
    relative = meta.extra.get("level") == "relative"
    offset = meta.db_max if relative else 0.0  # a relative level is shown below its peak

    if fig is None:
        fig = Figure(figsize=_figsize(c), layout="constrained")
    axes = fig.subplots(c, 1, sharex=True, squeeze=False)[:, 0]
    for k, ax in enumerate(axes):
        im = ax.imshow(
            shown[k] - offset, origin="lower", aspect="auto", interpolation="nearest",
            cmap=cmap, extent=(x0, x1, *extent_y), vmin=meta.db_min - offset,
            vmax=meta.db_max - offset,
        )  # fmt: skip
        ax.set_ylabel(ylabel if c == 1 else f"channel {k}\n{ylabel}")
        if p.scale == "mel":
            _mel_ticks(ax, p, bins)
    axes[-1].set_xlabel("Time (s)")
    bar = fig.colorbar(im, ax=list(axes), format="%+.0f")
    bar.set_label("dB (relative to the peak)" if relative else "dB (ref = 1.0)")
    scale = f"mel {p.n_mels} bands {p.fmin:g}-{p.fmax:g} Hz" if p.scale == "mel" else "linear"
    fig.suptitle(
        f"{title}  |  {sr} Hz, n_fft {p.n_fft}, hop {hop}, {p.window}, {scale}, "
        f"{meta.n_samples / sr:.2f} s",
        fontsize="medium",
    )
    return fig


def _figsize(channels: int) -> tuple[float, float]:
    return (10.0, 1.5 + 3.0 * channels)


def _mel_ticks(ax, params, bins: int) -> None:
    """Label a mel-band axis in Hz at round frequencies."""
    import librosa

    centres = librosa.mel_frequencies(bins + 2, fmin=params.fmin, fmax=params.fmax)[1:-1]
    candidates = [0, 100, 200, 500, 1000, 2000, 3000, 5000, 8000, 10000, 15000, 20000, 40000]
    ticks = [f for f in candidates if centres[0] <= f <= centres[-1]]
    ax.set_yticks(np.interp(ticks, centres, np.arange(bins)))
    ax.set_yticklabels([f"{f / 1000:g}k" if f >= 1000 else f"{f:g}" for f in ticks])


def _format(dst) -> str:
    ext = Path(dst).suffix.lower()
    if ext not in FORMATS:
        raise ParameterError(f"{dst}: preview must be one of {sorted(FORMATS)}, not {ext!r}")
    return FORMATS[ext]


def _interactive() -> bool:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name == "nt"):
        return False
    import matplotlib

    return matplotlib.get_backend().lower() not in _NON_INTERACTIVE
