"""ADMM phase recovery (Masuyama, Yatabe & Oikawa 2019), from PGHI.

The feasibility problem "consistent and of magnitude S" split as ``x`` (consistent)
and ``z`` (magnitude ``S``) with a scaled dual ``u``::

    x_{n+1} = P(z_n - u_n)
    z_{n+1} = M(x_{n+1} + u_n)
    u_{n+1} = u_n + x_{n+1} - z_{n+1}

One projection per iteration, like Griffin-Lim; the dual ``u`` carries what the two
sets disagree on from one iteration to the next, which moves phases that Griffin-Lim
leaves stuck.  The estimate is ``z``; the loop projects ``z - u``.
"""

from __future__ import annotations

import numpy as np

from ..dsp.jit import kernel
from . import loop
from .pghi import DEFAULT_TOL, pghi_start

_TINY = loop.TINY


def _update_np(c, S, X, u, t0):
    """NumPy version of :func:`_update` (same arguments)."""
    c, X, u = (a.view(np.complex64) for a in (c, X, u))
    t1 = t0 + c.shape[1]
    uu = u[:, t0:t1]
    w = c + uu
    mag = np.abs(w)
    s = S[:, t0:t1]
    ok = mag > loop.TINY_MAG
    z = np.where(ok, w * (s / np.where(ok, mag, 1.0)), s)
    uu[...] = w - z
    X[:, t0:t1] = 2 * z - w


@kernel(fallback=_update_np)
def _update(c, S, X, u, t0):
    """One ADMM step on frames ``t0 : t0 + c.shape[1]`` (float32 interleaved views):
    ``w = c + u``, ``z = M(w)``, ``u = w - z``, ``X = z - u``."""
    n_ch, n_t, n2 = c.shape
    n_bins = n2 // 2
    tiny = np.float32(_TINY)
    for ch in range(n_ch):
        for j in range(n_t):
            q = t0 + j
            cc = c[ch, j]
            uu = u[ch, q]
            XX = X[ch, q]
            ss = S[ch, q]
            for f in range(n_bins):
                wr = cc[2 * f] + uu[2 * f]
                wi = cc[2 * f + 1] + uu[2 * f + 1]
                m2 = wr * wr + wi * wi
                if m2 > tiny:
                    k = ss[f] / np.sqrt(m2)
                    zr, zi = wr * k, wi * k
                else:
                    zr, zi = ss[f], np.float32(0.0)
                uu[2 * f] = wr - zr
                uu[2 * f + 1] = wi - zi
                XX[2 * f] = zr + zr - wr
                XX[2 * f + 1] = zi + zi - wi


def pghi_admm(S, engine, *, n_iter, init, rng, length, progress=None, tol=DEFAULT_TOL,
              stop_db=None):  # fmt: skip
    """PGHI then ADMM; see :func:`spec2img.phase.reconstruct` for the arguments."""
    stop_db = loop.check_stop_db(stop_db)
    X = pghi_start(S, engine, init, rng=rng, tol=tol)
    if n_iter:
        u = np.zeros_like(X)
        views = X.view(np.float32), u.view(np.float32)

        def update(c, t0, t1):
            _update(c.view(np.float32), S, views[0], views[1], t0)

        loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                 stop_db=stop_db)  # fmt: skip
        X += u  # z = (z - u) + u
    return engine.inverse_tf(X, length)
