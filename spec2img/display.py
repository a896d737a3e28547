"""How a spectrogram image shows itself in a notebook: the labelled preview and a player.

:class:`~spec2img.io.image.SpectrogramImage`'s ``_repr_html_``, ``_repr_png_``,
``_repr_mimebundle_``, ``plot()`` and ``audio()`` call these (the image type imports this
module by name, :data:`spec2img.io.image.DISPLAY_FACE`, when an image is shown).  Nothing here imports IPython at
import time: :func:`audio` imports it when called, the rest needs no IPython at all.

The player is bounded: an image longer than :data:`PLAYER_SECONDS` is not decoded
whole to be shown; its first :data:`PLAYER_SECONDS` are, and the caption says so
(``image.audio()`` decodes it all).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import math

import numpy as np

from .errors import ParameterError, Spec2ImgError
from .params import frame_count

#: Seconds of audio the inline player decodes at most (the rest is not decoded to show).
PLAYER_SECONDS = 15.0
#: Resolution of the inline preview, dots per inch (10 inches wide: 800 pixels).
PREVIEW_DPI = 80


def excerpt(image, seconds: float):
    """The first ``seconds`` of ``image`` as an image of its own (kept phase included).

    Returns
    -------
    image : SpectrogramImage
        ``image`` itself when it is no longer than ``seconds``.
    cut : bool
        Whether it was cut.
    """
    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise ParameterError(f"seconds must be a positive number, not {seconds!r}")
    from .io.image import SpectrogramImage

    image = image.on_grid()
    meta, p = image.meta, image.params
    if meta.n_samples <= seconds * p.sample_rate:
        return image, False
    # the shortest signal of at least `seconds` whose frames are a prefix of the image's
    n = int(math.ceil(seconds * p.sample_rate))
    frames = frame_count(n, p.n_fft, p.hop_length, p.center)
    if frames >= meta.n_frames:
        return image, False
    short = dataclasses.replace(meta, n_samples=n)
    phase = None if image.phase is None else image.phase[:, :frames].copy()
    return SpectrogramImage(image.pixels[:, :frames].copy(), short, phase), True


def preview_png(image, *, dpi: int = PREVIEW_DPI, cmap: str = "magma", title: str = "") -> bytes:
    """The labelled preview (:func:`spec2img.draw.figure`) as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .draw import figure

    fig = figure(image, title=title, cmap=cmap)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def wav_bytes(y: np.ndarray, sr: int) -> bytes:
    """``y`` ``(channels, n)`` or ``(n,)`` as a 16-bit WAV in memory (what every browser
    plays), clipped to full scale."""
    import soundfile as sf

    y = np.clip(np.atleast_2d(np.asarray(y, dtype=np.float32)), -1.0, 1.0)
    buf = io.BytesIO()
    sf.write(buf, y.T, int(sr), format="WAV", subtype="PCM_16")
    return buf.getvalue()


def player_html(image, *, seconds: float = PLAYER_SECONDS) -> str:
    """An ``<audio>`` element holding the decode of the image's first ``seconds``, and a
    caption saying what it holds."""
    from .pipeline import decode

    part, cut = excerpt(image, seconds)
    try:
        y, sr = decode(part)
    except Spec2ImgError as e:  # shown, not raised: the picture is still worth seeing
        return f'<p class="spec2img-error">cannot decode for the player: {html.escape(str(e))}</p>'
    data = base64.b64encode(wav_bytes(y, sr)).decode("ascii")
    total = image.meta.n_samples / image.params.sample_rate
    note = (
        f"the first {part.meta.n_samples / sr:.1f} s of {total:.1f} s (decoded for this "
        "player only; <code>.audio()</code> decodes it all)"
        if cut
        else f"{total:.2f} s, decoded"
    )
    return (
        f'<audio controls preload="metadata" src="data:audio/wav;base64,{data}"></audio>'
        f'<div style="font-size:smaller;opacity:0.7">{note}</div>'
    )


def to_html(image, *, png: bytes | None = None, seconds: float = PLAYER_SECONDS) -> str:
    """The notebook display: the labelled preview as an inline PNG, then the player."""
    from .draw import describe

    png = preview_png(image) if png is None else png
    src = base64.b64encode(png).decode("ascii")
    alt = html.escape(f"spectrogram: {describe(image)}")
    return (
        '<div class="spec2img-image">'
        f'<img src="data:image/png;base64,{src}" alt="{alt}" style="max-width:100%">'
        f"{player_html(image, seconds=seconds)}</div>"
    )


def mimebundle(image) -> dict:
    """HTML (preview and player) and PNG (the preview) with the picture drawn once."""
    png = preview_png(image)
    return {"text/html": to_html(image, png=png), "image/png": png}


def audio(image, **decode):
    """The whole image decoded, as an :class:`IPython.display.Audio` player.

    ``decode`` takes :func:`spec2img.decode`'s keywords (``n_iter``, ``seed``, ...).
    """
    try:
        from IPython.display import Audio
    except ImportError:
        raise Spec2ImgError(
            "image.audio() needs IPython: pip install 'spec2img[notebook]'"
        ) from None
    from .pipeline import decode as _decode

    y, sr = _decode(image, **decode)
    y = np.clip(np.atleast_2d(y), -1.0, 1.0)
    return Audio(y, rate=sr, normalize=False)


def plot(image, *, ax=None, channel: int = 0, cmap: str = "magma"):
    """:func:`spec2img.draw.specshow` (``SpectrogramImage.plot``)."""
    from .draw import specshow

    return specshow(image, ax=ax, channel=channel, cmap=cmap)


def summary(image) -> str:
    """One line that says what an image is (its ``repr``), instead of its arrays."""
    from .draw import describe

    meta = image.meta
    h, w = image.pixels.shape
    phase = ", kept phase" if image.phase is not None else ""
    return f"<SpectrogramImage {meta.channels} channel(s), {w}x{h} px, {describe(image)}{phase}>"
