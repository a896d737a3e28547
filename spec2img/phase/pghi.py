"""Phase-gradient heuristic integration (Průša, Balazs & Søndergaard 2017).

For a Gaussian window ``exp(-π t² / λ)`` the STFT phase and log-magnitude are tied by
Cauchy-Riemann-like equations, so the phase gradient follows from the magnitude alone.
In librosa's framing (frame ``n`` starts at sample ``n * hop``, the window is centred in
the frame) the gradients, in radians per frame and per bin, are::

    dφ/dn (m, n) = 2π hop m / n_fft + (hop n_fft / λ) · ∂/∂m log s(m, n)
    dφ/dm (m, n) = -2π c / n_fft     - (λ / (hop n_fft)) · ∂/∂n log s(m, n)

with ``c`` the window's centre in the frame (``n_fft / 2`` for a full-length window)
and the partial derivatives as central differences in bins and frames.  The phase is
then integrated (trapezoid rule) outward from the strongest bins first, using a
max-priority queue: the strongest bin not yet reached starts at phase 0; each bin taken
off the queue gives its phase to its four neighbours not yet reached, which join it.
The queue is a bucket queue on the log-magnitude in 0.02 dB steps, so that a push or a
pop costs O(1) instead of a binary heap's O(log n).
Bins below ``tol`` (relative to the loudest) get a random phase and are not used.

Non-Gaussian windows use the Gaussian that approximates them
(:func:`spec2img.stft.window_lambda`: the published fit for Hann, matched energy
spread otherwise), which degrades gracefully as the window departs from a bell shape.

The integration runs on blocks of about a million bins, in time order, each block
starting from the last frame of the one before, so that memory stays bounded on long
recordings.  It is a compiled kernel (a few tenths of a second for 1025 × 2600 bins).
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import kernel
from ..errors import ParameterError
from ..stft import window_lambda

#: Bins below this fraction of the loudest bin get a random phase (-100 dB).
DEFAULT_TOL = 1e-5
#: Floor of the log-magnitude below the loudest bin, in nepers (about -95 dB).
_LOG_RANGE = 11.0
#: Bins per integration block.
BLOCK_BINS = 1 << 20


@kernel()
def _integrate(S, X, t0, t1, prev, has_prev, nyq, tg_shift, cf, ct, fg0, tol, log_floor, rnd, last):
    """Integrate the phase of frames ``t0:t1`` of every channel, write ``X = S e^{iφ}``.

    Parameters
    ----------
    S : float32 (channels, t, bins) magnitude
    X : complex64 (channels, t, bins) output; frames t0:t1 are written
    prev : float64 (channels, bins) phase of frame t0 - 1 (used if has_prev)
    nyq : bool, the last bin is the Nyquist bin (n_fft even)
    tg_shift : float64 (bins,) 2π (hop m mod n_fft) / n_fft
    cf, ct, fg0 : gradient coefficients hop n_fft / λ, λ / (hop n_fft), -2π c / n_fft
    tol : float32 magnitude below which bins get phase 2π rnd
    log_floor : float32 lower clip of log S; the loudest bin has log S <= log_floor + 11
    rnd : float32 (channels, t1 - t0, bins) uniform numbers in [0, 1)
    last : float64 (channels, bins) receives the phase of frame t1 - 1

    The "heap" is a bucket queue on the log-magnitude quantised to ``n_levels`` steps
    (0.02 dB): push and pop-max are O(1), and the strongest bin not yet reached is
    found by walking a counting sort of the same levels.  Within a level the order is
    last in, first out.
    """
    n_ch, n_t, n_bins = S.shape
    r0 = t0 - 1 if has_prev else t0  # global frame of local row 0
    n_rows = t1 - r0
    n = n_rows * n_bins
    two_pi = 2.0 * np.pi
    n_levels = 4096
    scale = np.float32((n_levels - 1) / 11.0)
    logs = np.empty((n_rows + 2, n_bins), np.float32)
    tg = np.empty((n_rows, n_bins), np.float64)
    fg = np.empty((n_rows, n_bins), np.float64)
    phase = np.zeros((n_rows, n_bins), np.float64)
    level = np.empty(n, np.int32)
    done = np.zeros(n, np.uint8)
    head = np.empty(n_levels, np.int32)
    nxt = np.empty(n, np.int32)
    count = np.empty(n_levels + 1, np.int64)
    order = np.empty(n, np.int32)
    for ch in range(n_ch):
        # log-magnitude of rows r0 - 1 .. t1 (clipped to the signal)
        for i in range(n_rows + 2):
            g = min(max(r0 - 1 + i, 0), n_t - 1)
            for m in range(n_bins):
                logs[i, m] = max(np.log(max(S[ch, g, m], 1e-30)), log_floor)
        # phase gradients and queue levels of rows r0 .. t1 - 1
        for i in range(n_rows):
            g = r0 + i
            lo = i if g > 0 else i + 1  # one-sided differences at the ends
            hi = i + 2 if g < n_t - 1 else i + 1
            span = hi - lo if hi > lo else 1
            row = logs[i + 1]
            for m in range(n_bins):
                if 0 < m < n_bins - 1:
                    dm = 0.5 * (row[m + 1] - row[m - 1])
                elif m == n_bins - 1 and m > 0 and not nyq:
                    dm = row[m] - row[m - 1]  # odd n_fft: the last bin is not Nyquist
                else:
                    dm = 0.0  # DC and Nyquist: the magnitude is even about them
                dn = (logs[hi, m] - logs[lo, m]) / span
                tg[i, m] = tg_shift[m] + cf * dm
                fg[i, m] = fg0 - ct * dn
                q = int((row[m] - log_floor) * scale)
                level[i * n_bins + m] = min(max(q, 0), n_levels - 1)
        # bins below tol get a random phase; row 0 comes from the previous block
        head[:] = -1
        top = -1
        for i in range(n_rows):
            for m in range(n_bins):
                j = i * n_bins + m
                s = S[ch, r0 + i, m]
                if has_prev and i == 0:
                    phase[i, m] = prev[ch, m]
                    done[j] = 1
                    if s > tol:
                        q = level[j]
                        nxt[j] = head[q]
                        head[q] = j
                        top = max(top, q)
                elif s <= tol:
                    phase[i, m] = two_pi * rnd[ch, r0 + i - t0, m]
                    done[j] = 1
                else:
                    done[j] = 0
        # seeds: bins by decreasing level (counting sort)
        count[:] = 0
        for j in range(n):
            count[n_levels - level[j]] += 1
        for q in range(1, n_levels + 1):
            count[q] += count[q - 1]
        for j in range(n):
            k = n_levels - 1 - level[j]
            order[count[k]] = j
            count[k] += 1
        next_seed = 0
        while True:
            while top >= 0 and head[top] < 0:
                top -= 1
            if top < 0:  # start a new region at the strongest bin not reached
                while next_seed < n and done[order[next_seed]]:
                    next_seed += 1
                if next_seed == n:
                    break
                j = order[next_seed]
                done[j] = 1
                phase[j // n_bins, j % n_bins] = 0.0
                top = level[j]
                nxt[j] = head[top]
                head[top] = j
            j = head[top]
            head[top] = nxt[j]
            i, m = j // n_bins, j % n_bins
            for d in range(4):
                if d == 0:
                    ni, nm = i + 1, m
                elif d == 1:
                    ni, nm = i - 1, m
                elif d == 2:
                    ni, nm = i, m + 1
                else:
                    ni, nm = i, m - 1
                if ni < 0 or ni >= n_rows or nm < 0 or nm >= n_bins:
                    continue
                nj = ni * n_bins + nm
                if done[nj]:
                    continue
                if d == 0:
                    phi = phase[i, m] + 0.5 * (tg[i, m] + tg[ni, nm])
                elif d == 1:
                    phi = phase[i, m] - 0.5 * (tg[i, m] + tg[ni, nm])
                elif d == 2:
                    phi = phase[i, m] + 0.5 * (fg[i, m] + fg[ni, nm])
                else:
                    phi = phase[i, m] - 0.5 * (fg[i, m] + fg[ni, nm])
                phase[ni, nm] = phi - two_pi * np.floor(phi / two_pi)
                done[nj] = 1
                q = level[nj]
                nxt[nj] = head[q]
                head[q] = nj
                if q > top:
                    top = q
        # write S e^{iφ}; DC and Nyquist real (0 or π)
        first = 1 if has_prev else 0
        for i in range(first, n_rows):
            g = r0 + i
            for m in range(n_bins):
                s = S[ch, g, m]
                p = phase[i, m]
                if m == 0 or (m == n_bins - 1 and nyq):
                    X[ch, g, m] = s if np.cos(p) >= 0 else -s
                else:
                    X[ch, g, m] = complex(s * np.cos(p), s * np.sin(p))
        for m in range(n_bins):
            last[ch, m] = phase[n_rows - 1, m]


def pghi_phase(S, engine, *, rng, tol=DEFAULT_TOL, out=None):
    """``S`` times the PGHI phase estimate, as complex64 in the internal layout.

    Parameters
    ----------
    S : np.ndarray [shape=(channels, t, bins), dtype=float32]
    engine : Stft
    rng : np.random.Generator
        Phases of the bins below ``tol``.
    tol : float in (0, 1)
        Bins quieter than ``tol`` times the loudest bin get a random phase.
    out : np.ndarray [shape=S.shape, dtype=complex64] or None

    Returns
    -------
    np.ndarray [shape=(channels, t, bins), dtype=complex64]
    """
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 < tol < 1:
        raise ParameterError(f"pghi() called with tol={tol!r}; it must be in (0, 1)")
    n_ch, n_frames, n_bins = S.shape
    n_fft, hop = engine.n_fft, engine.hop_length
    lam = window_lambda(engine.window_name, engine.win_length, n_fft)
    centre = (n_fft - engine.win_length) // 2 + engine.win_length / 2
    m = np.arange(n_bins, dtype=np.int64)
    tg_shift = 2 * np.pi * ((hop * m) % n_fft) / n_fft
    X = np.empty(S.shape, np.complex64) if out is None else out
    peak = float(S.max()) if S.size else 0.0
    if not peak > 0:
        X[...] = S
        return X
    abs_tol = np.float32(peak * tol)
    log_floor = np.float32(math.log(peak) - _LOG_RANGE)
    block = max(1, BLOCK_BINS // n_bins)
    prev = np.zeros((n_ch, n_bins))
    last = np.zeros((n_ch, n_bins))
    for t0 in range(0, n_frames, block):
        t1 = min(t0 + block, n_frames)
        rnd = rng.random((n_ch, t1 - t0, n_bins), dtype=np.float32)
        _integrate(
            S, X, t0, t1, prev, t0 > 0, n_fft % 2 == 0, tg_shift, hop * n_fft / lam, lam / (hop * n_fft),
            -2 * np.pi * centre / n_fft, abs_tol, log_floor, rnd, last,
        )  # fmt: skip
        prev, last = last, prev
    return X


def pghi(S, engine, *, n_iter=0, init=None, rng, length, progress=None, tol=DEFAULT_TOL):
    """PGHI, non-iterative; see :func:`spec2img.phase.reconstruct` for the arguments.

    ``n_iter`` is ignored (there is nothing to iterate); a given ``init`` is used as is,
    which makes this method a plain inverse STFT of ``S`` with that phase.
    """
    X = pghi_phase(S, engine, rng=rng, tol=tol) if init is None else init * S
    if progress is not None:
        progress(1, 1)
    return engine.inverse_tf(X, length)
