"""Linked channels: phase retrieval that keeps a stereo image together.

Retrieved one by one, the channels of a recording each find a phase that fits their
own magnitude, but not the same one: where the recording had both channels in phase
(an amplitude-panned source, a nearly mono mix) the two retrieved phases drift apart,
and the mid ``(L + R) / 2`` comb-filters while the side ``(L - R) / 2`` grows by tens
of dB.  The magnitudes alone cannot say which bins had a shared phase, but they say
where it is plausible: a source panned by gains alone keeps the ratio between the
channels' magnitudes steady over its time-frequency neighbourhood, while two sources
that overlap, or reverberation recorded by spaced microphones, make it wander.  So each
bin gets a weight in [0, 1] (:func:`weights`): ``exp(-v / SIGMA**2)`` with ``v`` the
energy-weighted local variance (over :data:`SPAN` frames x bins) of the channels'
shares of the magnitude, ``(|L| - |R|) / (|L| + |R|)`` for two channels.

The weights are used twice (:func:`reconstruct`):

- *the start*: each channel starts from its own PGHI phase where the weight is low and
  from the PGHI phase of the channels' mean magnitude where it is high (a per-bin blend
  of the unit phasors), so that every channel begins in the same place where they
  agree; random-start methods blend a shared random phase with their own likewise;
- *the iterations* (FGLA's and AGLA's, :func:`spec2img.phase.fgla.iterate` and
  :func:`spec2img.phase.agla.iterate`: every iterating method; the default's schedule
  counts ``f`` over both parts): after each magnitude projection, each channel's
  unit phasor ``u_c`` is pulled towards the common one ``unit(sum_c S_c u_c)`` by
  ``w g f(i)``.  ``g`` (:func:`agreement`) is ``(1 + cos d) / 2`` of the phase
  difference ``d`` the channels' own projections left them at: 1 where they stay in
  phase (a pan, whose channels' projections move alike), less where the projections
  part them (a delay or a reflection that one channel has and the other has not), 0
  in opposition; so a bin is pulled as far as the iterations agree with the weight,
  at no extra pass.  The schedule ``f`` is 1 for the first :data:`HOLD` of the
  iterations, falls linearly to 0 by :data:`RELEASE`, and is 0 for the rest, so that
  the last iterations let each channel settle onto a phase consistent with its own
  magnitude (coupling to the end costs each channel 2-3 dB of SC).  A nearly mono mix
  needs the pull for long (its side is tens of dB below the mid, so a small drift of
  the phases shows in it), and the channels' own SC hardly depends on when it is let
  go (it is decided by the basin the first iterations choose): hence the late release.

Each iteration projects every channel in its own stream, the channels at once on
:data:`~spec2img.phase.channels.THREADS` threads, and couples each block of frames as
soon as every stream has updated it, while it is in the cache (:func:`run`); every
element is computed by one thread with the same arithmetic whatever the number of
threads, so the output does not depend on it, and the stopping rule decides for all
channels together.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from dataclasses import dataclass

import numpy as np

from . import loop, pghi
from .channels import THREADS, channel_rng, each_channel
from .start import random_phase

__all__ = ["weights", "start", "Link", "linked", "current", "agreement", "couple", "SIGMA", "SPAN"]

#: Standard deviation of the local magnitude shares at which a bin's weight is 1/e.
SIGMA = 0.1
#: Neighbourhood of the local variance, frames x bins.
SPAN = (5, 3)
#: Fractions of the iterations during which the channels are held together, and after
#: which they are let go (the weight falls linearly in between).
HOLD, RELEASE = 0.4, 0.9
_TINY = np.float32(1e-30)


def _box(a: np.ndarray, span: tuple[int, int], out: np.ndarray | None = None,
         scratch: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Sum of ``a`` [shape=(t, bins)] over a ``span`` box centred on each cell (edges
    repeated): a sum of shifted copies (running sums would lose the quiet cells after
    loud ones to rounding), one axis after the other, in ``out`` (``scratch`` holds the
    first axis's sums; either may be None, or ``a`` itself for ``out``).

    Each cell's terms are added in the order of their offsets, as they would be along
    an edge-padded copy, without making that copy (or a zeroed sum): on 60 s of stereo
    the copies and fresh sums were most of :func:`weights`'s time (page faults).
    """
    out = np.empty_like(a) if out is None else out
    src = a
    for axis, k in enumerate(span):
        n = src.shape[axis]
        if k <= 1 or n == 0:
            continue
        # the first axis's sums go to scratch, so that out may be a itself
        dst = (np.empty_like(a) if scratch is None else scratch) if src is a else out
        _shifted_sum(src, dst, k, axis)
        src = dst
    if src is not out:
        out[...] = src
    return out


def _shifted_sum(src: np.ndarray, dst: np.ndarray, k: int, axis: int) -> None:
    """``dst[i] = sum_j src[clip(i + j - k // 2, 0, n - 1)]`` along ``axis``, j in order."""
    n, h = src.shape[axis], k // 2
    src, dst = (src, dst) if axis == 0 else (src.T, dst.T)
    for j in range(k):
        d = j - h  # dst[i] takes src[i + d], clipped to the edges
        lo = min(max(0, -d), n)
        hi = max(min(n, n - d), lo)  # rows lo:hi have their term inside
        parts = [(slice(lo, hi), src[lo + d : hi + d])] if hi > lo else []
        if lo > 0:
            parts.append((slice(0, lo), src[:1]))
        if hi < n:
            parts.append((slice(hi, n), src[n - 1 :]))
        for rows, terms in parts:
            if j == 0:  # 0 + x is x for the non-negative sums here
                dst[rows] = terms
            else:
                dst[rows] += terms


def weights(S: np.ndarray, *, sigma: float = SIGMA, span: tuple[int, int] = SPAN) -> np.ndarray:
    """How plausible a shared phase is in each bin, from the channels' magnitudes.

    Parameters
    ----------
    S : np.ndarray [shape=(channels, t, bins), non-negative]
        Magnitudes in the internal layout, two channels or more.
    sigma : float > 0
        Local standard deviation of the magnitude shares at which the weight is 1/e.
    span : (int, int)
        Frames and bins of the neighbourhood.

    Returns
    -------
    np.ndarray [shape=(t, bins), dtype=float32]
        In [0, 1]: 1 where the ratios between the channels hold steady (a panned
        source, a mono mix), near 0 where they wander (overlapping sources panned
        apart, decorrelated reverberation).  Silent neighbourhoods get 1.
    """
    S = np.asarray(S, np.float32)
    n = S.shape[0]
    peak = float(S.max(initial=0.0))
    if not peak > 0:
        return np.ones(S.shape[1:], np.float32)
    S = S / np.float32(peak)  # the energies below stay far from float32's limits
    total = S.sum(axis=0)
    energy = np.einsum("ctf,ctf->tf", S, S)
    # four (t, bins) buffers and the shares' sums are all this needs (one box's first
    # axis goes to ``scratch``): fresh arrays for every step cost more than the sums
    scratch = np.empty_like(total)
    norm = _box(energy, span, scratch=scratch)
    np.maximum(norm, np.float32(1e-30), out=norm)
    quiet = total <= 0
    loud = ~quiet
    var = np.zeros(total.shape, np.float32)
    share = np.empty_like(total)
    m1 = np.empty_like(total)
    # the shares' variances summed over the channels; two channels' shares vary alike
    for c in range(1 if n == 2 else n):
        share.fill(1 / n)
        np.divide(S[c], total, out=share, where=loud)
        share *= energy
        _box(share, span, out=m1, scratch=scratch)
        share *= S[c]
        np.divide(share, total, out=share, where=loud)
        m2 = _box(share, span, out=share, scratch=scratch)
        m1 /= norm
        m2 /= norm
        m1 *= m1
        m2 -= m1
        np.maximum(m2, 0, out=m2)
        var += m2
    if n == 2:
        var *= 2
    # with two channels the sum is half the variance of (|L| - |R|) / (|L| + |R|)
    var *= np.float32(-2.0 / (n - 1) / sigma**2)
    return np.exp(var, out=var)


def _unit(X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``X / |X|`` as complex64, 1 where ``X`` is 0; in ``out`` (which may be ``X``).

    For complex64 ``X`` it multiplies by ``1 / |X|`` in float32 channel by channel,
    which is what NumPy's complex division by ``|X| + 0j`` computes (the same bits,
    ``tests/test_stereo.py``) without its complex temporaries.
    """
    if X.dtype != np.complex64 or (out is not None and out.dtype != np.complex64):
        mag = np.abs(X)
        zero = mag <= _TINY
        np.maximum(mag, _TINY, out=mag)
        result = np.divide(X, mag, dtype=np.complex64)
        result[zero] = 1
        if out is None:
            return result
        out[...] = result
        return out
    out = np.empty(X.shape, np.complex64) if out is None else out
    if X.ndim > 2:  # one channel at a time: temporaries of one channel's size
        for c in range(X.shape[0]):
            _unit(X[c], out[c])
        return out
    mag = np.abs(X)
    zero = mag <= _TINY
    np.maximum(mag, _TINY, out=mag)
    np.divide(np.float32(1), mag, out=mag)
    if out is not X:
        out[...] = X
    pairs = out.view(np.float32).reshape(*out.shape, 2)
    pairs *= mag[..., None]
    out[zero] = 1
    return out


def start(S: np.ndarray, engine, w: np.ndarray, *, seed: int | None, pghi_start: bool,
          tol: float = pghi.DEFAULT_TOL, first: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Unit phasors that start every channel together where ``w`` is high.

    Parameters
    ----------
    S : np.ndarray [shape=(channels, t, bins), dtype=float32]
    engine : Stft
    w : np.ndarray [shape=(t, bins)]
        From :func:`weights`.
    seed : int or None
        Channel ``c``'s own start draws from ``channel_rng(seed, c)`` (as it would
        alone), the shared start from ``channel_rng(seed, channels)``.
    pghi_start : bool
        PGHI starts (own: each channel's magnitude; shared: the mean magnitude) or
        uniform random phases.
    tol : float
        PGHI's tolerance.
    first : np.ndarray [shape=(channels, bins)] or None
        Known phase (radians) of frame 0, as :func:`spec2img.phase.pghi.pghi_phase`
        takes it (a block continuing the one before); the shared start continues from
        the phase of the channels' sum there.

    Returns
    -------
    np.ndarray [shape=S.shape, dtype=complex64]
    """
    n_ch = S.shape[0]
    nyq = engine.n_fft % 2 == 0
    if pghi_start:
        mean = S.mean(axis=0, keepdims=True)
        firsts = [None] * (n_ch + 1)
        if first is not None:
            z = np.sum(S[:, 0] * np.exp(1j * np.asarray(first, np.float64)), axis=0)
            firsts = [first[c : c + 1] for c in range(n_ch)] + [np.angle(z)[None]]

        # written in place (a stack of what each_channel returns cost a copy of all)
        own = np.empty(S.shape, np.complex64)
        shared = np.empty((1, *S.shape[1:]), np.complex64)

        def integrate(c, _report):  # channel c's own, or (c == n_ch) the mean's
            pghi.pghi_phase(S[c : c + 1] if c < n_ch else mean, engine, rng=channel_rng(seed, c),
                            tol=tol, first=firsts[c], out=own[c : c + 1] if c < n_ch else shared)  # fmt: skip
            return np.empty((1, 0), np.complex64)  # nothing to stack

        each_channel(integrate, n_ch + 1, None)  # at once, on the cores
    else:
        own = np.concatenate([random_phase((1, *S.shape[1:]), channel_rng(seed, c), nyquist=nyq)
                              for c in range(n_ch)])  # fmt: skip
        shared = random_phase((1, *S.shape[1:]), channel_rng(seed, n_ch), nyquist=nyq)
    u = _unit(own, own)
    u *= np.float32(1) - w
    shared = _unit(shared, shared)
    shared *= w  # (w + 0j) times the phasor: the products of w * shared
    u += shared
    out = _unit(u, u)
    out[..., 0] = np.where(out[..., 0].real >= 0, 1, -1)
    if nyq and out.shape[-1] > 1:
        out[..., -1] = np.where(out[..., -1].real >= 0, 1, -1)
    return out


@dataclass(frozen=True)
class Link:
    """The coupling of one linked retrieval: the weights and the iterations' schedule."""

    w: np.ndarray  # (t, bins) float32
    n_iter: int

    def strength(self, i: int) -> float:
        """``f(i)`` of iteration ``i`` (0-based): 1, then falling linearly, then 0."""
        hold, release = HOLD * self.n_iter, RELEASE * self.n_iter
        if i < hold:
            return 1.0
        if i >= release or release <= hold:
            return 0.0
        return 1.0 - (i - hold + 1) / (release - hold)


_LINK: contextvars.ContextVar[Link | None] = contextvars.ContextVar("spec2img_link", default=None)


@contextlib.contextmanager
def linked(link: Link):
    """Iterations run in this context couple their channels with ``link``."""
    token = _LINK.set(link)
    try:
        yield link
    finally:
        _LINK.reset(token)


def current(n_channels: int, n_frames: int) -> Link | None:
    """The coupling in force for an estimate of this many channels and frames, or None."""
    link = _LINK.get()
    if link is None or n_channels < 2 or link.w.shape[0] != n_frames:
        return None
    return link


def agreement(X: np.ndarray) -> np.ndarray:
    """``(1 + mean cos d) / 2`` [shape=X.shape[1:], float32] of the channels of ``X``:
    ``d`` runs over the phase differences of every pair of channels (for two, the one
    difference), so 1 where they are in phase and 0 where two are in opposition; 1/2
    where a channel is 0.  The mean pairwise cosine is ``(|sum_c u_c|^2 - n) / (n (n -
    1))`` with ``u_c`` the unit phasors."""
    n = X.shape[0]
    mag = np.abs(X)
    zero = mag <= _TINY
    np.maximum(mag, _TINY, out=mag)
    u = np.divide(X, mag, dtype=np.complex64)
    u[zero] = 0
    s = u.sum(axis=0)
    g = s.real * s.real
    g += s.imag * s.imag
    # zero channels count as cos 0 with the others (the compiled kernel's choice)
    g -= (n - zero.sum(axis=0)).astype(np.float32)
    g *= np.float32(0.5 / (n * (n - 1)))
    g += np.float32(0.5)
    return g.astype(np.float32, copy=False)


def couple(X: np.ndarray, S: np.ndarray, w: np.ndarray, strength: float) -> None:
    """Pull the channels of ``X = S u`` towards their common phase, in place.

    ``X``, ``S`` [shape=(channels, t, bins)] and ``w`` [shape=(t, bins)] are frames of
    the estimate, target and weights; each ``u_c`` becomes
    ``unit((1 - a) u_c + a unit(sum_c S_c u_c))`` with ``a = strength * w * g``, where
    ``g = (1 + mean cos d) / 2`` and ``d`` runs over the phase differences of every
    pair of channels (:func:`agreement`).
    """
    if strength <= 0:
        return
    common = _unit(X.sum(axis=0))
    a = agreement(X)
    a *= w
    if strength < 1:
        a *= np.float32(strength)
    keep = np.float32(1) - a
    for c in range(X.shape[0]):
        v = X[c] * keep
        v += (a * S[c]) * common
        mag = np.abs(v)
        np.maximum(mag, _TINY, out=mag)
        np.divide(S[c], mag, out=mag)
        v *= mag
        X[c] = v


def _all(pool, tasks) -> None:
    """Run ``tasks`` (callables), the first on this thread, the rest on ``pool`` (in
    this thread's context), and wait for all; ``pool`` None: one after the other."""
    if pool is None:
        for task in tasks:
            task()
        return
    futures = [pool.submit(contextvars.copy_context().run, task) for task in tasks[1:]]
    try:
        tasks[0]()
    finally:
        for f in futures:
            f.result()


def run(S, X, engine, update_for, couple, link: Link, *, n_iter: int, length, progress=None,
        stop_db=None, done: int = 0, total: int | None = None) -> int:  # fmt: skip
    """:func:`spec2img.phase.loop.run` for linked channels.

    Each iteration projects every channel in its own stream (``update_for(c)`` is
    channel ``c``'s step, given its frames of ``STFT(iSTFT(X_c))``), the channels at
    once on :data:`~spec2img.phase.channels.THREADS` threads, and applies
    ``couple(t0, t1, strength)`` to each block of frames as soon as every channel's
    stream has updated it, on the thread that did so last.  Every element is
    written by one thread with the same arithmetic, so the output does not depend on
    the number of threads.  The stopping rule is :func:`~spec2img.phase.loop.run`'s on
    the spectral convergence of all channels together, so they stop together.

    Returns
    -------
    int
        Iterations run.
    """
    total = n_iter if total is None else total
    n_ch, n_frames = X.shape[:2]
    updates = [update_for(c) for c in range(n_ch)]
    acc = np.zeros((n_ch, 2))
    best, stale = math.inf, 0

    def measured(c):
        update, lock = updates[c], threading.Lock()  # NumPy mode: two pieces at once

        def step(block, t0, t1):
            s = S[c : c + 1, t0:t1]
            diff = np.abs(block)
            diff -= s
            err, ref = float(np.vdot(diff, diff).real), float(np.vdot(s, s).real)
            with lock:
                acc[c, 0] += err
                acc[c, 1] += ref
            update(block, t0, t1)

        return step

    def coupled(steps, strength):
        """``steps`` that also couple each block's frames once every channel has
        updated them, on the thread that updated them last: the block is then still in
        the cache (a pass of its own over all frames after the projections read the
        estimates, magnitudes and weights from memory again, 230 MB on 60 s of stereo).
        Every channel's stream cuts the same blocks, which no stream reads again once
        it has updated them."""
        lock, seen = threading.Lock(), {}

        def step_for(c):
            def step(block, t0, t1):
                steps[c](block, t0, t1)
                with lock:
                    n = seen[t0, t1] = seen.get((t0, t1), 0) + 1
                if n == n_ch:
                    couple(t0, t1, strength)

            return step

        return [step_for(c) for c in range(n_ch)]

    def projection(c, steps):
        return lambda: engine.project(X[c : c + 1], steps[c], length)

    from concurrent.futures import ThreadPoolExecutor

    pool = (
        ThreadPoolExecutor(THREADS - 1, thread_name_prefix="spec2img-link") if THREADS > 1 else None
    )
    try:
        for i in range(n_iter):
            check = stop_db is not None and (i + 1) % loop.CHECK_EVERY == 0
            if check:
                acc[:] = 0.0
            steps = [measured(c) for c in range(n_ch)] if check else updates
            strength = link.strength(done + i)
            if strength > 0:
                steps = coupled(steps, strength)
            _all(pool, [projection(c, steps) for c in range(n_ch)])
            if progress is not None:
                progress(done + i + 1, total)
            if check:
                err, ref = acc.sum(axis=0)
                sc = 10 * math.log10(max(err, 1e-300) / ref) if ref > 0 else -math.inf
                if loop.TRACE is not None:
                    loop.TRACE.append((i + 1, sc))
                if best - sc >= stop_db:
                    best, stale = sc, 0
                else:
                    stale += 1
                    if stale == loop.PATIENCE:
                        if progress is not None:
                            progress(done + n_iter, total)
                        return i + 1
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return n_iter


def reconstruct(method, S, engine, *, n_iter, init, seed, length, progress, options):
    """Run ``method`` (a record of :data:`spec2img.phase.METHODS`) on all channels of
    ``S`` at once, linked.

    ``init`` (unit phasors or None) replaces the linked start, which is PGHI's or random
    as the method's own start is; the rest as in :func:`spec2img.phase.reconstruct`.
    """
    w = weights(S)
    if init is None:
        tol = method.checked(options).get("tol")
        init = start(S, engine, w, seed=seed, pghi_start=method.start == "pghi",
                     tol=pghi.DEFAULT_TOL if tol is None else tol)  # fmt: skip
    with linked(Link(w, int(n_iter))):
        return method(S, engine, n_iter=n_iter, init=init, rng=channel_rng(seed, 0),
                      length=length, progress=progress, **options)  # fmt: skip
