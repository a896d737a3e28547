"""The compositions: audio -> image and image -> audio, for arrays and for files.

    audio --stft--> magnitude --scale--> dB --quantise--> uint16 + metadata --png--> file
    file --png--> uint16 + metadata --scale--> magnitude --phase--> audio

This is the only module (besides the CLI) that knows about more than one stage.
"""

from __future__ import annotations

import os

import numpy as np

from . import phase
from . import scale as _scale
from .atomic import check_output
from .audio import load_audio, output_format, save_audio
from .errors import InputError, ParameterError, Spec2ImgError, in_file
from .image import SpectrogramImage, load
from .params import MAX_CHANNELS, MAX_DB, Metadata, SpecParams
from .stft import Stft

DEFAULT_TOP_DB = 120.0


def encode(
    y: np.ndarray,
    sr: int,
    *,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    scale: str = "linear",
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float = DEFAULT_TOP_DB,
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
    params = SpecParams(
        sample_rate=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
        window=window, center=center, scale=scale, n_mels=n_mels, fmin=fmin, fmax=fmax,
    )  # fmt: skip
    y = _check_audio(y, params)
    S = magnitude(y, params, workers=workers)
    db = _scale.amplitude_to_db(S)
    db_min, db_max = _scale.db_range(db, top_db)
    if db_max > MAX_DB:
        raise InputError(
            f"audio peaks at {db_max:.0f} dB in its spectrogram, above the {MAX_DB:g} dB a "
            f"spec2img image holds: its samples reach {float(np.max(np.abs(y))):.3g}, far "
            "beyond full scale (1.0)"
        )
    meta = Metadata(
        params=params, db_min=db_min, db_max=db_max, n_samples=y.shape[-1], channels=y.shape[0]
    )
    return SpectrogramImage.from_blocks(_scale.db_to_pixels(db, db_min, db_max), meta)


def magnitude(
    y: np.ndarray, params: SpecParams, *, workers: int | None = None, engine: Stft | None = None
) -> np.ndarray:
    """STFT magnitude of ``(channels, n)`` audio on the scale of ``params``."""
    engine = Stft.from_params(params, workers=workers) if engine is None else engine
    S = np.abs(engine.forward(y))
    if params.scale == "mel":
        S = _scale.linear_to_mel(S, _scale.mel_basis(params))
    return S


def linear_magnitude(image: SpectrogramImage) -> np.ndarray:
    """The image's magnitude on the linear STFT grid ``(channels, n_fft//2+1, frames)``.

    Mel images are inverted with non-negative least squares.  An image one frame
    wider or narrower than its metadata says is trimmed or edge-padded to fit.
    """
    S = image.magnitude()
    if image.params.scale == "mel":
        S = _scale.mel_to_linear(S, _scale.mel_basis(image.params))
    want = image.meta.n_frames
    if S.shape[-1] > want:
        S = S[..., :want]
    elif S.shape[-1] < want:
        S = np.pad(S, [(0, 0), (0, 0), (0, want - S.shape[-1])], mode="edge")
    return np.ascontiguousarray(S, dtype=np.float32)


def decode(
    image: SpectrogramImage,
    *,
    method: str | None = None,
    n_iter: int | None = None,
    seed: int | None = 0,
    init: np.ndarray | None = None,
    workers: int | None = None,
    progress=None,
    **options,
) -> tuple[np.ndarray, int]:
    """Decode a spectrogram image to audio.

    Parameters
    ----------
    image : SpectrogramImage
        From :func:`encode` or :func:`load`.
    method : str or None
        Phase retrieval method (a key of ``spec2img.phase.METHODS``); ``None``: the
        default.
    n_iter : int >= 0 or None
        Iterations; ``None``: the method's default.
    seed : int or None
        Seed of the initial phase: the same seed gives the same output, bit for bit.
    init : np.ndarray or None
        Initial phase ``(channels, n_fft//2+1, frames)`` in radians.
    workers : int or None
        FFT threads.
    progress : callable(done, total) or None
        Called as phase retrieval advances.
    **options
        Method options such as ``momentum``.

    Returns
    -------
    y : np.ndarray [shape=(n,) for mono, (channels, n) otherwise, dtype=float32]
        Exactly ``n_samples`` samples per channel, at the original RMS level.
    sr : int
    """
    meta = image.meta
    S = linear_magnitude(image)
    engine = Stft.from_params(meta.params, workers=workers)
    y = phase.reconstruct(
        S, engine,
        method=phase.DEFAULT_METHOD if method is None else method,
        n_iter=phase.DEFAULT_N_ITER if n_iter is None else n_iter,
        init=init, seed=seed, length=meta.n_samples, progress=progress, **options,
    )  # fmt: skip
    y = match_level(y, image.magnitude(), meta.params, engine)
    return (y[0] if meta.channels == 1 else y), meta.params.sample_rate


def match_level(y: np.ndarray, target: np.ndarray, params: SpecParams, engine: Stft) -> np.ndarray:
    """Scale each channel so its spectral energy equals the target's.

    Phase retrieval from an inconsistent magnitude loses energy where phases disagree;
    matching energies (Parseval) restores the original level, also after edits.  The
    comparison is made on the image's own scale (mel bands for a mel image), where the
    target is exact, rather than against an NNLS estimate.
    """
    X = magnitude(y, params, engine=engine)
    got = np.sqrt(np.sum(np.square(X, dtype=np.float64), axis=(-2, -1)))
    want = np.sqrt(np.sum(np.square(target, dtype=np.float64), axis=(-2, -1)))
    gain = np.where(got > 0, want / np.where(got > 0, got, 1.0), 0.0)
    return (y * gain[..., None].astype(np.float32)).astype(np.float32)


def audio_to_image(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    sr: int | None = None,
    mono: bool = False,
    **params,
) -> SpectrogramImage:
    """Read an audio file, encode it and write the PNG atomically.

    Parameters
    ----------
    src : path-like
        Audio file (WAV, FLAC, OGG, ...).
    dst : path-like
        Output PNG; never the same file as ``src``.
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
    check_output(dst, [src])
    y, file_sr = load_audio(src, sr=sr, mono=mono)
    try:
        image = encode(y, file_sr, **params)
    except Spec2ImgError as e:
        raise in_file(src, e) from None
    image.save(dst, inputs=[src])
    return image


def image_to_audio(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    subtype: str | None = None,
    normalize: bool = False,
    max_pixels: int | None = None,
    **options,
) -> tuple[np.ndarray, int]:
    """Read a spec2img PNG, decode it and write the audio atomically.

    Parameters
    ----------
    src : path-like
        spec2img PNG.
    dst : path-like
        ``.wav``, ``.flac`` or ``.ogg`` output; never the same file as ``src``.
    subtype : str or None
        soundfile subtype (``PCM_16`` default for WAV, ``PCM_24``, ``FLOAT``).
    normalize : bool
        Scale the peak to -1 dBFS instead of clipping samples beyond full scale.
    max_pixels : int or None
        Limit on the input's pixels and on the cells of the linear spectrogram the
        decode computes (default: ``spec2img.png.DEFAULT_MAX_PIXELS``); see
        :func:`spec2img.load`.
    **options
        Keyword arguments of :func:`decode`.

    Returns
    -------
    y, sr : as :func:`decode` returns them
    """
    output_format(dst, subtype)  # fail before a long decode, not after
    check_output(dst, [src])
    kw = {} if max_pixels is None else {"max_pixels": max_pixels}
    image = load(src, **kw)
    try:
        y, sr = decode(image, **options)
    except Spec2ImgError as e:
        raise in_file(src, e) from None
    save_audio(dst, y, sr, subtype=subtype, normalize=normalize, inputs=[src])
    return y, sr


def _check_audio(y: np.ndarray, params: SpecParams) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2:
        raise ParameterError(f"audio must have shape (n,) or (channels, n), not {y.shape}")
    if not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
        raise ParameterError(f"audio must be real numbers, not {y.dtype}")
    if not 1 <= y.shape[0] <= MAX_CHANNELS:
        raise ParameterError(f"audio has {y.shape[0]} channels; 1 to {MAX_CHANNELS} are allowed")
    n = y.shape[-1]
    if n == 0:
        raise InputError("audio has no samples")
    y = np.ascontiguousarray(y, dtype=np.float32)
    bad = int(y.size - np.count_nonzero(np.isfinite(y)))
    if bad:
        raise InputError(f"audio has {bad} NaN or infinite samples")
    if n < params.n_fft:
        raise InputError(
            f"audio of {n} samples is shorter than one frame (n_fft={params.n_fft}); "
            "use a smaller --n-fft"
        )
    return y
