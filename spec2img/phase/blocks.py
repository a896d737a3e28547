"""Blockwise phase retrieval: long spectrograms in bounded memory.

Iterative phase retrieval keeps several complex copies of the whole spectrogram alive,
about a dozen times the size of the magnitude.  For a long recording that is too much,
so the frames are cut into blocks that overlap by a few dozen frames and each block is
reconstructed on its own:

- the phase of a block's first frames starts from the previous block's result (the
  STFT of its audio there), so the two blocks agree where they meet, and
- the blocks' audio is crossfaded (sine-squared, amplitude-complementary) in the middle
  of each overlap, away from both blocks' edges, where a block's missing context shows.

Only the current block and the output signal are held at once; the magnitude itself
is asked for block by block through a ``source(t0, t1)`` callable, so a caller can
produce it lazily from 16-bit pixels or from several segment images.  Each block draws
its random initial phase from ``(seed, block index)``: the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import phase
from ..dsp.jit import deciding
from ..dsp.spectrum import block_frames_for, frames
from ..dsp.stft import Stft
from ..errors import ParameterError
from ..options import DEFAULT_PHASE, PhaseOptions
from ..params import BLOCK_CELLS
from . import pghi, stereo

#: :func:`spec2img.pipeline.decode` goes blockwise when the magnitude has more cells.
BLOCKWISE_CELLS = 2**24

__all__ = ["BLOCK_CELLS", "BLOCKWISE_CELLS", "block_frames_for", "frames", "plan", "reconstruct"]

Source = Callable[[int, int], np.ndarray]


def overlap_frames_for(n_fft: int, hop_length: int) -> int:
    """Default overlap between blocks: 24 windows' worth of frames, at least 32.

    Each block's reconstruction is weakest near its edges; with 8 windows of overlap the
    seams of PGHI-started blocks measured 5-10 dB worse than the rest, with 24 they
    match it (on blocks of thousands of frames this costs about 1% more work).
    """
    return max(32, -(-24 * n_fft // hop_length))


def plan(n_frames: int, block_frames: int, overlap_frames: int) -> list[tuple[int, int]]:
    """Split ``n_frames`` frames into overlapping blocks ``[(t0, t1), ...]`` of near-equal size.

    Consecutive blocks share exactly ``overlap_frames`` frames (the last block may
    share more); one block if everything fits.
    """
    if overlap_frames < 1 or block_frames <= 2 * overlap_frames:
        raise ParameterError(
            f"block_frames={block_frames} must exceed twice overlap_frames={overlap_frames} >= 1"
        )
    if n_frames <= block_frames:
        return [(0, n_frames)]
    n_blocks = -(-(n_frames - overlap_frames) // (block_frames - overlap_frames))
    step = -(-(n_frames - overlap_frames) // n_blocks)
    return [(k * step, min(k * step + step + overlap_frames, n_frames)) for k in range(n_blocks)]


def _block_length(t0: int, t1: int, n_frames: int, length: int, engine: Stft) -> int:
    """Samples of the signal whose STFT is frames ``[t0, t1)`` of the whole."""
    if t1 == n_frames:
        return length - t0 * engine.hop_length
    return (t1 - t0 - 1) * engine.hop_length + (0 if engine.center else engine.n_fft)


def _ramp(n: int) -> np.ndarray:
    """Rising sine-squared ramp of ``n`` samples; ``1 - ramp`` is the falling one."""
    x = (np.arange(n, dtype=np.float64) + 0.5) / n
    return np.sin(0.5 * np.pi * x).astype(np.float32) ** 2


def reconstruct(
    source: Source,
    engine: Stft,
    *,
    n_frames: int,
    length: int,
    channels: int,
    block_frames: int | None = None,
    overlap_frames: int | None = None,
    options: PhaseOptions = DEFAULT_PHASE,
    init: np.ndarray | None = None,
    finish: Callable[[np.ndarray, int, int], np.ndarray] | None = None,
    progress: phase.Progress | None = None,
) -> np.ndarray:
    """Audio from a long magnitude, reconstructed block by block.

    Parameters
    ----------
    source : callable(t0, t1) -> np.ndarray [shape=(channels, n_fft // 2 + 1, t1 - t0)]
        Linear STFT magnitude of frames ``[t0, t1)``.
    engine : Stft
        Framing of the magnitude.
    n_frames : int > 0
        Frames of the whole magnitude.
    length : int >= 0
        Samples per channel of the output.
    channels : int > 0
    block_frames, overlap_frames : int or None
        Block length and overlap in frames; ``None``: :func:`block_frames_for` and
        :func:`overlap_frames_for`.
    options : PhaseOptions
        Method, iterations, method options and seed; block ``k`` draws its initial
        phase from ``numpy.random.default_rng([seed, k])``.
    init : np.ndarray [shape=(channels, n_fft // 2 + 1, n_frames)] or None
        Initial phase of every frame (radians or unit complex); overrides both the
        random start and the phase carried over from the previous block.
    finish : callable(y, t0, t1) -> np.ndarray or None
        Applied to each block's audio before crossfading (level matching).
    progress : callable(done, total) or None
        Called with iterations done over all blocks.

    Returns
    -------
    np.ndarray [shape=(channels, length), dtype=float32]
    """
    # one decision for all blocks, from the whole work (see spec2img.dsp.jit.deciding)
    with deciding(float(channels) * engine.n_bins * n_frames * (options.n_iter + 1)):
        return _reconstruct(source, engine, n_frames, length, channels, block_frames,
                            overlap_frames, options, init, finish, progress)  # fmt: skip


def _reconstruct(source, engine, n_frames, length, channels, block_frames, overlap_frames,
                 options, init, finish, progress) -> np.ndarray:  # fmt: skip
    block_frames = block_frames or block_frames_for(channels, engine.n_bins)
    if not overlap_frames:  # the default, but never more than a third of a block
        overlap_frames = min(overlap_frames_for(engine.n_fft, engine.hop_length),
                             max(1, block_frames // 3))  # fmt: skip
    method, n_iter, seed = options.method, options.n_iter, options.seed
    started = replace(options, seed=None)  # every block is handed its start phase
    blocks = plan(n_frames, block_frames, overlap_frames)
    hop = engine.hop_length
    edge = -(-engine.n_fft // (2 * hop))  # frames whose window crosses a block's edge
    out = np.zeros((channels, length), np.float32)
    carried: np.ndarray | None = None  # unit phase of the next block's first frames
    tail: np.ndarray | None = None  # the previous block's audio where this one starts
    total = len(blocks) * n_iter
    for k, (t0, t1) in enumerate(blocks):
        S = np.asarray(source(t0, t1), dtype=np.float32)
        if S.shape != (channels, engine.n_bins, t1 - t0):
            raise ParameterError(
                f"source gave shape {S.shape} for frames {t0}:{t1}, expected "
                f"{(channels, engine.n_bins, t1 - t0)}"
            )
        n = _block_length(t0, t1, n_frames, length, engine)
        if init is not None:
            start = init[..., t0:t1]
        else:
            start = _start_phase(S, engine, method, _seed(seed, k), n, carried)
        y = phase.retrieve(
            S, engine, started, init=start, length=n, link=True,
            progress=None if progress is None else _offset(progress, k * n_iter, total),
        )  # fmt: skip
        del S, start
        if finish is not None:
            y = finish(y, t0, t1)
        y = np.array(y, dtype=np.float32, copy=True)
        offset = t0 * hop
        head = 0
        if tail is not None:  # crossfade from the previous block into this one
            head = tail.shape[-1]
            y *= _polarity(tail, y[..., :head], engine.n_fft)[:, None]
            out[..., offset : offset + head] = crossfade(tail, y[..., :head], engine.n_fft)
        carried = tail = None
        if k + 1 < len(blocks):
            nt0 = blocks[k + 1][0]
            keep = t1 - edge - nt0  # shared frames clear of this block's end
            if keep > 0:
                X = frames(y, engine, nt0 - t0, nt0 - t0 + keep)
                carried = X / np.maximum(np.abs(X), np.float32(1e-30))
            cut = nt0 * hop - offset
            out[..., offset + head : offset + cut] = y[..., head:cut]
            tail = y[..., cut:].copy()
        else:
            out[..., offset + head : offset + n] = y[..., head:]
        del y
    return out


def _start_phase(S: np.ndarray, engine, method: str, seed: int, n: int,
                 carried: np.ndarray | None) -> np.ndarray:  # fmt: skip
    """The start phase ``method`` would use on its own for this block's magnitude, with
    the ``carried`` unit phase of its first frames (the previous block's) over it.

    Blocks after the first are handed a start phase (so that their overlap continues
    the previous block), which replaces a method's own start: PGHI's for the PGHI
    methods, whose head start over a random phase is most of their quality.  So the
    block's own start is made here: PGHI integrated onward from the last carried frame
    (so that the two agree where they meet), made consistent by one projection.
    Several channels get the linked start of a whole decode
    (:func:`spec2img.phase.stereo.start`, each channel's PGHI and the mean magnitude's
    blended bin by bin), and the block is iterated linked.
    """
    c = 0 if carried is None else carried.shape[-1]
    pghi_start = phase.METHODS[method].start == "pghi"
    if S.shape[0] > 1:  # linked channels (spec2img.phase.stereo), as a whole decode has
        Si = np.ascontiguousarray(np.swapaxes(S, -1, -2))
        first = np.angle(np.swapaxes(carried, -1, -2)[:, c - 1]) if c else None
        part = Si[:, c - 1 :] if c else Si
        U = stereo.start(part, engine, stereo.weights(part), seed=_int_seed(seed),
                         pghi_start=pghi_start, first=first)  # fmt: skip
        if pghi_start:  # made consistent by one projection, as below
            Xi = np.empty(Si.shape, np.complex64)
            Xi[:, c - 1 if c else 0 :] = U * part
            if c:
                Xi[:, :c] = np.swapaxes(carried, -1, -2) * Si[:, :c]
            y0 = engine.inverse_tf(Xi, n)
            X = frames(y0, engine, 0, S.shape[-1]).reshape(S.shape)
            start = (X / np.maximum(np.abs(X), np.float32(1e-30))).astype(np.complex64)
        else:
            start = np.empty(S.shape, np.complex64)
            start[..., c - 1 if c else 0 :] = np.swapaxes(U, -1, -2)
    elif pghi_start:
        Si = np.ascontiguousarray(np.swapaxes(S.reshape(-1, *S.shape[-2:]), -1, -2))
        rng = np.random.default_rng(seed)
        if c:
            Ci = np.swapaxes(carried.reshape(Si.shape[0], Si.shape[2], c), -1, -2)
            Xi = np.empty(Si.shape, np.complex64)
            pghi.pghi_phase(Si[:, c - 1 :], engine, rng=rng, out=Xi[:, c - 1 :],
                            first=np.angle(Ci[:, -1]))  # fmt: skip
            Xi[:, : c - 1] = Ci[:, : c - 1] * Si[:, : c - 1]
        else:
            Xi = pghi.pghi_phase(Si, engine, rng=rng)
        y0 = engine.inverse_tf(Xi, n)
        X = frames(y0, engine, 0, S.shape[-1]).reshape(S.shape)
        start = (X / np.maximum(np.abs(X), np.float32(1e-30))).astype(np.complex64)
    else:
        start = phase.random_phase(S.shape, np.random.default_rng(seed))
    if c:
        start[..., :c] = carried
    return start


def _int_seed(seed) -> int | None:
    """One integer from a block's ``[seed, k]`` (for :func:`spec2img.phase.channels.channel_rng`)."""
    if seed is None:
        return None
    return int(np.random.SeedSequence(seed).generate_state(1)[0])


def _polarity(a: np.ndarray, b: np.ndarray, margin: int) -> np.ndarray:
    """+1 or -1 per channel: the sign that makes ``b`` agree with ``a`` (a real signal's
    magnitude does not fix its sign, so two reconstructions may disagree in it)."""
    inner = slice(margin, max(margin + 1, a.shape[-1] - margin))
    dot = np.sum(a[..., inner].astype(np.float64) * b[..., inner], axis=-1)
    return np.where(dot < 0, -1.0, 1.0).astype(np.float32)


def crossfade(a: np.ndarray, b: np.ndarray, margin: int) -> np.ndarray:
    """Join two reconstructions of the same samples: ``a`` before, ``b`` after.

    The fade (``margin`` samples long, at least) is placed, away from both ends, where
    ``a`` and ``b`` agree best (highest normalised correlation), and its gains follow
    that correlation ``c``: an amplitude crossfade when ``c = 1``, a power crossfade
    when ``c = 0``, so the level holds through the seam either way.

    Parameters
    ----------
    a, b : np.ndarray [shape=(channels, n)]
    margin : int > 0
        Samples kept clear of each end (a block's edge is less reliable).

    Returns
    -------
    np.ndarray [shape=(channels, n), dtype=float32]
    """
    n = a.shape[-1]
    margin = min(margin, n // 4)
    fade = max(1, min(margin, n - 2 * margin))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)

    def window_sums(x: np.ndarray) -> np.ndarray:  # sums over every [p, p + fade)
        c = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(x, axis=-1)], axis=-1)
        return c[..., fade:] - c[..., :-fade]

    ab, aa, bb = (window_sums(x)[..., margin : n - margin - fade + 1]
                  for x in (a64 * b64, a64 * a64, b64 * b64))  # fmt: skip
    corr = ab / np.sqrt(np.maximum(aa * bb, 1e-30))
    p = margin + int(np.argmax(np.sum(corr, axis=0)))
    c = np.clip(corr[:, p - margin], 0.0, 1.0)[:, None]
    x = _ramp(fade)[None, :].astype(np.float64)
    norm = np.sqrt((1 - x) ** 2 + x**2 + 2 * c * x * (1 - x))
    out = np.empty_like(a, dtype=np.float32)
    out[..., :p] = a[..., :p]
    out[..., p : p + fade] = ((1 - x) / norm) * a64[..., p : p + fade] + (x / norm) * b64[
        ..., p : p + fade
    ]
    out[..., p + fade :] = b[..., p + fade :]
    return out


def _seed(seed: int | None, k: int):
    return None if seed is None else [int(seed), k]


def _offset(progress, done: int, total: int):
    return lambda i, _n: progress(done + i, total)
