"""librosa's two inverses, ``griffinlim`` and ``mel_to_audio``, on spec2img's phase engine.

Same names, signatures and semantics as :func:`librosa.griffinlim` and
:func:`librosa.feature.inverse.mel_to_audio`, so that a script can swap the import.  What
differs is how the work is done: the phase starts from PGHI (phase-gradient heuristic
integration) instead of random values, and the iterations are spec2img's fast
Griffin-Lim (:mod:`spec2img.phase`), so that the same ``n_iter`` gives a better result in
less time (``bench/dropins.py``, docs/speed.md).  ``init="random"`` keeps librosa's
random start.  Mel spectrograms are taken back to linear frequency by spec2img's
non-negative least squares (:func:`spec2img.dsp.scale.mel_to_linear`).

Errors are :class:`LibrosaParameterError`: a :class:`spec2img.ParameterError` that is
also a ``librosa.ParameterError`` when librosa is installed, so that code catching
either keeps working.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import numpy as np

from .. import phase
from ..dsp.stft import Stft
from ..errors import ParameterError

try:  # light (a few ms, no numpy): librosa's package is lazy
    from librosa.util.exceptions import ParameterError as _LibrosaError
except ImportError:  # pragma: no cover - librosa is a core dependency
    _LibrosaError = ValueError

__all__ = ["griffinlim", "mel_to_audio", "LibrosaParameterError", "INITS", "PAD_MODES"]


class LibrosaParameterError(ParameterError, _LibrosaError):  # type: ignore[misc,valid-type]
    """A bad parameter of a drop-in: a :class:`spec2img.ParameterError` and a
    ``librosa.ParameterError``."""


class LibrosaTypeError(LibrosaParameterError, TypeError):
    """A parameter of the wrong type where librosa raises :class:`TypeError` (``rng``)."""


#: Starting phases: PGHI (the default), librosa's random phases, or ``None``: the phase
#: of a complex ``S`` (zero for a magnitude).  An array is also taken.
INITS = ("pghi", "random", None)
#: ``np.pad`` modes librosa's STFT takes for ``center=True``.
PAD_MODES = (
    "constant", "edge", "linear_ramp", "maximum", "mean", "median", "minimum", "reflect",
    "symmetric", "wrap", "empty",
)  # fmt: skip


class _Deprecated:
    """Marks ``random_state`` as not given (``None`` is a value it can take)."""

    def __repr__(self) -> str:
        return "<deprecated>"


_DEPRECATED: Any = _Deprecated()


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _librosa_errors(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Re-raise spec2img's ParameterError as :class:`LibrosaParameterError` (the
    signature kept, for type checkers)."""

    @functools.wraps(fn)
    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except LibrosaParameterError:
            raise
        except ParameterError as e:
            raise LibrosaParameterError(str(e), params=e.params) from None

    return wrapped


@_librosa_errors
def griffinlim(
    S: np.ndarray,
    *,
    n_iter: int = 32,
    hop_length: int | None = None,
    win_length: int | None = None,
    n_fft: int | None = None,
    window: Any = "hann",
    center: bool = True,
    dtype: Any = None,
    length: int | None = None,
    pad_mode: str = "constant",
    momentum: float = 0.99,
    init: str | np.ndarray | None = "pghi",
    rng: Any = None,
    random_state: Any = _DEPRECATED,
) -> np.ndarray:
    """Audio whose STFT magnitude approximates ``S``: librosa's ``griffinlim``, better.

    A drop-in for :func:`librosa.griffinlim`: the same parameters with the same
    meaning.  By default the phase starts from PGHI instead of random values, and
    ``n_iter`` iterations of fast Griffin-Lim refine it, so the result is closer to
    ``S`` than librosa's after the same number of iterations, and sooner.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_fft // 2 + 1, t), non-negative]
        STFT magnitudes, as ``np.abs(librosa.stft(y))``; leading axes are channels,
        retrieved linked with the default ``init`` (a stereo ``S`` keeps its mid and
        side: :mod:`spec2img.phase.stereo`), each on its own with a given start.  A complex ``S`` is taken as its magnitude, and
        its phase is the start when ``init=None``.
    n_iter : int >= 0
        Iterations of fast Griffin-Lim.
    hop_length : int > 0 or None
        ``None``: ``win_length // 4``.
    win_length : int in [1, n_fft] or None
        ``None``: ``n_fft``.
    n_fft : int > 0 or None
        ``None``: ``2 * (S.shape[-2] - 1)``; give it for an odd frame length.
    window : str, tuple, number, callable or np.ndarray [shape=(win_length,)]
        As :func:`librosa.filters.get_window` takes it.
    center : bool
        Frames centred on ``t * hop_length`` (the signal padded by ``n_fft // 2``).
    dtype : real floating dtype or None
        Of the output; ``None``: float64 for a float64 (complex128) ``S``, else float32.
    length : int >= 0 or None
        Samples of the output (trimmed or zero-padded); ``None``: what the frames span.
    pad_mode : str
        How ``center=True`` padded the signal (one of :data:`PAD_MODES`).
    momentum : float >= 0
        Fast Griffin-Lim's momentum; 0 is plain Griffin-Lim.  Above 1 warns.
    init : {"pghi", "random", None} or np.ndarray [shape=S.shape]
        Starting phase: ``"pghi"`` (default) estimates it from ``S``'s magnitude;
        ``"random"`` draws it uniformly from ``rng`` (librosa's default); ``None``
        takes a complex ``S``'s phase (zero for a magnitude), so that a run resumes
        from ``librosa.stft`` of the last output.  An array of ``S``'s shape gives the
        phase in radians, or complex values whose angle is taken.
    rng : None, int, sequence of int, np.random.Generator or np.random.RandomState
        Source of the random phases (``init="random"``, and PGHI's phases of bins too
        quiet to have one).  ``None``: fresh entropy; a seed gives the same output
        every time.
    random_state : same as rng
        Deprecated name of ``rng`` (a :class:`FutureWarning`); not both.

    Returns
    -------
    y : np.ndarray [shape=(..., n), dtype=dtype]

    Raises
    ------
    LibrosaParameterError
        Bad parameters: a :class:`spec2img.ParameterError` and a
        ``librosa.ParameterError`` (:class:`TypeError` too for an unusable ``rng``).

    See Also
    --------
    mel_to_audio
    spec2img.phase.reconstruct : the engine, with more methods and options.

    Examples
    --------
    >>> import numpy as np, spec2img
    >>> from spec2img.dsp.stft import Stft
    >>> sr = 22050
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    >>> S = np.abs(Stft(2048, 512).forward(y))  # np.abs(librosa.stft(y))
    >>> y_inv = spec2img.griffinlim(S, length=len(y), rng=0)
    >>> y_inv.shape, y_inv.dtype
    ((22050,), dtype('float32'))
    """
    gen = _generator(rng, random_state)
    out_dtype = _out_dtype(dtype, np.asarray(S).dtype)
    S, given_phase = _magnitude(S, "S")
    momentum = _check_momentum(momentum)
    n_iter = _check_count("n_iter", n_iter)
    length = None if length is None else _check_count("length", length)
    n_fft = 2 * (S.shape[-2] - 1) if n_fft is None else _check_positive_int("n_fft", n_fft)
    win_length = n_fft if win_length is None else _check_positive_int("win_length", win_length)
    hop = win_length // 4 if hop_length is None else _check_positive_int("hop_length", hop_length)
    if hop < 1:
        raise ParameterError(f"hop_length={hop} (win_length // 4) must be > 0",
                             params=("hop_length",))  # fmt: skip
    if not isinstance(pad_mode, str) or pad_mode not in PAD_MODES:
        raise ParameterError(f"pad_mode must be one of {list(PAD_MODES)}, not {pad_mode!r}",
                             params=("pad_mode",))  # fmt: skip
    engine = Stft(n_fft, hop, win_length, _window(window, win_length), center)
    if S.shape[-2] != engine.n_bins:
        raise ParameterError(
            f"S has {S.shape[-2]} frequency bins, but n_fft={n_fft} gives {engine.n_bins}",
            params=("n_fft",),
        )
    angles, method = _start(init, S, given_phase, gen)
    seed = _seed(gen)
    if center and pad_mode != "constant":
        y = _padded(S, engine, pad_mode, n_iter, angles, seed, length, momentum)
    else:
        # the image decode's entry point: whatever it learns (coupled stereo) applies here
        y = phase.reconstruct(S, engine, method=method, n_iter=n_iter, init=angles, seed=seed,
                              length=length, momentum=momentum)  # fmt: skip
    return y.astype(out_dtype, copy=False)


@_librosa_errors
def mel_to_audio(
    M: np.ndarray,
    *,
    sr: float = 22050,
    n_fft: int = 2048,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Any = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
    n_iter: int = 32,
    length: int | None = None,
    dtype: Any = np.float32,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | float | None = "slaney",
    momentum: float = 0.99,
    init: str | np.ndarray | None = "pghi",
    rng: Any = None,
) -> np.ndarray:
    """Audio from a mel spectrogram: librosa's ``feature.inverse.mel_to_audio``, better.

    A drop-in for :func:`librosa.feature.inverse.mel_to_audio`: the mel bands are
    taken back to linear frequency by non-negative least squares, then
    :func:`griffinlim` recovers the phase.  ``htk`` and ``norm`` describe the
    filterbank as :func:`librosa.filters.mel` does, so torchaudio's mel spectrograms
    (HTK scale, ``norm=None``: ``htk=True, norm=None``) invert too.

    Parameters
    ----------
    M : np.ndarray [shape=(..., n_mels, t), non-negative]
        Mel spectrogram, as ``librosa.feature.melspectrogram`` makes it; leading axes
        are channels.
    sr : number > 0
        Sampling rate of the audio.
    n_fft : int > 0
    hop_length, win_length, window, center, pad_mode, n_iter, length, momentum, init, rng
        As :func:`griffinlim` takes them.
    power : float > 0
        Exponent of the magnitudes the bands summed: 2 for power (librosa's default),
        1 for magnitude.
    dtype : real floating dtype
        Of the output (float32 by default, as librosa).
    fmin : float >= 0
    fmax : float > fmin or None
        Band edges in Hz; ``None``: ``sr / 2``.
    htk : bool
        HTK's mel scale instead of Slaney's.
    norm : {"slaney", None} or number
        ``"slaney"``: bands of equal area; ``None``: peaks of 1; a number ``p``: each
        band scaled to unit ``p``-norm (``np.inf``: unit peak).

    Returns
    -------
    y : np.ndarray [shape=(..., n), dtype=dtype]

    Raises
    ------
    LibrosaParameterError
        As :func:`griffinlim`.

    Examples
    --------
    >>> import numpy as np, spec2img
    >>> M = np.zeros((128, 44), np.float32)
    >>> M[40] = 1.0  # one band, steady
    >>> y = spec2img.mel_to_audio(M, sr=22050, length=22050, rng=0)
    >>> y.shape, y.dtype
    ((22050,), dtype('float32'))
    """
    M, _ = _magnitude(M, "M", complex_ok=False)
    sr = _check_positive_number("sr", sr)
    power = _check_positive_number("power", power)
    n_fft = _check_positive_int("n_fft", n_fft)
    basis = _mel_basis(sr, n_fft, M.shape[-2], fmin, fmax, htk, norm)
    from ..dsp.scale import mel_to_linear
    from .spectra import _blas_threads

    with _blas_threads(None):
        S = mel_to_linear(M, basis)
    if power != 1:
        np.power(S, np.float32(1 / power), out=S)
    return griffinlim(
        S, n_iter=n_iter, hop_length=hop_length, win_length=win_length, n_fft=n_fft,
        window=window, center=center, dtype=dtype, length=length, pad_mode=pad_mode,
        momentum=momentum, init=init, rng=rng,
    )  # fmt: skip


# --------------------------------------------------------------------------- checks


def _generator(rng, random_state):
    """librosa's ``rng`` (or deprecated ``random_state``) as a Generator or RandomState."""
    if not isinstance(random_state, _Deprecated):
        if rng is not None:
            raise ParameterError(
                f"give rng or random_state, not both (random_state={random_state!r}, "
                f"rng={rng!r}); random_state is deprecated",
                params=("rng", "random_state"),
            )
        warnings.warn(
            "'random_state' was renamed to 'rng' (as in librosa 1.0); use rng",
            FutureWarning,
            stacklevel=3,
        )
        rng = random_state
    if isinstance(rng, np.random.RandomState | np.random.Generator):
        return rng
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as e:
        raise LibrosaTypeError(
            f"rng must be None, a seed, a Generator or a RandomState, not {rng!r} ({e})",
            params=("rng",),
        ) from None


def _seed(gen) -> int:
    """A seed drawn from ``gen`` for the engine's per-channel generators: a Generator
    or RandomState given twice gives different phases, a seed the same ones."""
    if isinstance(gen, np.random.RandomState):
        return int(gen.randint(0, 2**63 - 1, dtype=np.int64))
    return int(gen.integers(0, 2**63 - 1))


def _magnitude(S, name: str, *, complex_ok: bool = True):
    """``(|S| as float32, S itself if complex else None)``, checked."""
    S = np.asarray(S)
    if S.ndim < 2:
        raise ParameterError(f"{name} must have shape (..., bins, frames), not {S.shape}",
                             params=(name,))  # fmt: skip
    if S.shape[-1] < 1 or S.shape[-2] < 2:
        raise ParameterError(f"{name} of shape {S.shape} has no frames or too few bins",
                             params=(name,))  # fmt: skip
    given = None
    if np.iscomplexobj(S):
        if not complex_ok:
            raise ParameterError(f"{name} must be real (a mel spectrogram), not {S.dtype}",
                                 params=(name,))  # fmt: skip
        given = S
        S = np.abs(S)
    elif not (np.issubdtype(S.dtype, np.floating) or np.issubdtype(S.dtype, np.integer)):
        raise ParameterError(f"{name} must hold numbers, not {S.dtype}", params=(name,))
    mag = S.astype(np.float32)
    if not np.isfinite(mag).all():
        raise ParameterError(f"{name} has NaN or infinite values (in float32)", params=(name,))
    if (mag < 0).any():
        raise ParameterError(f"{name} has {int(np.count_nonzero(mag < 0))} negative values; "
                             "it must be a magnitude", params=(name,))  # fmt: skip
    return mag, given


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ParameterError(f"{name} must be an integer >= 0, not {value!r}", params=(name,))
    return int(value)


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be an integer > 0, not {value!r}", params=(name,))
    return int(value)


def _check_positive_number(name: str, value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (math.isfinite(value) and value > 0)
    ):
        raise ParameterError(f"{name} must be a finite number > 0, not {value!r}",
                             params=(name,))  # fmt: skip
    return float(value)


def _check_momentum(momentum) -> float:
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise ParameterError(f"momentum must be a number, not {momentum!r}", params=("momentum",))
    if not math.isfinite(momentum) or momentum < 0:
        raise ParameterError(f"griffinlim() called with momentum={momentum} < 0 or not finite",
                             params=("momentum",))  # fmt: skip
    if momentum > 1:
        warnings.warn(f"Griffin-Lim with momentum={momentum} > 1 can be unstable",
                      stacklevel=4)  # fmt: skip
    return float(momentum)


def _out_dtype(dtype, given: np.dtype) -> np.dtype:
    if dtype is None:
        return np.dtype(np.float64 if given in (np.float64, np.complex128) else np.float32)
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out is None or not np.issubdtype(out, np.floating):
        raise ParameterError(f"dtype must be a real floating type, not {dtype!r}",
                             params=("dtype",))  # fmt: skip
    return out


def _window(window, win_length: int):
    """A window spec the STFT engine takes: a name it knows, or the samples."""
    if isinstance(window, str):
        return window
    if callable(window):
        w = np.asarray(window(win_length), dtype=np.float64)
    elif isinstance(window, tuple) or isinstance(window, numbers.Real):
        import scipy.signal

        try:
            w = scipy.signal.get_window(window, win_length, fftbins=True)
        except (ValueError, TypeError) as e:
            raise ParameterError(f"window {window!r}: {e}", params=("window",)) from None
    else:
        w = np.asarray(window, dtype=np.float64)
    if w.shape != (win_length,):
        raise ParameterError(f"window must have {win_length} samples (win_length), not shape "
                             f"{w.shape}", params=("window",))  # fmt: skip
    return w


def _start(init, S: np.ndarray, given: np.ndarray | None, gen):
    """``(initial phase or None, method)`` for :func:`spec2img.phase.reconstruct`."""
    if isinstance(init, str) and init == "pghi":
        return None, "pghi+fgla"
    if isinstance(init, str) and init == "random":
        # librosa's draw, so that one generator gives librosa's starting phases
        return (2 * np.pi) * gen.random(size=S.shape), "fgla"
    if init is None:
        return (np.zeros(S.shape, np.float32) if given is None else given), "fgla"
    if isinstance(init, np.ndarray):
        if init.shape != S.shape:
            raise ParameterError(f"init has shape {init.shape}, S {S.shape}: they must agree",
                                 params=("init",))  # fmt: skip
        if not (np.iscomplexobj(init) or np.issubdtype(init.dtype, np.floating)):
            raise ParameterError(f"init must hold phases in radians or complex values, not "
                                 f"{init.dtype}", params=("init",))  # fmt: skip
        if not np.isfinite(init).all():
            raise ParameterError("init has NaN or infinite values", params=("init",))
        return init, "fgla"
    raise ParameterError(f"init={init!r} must be 'pghi', 'random', None or an array of S's "
                         "shape", params=("init",))  # fmt: skip


def _mel_basis(sr, n_fft, n_mels, fmin, fmax, htk, norm) -> np.ndarray:
    """librosa's ``filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, ...)``, in float32."""
    from ..dsp.melbank import mel_filters

    fmin = float(fmin) if isinstance(fmin, numbers.Real) and not isinstance(fmin, bool) else None
    if fmin is None or not (math.isfinite(fmin) and fmin >= 0):
        raise ParameterError("fmin must be a finite number >= 0", params=("fmin",))
    if fmax is not None:
        fmax = _check_positive_number("fmax", fmax)
        if fmax <= fmin:
            raise ParameterError(f"fmax={fmax} must be above fmin={fmin}", params=("fmax",))
    if not isinstance(htk, bool | np.bool_):
        raise ParameterError(f"htk must be True or False, not {htk!r}", params=("htk",))
    slaney = isinstance(norm, str) and norm == "slaney"
    if not (norm is None or slaney) and (
        isinstance(norm, bool) or not isinstance(norm, numbers.Real)
    ):
        raise ParameterError(f"norm must be 'slaney', None or a number, not {norm!r}",
                             params=("norm",))  # fmt: skip
    with np.errstate(all="ignore"):
        basis = mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                            htk=bool(htk), slaney_norm=slaney).astype(np.float64)  # fmt: skip
    basis = np.nan_to_num(basis, nan=0.0, posinf=0.0, neginf=0.0)
    if not (norm is None or slaney):
        p = float(norm)
        if p == 0 or math.isnan(p):
            raise ParameterError(f"norm={norm!r}: a p-norm needs p != 0", params=("norm",))
        size = np.linalg.norm(basis, ord=p, axis=-1, keepdims=True) if math.isfinite(p) else (
            np.max(basis, axis=-1, keepdims=True) if p > 0 else np.min(basis, axis=-1, keepdims=True)
        )  # fmt: skip
        basis = np.divide(basis, size, out=np.zeros_like(basis), where=size > 0)
    return basis.astype(np.float32)


# ------------------------------------------------------------- other padding modes


def _padded(S, engine: Stft, pad_mode: str, n_iter, angles, seed, length, momentum):
    """Fast Griffin-Lim whose forward transforms pad the signal with ``pad_mode``
    (``np.pad``), as librosa's STFT did for ``S``; the engine's streaming projection
    pads with zeros, so this loop works on whole arrays instead."""
    from ..dsp.jit import deciding

    lead, n_bins, n_frames = S.shape[:-2], S.shape[-2], S.shape[-1]
    Si = np.ascontiguousarray(np.swapaxes(S, -1, -2).reshape(-1, n_frames, n_bins))
    framing = Stft(engine.n_fft, engine.hop_length, engine.win_length, engine.window_spec,
                   center=False)  # fmt: skip
    pad = engine.n_fft // 2
    out = []
    with deciding(float(Si.size) * (n_iter + 1)):
        for c in range(Si.shape[0]):
            out.append(_padded_channel(Si, c, engine, framing, pad, pad_mode, n_iter, angles,
                                       seed, length, momentum))  # fmt: skip
    y = np.concatenate(out)
    return y.reshape(*lead, y.shape[-1])


def _padded_channel(Si, c, engine, framing, pad, pad_mode, n_iter, angles, seed, length,
                    momentum):  # fmt: skip
    from ..phase.channels import channel_rng
    from ..phase.fgla import _update
    from ..phase.pghi import pghi_phase
    from ..phase.start import unit_phase

    _, n_frames, n_bins = Si.shape
    nyq = engine.n_fft % 2 == 0
    s = Si[c : c + 1]
    if angles is None:
        X = pghi_phase(s, engine, rng=channel_rng(seed, c))
    else:
        a = np.asarray(angles).reshape(-1, n_bins, n_frames)[c : c + 1]
        X = unit_phase(np.ascontiguousarray(np.swapaxes(a, -1, -2)), nyquist=nyq) * s
    X = X.astype(np.complex64)
    prev = np.zeros_like(X) if momentum > 0 else np.empty((1, 0, n_bins), np.complex64)
    for _ in range(n_iter):
        y = engine.inverse_tf(X, length)
        Y = framing.forward(np.pad(y, [(0, 0), (pad, pad)], mode=pad_mode))
        rebuilt = np.zeros_like(X)
        t = min(n_frames, Y.shape[-1])
        rebuilt[:, :t] = np.swapaxes(Y[..., :t], -1, -2)
        _update(rebuilt.view(np.float32), prev.view(np.float32), s, X.view(np.float32), 0,
                momentum)  # fmt: skip
    return engine.inverse_tf(X, length)
