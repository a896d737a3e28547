"""The spectrogram image: 16-bit pixels plus the metadata that makes them invertible."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError, MetadataError, in_file
from .params import Metadata
from .png import DEFAULT_MAX_PIXELS, MODES_16, read_header, read_pixels, write_png
from .scale import PIXEL_MAX, pixels_to_amplitude, pixels_to_db

#: Hint shown when an image has no spec2img metadata.
PLAIN_IMAGE_HINT = (
    "give the parameters by hand: --sr and --n-fft (and --hop-length, --win-length, "
    "--window, --db-range LOW HIGH or --top-db, --cmap, --y-axis as they apply), or "
    "--params-from a spec2img image"
)


@dataclass
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
    """

    pixels: np.ndarray
    meta: Metadata

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

    def save(self, path: str | os.PathLike, *, inputs=()) -> Path:
        """Write the image as a 16-bit PNG with metadata, atomically.

        Parameters
        ----------
        path : path-like
            Output ``.png`` file.
        inputs : iterable of path-like
            Files that must never be overwritten (the source audio).
        """
        return write_png(path, self.pixels, self.meta.to_text(), inputs=inputs)

    @classmethod
    def from_blocks(cls, pixels: np.ndarray, meta: Metadata) -> SpectrogramImage:
        """Build from ``(channels, n_bins, n_frames)`` uint16 with bin 0 lowest."""
        c, b, t = pixels.shape
        return cls(np.ascontiguousarray(pixels[:, ::-1, :].reshape(c * b, t)), meta)


def load(
    path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> SpectrogramImage:
    """Read a spec2img PNG and validate its metadata against its pixels.

    The size, the metadata and the work a decode would need are all checked before
    any pixel is decoded, so a small file that claims a huge image costs nothing.

    Parameters
    ----------
    path : path-like
    max_pixels : int or None
        Refuse images with more pixels than this, or whose linear spectrogram (what a
        decode computes: ``channels * (n_fft // 2 + 1) * frames`` cells, more than the
        pixels of a mel image) has more cells than this.  ``None``: no limit.

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
    header = read_header(path, max_pixels=max_pixels)
    if not header.text:
        raise MetadataError(f"{path}: no spec2img metadata in this image; {PLAIN_IMAGE_HINT}")
    try:
        meta = Metadata.from_text(header.text)
    except MetadataError as e:
        raise in_file(path, e) from None
    _check_shape(path, (header.height, header.width), meta)
    cells = meta.channels * (meta.params.n_fft // 2 + 1) * meta.n_frames
    if max_pixels is not None and cells > max_pixels:
        raise InputError(
            f"{path}: decoding needs a spectrogram of {meta.channels} x "
            f"{meta.params.n_fft // 2 + 1} x {meta.n_frames} = {cells} cells, beyond the limit "
            f"of {max_pixels} (raise it with --max-pixels for trusted images)"
        )
    pixels, mode = read_pixels(path, header)
    return SpectrogramImage(_as_uint16(path, pixels, mode), meta)


def _as_uint16(path, pixels: np.ndarray, mode: str) -> np.ndarray:
    if mode in MODES_16 and pixels.dtype == np.uint16 and pixels.ndim == 2:
        return pixels
    if mode == "L":  # an editor saved it as 8-bit: spread 0..255 over 0..65535
        return pixels.astype(np.uint16) * np.uint16(PIXEL_MAX // 255)
    raise MetadataError(f"{path}: spec2img images are 16-bit grayscale, this one is mode {mode!r}")


def _check_shape(path, shape: tuple[int, int], meta: Metadata) -> None:
    h, w = shape
    want_h, want_w = meta.shape
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
