"""Long recordings as a series of segment images, and joining them back into one.

``encode long.wav out/long.png --segment 60 --overlap 1`` writes ``out/long_000.png``,
``out/long_001.png``, ... Each segment is an ordinary spec2img image of the same length
(the last one is padded with silence), and carries five more metadata keys:

========================  ===============================================================
``segment_index``         0-based position in the series
``segment_count``         number of segments in the series
``segment_offset``        first sample of the segment in the recording (a whole number of
                          hops, so every segment's frames lie on one frame grid)
``total_samples``         samples per channel of the whole recording
``segment_of``            file name of the recording (to tell series apart)
========================  ===============================================================

All segments of a series share one dB range (``--db-range``, or by default the range
below the loudest cell a full-scale signal can make), so a pixel value means the same
level in every segment.

:func:`join` lays the segments' frames on the recording's frame grid (each segment holds
exact frames of the recording's STFT, computed with the samples around it), then
decodes that magnitude blockwise (:mod:`spec2img.phase.blocks`): phase carried from block to
block and crossfaded seams, the exact original length, and only a few segments' pixels
in memory at once.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, MetadataError, ParameterError, in_file
from ..options import DEFAULT_OUTPUT, DEFAULT_PHASE, AudioOutput, EncodeOptions, PhaseOptions
from ..params import MAX_N_SAMPLES, Metadata, SpecParams

#: The metadata keys of a segment, in the order they are written.
SEGMENT_KEYS = ("segment_index", "segment_count", "segment_offset", "total_samples", "segment_of")
MAX_SEGMENTS = 1_000_000
_INT_RE = re.compile(r"\d{1,20}")


@dataclass(frozen=True)
class Segment:
    """Where one segment image sits in its recording (validated).

    Attributes
    ----------
    index : int in [0, count)
    count : int in [1, 1000000]
    offset : int >= 0
        First sample of the segment in the recording; a multiple of ``hop_length``.
    total_samples : int > offset
        Samples per channel of the whole recording.
    source : str
        File name of the recording ('' if unknown).
    """

    index: int
    count: int
    offset: int
    total_samples: int
    source: str = ""

    def to_extra(self) -> dict[str, str]:
        """The segment keys as metadata text."""
        return {
            "segment_index": str(self.index), "segment_count": str(self.count),
            "segment_offset": str(self.offset), "total_samples": str(self.total_samples),
            "segment_of": self.source,
        }  # fmt: skip


def segment_info(meta: Metadata) -> Segment | None:
    """The :class:`Segment` an image's metadata describes, or ``None`` if it is not one.

    Raises
    ------
    MetadataError
        Some segment keys are missing, not whole numbers, or inconsistent.
    """
    extra = meta.extra
    present = [k for k in SEGMENT_KEYS[:4] if k in extra]
    if not present:
        return None
    missing = [k for k in SEGMENT_KEYS[:4] if k not in extra]
    if missing:
        raise MetadataError(f"bad metadata: segment keys without {', '.join(missing)}")
    values = {}
    for key in SEGMENT_KEYS[:4]:
        raw = str(extra[key]).strip()
        if not _INT_RE.fullmatch(raw):
            raise MetadataError(f"bad metadata: {key}={raw[:40]!r} is not a whole number >= 0")
        values[key] = int(raw)
    index, count = values["segment_index"], values["segment_count"]
    offset, total = values["segment_offset"], values["total_samples"]
    hop = meta.params.hop_length
    if not 1 <= count <= MAX_SEGMENTS:
        raise MetadataError(
            f"bad metadata: segment_count={count} is out of range [1, {MAX_SEGMENTS}]"
        )
    if index >= count:
        raise MetadataError(
            f"bad metadata: segment_index={index} must be below segment_count={count}"
        )
    if not 1 <= total <= MAX_N_SAMPLES:
        raise MetadataError(
            f"bad metadata: total_samples={total} is out of range [1, {MAX_N_SAMPLES}]"
        )
    if offset >= total:
        raise MetadataError(
            f"bad metadata: segment_offset={offset} must be below total_samples={total}"
        )
    if offset % hop:
        raise MetadataError(
            f"bad metadata: segment_offset={offset} is not a multiple of hop_length={hop}"
        )
    return Segment(index, count, offset, total, str(extra.get("segment_of", "")))


def plan(
    n_samples: int, params: SpecParams, *, segment: float, overlap: float = 0.0
) -> tuple[int, list[int]]:
    """Segment length and start offsets, in samples, for a recording of ``n_samples``.

    Parameters
    ----------
    n_samples : int > 0
    params : SpecParams
        The segment length must hold one frame; offsets are whole hops.
    segment : float > 0
        Seconds per segment.
    overlap : float in [0, segment)
        Seconds shared by consecutive segments.  The step between starts is rounded
        down to a whole number of hops, so the overlap may grow by less than a hop.

    Returns
    -------
    length : int
    offsets : list of int
    """
    sr, hop = params.sample_rate, params.hop_length
    if not (np.isfinite(segment) and segment > 0):
        raise ParameterError(f"segment must be a positive number of seconds, not {segment!r}")
    if not (np.isfinite(overlap) and 0 <= overlap < segment):
        raise ParameterError(f"overlap={overlap!r} must be >= 0 and below segment={segment!r}")
    length = int(round(segment * sr))
    if length < params.n_fft:
        raise ParameterError(
            f"segment={segment:g} s is {length} samples, shorter than one frame "
            f"(n_fft={params.n_fft})"
        )
    step = (length - int(round(overlap * sr))) // hop * hop
    if step < hop:
        raise ParameterError(
            f"overlap={overlap:g} s leaves less than one hop ({hop} samples) between segments"
        )
    count = 1 + -(-max(0, n_samples - length) // step)
    if count > MAX_SEGMENTS:
        raise ParameterError(f"{count} segments is more than {MAX_SEGMENTS}; use longer segments")
    return length, [k * step for k in range(count)]


def full_scale_db_max(params: SpecParams) -> float:
    """The loudest cell (dB) a signal within full scale can make with ``params``.

    ``|X| <= sum(|window|)`` for samples in [-1, 1]; a mel band adds at most its row sum
    of the filterbank.  A dB range topped here never clips audio that fits a WAV file.
    """
    from ..dsp.scale import mel_basis
    from ..windows import get_window

    bound = float(np.sum(np.abs(get_window(params.window, params.win_length, params.n_fft))))
    if params.scale == "mel":
        bound *= float(np.max(np.sum(mel_basis(params), axis=1)))
    return float(20 * np.log10(max(bound, 1e-10)))


def segment_path(dst: str | os.PathLike, index: int, count: int) -> Path:
    """``out/long.png`` -> ``out/long_007.png`` (three digits, more if ``count`` needs)."""
    dst = Path(dst)
    width = max(3, len(str(count - 1)))
    return dst.with_name(f"{dst.stem}_{index:0{width}d}{dst.suffix}")


def encode_segments(
    y: np.ndarray,
    sr: int,
    *,
    segment: float,
    overlap: float = 0.0,
    db_range: tuple[float, float] | None = None,
    top_db: float | None = None,
    source: str = "",
    workers: int | None = None,
    **params,
):
    """Encode audio as a series of equal-length segment images.

    Each segment's frames are exactly the frames of the whole recording's STFT at its
    place (computed with the samples around it, not with silence), so overlapping
    segments agree and :func:`join` can lay them side by side; past the end of the
    recording the last segment is silence.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    sr : int > 0
    segment, overlap : float
        Seconds, as :func:`plan` takes them.
    db_range : (float, float) or None
        One dB range for every segment; ``None``: ``top_db`` (default 120) below
        :func:`full_scale_db_max`.
    top_db : float > 0 or None
    source : str
        Recording's file name, kept in ``segment_of``.
    workers : int or None
        FFT threads.
    **params
        STFT and scale parameters (:class:`~spec2img.params.SpecParams` fields).

    Yields
    ------
    SpectrogramImage
        In order; each ``meta.extra`` holds the segment keys.
    """
    from ..dsp.scale import linear_to_mel, mel_basis
    from ..dsp.stft import Stft
    from ..io.audio import check_audio
    from ..io.image import image_from_magnitude
    from ..params import DEFAULT_TOP_DB
    from ..phase.blocks import frames

    spec = SpecParams(sample_rate=sr, **params)
    y = check_audio(y, spec)
    length, offsets = plan(y.shape[-1], spec, segment=segment, overlap=overlap)
    if db_range is None:
        top = full_scale_db_max(spec)
        db_range = (top - (DEFAULT_TOP_DB if top_db is None else float(top_db)), top)
    engine = Stft.from_params(spec, workers=workers)
    basis = mel_basis(spec) if spec.scale == "mel" else None
    width = spec.n_frames(length)
    for k, offset in enumerate(offsets):
        g0 = offset // spec.hop_length
        S = np.abs(frames(y, engine, g0, g0 + width))
        if basis is not None:
            S = linear_to_mel(S, basis)
        info = Segment(k, len(offsets), offset, y.shape[-1], source)
        yield image_from_magnitude(
            S, spec, n_samples=length, db_range=db_range, extra=info.to_extra(), stacklevel=3
        )


def read_meta(path) -> tuple[Metadata, tuple[int, int]]:
    """An image's metadata and ``(width, height)`` without decoding its pixels
    (:func:`spec2img.io.image.read_metadata`); path or binary file object."""
    from ..io.image import metadata_and_size

    return metadata_and_size(path)


def read_series(paths) -> list[tuple[Path, Metadata, Segment]]:
    """Read and check the metadata of one recording's segment images, ordered by index.

    Raises
    ------
    InputError
        A path is not a segment, segments of several recordings are mixed, a segment
        is missing or repeated, or their parameters differ.
    """
    series = []
    for path in paths:
        meta, _ = read_meta(path)
        try:
            info = segment_info(meta)
        except MetadataError as e:
            raise in_file(path, e) from None
        if info is None:
            raise InputError(f"{path}: not a segment image (no segment_index in its metadata)")
        series.append((Path(path), meta, info))
    if not series:
        raise InputError("no segment images to join")
    recordings = sorted({(s.source, s.total_samples, s.count) for _, _, s in series})
    if len(recordings) > 1:
        names = ", ".join(f"{src or '?'} ({n} samples)" for src, n, _ in recordings[:4])
        raise InputError(f"join one recording at a time: these are segments of {names}")
    series.sort(key=lambda item: item[2].index)
    count = series[0][2].count
    seen = [s.index for _, _, s in series]
    dupes = sorted({i for i in seen if seen.count(i) > 1})
    if dupes:
        raise InputError(f"segment {dupes[0]} is given twice ({_names(series, dupes[0])})")
    missing = sorted(set(range(count)) - set(seen))
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise InputError(f"segments {shown} of {count} are missing")
    first_path, first, _ = series[0]
    for path, meta, _ in series[1:]:
        if meta.params != first.params or meta.channels != first.channels:
            raise InputError(
                f"{path}: parameters differ from {first_path.name}'s "
                f"({_diff(meta.to_dict(), first.to_dict())})"
            )
    end = 0
    for path, meta, info in series:
        if info.offset > end:
            raise InputError(
                f"{path}: gap before segment {info.index} (samples {end}:{info.offset})"
            )
        end = max(end, info.offset + meta.n_samples)
    if end < series[0][2].total_samples:
        raise InputError(
            f"segments end at sample {end}, before total_samples={series[0][2].total_samples}"
        )
    return series


def _names(series, index: int) -> str:
    return ", ".join(p.name for p, _, s in series if s.index == index)


def _diff(a: dict, b: dict) -> str:
    keys = [
        k for k in a if k in b and a[k] != b[k] and k not in (*SEGMENT_KEYS, "db_min", "db_max")
    ]
    return ", ".join(f"{k}={a[k]!r} vs {b[k]!r}" for k in keys[:3])


class _Stitched:
    """The recording's frames, taken from its segment images on demand.

    Each frame comes from the segment it lies furthest inside (segments hold exact
    frames of the recording's STFT, so in an overlap they differ only if their dB
    ranges do).  Pixels of at most ``cache`` segments are held at once.
    """

    def __init__(self, series, meta: Metadata, *, max_pixels=None, cache: int = 3) -> None:
        self.series = series
        self.meta = meta
        self.max_pixels = max_pixels
        self.cache = cache
        self._images: OrderedDict[int, object] = OrderedDict()
        self._last: tuple[int, int, np.ndarray] | None = None
        hop = meta.params.hop_length
        n = meta.n_frames
        self.owner = np.full(n, -1, np.int64)
        best = np.full(n, -1, np.int64)
        for k, (_, m, info) in enumerate(series):
            g0 = info.offset // hop
            t = min(m.n_frames, n - g0)  # frames past the recording's end are dropped
            local = np.arange(t)
            depth = np.minimum(local, m.n_frames - 1 - local)
            region = slice(g0, g0 + t)
            better = depth > best[region]
            self.owner[region][better] = k
            best[region][better] = depth[better]
        if np.any(self.owner < 0):
            raise InputError("segments do not cover every frame of the recording")

    def _image(self, k: int):
        from ..io.image import load

        if k in self._images:
            self._images.move_to_end(k)
            return self._images[k]
        path = self.series[k][0]
        kw = {} if self.max_pixels is None else {"max_pixels": self.max_pixels}
        image = load(path, **kw)
        if image.meta != self.series[k][1]:
            raise InputError(f"{path}: changed while joining")
        self._images[k] = image
        while len(self._images) > self.cache:
            self._images.popitem(last=False)
        return image

    def _frames(self, k: int, g0: int, g1: int) -> np.ndarray:
        from ..pipeline import image_frames

        start = self.series[k][2].offset // self.meta.params.hop_length
        return image_frames(self._image(k), g0 - start, g1 - start)

    def __call__(self, t0: int, t1: int) -> np.ndarray:
        if self._last is not None and self._last[:2] == (t0, t1):
            return self._last[2]
        out = np.empty((self.meta.channels, self.meta.params.n_bins, t1 - t0), np.float32)
        owner = self.owner[t0:t1]
        edges = np.flatnonzero(np.diff(owner)) + 1
        for a, b in zip(np.r_[0, edges], np.r_[edges, t1 - t0], strict=True):
            out[..., a:b] = self._frames(int(owner[a]), t0 + a, t0 + b)
        self._last = (t0, t1, out)
        return out


def join_series(
    series,
    *,
    options: PhaseOptions = DEFAULT_PHASE,
    max_pixels=None,
    workers=None,
    progress=None,
    block_frames: int | None = None,
) -> tuple[np.ndarray, int]:
    """Decode a checked series (from :func:`read_series`) into one recording.

    Returns
    -------
    y : np.ndarray [shape=(n,) for mono, (channels, n) otherwise, dtype=float32]
        Exactly ``total_samples`` samples per channel.
    sr : int
    """
    from ..pipeline import decode_frames

    first = series[0][1]
    meta = Metadata(
        params=first.params, db_min=first.db_min, db_max=first.db_max,
        n_samples=series[0][2].total_samples, channels=first.channels,
    )  # fmt: skip
    source = _Stitched(series, meta, max_pixels=max_pixels)
    y = decode_frames(source, meta, options=options, workers=workers, progress=progress,
                      block_frames=block_frames)  # fmt: skip
    return (y[0] if meta.channels == 1 else y), meta.params.sample_rate


def audio_to_segments(
    src: str | os.PathLike, dst: str | os.PathLike, options: EncodeOptions
) -> list[tuple[Path, object]]:
    """Read a recording and write it as segment images ``dst_000.png``, ... atomically.

    Parameters
    ----------
    src : path-like
        Audio file.
    dst : path-like
        Output name; segment ``k`` is written to :func:`segment_path` ``(dst, k, count)``.
    options : EncodeOptions
        ``segment`` and ``overlap`` in seconds (see :func:`plan`); ``sr`` and ``mono``
        read the audio; ``size`` resizes every segment image (training sets); the rest
        as :func:`encode_segments` takes them.

    Returns
    -------
    list of (Path, SpectrogramImage)
        Each segment's path and image (before resizing).
    """
    from ..io.atomic import check_output
    from ..io.audio import load_audio

    check_output(dst, [src])
    y, file_sr = load_audio(src, sr=options.sr, mono=options.mono)
    segment, overlap, size, params = (
        options.segment,
        options.overlap,
        options.size,
        options.spectrogram(),
    )
    written = []
    try:
        for image in encode_segments(
            y, file_sr, segment=segment, overlap=overlap, source=Path(src).name, **params
        ):
            info = segment_info(image.meta)
            path = segment_path(dst, info.index, info.count)
            out = image
            if size is not None:
                from ..io.image import resize_image

                out = resize_image(image, size)
            out.save(path, inputs=[src])
            written.append((path, image))
    except ParameterError as e:
        raise in_file(src, e) from None
    return written


def join(
    srcs,
    dst: str | os.PathLike,
    *,
    subtype: str | None = None,
    normalize: bool = False,
    max_pixels: int | None = None,
    method: str | None = None,
    n_iter: int | None = None,
    seed: int | None = 0,
    momentum: float | None = None,
    tol: float | None = None,
    options: PhaseOptions | None = None,
    workers: int | None = None,
    progress=None,
    block_frames: int | None = None,
    overwrite: bool = True,
) -> tuple[np.ndarray, int]:
    """Decode a recording's segment images and write it as one audio file, atomically.

    Parameters
    ----------
    srcs : iterable of path-like
        Every segment image of one recording, in any order.
    dst : path-like
        ``.wav``, ``.flac`` or ``.ogg`` output.
    subtype, normalize
        As :func:`spec2img.pipeline.image_to_audio`.
    max_pixels : int or None
        Pixel limit per segment image.
    method, n_iter, seed, momentum, tol, options, workers, progress, block_frames
        Phase retrieval, as for :func:`spec2img.decode`.
    overwrite : bool
        Replace an existing ``dst`` (``False``: :class:`OutputError` before any work).

    Returns
    -------
    y, sr : the joined recording, exactly ``total_samples`` long
    """
    options = PhaseOptions.of(method, n_iter, seed, momentum, tol, options=options)
    return join_to_file(
        srcs, dst, phase=options, output=AudioOutput(subtype=subtype, normalize=normalize),
        max_pixels=max_pixels, workers=workers, progress=progress, block_frames=block_frames,
        overwrite=overwrite,
    )  # fmt: skip


def join_to_file(
    srcs,
    dst: str | os.PathLike,
    *,
    phase: PhaseOptions = DEFAULT_PHASE,
    output: AudioOutput = DEFAULT_OUTPUT,
    max_pixels: int | None = None,
    workers: int | None = None,
    progress=None,
    block_frames: int | None = None,
    overwrite: bool = True,
) -> tuple[np.ndarray, int]:
    """:func:`join` on typed options (the output's ``subtype`` and ``normalize``)."""
    from ..io.atomic import check_output
    from ..io.audio import output_format, save_audio

    srcs = [Path(s) for s in srcs]
    output_format(dst, output.subtype)
    check_output(dst, srcs, overwrite=overwrite)
    series = read_series(srcs)
    y, sr = join_series(series, options=phase, max_pixels=max_pixels, workers=workers,
                        progress=progress, block_frames=block_frames)  # fmt: skip
    save_audio(dst, y, sr, subtype=output.subtype, normalize=output.normalize, inputs=srcs,
               overwrite=overwrite)  # fmt: skip
    return y, sr
