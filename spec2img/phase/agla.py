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
from . import fgla, loop, stereo

#: α, β, γ: the best of a grid (γ 0.2-1.8, β 0.5-2) on music and drums from a PGHI
#: start, 100 iterations; γ above about 1.3 diverges, γ below 1 converges slower.
DEFAULT_ALPHA = 0.99
DEFAULT_BETA = 1.1
DEFAULT_GAMMA = 1.2
_TINY = loop.TINY


def _update_np(c, S, X, tp, d, t0, alpha, beta, gamma):
    """NumPy version of :func:`_update` (same arguments), in place on float32 pairs.

    ``c`` (the projection's block, no longer needed after this step) holds ``t_n``;
    ``tp`` first holds ``t_{n-1} - t_n`` (minus the step), so that each line is one
    pass in float32 with the kernel's products (the first version mixed in float64
    temporaries and cost 6-7 ms per iteration of 1025 x 216 bins, three FFT pairs).
    """
    t1 = t0 + c.shape[1]
    cf = c.view(np.float32)
    dd, pp = d[:, t0:t1], tp[:, t0:t1]
    out = X[:, t0:t1]
    dd *= np.float32(1) - np.float32(gamma)
    cf *= np.float32(gamma)
    cf += dd  # t_n
    pp -= cf  # t_{n-1} - t_n = -step
    np.multiply(pp, np.float32(-beta), out=dd)
    dd += cf  # d_n = t_n + beta step
    np.multiply(pp, np.float32(-alpha), out=out)
    out += cf  # c_n = t_n + alpha step
    pp[...] = cf
    fgla.put_magnitude(out.view(np.complex64), S[:, t0:t1])


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
            stop_db=None, done=0, total=None):  # fmt: skip
    """Run up to ``n_iter`` AGLA iterations in place on ``X`` (= ``S`` times a unit phase).

    Linked channels (:mod:`spec2img.phase.stereo`) are coupled after each step as in
    :func:`spec2img.phase.fgla.iterate`; ``done`` and ``total`` place these iterations
    in a longer schedule (:mod:`spec2img.phase.schedule`): progress and the coupling's
    strength count from ``done``.  Returns the iterations run (fewer than ``n_iter``
    when ``stop_db`` stops them).
    """
    if n_iter == 0:
        return 0
    tp = X.copy()
    d = X.copy()
    X_f, tp_f, d_f = X.view(np.float32), tp.view(np.float32), d.view(np.float32)
    link = stereo.current(X.shape[0], X.shape[1])
    if link is not None:

        def update_for(ch):
            views = S[ch : ch + 1], X_f[ch : ch + 1], tp_f[ch : ch + 1], d_f[ch : ch + 1]

            def update(c, t0, t1):
                _update(c.view(np.float32), *views, t0, alpha, beta, gamma)

            return update

        return stereo.run(S, X, engine, update_for, fgla.coupler(S, X_f, link), link,
                          n_iter=n_iter, length=length, progress=progress, stop_db=stop_db,
                          done=done, total=total)  # fmt: skip

    def update(c, t0, t1):
        _update(c.view(np.float32), S, X_f, tp_f, d_f, t0, alpha, beta, gamma)

    return loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                    stop_db=stop_db, done=done, total=total)  # fmt: skip
