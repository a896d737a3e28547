"""Relaxed averaged alternating reflections (Luke 2005), from PGHI.

With ``P`` the projection onto consistent spectrograms, ``M`` the magnitude projection
and reflections ``R = 2 (.) - I``, each iteration is::

    x_{n+1} = β/2 (R_P R_M + I) x_n + (1 - β) M(x_n)
            = β (x_n + P(2 M(x_n) - x_n) - M(x_n)) + (1 - β) M(x_n)

``β = 1`` is the Douglas-Rachford (difference-map) iteration; smaller ``β`` pulls it
towards Griffin-Lim.  Peer, Welker & Gerkmann (IWAENC 2022) found RAAR and the
difference map to reach better optima than Griffin-Lim on speech, if more slowly at
first.  The estimate is ``M(x)``; the loop projects ``2 M(x) - x``.
"""

from __future__ import annotations

import math

import numpy as np

from ..dsp.jit import kernel
from ..errors import ParameterError
from . import loop
from .pghi import DEFAULT_TOL, pghi_start

#: β: 0.97 measured no better from a PGHI start; 1 is the difference map.
DEFAULT_BETA = 0.9
_TINY = loop.TINY


def onto_magnitude(x: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``S x / |x|`` (``S`` where ``x`` is 0): the magnitude projection, complex64."""
    mag = np.abs(x)
    ok = mag > loop.TINY_MAG
    return np.where(ok, x * (S / np.where(ok, mag, 1.0)), S).astype(np.complex64)


def _update_np(c, S, X, x, t0, beta):
    """NumPy version of :func:`_update` (same arguments)."""
    c, X, x = (a.view(np.complex64) for a in (c, X, x))
    t1 = t0 + c.shape[1]
    s = S[:, t0:t1]
    xx = x[:, t0:t1]
    p = onto_magnitude(xx, s)
    xn = np.float32(beta) * (xx + c - p) + np.float32(1 - beta) * p
    xx[...] = xn
    X[:, t0:t1] = 2 * onto_magnitude(xn, s) - xn


@kernel(fallback=_update_np)
def _update(c, S, X, x, t0, beta):
    """One RAAR step on frames ``t0 : t0 + c.shape[1]`` (float32 interleaved views).

    ``c = P(2 M(x) - x)`` for those frames; ``x`` is updated in place and ``X``
    receives ``2 M(x) - x`` of the new ``x``.
    """
    n_ch, n_t, n2 = c.shape
    n_bins = n2 // 2
    b = np.float32(beta)
    b1 = np.float32(1.0) - b
    two = np.float32(2.0)
    tiny = np.float32(_TINY)
    for ch in range(n_ch):
        for j in range(n_t):
            u = t0 + j
            cc = c[ch, j]
            xx = x[ch, u]
            XX = X[ch, u]
            ss = S[ch, u]
            for f in range(n_bins):
                s = ss[f]
                xr = xx[2 * f]
                xi = xx[2 * f + 1]
                m2 = xr * xr + xi * xi
                if m2 > tiny:
                    k = s / np.sqrt(m2)
                    pr, pi = xr * k, xi * k
                else:
                    pr, pi = s, np.float32(0.0)
                nr = b * (xr + cc[2 * f] - pr) + b1 * pr
                ni = b * (xi + cc[2 * f + 1] - pi) + b1 * pi
                xx[2 * f] = nr
                xx[2 * f + 1] = ni
                m2 = nr * nr + ni * ni
                if m2 > tiny:
                    k = two * s / np.sqrt(m2)
                    XX[2 * f] = nr * k - nr
                    XX[2 * f + 1] = ni * k - ni
                else:
                    XX[2 * f] = two * s - nr
                    XX[2 * f + 1] = -ni


def check_beta(beta, who: str = "raar") -> float:
    """Validate a relaxation ``beta`` in (0, 1]."""
    if isinstance(beta, bool) or not isinstance(beta, int | float | np.floating):
        raise ParameterError(f"{who}() called with beta={beta!r}; it must be a number")
    if not math.isfinite(beta) or not 0 < beta <= 1:
        raise ParameterError(f"{who}() called with beta={beta}; it must be in (0, 1]")
    return float(beta)


def iterate(S, X, engine, *, n_iter, beta, length, progress=None, stop_db=None,
            done=0, total=None):  # fmt: skip
    """Run up to ``n_iter`` RAAR iterations from ``X`` (magnitude ``S``); on return
    ``X`` holds the estimate ``M(x)``.  Returns the iterations run."""
    if n_iter == 0:
        return 0
    x = X.copy()
    views = X.view(np.float32), x.view(np.float32)

    def update(c, t0, t1):
        _update(c.view(np.float32), S, views[0], views[1], t0, beta)

    ran = loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                   stop_db=stop_db, done=done, total=total)  # fmt: skip
    X[...] = onto_magnitude(x, S)
    return ran


def pghi_raar(
    S, engine, *, n_iter, init, rng, length, progress=None, beta=DEFAULT_BETA,
    tol=DEFAULT_TOL, stop_db=None,
):  # fmt: skip
    """PGHI then RAAR; see :func:`spec2img.phase.reconstruct` for the arguments.

    ``beta`` in (0, 1] as in the module docstring; ``tol`` as in ``pghi``.
    """
    beta = check_beta(beta)
    stop_db = loop.check_stop_db(stop_db)
    X = pghi_start(S, engine, init, rng=rng, tol=tol)
    iterate(S, X, engine, n_iter=n_iter, beta=beta, length=length, progress=progress,
            stop_db=stop_db)  # fmt: skip
    return engine.inverse_tf(X, length)
