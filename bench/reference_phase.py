"""The phase retrieval methods that win nowhere, kept where their comparison lives.

From a PGHI start none of them beats FGLA on music, speech or drums, at equal
iterations or at equal time (``bench/fast.py --only methods``, ``docs/speed.md``), so
``spec2img`` does not offer them; they are records of the same table
(:class:`spec2img.phase.Method`: a PGHI start, their own step, their options' bounds),
called as the offered methods are, so the comparison can be rerun.

RAAR
----
Relaxed averaged alternating reflections (Luke 2005), from PGHI.

With ``P`` the projection onto consistent spectrograms, ``M`` the magnitude projection
and reflections ``R = 2 (.) - I``, each iteration is::

    x_{n+1} = β/2 (R_P R_M + I) x_n + (1 - β) M(x_n)
            = β (x_n + P(2 M(x_n) - x_n) - M(x_n)) + (1 - β) M(x_n)

``β = 1`` is the Douglas-Rachford (difference-map) iteration; smaller ``β`` pulls it
towards Griffin-Lim.  Peer, Welker & Gerkmann (IWAENC 2022) found RAAR and the
difference map to reach better optima than Griffin-Lim on speech, if more slowly at
first.  The estimate is ``M(x)``; the loop projects ``2 M(x) - x``.

GLA -> difference map
---------------------
The Griffin-Lim -> difference-map hybrid (Peer, Welker & Gerkmann, IWAENC 2022), from PGHI.

The difference map (here with ``β = 1``, where it needs one projection per iteration
and equals RAAR with ``β = 1``) reaches better optima than Griffin-Lim but wanders at
first; Griffin-Lim gets close fast and then stalls.  So the first ``switch`` fraction
of the iterations is (fast) Griffin-Lim, the rest the difference map.

ADMM
----
ADMM phase recovery (Masuyama, Yatabe & Oikawa 2019), from PGHI.

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

from spec2img.dsp.jit import kernel
from spec2img.phase import fgla, loop
from spec2img.phase.methods import MOMENTUM, STOP_DB, TOL, Method, Option

#: RAAR's β: 0.97 measured no better from a PGHI start; 1 is the difference map.
RAAR_BETA = 0.9
#: Fraction of the iterations spent in Griffin-Lim before the difference map (0.8
#: measured no better against FGLA alone).
DM_SWITCH = 0.5
_TINY = loop.TINY


# ------------------------------------------------------------------------------ RAAR


def onto_magnitude(x: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``S x / |x|`` (``S`` where ``x`` is 0): the magnitude projection, complex64."""
    mag = np.abs(x)
    ok = mag > loop.TINY_MAG
    return np.where(ok, x * (S / np.where(ok, mag, 1.0)), S).astype(np.complex64)


def _raar_update_np(c, S, X, x, t0, beta):
    """NumPy version of :func:`raar_update` (same arguments)."""
    c, X, x = (a.view(np.complex64) for a in (c, X, x))
    t1 = t0 + c.shape[1]
    s = S[:, t0:t1]
    xx = x[:, t0:t1]
    p = onto_magnitude(xx, s)
    xn = np.float32(beta) * (xx + c - p) + np.float32(1 - beta) * p
    xx[...] = xn
    X[:, t0:t1] = 2 * onto_magnitude(xn, s) - xn


@kernel(fallback=_raar_update_np)
def raar_update(c, S, X, x, t0, beta):
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


def raar_iterate(S, X, engine, *, n_iter, beta, length, progress=None, stop_db=None,
            done=0, total=None):  # fmt: skip
    """Run up to ``n_iter`` RAAR iterations from ``X`` (magnitude ``S``); on return
    ``X`` holds the estimate ``M(x)``.  Returns the iterations run."""
    if n_iter == 0:
        return 0
    x = X.copy()
    views = X.view(np.float32), x.view(np.float32)

    def update(c, t0, t1):
        raar_update(c.view(np.float32), S, views[0], views[1], t0, beta)

    ran = loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                   stop_db=stop_db, done=done, total=total)  # fmt: skip
    X[...] = onto_magnitude(x, S)
    return ran


# ----------------------------------------------------------------- GLA -> difference map


def dm_iterate(S, X, engine, *, n_iter, switch, momentum, length, progress=None, stop_db=None):
    """The first ``switch`` fraction of ``n_iter`` as (fast) Griffin-Lim with
    ``momentum``, the rest as the difference map (RAAR with β = 1)."""
    first = int(round(switch * n_iter))
    ran = fgla.iterate(S, X, engine, n_iter=first, momentum=momentum, length=length,
                       progress=progress, total=n_iter, stop_db=stop_db)  # fmt: skip
    if ran == first:
        ran += raar_iterate(S, X, engine, n_iter=n_iter - first, beta=1.0, length=length,
                            progress=progress, stop_db=stop_db, done=first, total=n_iter)  # fmt: skip
    return ran


# ------------------------------------------------------------------------------ ADMM


def _admm_update_np(c, S, X, u, t0):
    """NumPy version of :func:`admm_update` (same arguments)."""
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


@kernel(fallback=_admm_update_np)
def admm_update(c, S, X, u, t0):
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


def admm_iterate(S, X, engine, *, n_iter, length, progress=None, stop_db=None):
    """Run up to ``n_iter`` ADMM iterations in place on ``X``; returns those run."""
    if n_iter == 0:
        return 0
    u = np.zeros_like(X)
    views = X.view(np.float32), u.view(np.float32)

    def update(c, t0, t1):
        admm_update(c.view(np.float32), S, views[0], views[1], t0)

    ran = loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                   stop_db=stop_db)  # fmt: skip
    X += u  # z = (z - u) + u
    return ran


#: The reference methods, by name, as records of the offered methods' table.
REFERENCE = {
    m.name: m
    for m in (
        Method("pghi+raar", "pghi", raar_iterate, {
            "beta": Option(RAAR_BETA, 0, 1, low_open=True), "tol": TOL, "stop_db": STOP_DB,
        }),
        Method("pghi+dm", "pghi", dm_iterate, {
            "switch": Option(DM_SWITCH, 0, 1), "momentum": MOMENTUM, "tol": TOL,
            "stop_db": STOP_DB,
        }),
        Method("pghi+admm", "pghi", admm_iterate, {"tol": TOL, "stop_db": STOP_DB}),
    )
}  # fmt: skip
