"""Phase retrieval: from an STFT magnitude to audio.

Each method lives in its own module and is registered by name in :data:`METHODS`.
A method is a function ``f(S, engine, *, n_iter, init, rng, length, progress, **options)``
returning audio ``(..., length)``; :func:`reconstruct` is the single entry point.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ParameterError
from ..stft import Stft
from .fgla import fgla
from .gla import gla

#: Method name -> function.  The first entry is not the default: see DEFAULT_METHOD.
METHODS: dict[str, Callable[..., np.ndarray]] = {"gla": gla, "fgla": fgla}
DEFAULT_METHOD = "fgla"
DEFAULT_N_ITER = 100

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
    **options,
) -> np.ndarray:
    """Audio whose STFT magnitude approximates ``S``.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_fft // 2 + 1, t), non-negative]
        Target magnitude; leading axes (channels) are processed as one batch.
    engine : Stft
        Framing of ``S``.
    method : str
        A key of :data:`METHODS`.
    n_iter : int >= 0
        Iterations of the iterative methods.
    init : np.ndarray [shape=S.shape] or None
        Initial phase in radians (or complex values whose angle is used); ``None``
        means the method's own initialisation.
    seed : int or None
        Seed of the random initial phase; the same seed gives the same output.
    length : int or None
        Samples per channel of the output.
    progress : callable(done, total) or None
        Called after each block of iterations.
    **options
        Method-specific options (``momentum`` for ``fgla``).

    Returns
    -------
    np.ndarray [shape=(..., length), dtype=float32]
    """
    if method not in METHODS:
        raise ParameterError(f"method must be one of {sorted(METHODS)!r}, not {method!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, int | np.integer) or n_iter < 0:
        raise ParameterError(f"n_iter must be an integer >= 0, not {n_iter!r}")
    S = np.asarray(S, dtype=np.float32)
    if init is not None:
        init = np.asarray(init)
        if init.shape != S.shape:
            raise ParameterError(f"init has shape {init.shape}, expected {S.shape}")
        if not np.iscomplexobj(init):
            init = np.exp(1j * init.astype(np.float32))
        init = (init / np.maximum(np.abs(init), 1e-30)).astype(np.complex64)
    rng = np.random.default_rng(seed)
    return METHODS[method](
        S, engine, n_iter=int(n_iter), init=init, rng=rng, length=length,
        progress=progress, **options,
    )  # fmt: skip


def random_phase(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Unit complex values with uniform random phase, real at DC and Nyquist.

    A real signal has real DC and Nyquist bins; giving them a random phase makes
    the first projections fight over them, heard as a low-frequency wobble.
    """
    phase = np.exp(2j * np.pi * rng.random(shape, dtype=np.float32)).astype(np.complex64)
    phase[..., 0, :] = 1.0
    phase[..., -1, :] = 1.0
    return phase


def spectral_convergence(S: np.ndarray, y: np.ndarray, engine: Stft) -> float:
    """``20 log10(||S - |STFT(y)||| / ||S||)`` in dB (lower is better)."""
    S = np.asarray(S, dtype=np.float64)
    X = np.abs(engine.forward(y)).astype(np.float64)
    t = min(S.shape[-1], X.shape[-1])
    num = np.linalg.norm(S[..., :t] - X[..., :t])
    den = np.linalg.norm(S[..., :t])
    if den == 0:
        return -np.inf if num == 0 else np.inf
    return float(20 * np.log10(max(num, 1e-300) / den))
