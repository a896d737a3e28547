"""Labelled previews: ``spec2img show IMAGE|AUDIO [-o preview.png]``.

The figure is :func:`spec2img.draw.figure` (the drawing notebooks use too) titled with
the file name.  Files are drawn with the Agg canvas directly (no pyplot state); pyplot is
imported only to open a window.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..draw import figsize as _figsize
from ..draw import figure
from ..errors import InputError, ParameterError
from ..io.atomic import atomic_path, check_output
from ..io.image import SpectrogramImage

#: Output formats by extension.
FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg", ".jpg": "jpg", ".jpeg": "jpg"}
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
