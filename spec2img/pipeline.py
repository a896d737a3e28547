"""The compositions: audio -> image and image -> audio, for arrays and for files.

    audio --stft--> magnitude --scale--> dB --quantise--> uint16 + metadata --png--> file
    file --png--> uint16 + metadata --scale--> magnitude --phase--> audio

This is the only module (besides the CLI) that knows about more than one stage.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping

import numpy as np

from . import phase
from .dsp import scale as _scale
from .dsp.jit import deciding
from .dsp.spectrum import magnitude, match_energy, match_level
from .dsp.stft import Stft
from .errors import InputError, ParameterError, Spec2ImgError, Spec2ImgWarning, in_file
from .io.atomic import check_extension, check_output
from .io.audio import (
    NORMALIZE_PEAK,
    check_audio,
    check_flag,
    check_rate,
    load_audio,
    output_format,
    save_audio,
)
from .io.image import SpectrogramImage, image_from_magnitude, load, resize_image
from .io.phase_image import phase_to_pixels
from .options import (
    DEFAULT_OUTPUT,
    DEFAULT_PHASE,
    AudioOutput,
    EncodeOptions,
    PhaseOptions,
    PlainOptions,
)
from .params import (
    BLOCK_CELLS,
    DEFAULT_N_FFT,
    DEFAULT_N_MELS,
    DEFAULT_TOP_DB,
    DEFAULT_WINDOW,
    Metadata,
)
from .phase import blocks, coarse

__all__ = [
    "encode", "decode", "audio_to_image", "image_to_audio", "load_image", "linear_magnitude",
    "image_energy", "image_frames", "decode_frames", "magnitude", "resize_image",
    "image_from_magnitude", "DEFAULT_TOP_DB",
]  # fmt: skip


def encode(
    y: np.ndarray,
    sr: int,
    *,
    n_fft: int = DEFAULT_N_FFT,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str = DEFAULT_WINDOW,
    center: bool = True,
    scale: str = "linear",
    n_mels: int = DEFAULT_N_MELS,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float = DEFAULT_TOP_DB,
    size: tuple[int, int] | None = None,
    keep_phase: bool = False,
    db_range: tuple[float, float] | None = None,
    workers: int | None = None,
) -> SpectrogramImage:
    """Encode audio as a spectrogram image.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio samples, finite, at least ``n_fft`` samples long.
    sr : int > 0
        Sampling rate in Hz.
    n_fft, hop_length, win_length, window, center
        STFT framing, librosa's names and defaults (``hop_length = win_length // 4``).
    scale : {"linear", "mel"}
        Rows are STFT bins (``n_fft // 2 + 1``) or mel bands (``n_mels``).
    n_mels : int > 0
    fmin, fmax : float
        Mel filterbank range in Hz (``fmax=None``: ``sr / 2``).
    top_db : float > 0
        Dynamic range kept below the peak; quieter cells become pixel 0 (silence).
    size : (int, int) or None
        Write the image at ``(width, height)`` pixels instead of one pixel per cell
        (for training sets with a fixed image size).  The dB values are averaged where
        the image shrinks and interpolated where it grows; the height is shared
        equally by the channels.  The metadata key ``grid`` records the STFT grid so
        that :func:`load` and :func:`decode` resample back to it.
    keep_phase : bool
        Also keep the STFT phase (``image.phase``, on the STFT grid whatever ``size``;
        saved as ``NAME.phase.png``), so that decoding starts from it: near-lossless
        round trips.
    db_range : (float, float) or None
        Fixed ``(db_min, db_max)`` instead of ``top_db`` below the peak, so that pixel
        values mean the same level in every image of a set; louder cells are clipped to
        ``db_max`` with a warning that counts them.
    workers : int or None
        FFT threads.

    Returns
    -------
    SpectrogramImage
        Call ``.save(path)`` to write the PNG.

    Examples
    --------
    >>> import numpy as np, spec2img
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    >>> img = spec2img.encode(y, sr)
    >>> img.pixels.shape, img.pixels.dtype
    ((1025, 44), dtype('uint16'))
    """
    _check_sr(sr)
    check_flag("keep_phase", keep_phase)
    options = EncodeOptions(
        n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
        center=center, scale=scale, n_mels=n_mels, fmin=fmin, fmax=fmax, top_db=top_db,
        db_range=db_range, size=size, keep_phase=keep_phase, workers=workers,
    )  # fmt: skip
    return encode_with(y, sr, options, stacklevel=4)


def encode_with(
    y: np.ndarray, sr: int, options: EncodeOptions, *, stacklevel: int = 3
) -> SpectrogramImage:
    """:func:`encode` on typed options (framing, levels, ``size``, ``keep_phase``,
    ``workers``; the file-level ``sr``, ``mono`` and ``segment`` are not its to use)."""
    params = options.params(sr)
    y = check_audio(y, params)
    workers = options.workers
    kept = None
    # one pass over the bins: short audio takes NumPy's FFT rather than import scipy.fft
    with deciding(float(y.size // params.hop_length + 1) * (params.n_fft // 2 + 1)):
        if options.keep_phase:
            X = Stft.from_params(params, workers=workers).forward(y)
            kept = phase_to_pixels(np.angle(X))
            S = np.abs(X)
            del X
            if params.scale == "mel":
                S = _scale.linear_to_mel(S, _scale.mel_basis(params))
        else:
            S = magnitude(y, params, workers=workers)
    try:
        image = image_from_magnitude(
            S, params, n_samples=y.shape[-1], top_db=options.top_db, db_range=options.db_range,
            stacklevel=stacklevel,
        )  # fmt: skip
    except InputError as e:  # too loud for an image: say how far the samples go
        raise InputError(f"{e}: its samples reach {float(np.max(np.abs(y))):.3g}") from None
    del S
    if options.size is not None:
        image = resize_image(image, options.size)
    image.phase = kept
    return image


def linear_magnitude(image: SpectrogramImage) -> np.ndarray:
    """The image's magnitude on the linear STFT grid ``(channels, n_fft//2+1, frames)``.

    Mel images are inverted with non-negative least squares.  An image one frame
    wider or narrower than its metadata says is trimmed or edge-padded to fit; a
    resized image (``encode(..., size=...)``) is resampled to its grid.  The
    result is the transpose of a C-contiguous ``(channels, frames, bins)`` array, the
    layout phase retrieval works in, so that it needs no copy; linear images are
    converted a block of frames at a time, so the conversion needs no temporaries as
    large as the image.
    """
    image = image.on_grid()
    meta = image.meta
    want = meta.n_frames
    if image.params.scale == "mel":
        S = _scale.mel_to_linear(image.magnitude(), _scale.mel_basis(image.params))
        S = _fit_width(S, want)
        return np.swapaxes(np.ascontiguousarray(np.swapaxes(S, 1, 2), dtype=np.float32), 1, 2)
    blocks = image.blocks()
    n_ch, n_bins, width = blocks.shape
    out = np.empty((n_ch, want, n_bins), np.float32)
    step = max(1, BLOCK_CELLS // max(1, n_ch * n_bins))
    for t0 in range(0, min(width, want), step):
        t1 = min(t0 + step, width, want)
        amp = _scale.pixels_to_amplitude(blocks[:, :, t0:t1], meta.db_min, meta.db_max)
        out[:, t0:t1] = amp.transpose(0, 2, 1)
    if width < want:
        out[:, width:] = out[:, width - 1 : width]
    return np.swapaxes(out, 1, 2)


def _fit_width(S: np.ndarray, want: int) -> np.ndarray:
    if S.shape[-1] > want:
        return S[..., :want]
    if S.shape[-1] < want:
        return np.pad(S, [(0, 0), (0, 0), (0, want - S.shape[-1])], mode="edge")
    return S


def decode(
    image: SpectrogramImage | str | os.PathLike,
    *,
    method: str | None = None,
    n_iter: int | None = None,
    seed: int | None = 0,
    momentum: float | None = None,
    tol: float | None = None,
    stop_db: float | None = None,
    init: np.ndarray | None = None,
    use_phase: bool = True,
    workers: int | None = None,
    progress=None,
    block_frames: int | None = None,
    options: PhaseOptions | None = None,
) -> tuple[np.ndarray, int]:
    """Decode a spectrogram image to audio.

    Parameters
    ----------
    image : SpectrogramImage or path-like
        From :func:`encode`, :func:`load` or :func:`load_image`, or the path of an
        image, read with :func:`load_image` (a plot or a picture without spec2img
        metadata needs its parameters: ``load_image(path, plain=...)``).
    method : str or None
        Phase retrieval method (one of ``spec2img.options.METHODS``); ``None``: the
        default.
    n_iter : int >= 0 or None
        Iterations; ``None``: the default.
    seed : int or None
        Seed of the initial phase: the same seed gives the same output, bit for bit.
    momentum, tol : float or None
        Method options (FGLA's momentum, PGHI's tolerance); ``None``: the method's own.
    stop_db : float >= 0 or None
        Stopping threshold (:class:`spec2img.options.PhaseOptions`); ``None``: on for
        mel and Riffusion images, off for 16-bit linear ones; 0: every iteration.
    init : np.ndarray or None
        Initial phase ``(channels, n_fft//2+1, frames)`` in radians; ``None``: the
        image's kept phase if it has one (and ``use_phase``), else the method's own.
    use_phase : bool
        Start from the image's kept phase (``image.phase``) when there is one.
    workers : int or None
        FFT threads.
    progress : callable(done, total) or None
        Called as phase retrieval advances.
    block_frames : int > 0 or None
        Reconstruct in overlapping blocks of this many frames (bounded memory, see
        :mod:`spec2img.phase.blocks`).  ``None``: blockwise only for images with more than
        ``blocks.BLOCKWISE_CELLS`` cells (about 95 s of stereo at 44.1 kHz, n_fft 2048).
    options : PhaseOptions or None
        All of method, n_iter, seed, momentum, tol and stop_db as one object (then those
        arguments must be left at their defaults).

    Returns
    -------
    y : np.ndarray [shape=(n,) for mono, (channels, n) otherwise, dtype=float32]
        Exactly ``n_samples`` samples per channel, at the original RMS level; or, for
        images whose level is unknown (metadata ``level=relative``: plots, Riffusion),
        with the peak at -1 dBFS.
    sr : int
    """
    options = PhaseOptions.of(method, n_iter, seed, momentum, tol, options=options,
                              stop_db=stop_db)  # fmt: skip
    if isinstance(image, str | os.PathLike):
        image = load_image(image)
    elif not isinstance(image, SpectrogramImage):
        raise ParameterError(
            f"image must be a SpectrogramImage or the path of one, not {type(image).__name__}",
            params=("image",),
        )
    check_flag("use_phase", use_phase)
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress must be callable(done, total) or None, not {progress!r}",
                             params=("progress",))  # fmt: skip
    if block_frames is not None and (
        isinstance(block_frames, bool) or not isinstance(block_frames, int | np.integer)
        or block_frames < 1
    ):  # fmt: skip
        raise ParameterError(f"block_frames must be an integer > 0 or None, not {block_frames!r}",
                             params=("block_frames",))  # fmt: skip
    image = image.on_grid()
    meta = image.meta
    if init is None and use_phase and image.phase is not None:
        init = image.phase_radians()
    with deciding(_work(meta, options)):
        y = _decode(image, meta, options, init, workers, progress, block_frames)
    y = _delayed(y, meta)
    y = _relative_level(y, meta)
    return (y[0] if meta.channels == 1 else y), meta.params.sample_rate


def _decode(image, meta, options, init, workers, progress, block_frames) -> np.ndarray:
    if _blockwise(meta, block_frames):
        return decode_frames(
            lambda t0, t1: image_frames(image, t0, t1), meta, options=options, init=init,
            workers=workers, progress=progress, block_frames=block_frames,
        )  # fmt: skip
    return _decode_whole(image, options, init, workers, progress)


def _cells(meta: Metadata) -> int:
    """Bins of the image's linear spectrogram, every channel."""
    return meta.channels * (meta.params.n_fft // 2 + 1) * meta.n_frames


def _work(meta: Metadata, options: PhaseOptions) -> float:
    """Bin-passes a whole decode makes: bins times (iterations + 1)."""
    return float(_cells(meta)) * (options.n_iter + 1)


def _decode_whole(image, options: PhaseOptions, init, workers, progress) -> np.ndarray:
    """Phase retrieval of the whole image at once, at its original level."""
    meta = image.meta
    engine = Stft.from_params(meta.params, workers=workers)
    options = _with_stop(options, meta)
    factor = coarse.coarse_factor(engine)
    method = phase.METHODS[options.method]
    if factor > 1 and init is None and options.stop_db and method.iterates_from_pghi:
        # the bins between every factor-th one were interpolated: iterate without them
        y = coarse.reconstruct(linear_magnitude(image), engine, options, factor=factor,
                               length=meta.n_samples, progress=progress)  # fmt: skip
    else:
        y = phase.retrieve(linear_magnitude(image), engine, options, init=init,
                           length=meta.n_samples, progress=progress)  # fmt: skip
    basis = _scale.mel_basis(meta.params) if meta.params.scale == "mel" else None
    return match_energy(y, image_energy(image), engine, basis=basis)


def _blockwise(meta: Metadata, block_frames: int | None) -> bool:
    """Decode in blocks: when asked to, or when the linear spectrogram is large."""
    return block_frames is not None or _cells(meta) > blocks.BLOCKWISE_CELLS


def default_stop_db(meta: Metadata, *, eight_bit: bool = False) -> float | None:
    """The stopping threshold a decode of this image uses unless told otherwise.

    Images that cannot hold more detail than their mel bands or 8-bit pixels do (mel
    scale, Riffusion, plain or 8-bit images: ``eight_bit``, or ``level=relative``)
    stop iterating once the spectral convergence stops improving by
    :data:`spec2img.phase.loop.DEFAULT_STOP_DB` dB (see :func:`spec2img.phase.loop.run`);
    16-bit linear images run every iteration asked for.
    """
    lossy = (
        eight_bit or meta.params.scale == "mel" or meta.extra.get("level") == "relative"
        or meta.extra.get("source") == "riffusion"
    )  # fmt: skip
    return phase.loop.DEFAULT_STOP_DB if lossy else None


def _with_stop(options: PhaseOptions, meta: Metadata, eight_bit: bool = False) -> PhaseOptions:
    """``options`` with the image's default ``stop_db`` when none is given and the
    method takes one."""
    if options.stop_db is None and "stop_db" in phase.method_options(options.method):
        stop = default_stop_db(meta, eight_bit=eight_bit)
        if stop is not None:
            return dataclasses.replace(options, stop_db=stop)
    return options


def _delayed(y: np.ndarray, meta: Metadata) -> np.ndarray:
    """The audio delayed by metadata ``delay`` samples (a plain image whose frames sit
    that far before the windows drawn: sox's), its length kept."""
    try:
        d = int(meta.extra.get("delay", 0))
    except (TypeError, ValueError):
        return y
    if not 0 < d < min(meta.params.n_fft, y.shape[-1]):
        return y  # metadata is data: only a delay within one window is honoured
    pad = np.zeros((*y.shape[:-1], d), dtype=y.dtype)
    return np.concatenate([pad, y[..., :-d]], axis=-1)


def _relative_level(y: np.ndarray, meta: Metadata) -> np.ndarray:
    """Peak at -1 dBFS for images whose absolute level is unknown (``level=relative``)."""
    if meta.extra.get("level") == "relative":
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        if peak > 0:
            y = (y * np.float32(NORMALIZE_PEAK / peak)).astype(np.float32)
    return y


def image_energy(image: SpectrogramImage) -> np.ndarray:
    """Spectral energy (sum of squared magnitudes) of each channel, on the image's scale."""
    px = image.blocks()
    n_ch, n_bins, width = px.shape
    total = np.zeros(n_ch)
    step = max(1, BLOCK_CELLS // max(1, n_ch * n_bins))
    for t0 in range(0, width, step):
        amp = _scale.pixels_to_amplitude(px[:, :, t0 : t0 + step], image.meta.db_min,
                                         image.meta.db_max)  # fmt: skip
        total += np.einsum("cft,cft->c", amp, amp, dtype=np.float64)
    return total


def image_frames(image: SpectrogramImage, t0: int, t1: int) -> np.ndarray:
    """Magnitude of frames ``[t0, t1)`` on the image's own scale ``(channels, rows, t1 - t0)``.

    Frames past an image one column narrower than its metadata repeat its last column,
    as :func:`linear_magnitude` does.
    """
    px = image.blocks()
    width = px.shape[-1]
    cols = np.minimum(np.arange(t0, t1), width - 1)
    part = px[..., cols] if t1 > width else px[..., t0:t1]
    return _scale.pixels_to_amplitude(part, image.meta.db_min, image.meta.db_max)


def decode_frames(
    source,
    meta: Metadata,
    *,
    options: PhaseOptions = DEFAULT_PHASE,
    init: np.ndarray | None = None,
    workers: int | None = None,
    progress=None,
    block_frames: int | None = None,
) -> np.ndarray:
    """Decode a magnitude given frame range by frame range, in bounded memory.

    Parameters
    ----------
    source : callable(t0, t1) -> np.ndarray [shape=(channels, rows, t1 - t0)]
        Magnitude of frames ``[t0, t1)`` on the scale of ``meta`` (mel bands for a mel
        image); asked for twice per block, so it should be cheap or cached.
    meta : Metadata
        Parameters, length and channels of the whole recording.
    options : PhaseOptions
        Phase retrieval.
    block_frames : int > 0 or None
        Frames per block (``None``: :func:`spec2img.dsp.spectrum.block_frames_for`).
    init, workers, progress
        As :func:`decode`.

    Returns
    -------
    np.ndarray [shape=(channels, n_samples), dtype=float32]
        Each block's level is matched to its part of the magnitude before crossfading.
    """
    params = meta.params
    engine = Stft.from_params(params, workers=workers)
    basis = _scale.mel_basis(params) if params.scale == "mel" else None
    options = _with_stop(options, meta)

    def linear(t0: int, t1: int) -> np.ndarray:
        M = source(t0, t1)
        return M if basis is None else _scale.mel_to_linear(M, basis)

    def finish(y: np.ndarray, t0: int, t1: int) -> np.ndarray:
        return match_level(y, source(t0, t1), params, engine)

    if init is not None and np.shape(init) != (meta.channels, engine.n_bins, meta.n_frames):
        raise ParameterError(
            f"init has shape {np.shape(init)}, expected "
            f"{(meta.channels, engine.n_bins, meta.n_frames)}",
            params=("init",),
        )
    return blocks.reconstruct(
        linear, engine, n_frames=meta.n_frames, length=meta.n_samples,
        channels=meta.channels, block_frames=block_frames, options=options, init=init,
        finish=finish, progress=progress,
    )  # fmt: skip


def audio_to_image(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    sr: int | None = None,
    mono: bool = False,
    overwrite: bool = True,
    **params,
) -> SpectrogramImage:
    """Read an audio file, encode it and write the PNG atomically.

    Parameters
    ----------
    src : path-like
        Audio file (WAV, FLAC, OGG, MP3, ...).
    dst : path-like
        Output ``.png`` (or ``-``, a FIFO, a device: see :mod:`spec2img.io.atomic`);
        never the same file as ``src``.
    overwrite : bool
        Replace an existing ``dst`` (``False``: :class:`OutputError` before any work).
    sr : int or None
        Resample to this rate first.
    mono : bool
        Downmix to one channel; otherwise every channel is kept.
    **params
        Keyword arguments of :func:`encode`.

    Returns
    -------
    SpectrogramImage
    """
    unknown = sorted(set(params) - set(_ENCODE_KEYWORDS))
    if unknown:
        raise TypeError(f"audio_to_image() got an unexpected keyword argument {unknown[0]!r}")
    options = EncodeOptions(sr=sr, mono=mono, **params)
    return encode_to_file(src, dst, options, overwrite=overwrite)


#: The keyword arguments of :func:`encode` that :func:`audio_to_image` passes on.
_ENCODE_KEYWORDS = (
    "n_fft", "hop_length", "win_length", "window", "center", "scale", "n_mels", "fmin",
    "fmax", "top_db", "size", "keep_phase", "db_range", "workers",
)  # fmt: skip


def encode_to_file(
    src: str | os.PathLike, dst: str | os.PathLike, options: EncodeOptions, *,
    overwrite: bool = True,
) -> SpectrogramImage:  # fmt: skip
    """:func:`audio_to_image` on typed options (``sr`` and ``mono`` read the audio;
    ``segment`` is the batch layer's)."""
    check_output(dst, [src], overwrite=overwrite)
    check_extension(dst, (".png",), "a PNG image")
    y, file_sr = load_audio(src, sr=options.sr, mono=options.mono)
    try:
        image = encode_with(y, file_sr, options)
    except Spec2ImgError as e:
        raise in_file(src, e) from None
    image.save(dst, inputs=[src], overwrite=overwrite)
    return image


def load_image(
    path: str | os.PathLike,
    *,
    plain: PlainOptions | Mapping | None = None,
    max_pixels: int | None = None,
    phase: bool | str | os.PathLike = True,
) -> SpectrogramImage:
    """Read any spectrogram image: spec2img PNG, Riffusion image, or plain image.

    Parameters
    ----------
    path : path-like
    plain : PlainOptions, mapping or None
        Parameters of a plain image (:class:`spec2img.options.PlainOptions`, or a
        mapping of its fields; ``preset`` names a tool's conventions, see
        :mod:`spec2img.wild.presets`, and ``cmap="auto"`` reads the colour bar).
        Given (and not empty), the image is read as a plain image even if it has
        spec2img metadata (which then supplies the parameters not given).  A sox PNG
        is recognised by its palette and needs no preset.
    max_pixels : int or None
        Pixel limit (default: ``spec2img.io.png.DEFAULT_MAX_PIXELS`` for spec2img images,
        none for plain images, which the user chose).
    phase : bool or path-like
        For spec2img images: read the kept phase image (see :func:`load`).

    Returns
    -------
    SpectrogramImage
        For plain and Riffusion images a linear-frequency image; its metadata says
        ``level=relative`` when the absolute level is unknown.
    """
    from .wild.identify import identify

    identity = identify(path, plain, max_pixels=max_pixels)
    return read_image(identity, max_pixels=max_pixels, phase=phase)


def read_image(
    identity, *, max_pixels: int | None = None, phase: bool | str | os.PathLike = True
) -> SpectrogramImage:
    """Read the image :func:`spec2img.wild.identify.identify` identified, as it said.

    ``max_pixels`` and ``phase`` as :func:`load_image` takes them.
    """
    path, kind = identity.path, identity.kind
    kw = {} if max_pixels is None else {"max_pixels": max_pixels}
    if kind in ("spec2img", "edited"):  # the common case imports no more
        return load(path, phase=phase, params_from=identity.meta, header=identity.need_header(),
                    **kw)  # fmt: skip
    from .wild import plain as _plain
    from .wild import presets, riffusion

    options = dict(identity.options)
    try:  # a file's own parameters: errors name it
        if kind == "riffusion":
            return riffusion.load_riffusion(path, max_pixels=max_pixels, overrides=options,
                                            require_exif=not options)  # fmt: skip
        resolved = presets.resolve(path, options, header=identity.need_header(),
                                   figure=identity.figure, detected=identity.detected)  # fmt: skip
        spec = presets.plain_spec_of(path, resolved)
        crop = resolved.options.get("crop")
        return _plain.load_plain(path, spec, crop=crop, max_pixels=max_pixels)
    except ParameterError as e:
        raise in_file(path, e) from None


def image_to_audio(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    subtype: str | None = None,
    normalize: bool = False,
    max_pixels: int | None = None,
    plain: PlainOptions | Mapping | None = None,
    phase: bool | str | os.PathLike = True,
    method: str | None = None,
    n_iter: int | None = None,
    seed: int | None = 0,
    momentum: float | None = None,
    tol: float | None = None,
    options: PhaseOptions | None = None,
    workers: int | None = None,
    progress=None,
    block_frames: int | None = None,
    format: str | None = None,
    compression_level: float | None = None,
    bitrate_mode: str | None = None,
    overwrite: bool = True,
) -> tuple[np.ndarray, int]:
    """Read a spectrogram image, decode it and write the audio atomically.

    Parameters
    ----------
    src : path-like
        spec2img PNG, Riffusion image, or any image with ``plain`` parameters.
    dst : path-like
        ``.wav``, ``.flac``, ``.ogg``, ``.opus`` or ``.mp3`` output (or ``-``, a FIFO,
        a device: WAV unless ``format`` says otherwise); never the same file as ``src``.
    subtype : str or None
        soundfile subtype (``PCM_16`` default for WAV, ``PCM_24``, ``FLOAT``).
    normalize : bool
        Scale the peak to -1 dBFS instead of clipping samples beyond full scale.
    max_pixels : int or None
        Limit on the input's pixels and on the cells of the linear spectrogram the
        decode computes (default: ``spec2img.io.png.DEFAULT_MAX_PIXELS`` for spec2img
        images, none for plain ones); see :func:`spec2img.load`.
    plain : PlainOptions, mapping or None
        Parameters of an image without spec2img metadata (see :func:`load_image`).
    phase : bool or path-like
        ``True``: start from the kept phase image the spectrogram names, if present;
        ``False``: ignore it; a path: start from that phase image.
    method, n_iter, seed, momentum, tol, options, workers, progress, block_frames
        As :func:`decode`.
    format, compression_level, bitrate_mode
        Audio format and encoder settings (see :func:`spec2img.io.audio.output_format`).
    overwrite : bool
        Replace an existing ``dst`` (``False``: :class:`OutputError` before any work).

    Returns
    -------
    y, sr : as :func:`decode` returns them
    """
    options = PhaseOptions.of(method, n_iter, seed, momentum, tol, options=options)
    output = AudioOutput(subtype=subtype, normalize=normalize, format=format,
                         compression_level=compression_level, bitrate_mode=bitrate_mode)  # fmt: skip
    y, sr, _ = decode_to_file(
        src, dst, phase=options, output=output, plain=plain, kept_phase=phase,
        max_pixels=max_pixels, workers=workers, progress=progress, block_frames=block_frames,
        overwrite=overwrite,
    )  # fmt: skip
    return y, sr


def decode_to_file(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    phase: PhaseOptions = DEFAULT_PHASE,
    output: AudioOutput = DEFAULT_OUTPUT,
    plain: PlainOptions | Mapping | None = None,
    kept_phase: bool | str | os.PathLike = True,
    max_pixels: int | None = None,
    workers: int | None = None,
    progress=None,
    block_frames: int | None = None,
    overwrite: bool = True,
):
    """:func:`image_to_audio` on typed options; also returns the image's
    :class:`~spec2img.wild.identify.Identity` (what it is, its own metadata).

    Returns
    -------
    y, sr, identity
    """
    from .wild.identify import identify

    audio = output.codec()
    output_format(dst, output.subtype, **audio)  # fail before a long decode, not after
    check_output(dst, [src], overwrite=overwrite)
    identity = identify(src, plain, max_pixels=max_pixels)
    image = read_image(identity, max_pixels=max_pixels, phase=kept_phase)
    meta = image.meta
    options = phase
    try:
        if _given(plain):  # a plot or an 8-bit image: stop where it holds no more detail
            options = _with_stop(options, meta, eight_bit=True)
        y, sr = decode(image, options=options, workers=workers, progress=progress,
                       block_frames=block_frames)  # fmt: skip
    except Spec2ImgError as e:
        raise in_file(src, e) from None
    del image
    if meta.extra.get("level") == "relative":
        hint = (
            "" if meta.extra.get("source") == "riffusion"
            else "; give db_range in absolute dB to keep a level"
        )  # fmt: skip
        message = (
            f"{src}: the image does not record its absolute level, so the audio is "
            f"normalised to a peak of -1 dBFS{hint}"
        )
        warnings.warn(Spec2ImgWarning(message, params=("db_range",)), stacklevel=3)
    save_audio(dst, y, sr, subtype=output.subtype, normalize=output.normalize, inputs=[src],
               overwrite=overwrite, **audio)  # fmt: skip
    return y, sr, identity


def _check_sr(sr) -> None:
    """``sr`` by its own name (:class:`SpecParams` calls it ``sample_rate``); a whole
    float (``22050.0``) is taken, as :class:`SpecParams` takes it."""
    check_rate(int(sr) if isinstance(sr, float) and sr.is_integer() else sr)


def _given(plain: PlainOptions | Mapping | None) -> bool:
    """Whether plain-image options were given (the image is then 8-bit or a plot)."""
    if isinstance(plain, PlainOptions):
        return bool(plain.given())
    return any(v is not None for v in (plain or {}).values())
