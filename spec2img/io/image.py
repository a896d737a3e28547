"""The spectrogram image: 16-bit pixels plus the metadata that makes them invertible."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dsp import scale as _scale
from ..dsp.resize import resize
from ..dsp.scale import PIXEL_MAX, pixels_to_amplitude, pixels_to_db
from ..errors import InputError, MetadataError, OutputError, ParameterError, in_file
from ..options import PLAIN_FIELDS
from ..params import (
    BLOCK_CELLS,
    DEFAULT_TOP_DB,
    MAX_ABS_DB,
    MAX_DB,
    MAX_IMAGE_SIDE,
    Metadata,
    SpecParams,
)
from . import phase_image as keep_phase
from .atomic import atomic_path, check_extension, is_stream
from .gray import to_gray16
from .params_from import read_params
from .png import (
    DEFAULT_MAX_PIXELS,
    ImageHeader,
    check_pixels,
    check_size,
    read_header,
    read_pixels,
    save_png,
    write_png,
)

#: Hint shown when an image has no spec2img metadata.
PLAIN_IMAGE_HINT = (
    "if an editor dropped it (Pillow does), add params_from ORIGINAL.png (the image it "
    "was edited from); otherwise give the parameters by hand: sr, n_fft and duration "
    "(or frames) (and hop_length, win_length, window, db_range or top_db, cmap, y_axis "
    "as they apply)"
)
#: Metadata key of an image resized away from its STFT grid: the grid, ``"WxH"``.
GRID_KEY = "grid"


@dataclass(repr=False)
class SpectrogramImage:
    """Pixels and parameters of one spectrogram image.

    Attributes
    ----------
    pixels : np.ndarray [shape=(channels * n_bins, n_frames), dtype=uint16]
        Channel 0 on top; within a channel, row 0 is the highest frequency.
        Pixel values are linear in dB between ``meta.db_min`` (0) and ``meta.db_max``
        (65535); 0 means silence.
    meta : Metadata
        Everything needed to invert the image.
    phase : np.ndarray [shape=(channels * (n_fft // 2 + 1), n_frames), dtype=uint16] or None
        The kept STFT phase (``encode(..., keep_phase=True)``), laid out like a linear
        image; pixel ``q`` is ``2π q / 65536`` radians.  See :mod:`spec2img.io.phase_image`.
    """

    pixels: np.ndarray
    meta: Metadata
    phase: np.ndarray | None = None

    @property
    def params(self):
        """The :class:`~spec2img.params.SpecParams` of the image."""
        return self.meta.params

    @property
    def sample_rate(self) -> int:
        return self.meta.params.sample_rate

    def blocks(self) -> np.ndarray:
        """Pixels as ``(channels, n_bins, n_frames)`` with bin 0 = lowest frequency."""
        c = self.meta.channels
        h, w = self.pixels.shape
        return self.pixels.reshape(c, h // c, w)[:, ::-1, :]

    def db(self) -> np.ndarray:
        """dB values ``(channels, n_bins, n_frames)`` (ref = 1.0)."""
        return pixels_to_db(self.blocks(), self.meta.db_min, self.meta.db_max)

    def magnitude(self) -> np.ndarray:
        """Linear magnitude ``(channels, n_bins, n_frames)`` on the image's own scale."""
        return pixels_to_amplitude(self.blocks(), self.meta.db_min, self.meta.db_max)

    def phase_radians(self) -> np.ndarray | None:
        """The kept phase ``(channels, n_fft // 2 + 1, n_frames)`` in radians, or None."""
        if self.phase is None:
            return None
        return keep_phase.pixels_to_phase(self.phase, self.meta.channels)

    def save(self, path: str | os.PathLike, *, inputs=(), overwrite: bool = True) -> Path:
        """Write the image as a 16-bit PNG with metadata, atomically.

        With a kept phase, ``NAME.phase.png`` is written beside it, so that no failure
        or crash leaves an old pair broken or mixed: both files are written to
        temporary files and put on disk (``fsync``), then the phase image is renamed
        into place and the spectrogram last; both carry one ``pair_id`` (a digest of
        the phase), so that :func:`load` tells a spectrogram from a phase image of
        another save.  A failure
        before the renames leaves the previous pair untouched.

        Parameters
        ----------
        path : path-like
            Output ``.png`` file, ``-`` (standard output), or a FIFO or device.
        inputs : iterable of path-like
            Files that must never be overwritten (the source audio).
        overwrite : bool
            Replace an existing file (``False``: :class:`~spec2img.errors.OutputError`).
        """
        check_extension(path, (".png",), "a PNG image")
        if self.phase is None:
            return write_png(path, self.pixels, keep_phase.linked_text(self.meta, None),
                             inputs=inputs, overwrite=overwrite)  # fmt: skip
        if is_stream(path):
            raise OutputError(
                f"{path}: a kept phase is written beside its image, so it needs an image "
                "file name, not a stream"
            )
        sidecar = keep_phase.sidecar_path(path)
        pair = keep_phase.pair_id(self.phase)
        text = keep_phase.linked_text(self.meta, sidecar)
        phase_text = keep_phase.phase_text(self.meta)
        text[keep_phase.PAIR_KEY] = phase_text[keep_phase.PAIR_KEY] = pair
        inputs = list(inputs)
        with atomic_path(path, [*inputs, sidecar], overwrite=overwrite) as tmp:  # renamed last
            with atomic_path(sidecar, [*inputs, path], overwrite=overwrite) as tmp_phase:
                save_png(tmp_phase, self.phase, phase_text)
                save_png(tmp, self.pixels, text)
        return Path(path)

    def on_grid(self) -> SpectrogramImage:
        """This image with one pixel per STFT cell (resampled if it was resized).

        Images written with ``encode(..., size=(w, h))`` store their pixels at another
        size; the values are linear in dB, so resampling them is done in dB.
        """
        if self.pixels.shape == self.meta.shape:
            return self
        c = self.meta.channels
        h, w = self.pixels.shape
        if h % c:
            raise MetadataError(f"image height {h} is not a multiple of its {c} channels")
        want_h, want_w = self.meta.shape
        blocks = self.pixels.reshape(c, h // c, w).astype(np.float32)
        out = resize(blocks, (want_h // c, want_w))
        out = np.clip(np.rint(out), 0, PIXEL_MAX).astype(np.uint16)
        return SpectrogramImage(out.reshape(want_h, want_w), self.meta, self.phase)

    # ------------------------------------------------------------ display
    # How an image shows itself is a face's concern (matplotlib, IPython, a decode):
    # these methods hand the image to spec2img.display, imported by name when an image
    # is shown (see display_face), so that io imports nothing above it.

    def __repr__(self) -> str:
        return display_face().summary(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return display_face().mimebundle(self)

    def _repr_html_(self) -> str:
        """The labelled preview as an inline PNG, then an ``<audio>`` player of its
        decode (of its first :data:`spec2img.display.PLAYER_SECONDS` when longer)."""
        return display_face().to_html(self)

    def _repr_png_(self) -> bytes:
        """The labelled preview as PNG bytes."""
        return display_face().preview_png(self)

    def plot(self, ax=None, *, channel: int = 0, cmap: str = "magma"):
        """Draw one channel into a matplotlib axes, like :func:`librosa.display.specshow`:
        time in seconds, frequency in Hz, colours in dB.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            ``None``: pyplot's current axes.
        channel : int >= 0
        cmap : str
            A matplotlib colormap name.

        Returns
        -------
        matplotlib.image.AxesImage
            For a colour bar: ``plt.colorbar(image.plot(), format="%+.0f dB")``.

        See Also
        --------
        spec2img.draw.specshow
        """
        return display_face().plot(self, ax=ax, channel=channel, cmap=cmap)

    def audio(self, **decode):
        """The image decoded whole, as an :class:`IPython.display.Audio` player.

        Parameters
        ----------
        **decode
            :func:`spec2img.decode`'s keywords (``n_iter``, ``seed``, ...).

        Returns
        -------
        IPython.display.Audio
        """
        return display_face().audio(self, **decode)

    @classmethod
    def from_blocks(cls, pixels: np.ndarray, meta: Metadata) -> SpectrogramImage:
        """Build from ``(channels, n_bins, n_frames)`` uint16 with bin 0 lowest."""
        c, b, t = pixels.shape
        return cls(np.ascontiguousarray(pixels[:, ::-1, :].reshape(c * b, t)), meta)


#: The face that shows images in notebooks (matplotlib, IPython, a decode for the
#: player).  The image's display methods import it by this name when an image is shown:
#: the one call from a stage up to a face, named here and checked by tests/test_layers.py.
DISPLAY_FACE = "spec2img.display"


def display_face():
    """The module :data:`DISPLAY_FACE`, imported on first use."""
    import importlib

    return importlib.import_module(DISPLAY_FACE)


def metadata_and_size(path):
    """An image's metadata and ``(width, height)``, from its header alone (path or
    binary file object)."""
    meta, header = read_metadata(path)
    return meta, (header.width, header.height)


def read_metadata(path, *, max_pixels: int | None = None, params_from=None, header=None):
    """An image's spec2img metadata and header, read without decoding its pixels.

    Parameters
    ----------
    path : path-like or binary file object
    max_pixels : int or None
        As :func:`spec2img.io.png.read_header`.
    params_from : path-like or Metadata or None
        Metadata for an image that has none of its own (an editor dropped them):
        a spec2img image, an ``info --json`` file or a dataset JSON.
    header : ImageHeader or None
        The image's header if it was read already (then only its size is checked).

    Returns
    -------
    meta : Metadata
    header : ImageHeader

    Raises
    ------
    MetadataError
        No spec2img metadata (the message says how to give parameters by hand), or
        metadata out of bounds.
    """
    if header is None:
        header = read_header(path, max_pixels=max_pixels)
    else:
        check_pixels(Path(path), header, max_pixels)
    name = path
    if hasattr(path, "read"):  # a file object: its path or name
        name = getattr(path, "path", None) or getattr(path, "name", None) or "<file>"
    if not header.text and params_from is not None:
        if isinstance(params_from, Metadata):
            return params_from, header
        return read_params(params_from), header
    if not header.text:
        raise MetadataError(
            f"{name}: no spec2img metadata in this image; {PLAIN_IMAGE_HINT}",
            params=PLAIN_FIELDS,
        )
    try:
        return Metadata.from_text(header.text), header
    except MetadataError as e:
        raise in_file(name, e) from None


def load(
    path: str | os.PathLike,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    phase: bool | str | os.PathLike = True,
    params_from: str | os.PathLike | Metadata | None = None,
    header: ImageHeader | None = None,
) -> SpectrogramImage:
    """Read a spec2img PNG and validate its metadata against its pixels.

    The metadata come from the image's ``spec2img:*`` text chunks, else from the
    compact form in its ``Comment`` or Exif (what editors keep), else from
    ``params_from``.  Pixels in any mode an editor saves (8-bit, gray+alpha, RGB with
    equal channels, 16-bit RGB) are read as 16-bit gray (:mod:`spec2img.io.gray`).

    An image written at another size (``encode(..., size=(w, h))``, metadata key
    ``grid``) is resampled back to one pixel per STFT cell.

    The size, the metadata and the work a decode would need are all checked before
    any pixel is decoded, so a small file that claims a huge image costs nothing.

    Parameters
    ----------
    path : path-like
    max_pixels : int or None
        Refuse images with more pixels than this, or whose linear spectrogram (what a
        decode computes: ``channels * (n_fft // 2 + 1) * frames`` cells, more than the
        pixels of a mel image) has more cells than this.  ``None``: no limit.
    phase : bool or path-like
        ``True``: also read the kept phase image the metadata names, if it is there
        (a missing one is a warning); ``False``: ignore it; a path: read that phase
        image.
    params_from : path-like or Metadata or None
        Metadata for an image an editor stripped of its own (see :func:`read_metadata`).
    header : ImageHeader or None
        The header :func:`spec2img.wild.identify.identify` read, so that it is not
        read again (its size is checked against ``max_pixels`` all the same).

    Returns
    -------
    SpectrogramImage

    Raises
    ------
    InputError
        Missing, unreadable, truncated or too large a file.
    MetadataError
        No spec2img metadata, or metadata that is out of bounds or does not match
        the pixels.
    """
    meta, header = read_metadata(path, max_pixels=max_pixels, params_from=params_from,
                                 header=header)  # fmt: skip
    if "nmf_role" in meta.extra:
        raise MetadataError(
            f"{path}: an NMF {meta.extra['nmf_role']} image, not a spectrogram; "
            "multiply the pair back with spec2img recompose"
        )
    if keep_phase.is_phase_image(meta):
        raise MetadataError(
            f"{path}: this is a kept-phase image (from encode keep_phase); decode the "
            "spectrogram image it belongs to"
        )
    _check_shape(path, (header.height, header.width), meta)
    cells = meta.channels * (meta.params.n_fft // 2 + 1) * meta.n_frames
    what = (
        f"the spectrogram a decode needs ({meta.channels} x {meta.params.n_fft // 2 + 1} x "
        f"{meta.n_frames} = {cells} cells)"
    )
    check_size(path, what, cells, max_pixels)
    pixels, mode = read_pixels(path, header)
    image = SpectrogramImage(_as_uint16(path, pixels, mode), meta)
    del pixels
    try:
        image = image.on_grid()
    except MetadataError as e:
        raise in_file(path, e) from None
    if phase is True and keep_phase.LINK_KEY in meta.extra:
        sidecar = Path(path).parent / Path(meta.extra[keep_phase.LINK_KEY]).name
        if sidecar.exists():
            image.phase = keep_phase.read_phase(sidecar, meta, max_pixels=max_pixels)
        else:
            warnings.warn(
                f"{path}: its kept phase {sidecar} is missing; decoding without it",
                stacklevel=2,
            )
    elif phase is not True and phase is not False:
        image.phase = keep_phase.read_phase(phase, meta, max_pixels=max_pixels)
    return image


def _as_uint16(path, pixels: np.ndarray, mode: str) -> np.ndarray:
    """One 16-bit gray value per pixel, whatever mode an editor saved (see io/gray.py)."""
    return to_gray16(pixels, mode, name=path)


def fits_shape(shape: tuple[int, int], meta: Metadata) -> bool:
    """Whether an image of ``shape = (height, width)`` pixels fits ``meta``."""
    try:
        _check_shape("", shape, meta)
    except MetadataError:
        return False
    return True


def _check_shape(path, shape: tuple[int, int], meta: Metadata) -> None:
    h, w = shape
    want_h, want_w = meta.shape
    grid = meta.extra.get(GRID_KEY)
    if grid is not None:  # resized on purpose (encode --size): any size will do
        if grid != f"{want_w}x{want_h}":
            raise MetadataError(
                f"{path}: metadata grid={grid!r} does not match its other keys "
                f"({want_w}x{want_h} cells)"
            )
        return
    if h != want_h:
        raise MetadataError(
            f"{path}: image height {h} does not match its metadata "
            f"({meta.channels} channel(s) x {meta.params.n_bins} bins = {want_h})"
        )
    if abs(w - want_w) > 1:
        raise MetadataError(
            f"{path}: image width {w} does not match its metadata "
            f"(n_samples={meta.n_samples} at hop {meta.params.hop_length} gives {want_w} frames)"
        )


def resize_image(image: SpectrogramImage, size) -> SpectrogramImage:
    """The image at ``size = (width, height)`` pixels, resized in dB.

    Cells are repeated where it grows and averaged where it shrinks; the metadata key
    ``grid`` records the STFT grid so that :func:`load` and :func:`decode` resample back.
    """
    meta = image.meta
    width, height = _check_size(size, meta.channels)
    c, bins, frames = image.blocks().shape
    if (height // c, width) == (bins, frames):
        return image
    db = resize(image.db(), (height // c, width), grow="nearest")
    meta = Metadata(
        params=meta.params, db_min=meta.db_min, db_max=meta.db_max, n_samples=meta.n_samples,
        channels=meta.channels, extra={**meta.extra, GRID_KEY: f"{frames}x{c * bins}"},
    )  # fmt: skip
    return SpectrogramImage.from_blocks(_scale.db_to_pixels(db, meta.db_min, meta.db_max), meta)


def _check_size(size, channels: int) -> tuple[int, int]:
    try:
        width, height = size
    except (TypeError, ValueError):
        raise ParameterError(f"size must be (width, height), not {size!r}") from None
    for name, v in (("width", width), ("height", height)):
        if (
            isinstance(v, bool)
            or not isinstance(v, int | np.integer)
            or not 1 <= v <= MAX_IMAGE_SIDE
        ):
            raise ParameterError(
                f"size {name} must be a whole number in [1, {MAX_IMAGE_SIDE}], not {v!r}"
            )
    if height % channels:
        raise ParameterError(
            f"size height {height} must be a multiple of the {channels} channels "
            "(they are stacked vertically)"
        )
    return int(width), int(height)


def image_from_magnitude(
    S: np.ndarray,
    params: SpecParams,
    *,
    n_samples: int,
    top_db: float = DEFAULT_TOP_DB,
    db_range: tuple[float, float] | None = None,
    extra: dict[str, str] | None = None,
    stacklevel: int = 2,
) -> SpectrogramImage:
    """Quantise a magnitude ``(channels, rows, frames)`` on the scale of ``params`` to an image.

    ``top_db`` and ``db_range`` as :func:`encode` takes them; ``extra`` adds metadata keys.
    """
    S = np.asarray(S, dtype=np.float32)
    if db_range is None:  # dB is monotonic in the amplitude: the peak cell is the max
        peak = _scale.amplitude_to_db(np.max(S, initial=0.0, keepdims=True))
        db_min, db_max = _scale.db_range(peak, top_db)
        if db_max > MAX_DB:
            raise InputError(
                f"audio peaks at {db_max:.0f} dB in its spectrogram, above the {MAX_DB:g} dB a "
                "spec2img image holds, far beyond full scale (1.0)"
            )
    else:
        db_min, db_max = check_db_range(db_range)
    pixels, over = quantise(S, db_min, db_max)
    if over and db_range is not None:
        warnings.warn(
            f"{over} cells ({100 * over / S.size:.3g}%) louder than db_max={db_max:g} "
            "were clipped to it; raise the top of the dB range to keep them",
            stacklevel=stacklevel,
        )
    meta = Metadata(
        params=params, db_min=db_min, db_max=db_max, n_samples=n_samples,
        channels=S.shape[0], extra=extra or {},
    )  # fmt: skip
    return SpectrogramImage(pixels, meta)


def quantise(
    S: np.ndarray, db_min: float, db_max: float, *, zero_is_silence: bool = False
) -> tuple[np.ndarray, int]:
    """The one quantiser: magnitudes to 16-bit pixels, linear in dB.

    Parameters
    ----------
    S : np.ndarray [shape=(channels, rows, frames), non-negative]
        Magnitudes on the image's scale, lowest row first.
    db_min, db_max : float
        The dB of pixel 0 and of pixel 65535; quieter cells become 0, louder ones 65535.
    zero_is_silence : bool
        Cells of magnitude 0 become pixel 0 whatever ``db_min`` is (a plot's cells
        outside its frequency range, silence in a relative-level image).

    Returns
    -------
    pixels : np.ndarray [shape=(channels * rows, frames), dtype=uint16]
        Channel 0 on top, the lowest row at the bottom of each channel.
    over : int
        Cells louder than ``db_max`` (clipped to it).
    """
    S = np.asarray(S, dtype=np.float32)
    c, rows, t = S.shape
    pixels = np.empty((c * rows, t), np.uint16)
    view = pixels.reshape(c, rows, t)[:, ::-1, :]  # channel 0 on top, low rows at the bottom
    over = 0
    step = max(1, BLOCK_CELLS // max(1, c * rows))  # bounded temporaries
    for t0 in range(0, t, step):
        part = S[..., t0 : t0 + step]
        db = _scale.amplitude_to_db(part)
        over += int(np.count_nonzero(db > db_max))
        q = _scale.db_to_pixels(db, db_min, db_max)
        if zero_is_silence:
            q[part <= 0] = 0
        view[..., t0 : t0 + step] = q
    return pixels, over


def check_db_range(db_range) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in db_range)
    except (TypeError, ValueError):
        raise ParameterError(
            f"db_range must be two numbers (low, high), not {db_range!r}"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and -MAX_ABS_DB <= low < high <= MAX_DB):
        raise ParameterError(
            f"db_range=({low:g}, {high:g}) must be finite, low < high, within [{-MAX_ABS_DB:g}, {MAX_DB:g}] dB"
        )
    return low, high
