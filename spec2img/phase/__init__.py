"""Phase retrieval: from an STFT magnitude to audio.

Each method is a record of :data:`METHODS` (:mod:`spec2img.phase.methods`: how it
starts, how it steps, what it checks); :func:`reconstruct` is the single entry point.
A method is called as::

    f(S, engine, *, n_iter, init, rng, length, progress, **options) -> y

where ``S`` is the magnitude in the internal layout ``(channels, frames, bins)``
(float32, C-contiguous), ``init`` is ``None`` or unit phasors of that shape (complex64,
real at DC and Nyquist, owned by the method: it may overwrite them), and ``y`` is
``(channels, length)``.  :func:`reconstruct` converts to and from librosa's
``(..., bins, frames)`` at the boundary.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..dsp.jit import deciding
from ..dsp.stft import Stft
from ..errors import ParameterError
from ..options import DEFAULT_METHOD, DEFAULT_N_ITER, PhaseOptions
from . import loop, stereo
from .channels import channel_rng, each_channel
from .methods import METHODS, Method
from .start import random_phase, unit_phase

__all__ = [
    "METHODS", "DEFAULT_METHOD", "DEFAULT_N_ITER", "reconstruct", "retrieve", "random_phase",
    "unit_phase", "spectral_convergence", "Method", "loop",
]  # fmt: skip

# DEFAULT_METHOD and DEFAULT_N_ITER are written once, in spec2img.options (light enough
# for the CLI's --help); METHODS' keys are exactly spec2img.options.METHODS.

Progress = Callable[[int, int], None]


def reconstruct(
    S: np.ndarray,
    engine: Stft,
    *,
    method: str = DEFAULT_METHOD,
    n_iter: int = DEFAULT_N_ITER,
    init: np.ndarray | None = None,
    seed: int | None = 0,
    length: int | None = None,
    progress: Progress | None = None,
    link: bool | None = None,
    **options,
) -> np.ndarray:
    """Audio whose STFT magnitude approximates ``S``.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_fft // 2 + 1, t), non-negative]
        Target magnitude; several channels (leading axes) are retrieved linked
        (``link``) or each on its own, the channels at once on as many cores as
        :data:`spec2img.phase.channels.THREADS`.  If
        ``S`` is the transpose of a C-contiguous float32 ``(..., t, bins)`` array
        (``np.swapaxes(M, -1, -2)``), it is used without a copy.
    engine : Stft
        Framing of ``S``.
    method : str
        A key of :data:`METHODS`: ``"pghi+fgla+agla"`` (the default: FGLA, then AGLA
        for the last 5/18 of ``n_iter``), ``"gla"``, ``"fgla"``, ``"pghi"``,
        ``"pghi+fgla"`` or ``"pghi+agla"`` (``docs/speed.md`` says which to pick when).
    n_iter : int >= 0
        Iterations of the iterative methods, all of them counted (ignored by ``"pghi"``).
    init : np.ndarray [shape=S.shape] or None
        Initial phase in radians (or complex values whose angle is used); ``None``
        means the method's own initialisation.  DC and Nyquist bins are made real
        (phase 0 or π, whichever is nearer), as they are in any real signal.
    seed : int or None
        Seed of the random phases; the same seed gives the same output, bit for bit
        (each channel draws its own: :func:`spec2img.phase.channels.channel_rng`).
    length : int >= 0 or None
        Samples per channel of the output; ``None`` as in :meth:`Stft.inverse`.
    progress : callable(done, total) or None
        Called after each iteration (once for ``"pghi"``) of the least advanced channel.
    link : bool or None
        Retrieve several channels together, so that they keep the phase they share where
        their magnitudes say they share it (:mod:`spec2img.phase.stereo`: a linked start,
        and iterations that hold the channels together before letting each settle);
        ``False``: each channel on its own.  ``None`` (default): linked unless ``init``
        is given (a kept phase is not pulled anywhere).  Only the channels of a
        3-d ``S`` are linked (the items of a batch, more leading axes, are not).
    **options
        Method options: ``momentum`` (float >= 0, ``fgla``, ``pghi+fgla``, ``pghi+fgla+agla``),
        ``tol`` (float in (0, 1), the ``pghi`` methods), ``alpha``, ``beta``, ``gamma``
        (``pghi+agla``), ``stop_db`` (float >= 0 or None, every method but ``gla`` and
        ``pghi``: stop once the spectral convergence stops improving by this many dB; see
        :func:`spec2img.phase.loop.run`).

    Returns
    -------
    np.ndarray [shape=(..., length), dtype=float32]

    Raises
    ------
    ParameterError
        Unknown method, ``n_iter < 0``, bad options, or shapes that do not fit.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ParameterError(f"method must be one of {sorted(METHODS)!r}, not {method!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, int | np.integer) or n_iter < 0:
        raise ParameterError(f"n_iter must be an integer >= 0, not {n_iter!r}")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 0
    ):
        raise ParameterError(f"length must be an integer >= 0 or None, not {length!r}")
    S = np.asarray(S)
    if S.ndim < 2:
        raise ParameterError(f"S must have shape (..., bins, frames), not {S.shape}")
    lead, n_bins, n_frames = S.shape[:-2], S.shape[-2], S.shape[-1]
    if n_bins != engine.n_bins:
        raise ParameterError(
            f"S has {n_bins} frequency bins; n_fft={engine.n_fft} needs {engine.n_bins}"
        )
    S = _internal(S, n_frames, n_bins, np.float32)
    if not np.isfinite(S).all() or (S < 0).any():
        raise ParameterError("S must be finite and non-negative")
    if init is not None:
        init = np.asarray(init)
        if init.shape != (*lead, n_bins, n_frames):
            raise ParameterError(
                f"init has shape {init.shape}, expected {(*lead, n_bins, n_frames)}"
            )
        init = unit_phase(_internal(init, n_frames, n_bins, None), nyquist=engine.n_fft % 2 == 0)
    allowed = method_options(method)
    for name in options:
        if name not in allowed:
            raise ParameterError(
                f"method {method!r} has no option {name!r} "
                f"(its options: {', '.join(allowed) or 'none'})"
            )
    length = None if length is None else int(length)
    linked = len(lead) == 1 and S.shape[0] > 1 and (init is None if link is None else bool(link))
    if linked:
        with deciding(float(S.size) * (int(n_iter) + 1)):
            y = stereo.reconstruct(
                METHODS[method], S, engine, n_iter=int(n_iter), init=init, seed=seed,
                length=length, progress=progress, options=options,
            )  # fmt: skip
        return y.reshape(*lead, y.shape[-1])

    def run(c: int, report) -> np.ndarray:
        return METHODS[method](
            S[c : c + 1], engine, n_iter=int(n_iter), init=None if init is None else init[c : c + 1],
            rng=channel_rng(seed, c), length=length, progress=report, **options,
        )  # fmt: skip

    # short jobs run in NumPy rather than load numba (see spec2img.dsp.jit.worth_compiling)
    with deciding(float(S.size) * (int(n_iter) + 1)):
        y = each_channel(run, S.shape[0], progress)
    return y.reshape(*lead, y.shape[-1])


def retrieve(
    S: np.ndarray,
    engine: Stft,
    options: PhaseOptions,
    *,
    init: np.ndarray | None = None,
    length: int | None = None,
    progress: Progress | None = None,
    link: bool | None = None,
) -> np.ndarray:
    """:func:`reconstruct` on typed options: the form the library's own layers call
    (:func:`reconstruct` is the keyword edge for users)."""
    return reconstruct(S, engine, init=init, length=length, progress=progress, link=link,
                       **options.engine_kwargs())  # fmt: skip


def method_options(method: str) -> list[str]:
    """Names of the options (``**options`` of :func:`reconstruct`) ``method`` takes."""
    return list(METHODS[method].options)


def _internal(A: np.ndarray, n_frames: int, n_bins: int, dtype) -> np.ndarray:
    """``(..., bins, t)`` -> ``(channels, t, bins)``, a view when the memory allows."""
    A = np.swapaxes(A, -1, -2).reshape(-1, n_frames, n_bins)
    if dtype is not None:
        A = A.astype(dtype, copy=False)
    return np.ascontiguousarray(A)


def spectral_convergence(S: np.ndarray, y: np.ndarray, engine: Stft) -> float:
    """``20 log10(||S - |STFT(y)||| / ||S||)`` in dB (lower is better).

    Parameters
    ----------
    S : np.ndarray [shape=(..., bins, t)]
    y : np.ndarray [shape=(..., n)]
    engine : Stft

    Returns
    -------
    float
    """
    S = np.asarray(S, dtype=np.float64)
    X = np.abs(engine.forward(y)).astype(np.float64)
    t = min(S.shape[-1], X.shape[-1])
    num = np.linalg.norm(S[..., :t] - X[..., :t])
    den = np.linalg.norm(S[..., :t])
    if den == 0:
        return -np.inf if num == 0 else np.inf
    return float(20 * np.log10(max(num, 1e-300) / den))
