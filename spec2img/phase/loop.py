"""The iteration loop shared by the projection methods, and its stopping criterion.

Every projection method alternates the projection onto consistent spectrograms
(:meth:`spec2img.dsp.stft.Stft.project`, streamed block by block) with a cheap
per-cell update of its own.  The projection hands each block of ``STFT(iSTFT(X))`` to
the update, so the spectral convergence of the current estimate,
``|| |STFT(iSTFT(X))| - S || / ||S||``, can be summed on the way at the cost of one
pass over the block.  Every :data:`CHECK_EVERY` iterations it is, and the loop stops
once :data:`PATIENCE` checks in a row failed to improve on the best value so far by
``stop_db`` dB (momentum makes single measurements bumpy): on images that cannot hold
more detail (mel bands, 8 bits) the iterations after that change nothing that is
heard.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np

from ..errors import ParameterError

#: Iterations between two measurements of the spectral convergence.
CHECK_EVERY = 10
#: Checks in a row without an improvement of ``stop_db`` that stop the loop.
PATIENCE = 2
#: Default stopping threshold (dB per :data:`CHECK_EVERY` iterations) of decodes of
#: images that cannot hold more detail than a mel or 8-bit image does.
DEFAULT_STOP_DB = 0.1

#: Below this squared magnitude a bin has no direction to keep: the magnitude
#: projection gives it phase 0.  The compiled kernels compare ``|t|^2`` with it, their
#: NumPy versions ``|t|`` with :data:`TINY_MAG`, its root: so ``S / |t|`` stays finite
#: (below 1e30 for the loudest magnitude an image can hold, 1e15).
TINY = 1e-30
TINY_MAG = 1e-15

#: When a list, every measurement is appended to it as ``(iteration, sc_db)`` (for the
#: benchmark and the tests; ``None`` in normal use).
TRACE: list | None = None

Update = Callable[[np.ndarray, int, int], None]


def check_number(
    who: str, name: str, value, low: float, high: float, *, low_open: bool = False,
    high_open: bool = False,
) -> float:  # fmt: skip
    """The one check of a method's numeric option: a finite number in the interval from
    ``low`` to ``high`` (open at an end where told), as a float.  ``who`` names the
    method in the message, which quotes the value."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ParameterError(f"{who}: {name}={value!r} must be a number", params=(name,))
    above = low < value if low_open else low <= value
    below = value < high if high_open else value <= high
    if not math.isfinite(value) or not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        if math.isinf(high):
            interval = f"{'(' if low_open else '['}{low:g}, inf)"
        raise ParameterError(f"{who}: {name}={value} must be in {interval}", params=(name,))
    return float(value)


def check_stop_db(stop_db) -> float | None:
    """Validate ``stop_db``: ``None`` or 0 (never stop early) or a finite number > 0."""
    if stop_db is None:
        return None
    return check_number("stop_db", "stop_db", stop_db, 0, math.inf) or None


def run(
    S: np.ndarray,
    X: np.ndarray,
    engine,
    update: Update,
    *,
    n_iter: int,
    length: int | None,
    progress=None,
    stop_db: float | None = None,
    done: int = 0,
    total: int | None = None,
) -> int:
    """Project ``X`` and apply ``update(rebuilt, t0, t1)`` ``n_iter`` times, or fewer.

    Parameters
    ----------
    S : np.ndarray [shape=(channels, t, bins), dtype=float32]
        Target magnitude (for the stopping criterion).
    X : np.ndarray [shape=(channels, t, bins), dtype=complex64]
        What is projected; ``update`` rewrites it block by block.
    engine : Stft
    update : callable(rebuilt, t0, t1)
        The method's step on frames ``t0:t1`` given their consistent spectrogram.
    n_iter : int >= 0
    length : int or None
    progress : callable(done, total) or None
    stop_db : float > 0 or None
        Stop once :data:`PATIENCE` measurements in a row (one every
        :data:`CHECK_EVERY` iterations) did not improve the spectral convergence on its
        best value by this many dB; ``None`` runs every iteration.

    Returns
    -------
    int
        Iterations run.
    """
    total = n_iter if total is None else total
    best, stale = math.inf, 0
    acc = np.zeros(2)
    lock = threading.Lock()  # the projection may hand over two blocks at once

    def measured(c, t0, t1):
        s = S[:, t0:t1]
        diff = np.abs(c)
        diff -= s
        err, ref = float(np.vdot(diff, diff).real), float(np.vdot(s, s).real)
        with lock:
            acc[0] += err
            acc[1] += ref
        update(c, t0, t1)

    for i in range(n_iter):
        check = stop_db is not None and (i + 1) % CHECK_EVERY == 0
        if check:
            acc[:] = 0.0
        engine.project(X, measured if check else update, length)
        if progress is not None:
            progress(done + i + 1, total)
        if check:
            sc = 10 * math.log10(max(acc[0], 1e-300) / acc[1]) if acc[1] > 0 else -math.inf
            if TRACE is not None:
                TRACE.append((i + 1, sc))
            if best - sc >= stop_db:
                best, stale = sc, 0
            else:
                stale += 1
                if stale == PATIENCE:
                    if progress is not None:
                        progress(done + n_iter, total)  # the bar ends full
                    return i + 1
    return n_iter
