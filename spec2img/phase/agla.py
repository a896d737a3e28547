"""Accelerated Griffin-Lim (Nenov, Peng, Yin, ... 2023, arXiv 2306.12504), from PGHI.

With ``P`` the projection onto consistent spectrograms and ``M`` the one that puts the
target magnitude back, each iteration is::

    t_n = (1 - γ) d_{n-1} + γ P(M(c_{n-1}))
    c_n = t_n + α (t_n - t_{n-1})
    d_n = t_n + β (t_n - t_{n-1})

``γ = 1`` is fast Griffin-Lim with momentum ``α``; ``β`` and ``γ`` add a second,
relaxed extrapolation that the paper shows to converge faster and to a better point.
The three updates and ``M`` are one fused kernel per block, as in FGLA; AGLA keeps one
more complex copy of the spectrogram (``d``) than FGLA does.
"""

from __future__ import annotations

import numpy as np

from ..dsp.jit import kernel
from . import loop

#: α, β, γ: the best of a grid (γ 0.2-1.8, β 0.5-2) on music and drums from a PGHI
#: start, 100 iterations; γ above about 1.3 diverges, γ below 1 converges slower.
DEFAULT_ALPHA = 0.99
DEFAULT_BETA = 1.1
DEFAULT_GAMMA = 1.2
_TINY = loop.TINY


def _update_np(c, S, X, tp, d, t0, alpha, beta, gamma):
    """NumPy version of :func:`_update` (same arguments)."""
    c, X, tp, d = (a.view(np.complex64) for a in (c, X, tp, d))
    t1 = t0 + c.shape[1]
    dd, pp = d[:, t0:t1], tp[:, t0:t1]
    t = np.float32(1 - gamma) * dd + np.float32(gamma) * c
    step = t - pp
    cn = t + np.float32(alpha) * step
    dd[...] = t + np.float32(beta) * step
    pp[...] = t
    mag = np.abs(cn)
    s = S[:, t0:t1]
    ok = mag > loop.TINY_MAG
    X[:, t0:t1] = np.where(ok, cn * (s / np.where(ok, mag, 1.0)), s)


@kernel(fallback=_update_np)
def _update(c, S, X, tp, d, t0, alpha, beta, gamma):
    """One AGLA step on frames ``t0 : t0 + c.shape[1]`` (float32 interleaved views).

    ``c`` is ``P(M(c_{n-1}))`` for those frames; ``d`` and ``tp`` (``t_{n-1}``) are
    updated in place, and ``X`` receives ``M(c_n)``.
    """
    n_ch, n_t, n2 = c.shape
    n_bins = n2 // 2
    a = np.float32(alpha)
    b = np.float32(beta)
    g = np.float32(gamma)
    g1 = np.float32(1.0) - g
    tiny = np.float32(_TINY)
    zero = np.float32(0.0)
    for ch in range(n_ch):
        for j in range(n_t):
            u = t0 + j
            cc = c[ch, j]
            xx = X[ch, u]
            ss = S[ch, u]
            pp = tp[ch, u]
            dd = d[ch, u]
            for f in range(n_bins):
                tr = g1 * dd[2 * f] + g * cc[2 * f]
                ti = g1 * dd[2 * f + 1] + g * cc[2 * f + 1]
                sr = tr - pp[2 * f]
                si = ti - pp[2 * f + 1]
                pp[2 * f] = tr
                pp[2 * f + 1] = ti
                dd[2 * f] = tr + b * sr
                dd[2 * f + 1] = ti + b * si
                re = tr + a * sr
                im = ti + a * si
                mag2 = re * re + im * im
                k = ss[f] / np.sqrt(max(mag2, tiny))
                xx[2 * f] = re * k if mag2 > tiny else ss[f]
                xx[2 * f + 1] = im * k if mag2 > tiny else zero


def iterate(S, X, engine, *, n_iter, alpha, beta, gamma, length, progress=None,
            stop_db=None):  # fmt: skip
    """Run up to ``n_iter`` AGLA iterations in place on ``X`` (= ``S`` times a unit phase).

    Returns the iterations run (fewer than ``n_iter`` when ``stop_db`` stops them).
    """
    if n_iter == 0:
        return 0
    tp = X.copy()
    d = X.copy()
    views = X.view(np.float32), tp.view(np.float32), d.view(np.float32)

    def update(c, t0, t1):
        _update(c.view(np.float32), S, views[0], views[1], views[2], t0, alpha, beta, gamma)

    return loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                    stop_db=stop_db)  # fmt: skip
