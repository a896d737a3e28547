"""Spectrogram arrays made with librosa: wrap them as images, or turn them into audio.

The six kinds are what librosa's usual calls return::

    magnitude   np.abs(librosa.stft(y))
    power       np.abs(librosa.stft(y)) ** 2
    db          librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=ref)
    mel         librosa.feature.melspectrogram(y=y, sr=sr, power=1.0)
    mel_power   librosa.feature.melspectrogram(y=y, sr=sr)            (power=2, the default)
    mel_db      librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr), ref=ref)

A spec2img mel image holds the mel filterbank applied to the *magnitude*; mel power
(``M @ |X|**2``) is not the square of that, so the power kinds are first taken back
to linear frequency with non-negative least squares.
"""

from __future__ import annotations

import numpy as np

from .. import phase
from ..dsp import scale as _scale
from ..dsp.spectrum import match_energy
from ..dsp.stft import Stft
from ..errors import ParameterError
from ..io.image import SpectrogramImage
from ..options import PhaseOptions
from ..params import (
    DEFAULT_N_FFT,
    DEFAULT_N_MELS,
    DEFAULT_TOP_DB,
    DEFAULT_WINDOW,
    MAX_CHANNELS,
    Metadata,
    SpecParams,
)
from .scipy_compat import WSS_FLOOR

__all__ = ["KINDS", "to_image", "from_array"]

KINDS = ("magnitude", "power", "db", "mel", "mel_power", "mel_db")
_MEL_KINDS = ("mel", "mel_power", "mel_db")
_POWER_KINDS = ("power", "mel_power", "mel_db")
#: librosa's n_fft for mel spectrograms (the same as ours), used when a mel array does not say.
MEL_N_FFT = DEFAULT_N_FFT


def to_image(
    S: np.ndarray,
    sr: int,
    *,
    kind: str = "magnitude",
    ref: float = 1.0,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str = DEFAULT_WINDOW,
    center: bool = True,
    fmin: float = 0.0,
    fmax: float | None = None,
    length: int | None = None,
    top_db: float = DEFAULT_TOP_DB,
) -> SpectrogramImage:
    """Wrap a spectrogram array made with librosa as a spec2img image.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_bins, t)]
        The array, of the ``kind`` below; a leading axis holds channels.  Linear kinds
        have ``n_fft // 2 + 1`` rows, mel kinds one row per mel band.
    sr : int > 0
        Sampling rate of the audio it was computed from.
    kind : {"magnitude", "power", "db", "mel", "mel_power", "mel_db"}
        What ``S`` holds (see the module docstring for the librosa call of each).
    ref : float > 0
        For ``"db"`` and ``"mel_db"``: the ``ref`` given to librosa's
        ``amplitude_to_db`` (``"db"``) or ``power_to_db`` (``"mel_db"``).  If that was
        ``np.max``, the absolute level is gone: pass the maximum it divided by, if you
        have it, else the loudest cell comes back at magnitude ``ref``.  For
        ``power_to_db(np.abs(D)**2, ref=r)`` use ``kind="db", ref=np.sqrt(r)``.
    n_fft, hop_length, win_length, window, center
        The STFT parameters used, librosa's names and defaults.  ``n_fft=None`` means
        ``2 * (n_bins - 1)`` for linear kinds and 2048 for mel kinds.
    fmin, fmax : float
        Mel filterbank range (librosa's defaults: 0 and ``sr / 2``); Slaney mel scale
        and normalisation, as ``librosa.filters.mel`` by default.
    length : int >= 0 or None
        Samples of the original audio; ``None`` means the shortest length that gives
        ``t`` frames (``(t - 1) * hop_length`` with ``center=True``).
    top_db : float > 0
        Dynamic range kept in the image below its loudest cell.

    Returns
    -------
    SpectrogramImage
        Call ``.save("out.png")`` to write it; edit it; decode it.

    Examples
    --------
    >>> import librosa, numpy as np, spec2img
    >>> y, sr = librosa.load(librosa.ex("trumpet"))  # doctest: +SKIP
    >>> D = librosa.stft(y)  # doctest: +SKIP
    >>> spec2img.to_image(np.abs(D), sr).save("trumpet.png")  # doctest: +SKIP
    >>> M = librosa.feature.melspectrogram(y=y, sr=sr)  # doctest: +SKIP
    >>> spec2img.to_image(M, sr, kind="mel_power", length=len(y)).save("mel.png")  # doctest: +SKIP
    """
    S, params, n_samples = _prepare(
        S, sr, kind, n_fft, hop_length, win_length, window, center, fmin, fmax, length
    )
    ref = _check_ref(ref)
    with _blas_threads(None):
        M = _image_scale(S, kind, ref, params)
    db = _scale.amplitude_to_db(M)
    db_min, db_max = _scale.db_range(db, top_db)
    meta = Metadata(
        params=params, db_min=db_min, db_max=db_max, n_samples=n_samples, channels=S.shape[0]
    )
    return SpectrogramImage.from_blocks(_scale.db_to_pixels(db, db_min, db_max), meta)


def from_array(
    S: np.ndarray,
    sr: int,
    *,
    kind: str = "magnitude",
    ref: float = 1.0,
    n_fft: int | None = None,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: str = DEFAULT_WINDOW,
    center: bool = True,
    fmin: float = 0.0,
    fmax: float | None = None,
    length: int | None = None,
    method: str | None = None,
    n_iter: int | None = None,
    seed: int | None = 0,
    workers: int | None = None,
    progress=None,
    momentum: float | None = None,
    tol: float | None = None,
    options: PhaseOptions | None = None,
) -> np.ndarray:
    """Audio from a spectrogram array made with librosa, in one call.

    Works on the array in float precision (no 16-bit image in between): mel kinds are
    taken to linear frequency with non-negative least squares, the phase is recovered,
    and the level is matched to the array.

    Parameters
    ----------
    S, sr, kind, ref, n_fft, hop_length, win_length, window, center, fmin, fmax, length
        As for :func:`to_image`.
    method, n_iter, seed, momentum, tol, options, progress
        Phase retrieval, as for :func:`spec2img.decode`.
    workers : int or None
        FFT and BLAS threads; ``None`` means 1 (on a busy 2-core machine, more BLAS
        threads made the mel inversion three times slower).

    Returns
    -------
    y : np.ndarray [shape=(length,) or (channels, length), dtype=float32]

    Examples
    --------
    The five questions people ask, one call each (``y, sr`` from ``librosa.load``):

    1. "I have the magnitude of ``librosa.stft``, how do I hear it?"

    >>> S = np.abs(librosa.stft(y))  # doctest: +SKIP
    >>> y_back = spec2img.from_array(S, sr)  # doctest: +SKIP

    2. "My STFT used other parameters" -- pass them, librosa's names:

    >>> S = np.abs(librosa.stft(y, n_fft=512, hop_length=128)) ** 2  # doctest: +SKIP
    >>> y_back = spec2img.from_array(S, sr, kind="power", hop_length=128)  # doctest: +SKIP

    3. "I plotted ``amplitude_to_db(..., ref=np.max)``" -- give the reference back:

    >>> S_db = librosa.amplitude_to_db(np.abs(D), ref=np.max)  # doctest: +SKIP
    >>> y_back = spec2img.from_array(S_db, sr, kind="db", ref=np.abs(D).max())  # doctest: +SKIP

    4. "How do I invert ``melspectrogram``?"

    >>> M = librosa.feature.melspectrogram(y=y, sr=sr)  # doctest: +SKIP
    >>> y_back = spec2img.from_array(M, sr, kind="mel_power", length=len(y))  # doctest: +SKIP

    5. "...and the log-mel my model generates?"

    >>> M_db = librosa.power_to_db(M, ref=1.0)  # doctest: +SKIP
    >>> y_back = spec2img.from_array(M_db, sr, kind="mel_db")  # doctest: +SKIP
    """
    retrieval = PhaseOptions.of(method, n_iter, seed, momentum, tol, options=options)
    S, params, n_samples = _prepare(
        S, sr, kind, n_fft, hop_length, win_length, window, center, fmin, fmax, length
    )
    ref = _check_ref(ref)
    with _blas_threads(workers):
        linear = _linear_magnitude(S, kind, ref, params)
        engine = _engine(params, workers)
        y = phase.retrieve(linear, engine, retrieval, length=n_samples, progress=progress)
        y = _match_level(y, S, kind, ref, params, engine)
    return y[0] if y.shape[0] == 1 else y


def _prepare(S, sr, kind, n_fft, hop_length, win_length, window, center, fmin, fmax, length):
    """Validated ``(channels, n_bins, t)`` float array, its SpecParams and its length."""
    if kind not in KINDS:
        raise ParameterError(f"kind must be one of {list(KINDS)}, not {kind!r}")
    S = np.asarray(S)
    if not np.issubdtype(S.dtype, np.number) or np.iscomplexobj(S):
        hint = "; pass np.abs(D)" if np.iscomplexobj(S) else ""
        raise ParameterError(f"S must be real numbers, not {S.dtype}{hint}")
    if S.ndim == 2:
        S = S[None]
    if S.ndim != 3 or S.shape[-1] < 1 or S.shape[-2] < 1:
        raise ParameterError(
            f"S must have shape (n_bins, t) or (channels, n_bins, t), not {S.shape}"
        )
    if not 1 <= S.shape[0] <= MAX_CHANNELS:
        raise ParameterError(f"S has {S.shape[0]} channels; 1 to {MAX_CHANNELS} are allowed")
    S = S.astype(np.float64)
    if not np.all(np.isfinite(S)):
        raise ParameterError("S has NaN or infinite values")
    if not kind.endswith("db") and np.any(S < 0):
        raise ParameterError(
            f"S has {int(np.count_nonzero(S < 0))} negative values, but kind={kind!r} is "
            "non-negative (dB values need kind='db' or 'mel_db')"
        )
    n_bins, n_frames = S.shape[-2:]
    mel = kind in _MEL_KINDS
    if n_fft is None:
        n_fft = MEL_N_FFT if mel else 2 * (n_bins - 1)
    params = SpecParams(
        sample_rate=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
        window=window, center=center, scale="mel" if mel else "linear",
        n_mels=n_bins if mel else DEFAULT_N_MELS, fmin=fmin, fmax=fmax,
    )  # fmt: skip
    if not mel and n_bins != params.n_fft // 2 + 1:
        raise ParameterError(
            f"S has {n_bins} rows, but n_fft={params.n_fft} gives {params.n_fft // 2 + 1}; "
            "give the n_fft it was computed with"
        )
    hop = params.hop_length
    shortest = (n_frames - 1) * hop if center else params.n_fft + (n_frames - 1) * hop
    if length is None:
        length = shortest
    elif isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 0:
        raise ParameterError(f"length must be a whole number >= 0, not {length!r}")
    elif params.n_frames(int(length)) != n_frames:
        raise ParameterError(
            f"length={length} gives {params.n_frames(int(length))} frames at hop_length={hop}, "
            f"but S has {n_frames}"
        )
    return S, params, int(length)


def _engine(params: SpecParams, workers) -> Stft:
    """The STFT of ``params``, its inverse regularised where the window sum is thin.

    Without centring, the first and last samples are seen only by the edge of one
    window; dividing by that window's tiny square there would blow phase retrieval's
    errors up by orders of magnitude.
    """
    return Stft(
        params.n_fft, params.hop_length, params.win_length, params.window, params.center,
        workers=workers, wss_floor=WSS_FLOOR,
    )  # fmt: skip


def _blas_threads(workers):
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    return threadpool_limits(limits=workers or 1, user_api="blas")


def _check_ref(ref) -> float:
    if callable(ref):
        raise ParameterError(
            "ref must be the number the dB values are relative to; a function such as "
            "np.max cannot be undone (pass the maximum it returned, or 1.0)"
        )
    if isinstance(ref, bool) or not isinstance(ref, int | float | np.number):
        raise ParameterError(f"ref must be a number > 0, not {ref!r}")
    if not (np.isfinite(ref) and ref > 0):
        raise ParameterError(f"ref must be a finite number > 0, not {ref!r}")
    return float(ref)


def _undo_db(S: np.ndarray, kind: str, ref: float) -> np.ndarray:
    """Linear values (magnitude for "db", power for "mel_db")."""
    if kind == "db":
        return ref * np.power(10.0, S / 20.0)
    if kind == "mel_db":
        return ref * np.power(10.0, S / 10.0)
    return S


def _image_scale(S, kind: str, ref: float, params: SpecParams) -> np.ndarray:
    """Magnitude on the image's own scale: linear bins, or mel of the magnitude."""
    S = _undo_db(S, kind, ref)
    if kind in ("magnitude", "db", "mel"):
        return S.astype(np.float32)
    if kind == "power":
        return np.sqrt(S).astype(np.float32)
    basis = _scale.mel_basis(params)  # mel power -> linear power -> mel magnitude
    linear = np.sqrt(_scale.mel_to_linear(S.astype(np.float32), basis))
    return _scale.linear_to_mel(linear, basis)


def _linear_magnitude(S, kind: str, ref: float, params: SpecParams) -> np.ndarray:
    """STFT magnitude ``(channels, n_fft // 2 + 1, t)`` the array stands for."""
    S = _undo_db(S, kind, ref).astype(np.float32)
    if kind in _MEL_KINDS:
        S = _scale.mel_to_linear(S, _scale.mel_basis(params))
    if kind in _POWER_KINDS:
        S = np.sqrt(S)
    return np.ascontiguousarray(S, dtype=np.float32)


def _match_level(y, S, kind: str, ref: float, params: SpecParams, engine: Stft) -> np.ndarray:
    """Scale each channel so that its spectrogram of ``kind`` has the array's energy.

    The comparison is made in the array's own terms (mel power for ``mel_power``),
    where the array is exact, not against the least-squares linear estimate.
    """
    target = _undo_db(S, kind, ref)
    if kind in _POWER_KINDS:  # energy is the sum of powers, or of squared magnitudes
        want = target.sum(axis=(-2, -1))
    else:
        want = np.square(target).sum(axis=(-2, -1))
    basis = _scale.mel_basis(params) if kind in _MEL_KINDS else None
    return match_energy(y, want, engine, basis=basis, mel_power=kind in _POWER_KINDS)
