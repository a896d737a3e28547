"""STFT and inverse STFT with librosa's conventions, in float32, on ``scipy.fft``
(NumPy's FFT under :func:`spec2img.dsp.jit.numpy_only`).

This is the hot loop of phase retrieval, so it avoids ``librosa.stft`` (whose import
pulls in numba and scipy.signal) and ``scipy.signal`` (1.2 s to import): the common
windows are computed here, and only an unusual window name loads scipy.signal.

Conventions match :func:`librosa.stft` / :func:`librosa.istft`: periodic window of
``win_length`` zero-padded to ``n_fft`` and centred, optional centring by zero padding
of ``n_fft // 2`` samples, frame ``t`` starting at ``t * hop_length`` of the padded
signal, no normalisation of the forward transform, and a window-sum-square normalised
overlap-add inverse.

How it is fast
--------------
Frames are processed in blocks of a few dozen, so that a block's frames, spectra and
overlap-add buffer stay in the CPU cache.  The inverse streams: each block of spectra
is inverse-transformed, windowed and added into a short accumulator, and the samples
no later frame can touch are normalised by the (precomputed) window sum square and
written out.  :meth:`Stft.project` chains the inverse and the forward transform the same
way — the projection onto consistent spectrograms that every Griffin-Lim iteration
performs — without ever holding a whole signal or a whole frame matrix.  Windowing,
overlap-add and normalisation run as one fused compiled kernel (see ``jit.py``).
In NumPy mode a short signal is projected whole instead, in a few array operations whose
FFTs two threads share where a second thread pays, as timed (:meth:`Stft._project_whole`,
:class:`_ThreadChoice`).

Inside the iterative loops spectrograms use the layout ``(channels, frames, bins)``,
contiguous along the FFT axis; the public :meth:`Stft.forward` and :meth:`Stft.inverse`
use librosa's ``(..., bins, frames)``.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import threading
import time
from collections.abc import Callable

import numpy as np

from ..errors import ParameterError
from ..params import frame_count
from ..windows import get_window, window_lambda
from .jit import compiled_active, kernel

__all__ = ["Stft", "get_window", "DEFAULT_WORKERS", "window_lambda"]

#: Threads ``scipy.fft`` uses when ``workers=None``.  Measured on a 2-core machine
#: (``bench/phase.py``): see docs/benchmarks.md (FFT threads).  ``SPEC2IMG_WORKERS``
#: in the environment overrides it.
DEFAULT_WORKERS = 1

#: Samples per block of the streaming transforms: ``block`` frames of ``n_fft``
#: samples for all channels, tuned so that a block's buffers stay in the L2 cache.
BLOCK_SAMPLES = 1 << 17
#: The same under :func:`~spec2img.dsp.jit.numpy_only`, where each block costs a few
#: dozen NumPy calls: one block holds a short decode whole (16 MB of frames at most).
NUMPY_BLOCK_SAMPLES = 1 << 22


#: scipy.fft's own transform module, called with an output buffer (``[module]``, or
#: ``[None]`` where it cannot be), resolved on first use by :func:`_pocketfft`.
_DIRECT: list = []


def _pocketfft():
    """The module under ``scipy.fft.rfft`` and ``irfft``, or None.

    ``scipy.fft`` allocates a fresh output for every call, and an output of a few
    hundred kilobytes comes back from the allocator as fresh pages: measured, 126 page
    faults and 2.5x the CPU time of the same transform written into a kept buffer (64
    frames of 2048, this 2-core machine).  The public functions take no output
    argument, so the streaming transforms call the module they call, with the same
    arguments and a buffer: the same bits.  Its interface is not public, so it is used
    only if it is there and gives exactly what ``scipy.fft`` gives on a small check;
    otherwise the public functions run.
    """
    if not _DIRECT:
        module = None
        try:
            import scipy.fft
            from scipy.fft._pocketfft import pypocketfft as pf

            x = np.sin(np.arange(24, dtype=np.float32)).reshape(2, 12)
            X = np.empty((2, 7), np.complex64)
            y = np.empty((2, 12), np.float32)
            pf.r2c(x, (1,), True, 0, X, 1)
            pf.c2r(X, (1,), 12, False, 2, y, 1)
            same = np.array_equal(X, scipy.fft.rfft(x, axis=-1)) and np.array_equal(
                y, scipy.fft.irfft(X, n=12, axis=-1)
            )
            module = pf if same else None
        except Exception:  # an interface that changed: the public functions
            module = None
        _DIRECT[:] = [module]
    return _DIRECT[0]


def rfft(
    x: np.ndarray, workers: int, *, scaled: bool = False, out: np.ndarray | None = None
) -> np.ndarray:
    """``scipy.fft.rfft`` along the last axis, or NumPy's under ``numpy_only``.

    scipy.fft takes about 0.2 s to import, more than a short decode's transforms.
    NumPy's forward transform is asked for with ``norm="forward"`` and scaled back: with
    the default norm NumPy 2.4 takes five times as long (measured: 216 x 2048 float32,
    5.3 ms against 0.8 ms).  ``scaled``: ``x`` is already ``n`` times too large (NumPy
    only).  ``out``: a complex64 buffer of the result's shape that scipy's transform
    writes into where it can (:func:`_pocketfft`); the result is returned either way.
    """
    if compiled_active():
        pf = _pocketfft() if out is not None and x.dtype == np.float32 else None
        if pf is not None:
            return pf.r2c(x, (x.ndim - 1,), True, 0, out, workers)
        import scipy.fft

        return scipy.fft.rfft(x, axis=-1, workers=workers)
    X = np.fft.rfft(x, axis=-1, norm="forward").astype(np.complex64, copy=False)
    if not scaled:
        X *= np.float32(x.shape[-1])
    return X


def irfft(X: np.ndarray, n: int, workers: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """``scipy.fft.irfft`` of length ``n`` along the last axis, or NumPy's (float32).

    ``out``: a float32 buffer of the result's shape, as :func:`rfft` takes it.
    """
    if compiled_active():
        pf = _pocketfft() if out is not None and X.dtype == np.complex64 else None
        if pf is not None and X.shape[-1] == n // 2 + 1:
            return pf.c2r(X, (X.ndim - 1,), n, False, 2, out, workers)
        import scipy.fft

        y = scipy.fft.irfft(X, n=n, axis=-1, workers=workers)
    else:
        y = np.fft.irfft(X, n=n, axis=-1)
    return y if y.dtype == np.float32 else y.astype(np.float32)


#: Threads of the NumPy-mode projection (:meth:`Stft._project_whole`).
NUMPY_THREADS = min(2, os.cpu_count() or 1)
#: Pieces each pass is cut into, taken in turn by whichever thread is free, so that
#: when the second thread does not get a core in time this one does them all.  Measured
#: (1025 x 216 bins, ms per projection, idle machine): one thread 1.7-1.8, two pieces
#: 1.2-1.5; four pieces were slower than two, idle and with another process busy.
PIECES = 2
#: Below this many items a pass is not worth a second thread.
_MIN_SPLIT = 32
_pool = None
_pool_lock = threading.Lock()


class _ThreadChoice:
    """Whether a projection takes the second thread: chosen by timing both ways.

    A second thread pays where a second core is free: on an idle 2-core machine a
    projection of 1025 x 216 bins took 1.2-1.5 ms instead of 1.7-1.8.  Where it is not
    (the machine busy with other work, two virtual cores that share one physical core,
    several projections at once: the channels of a linked decode), the hand-over costs
    without paying back: measured in one process on this 2-core machine with other work
    running (load average 5), a 5-s decode took 12% more CPU time on two threads and 23%
    more wall time.  No core count or load average tells the cases apart, so this times
    them: the first projections alternate between one and two threads (after one that
    warms the buffers up), then the faster way runs, and every :data:`RECHECK`-th
    projection tries the other way again, as the machine's load changes.  The result
    is the same bits either way (:func:`_shared`), so the choice only moves the time.
    """

    #: Projections between two tries of the way not taken.
    RECHECK = 16
    #: Timings kept per way (the fastest of them counts: noise only ever adds time).
    KEEP = 3

    def __init__(self) -> None:
        self.calls = 0
        self.times: dict[int, list[float]] = {1: [], 2: []}
        self.lock = threading.Lock()

    def pick(self) -> tuple[int, int]:
        """``(call number, threads)`` for the next projection."""
        with self.lock:
            k = self.calls
            self.calls += 1
            if k == 0 or not all(self.times.values()):
                return k, 2 if k % 2 == 0 else 1  # warm-up, then alternate until both timed
            best = self.best()
            if k % self.RECHECK == 0:
                return k, 3 - best
            return k, best

    def best(self) -> int:
        t1, t2 = min(self.times[1]), min(self.times[2])
        return 2 if t2 < t1 else 1

    def record(self, k: int, threads: int, seconds: float) -> None:
        """The time of projection ``k`` (per unit of its work)."""
        if k == 0:  # the first projection pays for the buffers' page faults
            return
        with self.lock:
            kept = self.times[threads]
            kept.append(seconds)
            del kept[: -self.KEEP]


THREAD_CHOICE = _ThreadChoice()


def _shared(fn: Callable[[int, int], None], n: int, threads: int = 2) -> None:
    """``fn(a, b)`` over consecutive pieces of ``range(n)``, on this thread and, with
    ``threads=2``, a second one.  The pieces and their order of writing do not depend
    on the threads (each writes elements no other does): the same bits either way."""
    global _pool
    if NUMPY_THREADS < 2 or n < _MIN_SPLIT:
        fn(0, n)
        return
    edges = [n * i // PIECES for i in range(PIECES + 1)]
    if threads < 2:
        for i in range(PIECES):
            fn(edges[i], edges[i + 1])
        return
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(1, thread_name_prefix="spec2img-fft")
    turn = itertools.count()  # next() on it is atomic: each piece is taken once

    def work():
        while (i := next(turn)) < PIECES:
            fn(edges[i], edges[i + 1])

    # in the caller's context: the pool's thread would otherwise not be in NumPy mode
    other = _pool.submit(contextvars.copy_context().run, work)
    try:
        work()
    finally:
        if not other.cancel():  # it started: wait for the piece it holds
            other.result()


def _default_workers() -> int:
    raw = os.environ.get("SPEC2IMG_WORKERS", "")
    if raw.strip():
        try:
            value = int(raw)
        except ValueError:
            raise ParameterError(f"SPEC2IMG_WORKERS must be an integer, not {raw!r}") from None
        if value < 1:
            raise ParameterError(f"SPEC2IMG_WORKERS must be >= 1, not {value}")
        return value
    return DEFAULT_WORKERS


# --------------------------------------------------------------------------- kernels


#: The last gain slice computed, with the gain tuple it came from (kept alive, so that
#: its id cannot be reused): under numpy_only one block spans the signal, and every
#: iteration asks for the same slice.
_last_slice: list = [None, None]


def _gain_slice(gain, p0, p1):
    """Gains of padded samples ``p0:p1`` from the compact form (NumPy)."""
    key, cached = _last_slice
    if key is not None and key[0] is gain and key[1:] == (p0, p1):
        return cached
    g = _gain_slice_of(gain, p0, p1)
    _last_slice[:] = [(gain, p0, p1), g]
    return g


def _gain_slice_of(gain, p0, p1):
    head, per, tail, h1, t1, total, v0, v1 = gain
    p = np.arange(p0, p1)
    g = per[p % per.size]
    g = np.where(p < h1, head[np.clip(p, 0, max(h1 - 1, 0))] if h1 else g, g)
    g = np.where(p >= t1, tail[np.clip(p - t1, 0, max(tail.size - 1, 0))] if tail.size else g, g)
    keep = (p >= max(v0, 0)) & (p < min(v1, total))
    return np.where(keep, g, 0).astype(np.float32)


def _ola_frame_np(fin, w, acc, off_in, gain, base, lo, hi, fout, off_out, hop):
    """NumPy version of :func:`_ola_frame`."""
    n_ch, n_in, n_fft = fin.shape
    if n_in:
        n_chunks = -(-n_fft // hop)
        span = n_chunks * hop
        if span == n_fft:
            fw = fin * w
        else:
            fw = np.zeros((n_ch, n_in, span), np.float32)
            np.multiply(fin, w, out=fw[..., :n_fft])
        chunks = fw.reshape(n_ch, n_in, n_chunks, hop)
        for r in range(n_chunks):
            start = off_in + r * hop
            acc[:, start : start + n_in * hop] += chunks[:, :, r, :].reshape(n_ch, n_in * hop)
    if hi > lo:
        acc[:, lo:hi] *= _gain_slice(gain, base + lo, base + hi)
    n_out = fout.shape[1]
    if n_out:
        view = np.lib.stride_tricks.sliding_window_view(acc[:, off_out:], n_fft, axis=-1)
        np.multiply(view[:, : (n_out - 1) * hop + 1 : hop], w, out=fout)


@kernel(fallback=_ola_frame_np)
def _ola_frame(fin, w, acc, off_in, gain, base, lo, hi, fout, off_out, hop):
    """One streaming step: overlap-add windowed frames, normalise, cut windowed frames.

    ``acc[c, off_in + b*hop + k] += fin[c, b, k] * w[k]``; then ``acc[c, lo:hi]`` is
    multiplied by the gains of padded samples ``base + lo : base + hi`` (see
    :meth:`Stft._gain`); then ``fout[c, b, k] = acc[c, off_out + b*hop + k] * w[k]``.
    (One-dimensional slices in the inner loops let the compiler vectorise them.)
    """
    head, per, tail, h1, t1, total, v0, v1 = gain
    n_ch, n_in, n_fft = fin.shape
    n_out = fout.shape[1]
    keep0, keep1 = max(v0, 0, base + lo), min(v1, total, base + hi)
    for c in range(n_ch):
        row = acc[c]
        for b in range(n_in):
            dst = row[off_in + b * hop : off_in + b * hop + n_fft]
            src = fin[c, b]
            for k in range(n_fft):
                dst[k] += src[k] * w[k]
        # row[j] is padded sample base + j: zero outside the kept samples, else scale
        for j in range(lo, hi):
            if base + j >= keep0:
                break
            row[j] = 0.0
        for j in range(max(lo, keep1 - base), hi):
            row[j] = 0.0
        if keep1 > keep0:
            for p in range(keep0, min(keep1, h1)):
                row[p - base] *= head[p]
            p = max(keep0, h1)
            stop = min(keep1, t1)
            r = p % hop
            while p < stop:
                n = min(hop - r, stop - p)
                dst = row[p - base : p - base + n]
                src = per[r : r + n]
                for q in range(n):
                    dst[q] *= src[q]
                p += n
                r = 0
            for p in range(max(keep0, t1), keep1):
                row[p - base] *= tail[p - t1]
        for b in range(n_out):
            src = row[off_out + b * hop : off_out + b * hop + n_fft]
            dst = fout[c, b]
            for k in range(n_fft):
                dst[k] = src[k] * w[k]


# --------------------------------------------------------------------------- engine


class Stft:
    """A reusable STFT/iSTFT pair for one set of framing parameters.

    The window and the window-sum-square normalisation are computed once, and the
    transforms stream over blocks of frames, so that an iterative phase-retrieval loop
    pays little more than its FFTs.

    Parameters
    ----------
    n_fft : int > 0
    hop_length : int > 0
    win_length : int <= n_fft or None
    window : str
    center : bool
    workers : int > 0 or None
        Threads for ``scipy.fft``; ``None`` means :data:`DEFAULT_WORKERS` (or the
        ``SPEC2IMG_WORKERS`` environment variable).
    block : int > 0 or None
        Frames per streaming block; ``None`` means :data:`BLOCK_SAMPLES` samples
        (all channels) per block.
    wss_floor : float in [0, 1)
        The inverse divides by the window-sum-square envelope, floored at this
        fraction of its maximum.  0 (librosa's behaviour) divides everywhere it is
        non-zero; low-overlap framings, whose envelope nearly vanishes between
        frames, need a floor such as 0.1 so that those samples are not blown up.
    """

    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        win_length: int | None = None,
        window: str = "hann",
        center: bool = True,
        *,
        workers: int | None = None,
        block: int | None = None,
        wss_floor: float = 0.0,
    ) -> None:
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.win_length = self.n_fft if win_length is None else int(win_length)
        if self.n_fft < 1 or self.hop_length < 1 or not 1 <= self.win_length <= self.n_fft:
            raise ParameterError(
                f"bad framing n_fft={n_fft}, hop_length={hop_length}, win_length={win_length}"
            )
        #: The window as given: a name, or an array of samples.
        self.window_spec = window
        self.window_name = window if isinstance(window, str) else "custom"
        self.center = bool(center)
        self.workers = _default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise ParameterError(f"workers must be >= 1, not {workers!r}")
        if block is not None and int(block) < 1:
            raise ParameterError(f"block must be >= 1, not {block!r}")
        self._block = None if block is None else int(block)
        self.window = get_window(window, self.win_length, self.n_fft).astype(np.float32)
        if not 0.0 <= wss_floor < 1.0:
            raise ParameterError(f"wss_floor must be in [0, 1), not {wss_floor!r}")
        self.wss_floor = float(wss_floor)
        self.n_bins = self.n_fft // 2 + 1
        # Frames after frame t that still overlap it.
        self._k = -(-self.n_fft // self.hop_length) - 1
        self._gain_cache: dict[tuple[int, int, float], tuple] = {}
        self._held: tuple | None = None  # (key, buffers) of _project_whole
        self._held_lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # scratch buffers and their lock: neither picklable nor worth sending
        state["_held"], state["_held_lock"] = None, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._held_lock = threading.Lock()

    def block_frames(self, n_channels: int = 1) -> int:
        """Frames per streaming block for ``n_channels`` channels."""
        if self._block is not None:
            return self._block
        samples = BLOCK_SAMPLES if compiled_active() else NUMPY_BLOCK_SAMPLES
        return max(4, samples // (n_channels * self.n_fft))

    @classmethod
    def from_params(cls, params, *, workers: int | None = None) -> Stft:
        """Build from a :class:`~spec2img.params.SpecParams`."""
        return cls(
            params.n_fft, params.hop_length, params.win_length, params.window,
            params.center, workers=workers,
        )  # fmt: skip

    def n_frames(self, n_samples: int) -> int:
        """Frames :meth:`forward` returns for ``n_samples`` samples."""
        return frame_count(n_samples, self.n_fft, self.hop_length, self.center)

    def signal_length(self, n_frames: int) -> int:
        """Samples :meth:`inverse` returns for ``n_frames`` frames when ``length=None``."""
        n = self.n_fft + self.hop_length * (n_frames - 1)
        return n - 2 * (self.n_fft // 2) if self.center else n

    # ------------------------------------------------------------------ public API

    def forward(self, y: np.ndarray) -> np.ndarray:
        """STFT of ``y``.

        Parameters
        ----------
        y : np.ndarray [shape=(..., n)]

        Returns
        -------
        np.ndarray [shape=(..., n_fft // 2 + 1, t), dtype=complex64]
        """
        y = np.asarray(y, dtype=np.float32)
        lead = y.shape[:-1]
        y = y.reshape(int(np.prod(lead)), y.shape[-1])  # -1 is ambiguous when n is 0
        n_frames = self._check_length(y.shape[-1])
        out = np.empty((y.shape[0], self.n_bins, n_frames), np.complex64)
        for a, b, spec in self.forward_blocks(y):
            out[:, :, a:b] = spec.transpose(0, 2, 1)
        return out.reshape(*lead, self.n_bins, n_frames)

    def forward_blocks(self, y: np.ndarray):
        """The STFT of ``y`` [shape=(channels, n)], block of frames by block of frames.

        Yields
        ------
        t0, t1 : int
            The block's frames.
        spec : np.ndarray [shape=(channels, t1 - t0, n_fft // 2 + 1), dtype=complex64]
            Valid until the next block is requested.

        Neither the padded signal nor the whole spectrogram is ever held, so a reduction
        over the STFT (an energy, say) costs a block of memory, not a spectrogram.
        """
        y = np.asarray(y, dtype=np.float32)
        n_fft, hop = self.n_fft, self.hop_length
        n_frames = self._check_length(y.shape[-1])
        pad = n_fft // 2 if self.center else 0
        block = self.block_frames(y.shape[0])
        span = (min(block, n_frames) - 1) * hop + n_fft
        seg = np.zeros((y.shape[0], span), np.float32)
        buf = np.empty((y.shape[0], min(block, n_frames), n_fft), np.float32)
        for a in range(0, n_frames, block):
            b = min(a + block, n_frames)
            # padded samples a*hop .. (b-1)*hop + n_fft, zero beyond the signal's ends
            p0, p1 = a * hop - pad, (b - 1) * hop + n_fft - pad
            lo, hi = max(p0, 0), min(p1, y.shape[-1])
            seg[:, : p1 - p0] = 0.0
            seg[:, lo - p0 : hi - p0] = y[:, lo:hi]
            frames = np.lib.stride_tricks.sliding_window_view(seg[:, : p1 - p0], n_fft, axis=-1)
            np.multiply(frames[:, ::hop], self.window, out=buf[:, : b - a])
            yield a, b, rfft(buf[:, : b - a], self.workers)

    def _check_length(self, n_samples: int) -> int:
        """Frames of an ``n_samples`` signal; an error if it is shorter than a frame."""
        padded = n_samples + (2 * (self.n_fft // 2) if self.center else 0)
        if padded < self.n_fft:
            raise ParameterError(f"signal of {padded} samples is shorter than n_fft={self.n_fft}")
        return self.n_frames(n_samples)

    def inverse(self, spec: np.ndarray, length: int | None = None) -> np.ndarray:
        """Inverse STFT by window-sum-square normalised overlap-add.

        Parameters
        ----------
        spec : np.ndarray [shape=(..., n_fft // 2 + 1, t), complex]
        length : int >= 0 or None
            Output length; the signal is trimmed or zero-padded to it, as in librosa.

        Returns
        -------
        np.ndarray [shape=(..., length), dtype=float32]
        """
        spec = np.asarray(spec)
        self._check_bins(spec.shape[-2])
        lead = spec.shape[:-2]
        X = np.swapaxes(spec, -1, -2).reshape(-1, spec.shape[-1], spec.shape[-2])
        y = self.inverse_tf(X, length)
        return y.reshape(*lead, y.shape[-1])

    # ------------------------------------------------------- (channels, t, bins) API

    def inverse_tf(self, X: np.ndarray, length: int | None = None) -> np.ndarray:
        """Inverse STFT of ``X`` [shape=(channels, t, n_fft // 2 + 1)] -> (channels, n)."""
        n_ch, n_frames, _ = X.shape
        length = self.signal_length(n_frames) if length is None else int(length)
        y = np.zeros((n_ch, length), np.float32)
        v0 = self.n_fft // 2 if self.center else 0
        for base, lo, hi, acc, _ in self._stream(X, length, want_frames=False):
            p0, p1 = max(base + lo, v0), min(base + hi, v0 + length)
            if p1 > p0:
                y[:, p0 - v0 : p1 - v0] = acc[:, p0 - base : p1 - base]
        return y

    def project(
        self,
        X: np.ndarray,
        update: Callable[[np.ndarray, int, int], None],
        length: int | None = None,
    ) -> None:
        """Stream ``STFT(iSTFT(X, length))`` block by block into ``update``.

        Parameters
        ----------
        X : np.ndarray [shape=(channels, t, n_fft // 2 + 1), dtype=complex64]
            Spectrogram to make consistent.
        update : callable(rebuilt, t0, t1)
            Receives the consistent spectrogram of frames ``t0:t1``
            [shape=(channels, t1 - t0, bins)]; it may overwrite ``X[:, t0:t1]``, which
            is no longer needed by the stream.  The array is valid during the call only.
            In NumPy mode it may be called from two threads at once, on disjoint frames.
        length : int or None
            Length of the signal between the transforms, as in :meth:`inverse`.
        """
        n_frames = X.shape[1]
        length = self.signal_length(n_frames) if length is None else int(length)
        if self._whole_in_numpy(X):
            return self._project_whole(X, update, length)
        # NumPy's forward FFT runs with norm="forward" (see rfft): frames cut from a
        # signal n_fft times too loud make up for it at no cost
        scaled = not compiled_active()
        stream = self._stream(X, length, want_frames=True,
                              scale=float(self.n_fft) if scaled else 1.0)  # fmt: skip
        spec = None  # the spectra of a block, one buffer for the whole stream
        for _, _, _, _, (u0, u1, frames) in stream:
            if u1 > u0:
                if spec is None:
                    spec = np.empty((*frames.shape[:1], self._rows(X), self.n_bins), np.complex64)
                out = spec[:, : u1 - u0]
                update(rfft(frames, self.workers, scaled=scaled, out=out), u0, u1)

    # ------------------------------------------------------------------ internals

    def _rows(self, X: np.ndarray) -> int:
        """Most frames one step of :meth:`_stream` hands over for ``X``."""
        return min(self.block_frames(X.shape[0]), max(X.shape[1], 1)) + self._k

    def _whole_in_numpy(self, X: np.ndarray) -> bool:
        """Project ``X`` in one piece on NumPy's FFT (:meth:`_project_whole`)?"""
        return (
            not compiled_active() and self._block is None and self.n_fft % self.hop_length == 0
            and X.shape[0] * X.shape[1] * self.n_fft <= NUMPY_BLOCK_SAMPLES
        )  # fmt: skip

    def _whole_buffers(self, n_ch: int, n_frames: int) -> tuple:
        """Frames, signal (as hops) and spectrum buffers of :meth:`_project_whole`."""
        n_hops = n_frames + self.n_fft // self.hop_length - 1  # hops of the padded signal
        return (
            np.empty((n_ch, n_frames, self.n_fft), np.float32),
            np.empty((n_ch, n_hops, self.hop_length), np.float32),
            np.empty((n_ch, n_frames, self.n_bins), np.complex64),
        )  # fmt: skip

    def _project_whole(self, X, update, length: int) -> None:
        """:meth:`project` of the whole signal at once, in NumPy mode, on two threads.

        Three whole-array passes: inverse FFTs; overlap-add and normalisation; windowing,
        forward FFTs and ``update``.  NumPy's FFTs and array operations release the GIL,
        so the two FFT passes are cut into frame pieces that two threads share
        (:func:`_shared`) where that pays (:data:`THREAD_CHOICE` times both ways); no two
        threads write the same element, so the result is the same, bit for bit, as one
        thread's.  (``n_fft`` must be a multiple of
        ``hop_length``: a frame is then a whole number of hops.)

        The buffers are kept from call to call (fresh 1.8-MB arrays cost their page
        faults at every iteration); a call that finds them in use by another thread
        takes fresh ones, so one engine may project in several threads at once.
        """
        key = X.shape[:2]
        if not self._held_lock.acquire(blocking=False):
            self._project_with(X, update, length, self._whole_buffers(*key))
            return
        try:
            if self._held is None or self._held[0] != key:
                self._held = key, self._whole_buffers(*key)
            self._project_with(X, update, length, self._held[1])
        finally:
            self._held_lock.release()

    def _project_with(self, X, update, length: int, buffers) -> None:
        """The passes of :meth:`_project_whole` on the given buffers."""
        n_ch, n_frames, _ = X.shape
        n_fft, hop, w = self.n_fft, self.hop_length, self.window
        n_chunks = n_fft // hop
        frames, signal, spec = buffers
        n_hops = signal.shape[1]
        # the forward FFT's 1/n_fft (norm="forward") is folded into the gains
        gain = _gain_slice(self._gain(n_frames, length, float(n_fft)), 0, n_hops * hop)
        chunks = frames.reshape(n_ch, n_frames, n_chunks, hop)

        def inverse(t0, t1):  # windowed frames
            np.fft.irfft(X[:, t0:t1], n=n_fft, axis=-1, out=frames[:, t0:t1])
            frames[:, t0:t1] *= w

        def overlap_add(q0, q1):  # hops q0:q1 of the signal, normalised
            out = signal[:, q0:q1]
            out[...] = 0.0
            for r in range(n_chunks):  # hop q holds chunk r of frame q - r
                a, b = max(q0, r), min(q1, n_frames + r)
                if b > a:
                    out[:, a - q0 : b - q0] += chunks[:, a - r : b - r, r]
            out *= gain[q0 * hop : q1 * hop].reshape(q1 - q0, hop)

        flat = signal.reshape(n_ch, n_hops * hop)
        row, item = flat.strides
        cut = np.lib.stride_tricks.as_strided(  # frame t: samples t*hop onward
            flat, (n_ch, n_frames, n_fft), (row, hop * item, item), writeable=False
        )

        def forward(t0, t1):  # windowed frames of the consistent signal, then update
            np.multiply(cut[:, t0:t1], w, out=frames[:, t0:t1])
            np.fft.rfft(frames[:, t0:t1], axis=-1, norm="forward", out=spec[:, t0:t1])
            update(spec[:, t0:t1], t0, t1)

        k, threads = THREAD_CHOICE.pick()
        start = time.perf_counter()
        _shared(inverse, n_frames, threads)
        overlap_add(0, n_hops)  # too short a pass to pay for a second thread (measured)
        _shared(forward, n_frames, threads)
        # per frame sample: projections of other sizes (the editor's) compare fairly
        THREAD_CHOICE.record(
            k, threads, (time.perf_counter() - start) / (X.shape[0] * n_frames * n_fft)
        )

    def _check_bins(self, n_bins: int) -> None:
        if n_bins != self.n_bins:
            raise ParameterError(
                f"spectrogram has {n_bins} frequency bins; n_fft={self.n_fft} needs {self.n_bins}"
            )

    def _gain(self, n_frames: int, length: int, scale: float = 1.0) -> tuple:
        """Inverse window sum square of the padded signal, compactly, 0 outside the kept
        samples ``[v0, v1)``.

        The window sum square is periodic (period ``hop``) except over the first and
        last ``n_fft - hop`` samples, so it is kept as ``(head, per, tail, h1, t1,
        total, v0, v1)``: sample ``p`` has gain ``head[p]`` below ``h1``,
        ``tail[p - t1]`` from ``t1`` on, ``per[p % hop]`` between — a few kilobytes
        however long the signal.  ``scale`` multiplies every gain.
        """
        key = (n_frames, length, scale)
        gain = self._gain_cache.get(key)
        if gain is not None:
            return gain
        n_fft, hop = self.n_fft, self.hop_length
        total = n_fft + hop * (n_frames - 1)
        h1 = min(max(0, n_fft - hop), total)
        t1 = max(h1, min(n_frames * hop, total))
        sq = self.window.astype(np.float64) ** 2
        # Below (float32 eps * the window's peak)^2 the envelope is rounding noise of the
        # window (a periodic Blackman's first sample is -1.4e-17, not 0): dividing by it
        # turned the edge samples of center=False frames into 1e16 spikes.
        noise = (np.finfo(np.float32).eps * float(np.abs(self.window).max())) ** 2
        tiny = max(noise, float(np.finfo(np.float32).tiny))

        r = np.arange(hop)
        per_wss = np.zeros(hop)
        for j in range(self._k + 1):  # every frame overlapping, as far from the ends
            k = r + j * hop
            per_wss[k < n_fft] += sq[k[k < n_fft]]

        def exact(p0, p1):  # window sum square of padded samples p0:p1
            p = np.arange(p0, p1)
            wss = np.zeros(p.size)
            for j in range(self._k + 2):
                t = p // hop - j
                k = p - t * hop
                ok = (t >= 0) & (t < n_frames) & (k < n_fft)
                wss[ok] += sq[k[ok]]
            return wss

        head_wss, tail_wss = exact(0, h1), exact(t1, total)
        floor = 0.0
        if self.wss_floor > 0:
            mid = per_wss if t1 - h1 >= hop else exact(h1, t1)
            peak = max(x.max(initial=0.0) for x in (head_wss, mid, tail_wss))
            floor = self.wss_floor * peak

        def inverse(wss):
            wss = np.maximum(wss, floor).astype(np.float32)
            g = np.where(wss > tiny, 1 / np.where(wss > tiny, wss, 1), 1) * scale
            return g.astype(np.float32)

        v0 = n_fft // 2 if self.center else 0
        gain = (
            inverse(head_wss), inverse(per_wss), inverse(tail_wss),
            h1, t1, total, v0, v0 + length,
        )  # fmt: skip
        if len(self._gain_cache) > 1:
            self._gain_cache.clear()
        self._gain_cache[key] = gain
        return gain

    def _stream(self, X: np.ndarray, length: int, *, want_frames: bool, scale: float = 1.0):
        """Yield ``(base, lo, hi, acc, (t0, t1, frames))`` per block of ``X``'s frames.

        After each step ``acc[:, lo:hi]`` holds finished, normalised samples of the
        padded signal starting at padded sample ``base + lo``; ``frames`` are the
        windowed frames ``t0:t1`` cut from it (when ``want_frames``); ``scale``
        multiplies the samples.
        """
        n_ch, n_frames, n_bins = X.shape
        self._check_bins(n_bins)
        n_fft, hop, k = self.n_fft, self.hop_length, self._k
        block = min(self.block_frames(n_ch), max(n_frames, 1))
        gain = self._gain(n_frames, length, scale)
        w = self.window
        size = (block + k) * hop + n_fft
        acc = np.zeros((n_ch, size), np.float32)
        fout = np.empty((n_ch, block + k if want_frames else 0, n_fft), np.float32)
        empty = fout[:, :0]
        fin_buf = np.empty((n_ch, block, n_fft), np.float32)  # one buffer: see _pocketfft
        front = k * hop
        for a in range(0, n_frames, block):
            b = min(a + block, n_frames)
            last = b == n_frames
            fin = irfft(X[:, a:b], n_fft, self.workers, out=fin_buf[:, : b - a])
            base = (a - k) * hop  # padded sample at acc[:, 0]
            hi = (b - a + k - 1) * hop + n_fft if last else (b - a + k) * hop
            u0, u1 = max(0, a - k), (n_frames if last else b - k)
            frames = fout[:, : max(0, u1 - u0)] if want_frames else empty
            _ola_frame(
                fin, w, acc, front, gain, base, front, hi,
                frames, (u0 - a + k) * hop, hop,
            )  # fmt: skip
            yield base, front, hi, acc, (u0, u1, frames)
            if not last:
                shift = (b - a) * hop
                acc[:, : size - shift] = acc[:, shift:]
                acc[:, size - shift :] = 0.0
