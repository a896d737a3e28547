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
(:func:`spec2img.dsp.stft.window_lambda`: the published fit for Hann, matched energy
spread otherwise), which degrades gracefully as the window departs from a bell shape.

The integration runs on blocks of about a million bins, in time order, each block
starting from the last frame of the one before, so that memory stays bounded on long
recordings.  It is a compiled kernel (about 0.15 s for 1025 × 2600 bins).  Its NumPy
version (:mod:`spec2img.phase.forest`, for short decodes and machines without numba)
integrates the same gradients along a maximum spanning forest instead of the queue's
order: a different path, as good a phase.
"""

from __future__ import annotations

import math

import numpy as np

from ..dsp.jit import kernel
from ..dsp.stft import window_lambda
from ..errors import ParameterError
from . import forest
from .channels import LazyRng

#: Bins below this fraction of the loudest bin get a random phase (-100 dB).
DEFAULT_TOL = 1e-5
#: Floor of the log-magnitude below the loudest bin, in nepers (about -95 dB).
_LOG_RANGE = 11.0
#: Levels of the bucket queue over the log-magnitude range (0.02 dB apart).
_N_LEVELS = 4096
#: Bins per integration block.
BLOCK_BINS = 1 << 20


@kernel(fallback=forest.integrate)
def _integrate(logs, S, phase, has_prev, nyq, tg_shift, cf, ct, fg0, tol, log_floor, scratch):
    """Integrate the phase of one block of frames, every channel.

    Parameters
    ----------
    logs : float32 (channels, rows + 2, bins)
        log S of the block's rows with one frame more on each side (the signal's first
        and last frames repeated at its ends), clipped below at ``log_floor``.
    S : float32 (channels, rows, bins)
        Magnitude of the block's rows.
    phase : float32 (channels, rows, bins)
        In: row 0 holds the previous frame's phase if ``has_prev``, and bins below
        ``tol`` hold their (random) phase.  Out: the phase of every bin.
    has_prev : bool
        Row 0 is the last frame of the previous block (known phase, not rewritten).
    nyq : bool
        The last bin is the Nyquist bin (n_fft even).
    tg_shift : float32 (bins,)
        ``2π (hop m mod n_fft) / n_fft``: the phase advance per frame of bin ``m``.
    cf, ct, fg0 : float
        ``hop n_fft / λ``, ``λ / (hop n_fft)`` and ``-2π c / n_fft``.
    tol : float32
        Bins with ``S <= tol`` keep their phase and do not pass phase on.
    log_floor : float32
        The loudest possible bin has ``log S <= log_floor + 11``.
    scratch : tuple of arrays
        Work space from :func:`_scratch`, reused from block to block.

    The queue is a bucket queue on the log-magnitude quantised to 4096 levels: push
    and pop-max are O(1), and the strongest bin not yet reached is found by walking a
    counting sort of the same levels.  Within a level the order is last in, first out.
    """
    n_ch, n_rows, n_bins = S.shape
    n = n_rows * n_bins
    two_pi = 2.0 * np.pi
    n_levels = 4096
    scale = np.float32((n_levels - 1) / 11.0)
    half = np.float32(0.5)
    grad_all, level, nxt, order, head, count = scratch
    grad = grad_all[:n_rows]  # (dφ/dn, dφ/dm) side by side; level -1: bin has its phase
    for ch in range(n_ch):
        lg = logs[ch]
        ph = phase[ch]
        # phase gradients; central differences, one-sided where a neighbour is missing
        for i in range(n_rows):
            row, up, down = lg[i + 1], lg[i + 2], lg[i]
            g = grad[i]
            for m in range(1, n_bins - 1):
                g[m, 0] = tg_shift[m] + cf * half * (row[m + 1] - row[m - 1])
                g[m, 1] = fg0 - ct * half * (up[m] - down[m])
            g[0, 0] = tg_shift[0]  # the magnitude is even about DC and Nyquist
            g[0, 1] = fg0 - ct * half * (up[0] - down[0])
            last = n_bins - 1
            if last > 0:
                dm = np.float32(0.0) if nyq else row[last] - row[last - 1]
                g[last, 0] = tg_shift[last] + cf * dm
                g[last, 1] = fg0 - ct * half * (up[last] - down[last])
        # queue levels; row 0 of a continued block is done but seeds the queue
        head[:] = -1
        top = -1
        for i in range(n_rows):
            srow = S[ch, i]
            row = lg[i + 1]
            for m in range(n_bins):
                j = i * n_bins + m
                q = min(max(int((row[m] - log_floor) * scale), 0), n_levels - 1)
                if srow[m] <= tol:
                    level[j] = -1
                elif has_prev and i == 0:
                    level[j] = -1
                    nxt[j] = head[q]
                    head[q] = j
                    top = max(top, q)
                else:
                    level[j] = q
        # seeds: bins by decreasing level (counting sort); done bins are skipped later
        count[:] = 0
        for j in range(n):
            count[n_levels - 1 - max(level[j], 0) + 1] += 1
        for q in range(1, n_levels + 1):
            count[q] += count[q - 1]
        for j in range(n):
            k = n_levels - 1 - max(level[j], 0)
            order[count[k]] = j
            count[k] += 1
        next_seed = 0
        while True:
            while top >= 0 and head[top] < 0:
                top -= 1
            if top < 0:  # start a new region at the strongest bin not reached
                while next_seed < n and level[order[next_seed]] < 0:
                    next_seed += 1
                if next_seed == n:
                    break
                j = order[next_seed]
                top = level[j]
                level[j] = -1
                ph[j // n_bins, j % n_bins] = 0.0
                nxt[j] = head[top]
                head[top] = j
            j = head[top]
            head[top] = nxt[j]
            i, m = j // n_bins, j % n_bins
            base = np.float64(ph[i, m])
            for d in range(4):
                if d == 0:
                    ni, nm, sign, axis = i + 1, m, 1.0, 0
                elif d == 1:
                    ni, nm, sign, axis = i - 1, m, -1.0, 0
                elif d == 2:
                    ni, nm, sign, axis = i, m + 1, 1.0, 1
                else:
                    ni, nm, sign, axis = i, m - 1, -1.0, 1
                if ni < 0 or ni >= n_rows or nm < 0 or nm >= n_bins:
                    continue
                nj = ni * n_bins + nm
                q = level[nj]
                if q < 0:
                    continue
                phi = base + sign * 0.5 * (
                    np.float64(grad[i, m, axis]) + np.float64(grad[ni, nm, axis])
                )
                ph[ni, nm] = phi - two_pi * np.floor(phi / two_pi)
                level[nj] = -1
                nxt[nj] = head[q]
                head[q] = nj
                if q > top:
                    top = q


def _scratch(n_rows, n_bins):
    """Work space of :func:`_integrate` for up to ``n_rows`` rows."""
    n = n_rows * n_bins
    return (
        np.empty((n_rows, n_bins, 2), np.float32), np.empty(n, np.int16),
        np.empty(n, np.int32), np.empty(n, np.int32), np.empty(_N_LEVELS, np.int32),
        np.empty(_N_LEVELS + 1, np.int64),
    )  # fmt: skip


def pghi_start(S, engine, init, *, rng, tol=DEFAULT_TOL):
    """The start of every PGHI-started method: ``S`` with PGHI's phase, or with the
    given unit phasors ``init`` (owned by the method: scaled in place)."""
    if init is None:
        return pghi_phase(S, engine, rng=rng, tol=tol)
    init *= S
    return init


#: splitmix64's constants (Steele, Lea & Flood 2014): a counter-based hash whose output
#: passes the usual statistical tests, a few whole-array operations per draw.
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def scattered_phases(key: int, channel: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Uniform phases in [0, 2π) (float32) of the bins ``index`` (frame * bins + bin)
    of ``channel``, a function of ``key`` and the bin alone.

    The bins too quiet to integrate need some phase, any phase, the same for the same
    seed: a hash of the bin's place does, without a random generator (importing
    ``numpy.random`` is 10 ms of a short decode's CPU time) and whatever the blocks.
    """
    x = (index.astype(np.uint64) << np.uint64(8)) + channel.astype(np.uint64)
    x += np.uint64(key & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        x *= np.uint64(_GOLDEN)
        x ^= x >> np.uint64(30)
        x *= np.uint64(_MIX1)
        x ^= x >> np.uint64(27)
        x *= np.uint64(_MIX2)
        x ^= x >> np.uint64(31)
    out = (x >> np.uint64(40)).astype(np.float32)
    out *= np.float32(2 * np.pi / (1 << 24))
    return out


def pghi_phase(S, engine, *, rng, tol=DEFAULT_TOL, out=None, first=None):
    """``S`` times the PGHI phase estimate, as complex64 in the internal layout.

    Parameters
    ----------
    S : np.ndarray [shape=(channels, t, bins), dtype=float32]
    engine : Stft
    rng : np.random.Generator or LazyRng
        Seeds the phases of the bins below ``tol`` (:func:`scattered_phases`; a
        :class:`~spec2img.phase.channels.LazyRng` without making its generator).
    tol : float in (0, 1)
        Bins quieter than ``tol`` times the loudest bin get a random phase.
    out : np.ndarray [shape=S.shape, dtype=complex64] or None
    first : np.ndarray [shape=(channels, bins)] or None
        The known phase (radians) of frame 0: the integration continues from it, as it
        does from block to block, and frame 0 keeps it.

    Returns
    -------
    np.ndarray [shape=(channels, t, bins), dtype=complex64]
        DC and Nyquist are real (phase 0 or π).
    """
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 < tol < 1:
        raise ParameterError(f"pghi() called with tol={tol!r}; it must be in (0, 1)")
    n_ch, n_frames, n_bins = S.shape
    n_fft, hop = engine.n_fft, engine.hop_length
    nyq = n_fft % 2 == 0
    lam = window_lambda(engine.window_spec, engine.win_length, n_fft)
    centre = (n_fft - engine.win_length) // 2 + engine.win_length / 2
    m = np.arange(n_bins, dtype=np.int64)
    tg_shift = (2 * np.pi * ((hop * m) % n_fft) / n_fft).astype(np.float32)
    X = np.empty(S.shape, np.complex64) if out is None else out
    peak = float(S.max()) if S.size else 0.0
    if not peak > 0:
        X[...] = S
        return X
    abs_tol = np.float32(peak * tol)
    key = rng.key() if isinstance(rng, LazyRng) else int(rng.integers(1 << 63))
    floor = np.float32(peak * math.exp(-_LOG_RANGE))
    log_floor = np.float32(np.log(floor))
    block = max(1, BLOCK_BINS // n_bins)
    # buffers reused from block to block (block + 1 rows: the previous frame, then ours)
    rows_max = min(block, n_frames) + 1
    scratch = _scratch(rows_max, n_bins)
    logs_buf = np.empty(n_ch * (rows_max + 2) * n_bins, np.float32)
    phase_buf = np.empty(n_ch * rows_max * n_bins, np.float32)
    last_phase, start = None, 0
    if first is not None:
        last_phase, start = np.mod(np.asarray(first, np.float32), np.float32(2 * np.pi)), 1
        np.cos(last_phase, out=X[:, 0].real)
        np.sin(last_phase, out=X[:, 0].imag)
        X[:, 0] *= S[:, 0]
    for t0 in range(start, n_frames, block):
        t1 = min(t0 + block, n_frames)
        r0 = t0 - 1 if last_phase is not None else t0  # first row: the previous frame
        rows = np.clip(np.arange(r0 - 1, t1 + 1), 0, n_frames - 1)
        logs = logs_buf[: n_ch * rows.size * n_bins].reshape(n_ch, rows.size, n_bins)
        np.take(S, rows, axis=1, out=logs)
        np.maximum(logs, floor, out=logs)
        np.log(logs, out=logs)
        phase = phase_buf[: n_ch * (t1 - r0) * n_bins].reshape(n_ch, t1 - r0, n_bins)
        phase.fill(0)  # every bin above abs_tol is integrated; the quiet ones keep:
        quiet = np.flatnonzero(S[:, r0:t1] <= abs_tol)
        if quiet.size:
            ch, rest = np.divmod(quiet, (t1 - r0) * n_bins)
            phase.reshape(-1)[quiet] = scattered_phases(key, ch, r0 * n_bins + rest)
        if last_phase is not None:
            phase[:, 0] = last_phase
        _integrate(
            logs, S[:, r0:t1], phase, last_phase is not None, nyq, tg_shift,
            hop * n_fft / lam, lam / (hop * n_fft), -2 * np.pi * centre / n_fft,
            abs_tol, log_floor, scratch,
        )  # fmt: skip
        last_phase = phase[:, -1].copy()
        ph = phase[:, t0 - r0 :]
        Xb = X[:, t0:t1]
        np.cos(ph, out=Xb.real)
        np.sin(ph, out=Xb.imag)
        Xb *= S[:, t0:t1]
        edges = [0, -1] if nyq and n_bins > 1 else [0]
        Xb[..., edges] = np.copysign(S[:, t0:t1][..., edges], Xb[..., edges].real)
    return X
