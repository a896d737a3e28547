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
from . import loop, stereo

DEFAULT_MOMENTUM = 0.99
_TINY = loop.TINY


def _update_np(c, prev, S, X, t0, momentum):
    """NumPy version of :func:`_update` (same arguments), in place where it can be.

    Its cost does not depend on the material: bins with no direction to keep (``t`` = 0,
    as in digital silence, most of a silence-heavy clip's bins) are put right by one
    masked copy, not by boolean indexing, whose cost grows with their number (it made
    a mostly silent clip's iterations a third slower than music's).
    """
    c = c.view(np.complex64)
    t1 = t0 + c.shape[1]
    out = X.view(np.complex64)[:, t0:t1]
    if prev.shape[1]:
        p = prev.view(np.complex64)[:, t0:t1]
        # as float32 pairs: the same products as complex64 ones by a real scalar, in
        # NumPy's vectorised real loops; three passes, as prev holds m c already
        o, cf, pf = out.view(np.float32), c.view(np.float32), p.view(np.float32)
        np.multiply(cf, np.float32(1 + momentum), out=o)
        o -= pf
        np.multiply(cf, np.float32(momentum), out=pf)
    else:
        out[...] = c
    put_magnitude(out, S[:, t0:t1])


def put_magnitude(out, s):
    """``out = s * out / |out|`` in place (complex64 ``out``), phase 0 where ``out`` is 0:
    the magnitude projection of the NumPy updates."""
    mag = np.abs(out)
    tiny = np.float32(loop.TINY_MAG)
    zero = mag <= tiny if mag.size and mag.min() <= tiny else None
    if zero is not None:
        np.maximum(mag, tiny, out=mag)
    np.divide(s, mag, out=mag)
    out *= mag
    if zero is not None:  # no direction to keep: phase 0, as the compiled kernel does
        np.copyto(out, s, where=zero)


@kernel(fallback=_update_np)
def _update(c, prev, S, X, t0, momentum):
    """``t = (1 + m) c - prev``, ``prev = m c``, ``X = S t / |t|`` on frames ``t0:``.

    ``prev`` holds the last step's ``c`` times the momentum ``m`` (zero at the start),
    so that the NumPy version makes three passes over the frames instead of four, with
    the same products.  Complex arrays come as float32 views ``(channels, t, 2 *
    bins)`` (interleaved real and imaginary parts) so that the loops vectorise.  ``c``
    holds frames ``t0 : t0 + c.shape[1]``; ``prev`` with no frames means no momentum
    (plain Griffin-Lim).  Where ``t`` is 0 the phase is taken as 0.
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
                    pp[2 * f] = m * re
                    pp[2 * f + 1] = m * im
                    re = m1 * re - pr
                    im = m1 * im - pi
                mag2 = re * re + im * im
                g = ss[f] / np.sqrt(max(mag2, tiny))
                xx[2 * f] = re * g if mag2 > tiny else ss[f]
                xx[2 * f + 1] = im * g if mag2 > tiny else zero


def _couple_np(S, X, t0, t1, w, strength):
    """NumPy version of :func:`_couple` (same arguments)."""
    stereo.couple(X.view(np.complex64)[:, t0:t1], S[:, t0:t1], w[t0:t1], strength)


@kernel(fallback=_couple_np)
def _couple(S, X, t0, t1, w, strength):
    """:func:`spec2img.phase.stereo.couple` of two channels on frames ``t0:t1`` of ``X``
    (a float32 view, as :func:`_update` takes it): ``X_c = S_c unit((1 - a) X_c + a S_c
    unit(X_0 + X_1))``, ``a = strength * w * (1 + cos d) / 2`` with ``d`` the channels'
    phase difference: ``cos d = Re(X_0 conj(X_1)) / (S_0 S_1)``, since the magnitude
    projection before has made ``|X_c| = S_c`` (one division, no square root).  Where
    ``S_c`` is 0 the result is 0 without a test, and each loop
    reads and writes one channel's row: no branch and no two views of ``X`` in one
    loop, so that the loops vectorise (7x faster than one loop over both channels)."""
    n_bins = S.shape[2]
    tiny = np.float32(_TINY)
    one = np.float32(1.0)
    half = np.float32(0.5 * strength)
    cr = np.empty(n_bins, np.float32)
    ci = np.empty(n_bins, np.float32)
    ga = np.empty(n_bins, np.float32)
    for u in range(t0, t1):
        x0 = X[0, u]
        x1 = X[1, u]
        wu = w[u]
        s0 = S[0, u]
        s1 = S[1, u]
        for f in range(n_bins):  # a, and a times the common unit phasor
            ar, ai = x0[2 * f], x0[2 * f + 1]
            br, bi = x1[2 * f], x1[2 * f + 1]
            sr = ar + br
            si = ai + bi
            cos = (ar * br + ai * bi) / max(s0[f] * s1[f], tiny)
            a = half * wu[f] * (one + cos)
            ga[f] = a
            g = a / np.sqrt(max(sr * sr + si * si, tiny))
            cr[f] = g * sr
            ci[f] = g * si
        for ch in range(2):
            x = X[ch, u]
            s = S[ch, u]
            for f in range(n_bins):
                b = one - ga[f]
                vr = b * x[2 * f] + s[f] * cr[f]
                vi = b * x[2 * f + 1] + s[f] * ci[f]
                h = s[f] / np.sqrt(max(vr * vr + vi * vi, tiny))
                x[2 * f] = vr * h
                x[2 * f + 1] = vi * h


def coupler(S, X_f, link):
    """``couple(t0, t1, strength)`` of :func:`spec2img.phase.stereo.run` for the
    estimate ``X_f`` (a float32 view): the fused kernel for two channels, NumPy's loop
    over more."""

    def couple(t0, t1, strength):
        if X_f.shape[0] == 2:
            _couple(S, X_f, t0, t1, link.w, strength)
        else:
            _couple_np(S, X_f, t0, t1, link.w, strength)

    return couple


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
    link = stereo.current(X.shape[0], X.shape[1])
    if link is not None:  # channels held together (spec2img.phase.stereo)

        def update_for(ch):
            S_c, X_c, prev_c = S[ch : ch + 1], X_f[ch : ch + 1], prev_f[ch : ch + 1]

            def update(c, t0, t1):
                _update(c.view(np.float32), prev_c, S_c, X_c, t0, momentum)

            return update

        return stereo.run(S, X, engine, update_for, coupler(S, X_f, link), link, n_iter=n_iter, length=length,
                          progress=progress, stop_db=stop_db, done=done, total=total)  # fmt: skip

    def update(c, t0, t1):
        _update(c.view(np.float32), prev_f, S, X_f, t0, momentum)

    return loop.run(S, X, engine, update, n_iter=n_iter, length=length, progress=progress,
                    stop_db=stop_db, done=done, total=total)  # fmt: skip
