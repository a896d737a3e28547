"""Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013): Griffin-Lim with momentum.

Each iteration projects the current estimate onto consistent spectrograms
(``STFT(iSTFT(X))``, streamed block by block by :meth:`spec2img.dsp.stft.Stft.project`),
extrapolates along the last step, ``t = c + momentum * (c - c_prev)``, and puts the
target magnitude back, ``X = S * t / |t|``.  The last three steps are one fused kernel
per block, so an iteration costs two FFT passes and two passes over the frames.
"""

from __future__ import annotations

import numpy as np

from ..dsp.jit import kernel
from . import loop

DEFAULT_MOMENTUM = 0.99
_TINY = loop.TINY


def _update_np(c, prev, S, X, t0, momentum):
    """NumPy version of :func:`_update` (same arguments), in place where it can be."""
    c = c.view(np.complex64)
    t1 = t0 + c.shape[1]
    out = X.view(np.complex64)[:, t0:t1]
    if prev.shape[1]:
        p = prev.view(np.complex64)[:, t0:t1]
        np.multiply(c, np.float32(1 + momentum), out=out)
        p *= np.float32(momentum)
        out -= p
        p[...] = c
    else:
        out[...] = c
    mag = np.abs(out)
    s = S[:, t0:t1]
    tiny = np.float32(loop.TINY_MAG)
    zero = mag <= tiny if mag.size and mag.min() <= tiny else None
    if zero is not None:
        np.maximum(mag, tiny, out=mag)
    np.divide(s, mag, out=mag)
    out *= mag
    if zero is not None:  # no direction to keep: phase 0, as the compiled kernel does
        out[zero] = s[zero]


@kernel(fallback=_update_np)
def _update(c, prev, S, X, t0, momentum):
    """``t = (1 + m) c - m prev``, ``prev = c``, ``X = S t / |t|`` on frames ``t0:``.

    Complex arrays come as float32 views ``(channels, t, 2 * bins)`` (interleaved real
    and imaginary parts) so that the loops vectorise.  ``c`` holds frames
    ``t0 : t0 + c.shape[1]``; ``prev`` with no frames means no momentum (plain
    Griffin-Lim).  Where ``t`` is 0 the phase is taken as 0.
    """
    n_ch, n_t, n2 = c.shape
    n_bins = n2 // 2
    m = np.float32(momentum)
    m1 = np.float32(1.0) + m
    tiny = np.float32(_TINY)
    zero = np.float32(0.0)
    use_prev = prev.shape[1] > 0
    for ch in range(n_ch):
        for j in range(n_t):
            u = t0 + j
            cc = c[ch, j]
            xx = X[ch, u]
            ss = S[ch, u]
            pp = prev[ch, u] if use_prev else cc
            for f in range(n_bins):
                re = cc[2 * f]
                im = cc[2 * f + 1]
                if use_prev:
                    pr = pp[2 * f]
                    pi = pp[2 * f + 1]
                    pp[2 * f] = re
                    pp[2 * f + 1] = im
                    re = m1 * re - m * pr
                    im = m1 * im - m * pi
                mag2 = re * re + im * im
                g = ss[f] / np.sqrt(max(mag2, tiny))
                xx[2 * f] = re * g if mag2 > tiny else ss[f]
                xx[2 * f + 1] = im * g if mag2 > tiny else zero


def iterate(S, X, engine, *, n_iter, momentum, length, progress=None, done=0, total=None,
            stop_db=None):  # fmt: skip
    """Run up to ``n_iter`` FGLA iterations in place on ``X`` (= ``S`` times a unit phase).

    Parameters
    ----------
    S : np.ndarray [shape=(channels, t, bins), dtype=float32]
    X : np.ndarray [shape=(channels, t, bins), dtype=complex64]
        Starting estimate; overwritten with the final one.
    engine : Stft
    n_iter : int >= 0
    momentum : float >= 0
        0 is classic Griffin-Lim (no momentum buffer is allocated).
    length : int or None
    progress : callable(done, total) or None
        Called after each iteration with ``done + i`` of ``total``.
    stop_db : float > 0 or None
        Stopping criterion of :func:`spec2img.phase.loop.run`.

    Returns
    -------
    int
        Iterations run.
    """
    if n_iter == 0:
        return 0
    prev = np.zeros_like(X) if momentum > 0 else np.empty((X.shape[0], 0, X.shape[2]), X.dtype)

    prev_f, X_f = prev.view(np.float32), X.view(np.float32)

    def update(c, t0, t1):
        _update(c.view(np.float32), prev_f, S, X_f, t0, momentum)

    return loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                    stop_db=stop_db, done=done, total=total)  # fmt: skip
