"""Kept phase: the STFT phase of an encoded recording, in a second 16-bit PNG.

``spec2img encode --keep-phase in.wav out.png`` also writes ``out.phase.png``:

- the same width as the spectrogram, and ``channels × (n_fft // 2 + 1)`` rows laid out
  like a linear spectrogram image (channel 0 on top, the highest frequency in row 0),
  also for mel images, whose phase is kept on the linear STFT grid;
- pixel ``q`` is the phase ``2π q / 65536`` radians (steps of 0.0055°: the rounding
  costs about −90 dB of spectral convergence);
- its text chunks repeat the spectrogram's metadata plus ``kind = phase``, and the
  spectrogram names it in its own ``phase_file`` key.

A separate file survives editing the spectrogram in an image editor (which would drop an
unknown PNG chunk), and both files stay ordinary 16-bit PNGs.  The decoder starts phase
retrieval from the kept phase: an unedited image comes back nearly exactly (SC below
−60 dB), and an edited one converges from the original phase instead of a guess.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import MetadataError, in_file
from ..params import Metadata
from .png import DEFAULT_MAX_PIXELS, read_png, write_png

#: Metadata key of a spectrogram that names its phase image (a file name, same folder).
LINK_KEY = "phase_file"
#: Metadata key and value marking a phase image.
KIND_KEY, KIND = "kind", "phase"
#: Metadata key holding the id both files of a pair carry (:func:`pair_id`): a
#: spectrogram and a phase image from different saves (a save interrupted between its
#: two renames) are told apart on load.
PAIR_KEY = "pair_id"
_STEPS = 65536


def sidecar_path(path: str | os.PathLike) -> Path:
    """``out.png`` -> ``out.phase.png``: where ``--keep-phase`` writes the phase."""
    path = Path(path)
    return path.with_name(path.stem + ".phase.png") if path.suffix else Path(f"{path}.phase.png")


def phase_to_pixels(phase: np.ndarray) -> np.ndarray:
    """Radians ``(channels, bins, frames)`` (bin 0 lowest) -> uint16 image pixels.

    Returns
    -------
    np.ndarray [shape=(channels * bins, frames), dtype=uint16]
        Channel 0 on top, row 0 the highest frequency; pixel ``q`` is ``2π q / 65536``.
    """
    phase = np.asarray(phase, dtype=np.float64)
    q = np.rint(phase * (_STEPS / (2 * np.pi))).astype(np.int64) % _STEPS
    c, b, t = q.shape
    return np.ascontiguousarray(q[:, ::-1, :].reshape(c * b, t).astype(np.uint16))


def pixels_to_phase(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of :func:`phase_to_pixels`: radians ``(channels, bins, frames)`` in [0, 2π)."""
    h, w = pixels.shape
    q = pixels.reshape(channels, h // channels, w)[:, ::-1, :]
    return (q.astype(np.float32) * np.float32(2 * np.pi / _STEPS)).astype(np.float32)


def linked_text(meta: Metadata, sidecar: str | os.PathLike | None) -> dict[str, str]:
    """Text chunks of a spectrogram: its metadata, naming ``sidecar`` (if any)."""
    text = meta.to_text()
    text.pop(LINK_KEY, None)
    text.pop(PAIR_KEY, None)
    if sidecar is not None:
        text[LINK_KEY] = Path(sidecar).name
    return text


def pair_id(pixels: np.ndarray) -> str:
    """The id of a pair: a digest of the phase image's pixels, so the same pair always
    gets the same id (outputs stay reproducible) and a spectrogram saved with other
    phase does not match this phase image."""
    import hashlib

    data = np.ascontiguousarray(pixels, dtype=np.uint16)
    return hashlib.blake2b(memoryview(data).cast("B"), digest_size=8).hexdigest()


def phase_text(meta: Metadata) -> dict[str, str]:
    """Text chunks of ``meta``'s phase image."""
    text = linked_text(meta, None)
    text[KIND_KEY] = KIND
    return text


def write_phase(path: str | os.PathLike, pixels: np.ndarray, meta: Metadata, *, inputs=()) -> Path:
    """Write a phase image (from :func:`phase_to_pixels`) for ``meta``, atomically."""
    return write_png(path, pixels, phase_text(meta), inputs=inputs)


def is_phase_image(meta: Metadata) -> bool:
    """True if ``meta`` comes from a phase image rather than a spectrogram."""
    return meta.extra.get(KIND_KEY) == KIND


def read_phase(
    path: str | os.PathLike, meta: Metadata, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Read the phase image at ``path`` and check that it belongs to ``meta``.

    Returns
    -------
    np.ndarray [shape=(channels * (n_fft // 2 + 1), frames), dtype=uint16]

    Raises
    ------
    InputError
        Missing or unreadable file.
    MetadataError
        Not a phase image, or one made for different audio or framing.
    """
    pixels, text, mode = read_png(path, max_pixels=max_pixels)
    if text.get(KIND_KEY) != KIND:
        raise MetadataError(f"{path}: not a spec2img phase image (no kind=phase metadata)")
    try:
        theirs = Metadata.from_text(text)
    except MetadataError as e:
        raise in_file(path, e) from None
    # An edited spectrogram keeps its metadata, so all of it must match (the dB range
    # tells recordings of the same length apart).
    mine = {k: v for k, v in meta.to_dict().items() if k not in meta.extra}
    if {k: v for k, v in theirs.to_dict().items() if k in mine} != mine:
        raise MetadataError(
            f"{path}: this phase image belongs to other audio or framing than the "
            "spectrogram (decode without it: no_phase)",
            params=("no_phase",),
        )
    mine, theirs = meta.extra.get(PAIR_KEY), text.get(PAIR_KEY)
    if mine and theirs and mine != theirs:
        raise MetadataError(
            f"{path}: this phase image comes from another save than the spectrogram (a "
            "save interrupted between its two files?); decode without it: no_phase",
            params=("no_phase",),
        )
    want = (meta.channels * (meta.params.n_fft // 2 + 1), meta.n_frames)
    if pixels.dtype != np.uint16 or pixels.shape != want:
        raise MetadataError(
            f"{path}: phase image must be 16-bit grayscale of {want[1]}x{want[0]} pixels, "
            f"not {mode} {pixels.shape[1] if pixels.ndim > 1 else '?'}x{pixels.shape[0]}"
        )
    return pixels
