"""Audio mosaicing: rebuild a target recording out of a source's spectral frames.

After Driedger, Prätzlich & Müller, "Let it Bee -- Towards NMF-inspired audio
mosaicing" (ISMIR 2015).  Every frame of the source's magnitude spectrogram, scaled to
unit norm, is a fixed template: ``W`` is the source's spectrogram itself.  Only the
activations ``H`` are learned, by the multiplicative updates of NMF under the
Kullback-Leibler divergence, so that ``W · H`` resembles the target's spectrogram.
The mosaic's frames are therefore non-negative mixtures of the source's frames, placed
in time by the target.

``sparse=K`` keeps the ``K`` strongest activations per target frame (the paper's
"polyphony restriction"): the others are faded out over the iterations and are exactly
zero at the end.  The paper's repetition and continuity restrictions are not applied.
"""

from __future__ import annotations

import os

import numpy as np

from .. import phase as _phase
from ..dsp.spectrum import match_energy
from ..dsp.stft import Stft
from ..errors import InputError, ParameterError, in_file
from ..options import DEFAULT_OUTPUT, AudioOutput, PhaseOptions
from ..params import DEFAULT_N_FFT, DEFAULT_WINDOW, MAX_N_FFT, MIN_N_FFT

__all__ = ["mosaic", "learn_activations", "source_templates", "PHASES"]

#: Where the mosaic's phase comes from.
PHASES = ("target", "retrieve", "source")
#: Source frames x target frames x channels at most (the activations take 4 bytes each).
MAX_ACTIVATIONS = 2**28
_EPS = 1e-12


def source_templates(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm templates from a source magnitude spectrogram ``(n_bins, t)``.

    Returns
    -------
    W : np.ndarray [shape=(n_bins, k)]
        The non-silent frames, each divided by its Euclidean norm.
    keep : np.ndarray [shape=(k,), dtype=intp]
        Which source frames they are (silent frames, below 1e-6 of the loudest, are
        dropped: they cannot build anything).
    """
    S = np.asarray(S, dtype=np.float32)
    norms = np.linalg.norm(S, axis=0)
    keep = np.flatnonzero(norms > 1e-6 * norms.max()) if norms.size and norms.max() > 0 else []
    keep = np.asarray(keep, dtype=np.intp)
    if keep.size == 0:
        raise InputError("the source is silent: it has no frames to build a mosaic from")
    return np.ascontiguousarray(S[:, keep] / norms[keep]), keep


def learn_activations(
    V: np.ndarray,
    W: np.ndarray,
    *,
    n_iter: int = 100,
    sparse: int | None = None,
    seed: int | None = 0,
    progress=None,
) -> np.ndarray:
    """Activations ``H >= 0`` with ``W · H ≈ V`` under the KL divergence, ``W`` fixed.

    Parameters
    ----------
    V : np.ndarray [shape=(..., n_bins, t), non-negative]
        Target magnitude; leading axes (channels) are fitted independently.
    W : np.ndarray [shape=(n_bins, k), non-negative]
        Fixed templates.
    n_iter : int > 0
        Multiplicative updates.
    sparse : int > 0 or None
        Keep only the ``sparse`` largest activations of each frame.
    seed : int or None
        Seed of the random initialisation.
    progress : callable(done, total) or None

    Returns
    -------
    H : np.ndarray [shape=(..., k, t), dtype=float32, non-negative]
    """
    if isinstance(n_iter, bool) or not isinstance(n_iter, int | np.integer) or n_iter < 1:
        raise ParameterError(f"n_iter must be a whole number > 0, not {n_iter!r}")
    k = W.shape[1]
    if sparse is not None:
        if isinstance(sparse, bool) or not isinstance(sparse, int | np.integer) or sparse < 1:
            raise ParameterError(f"sparse must be a whole number > 0, not {sparse!r}")
        sparse = min(int(sparse), k)
    V = np.asarray(V, dtype=np.float32)
    W = np.asarray(W, dtype=np.float32)
    rng = np.random.default_rng(seed)
    H = rng.random((*V.shape[:-2], k, V.shape[-1]), dtype=np.float32) + np.float32(0.5)
    # start at the target's level: each frame's activations sum to its energy ratio
    frame = np.sqrt(np.sum(np.square(V), axis=-2, keepdims=True))
    H *= frame / np.maximum(np.linalg.norm(W @ H, axis=-2, keepdims=True), _EPS)
    denom = np.maximum(W.sum(axis=0), _EPS)[:, None]  # W^T 1
    Wt = np.ascontiguousarray(W.T)
    for i in range(n_iter):
        ratio = V / np.maximum(W @ H, _EPS)
        H *= (Wt @ ratio) / denom
        if sparse is not None and sparse < k:
            H *= _fade_all_but_largest(H, sparse, 1.0 - (i + 1) / n_iter)
        if progress is not None:
            progress(i + 1, n_iter)
    return H


def _fade_all_but_largest(H: np.ndarray, n: int, factor: float) -> np.ndarray:
    """Multiplier that keeps the ``n`` largest entries of each column and scales the rest."""
    idx = np.argpartition(-H, n - 1, axis=-2)[..., :n, :]
    mult = np.full(H.shape, np.float32(factor), np.float32)
    np.put_along_axis(mult, idx, np.float32(1.0), axis=-2)
    return mult


def mosaic(
    source: np.ndarray,
    target: np.ndarray,
    sr: int,
    *,
    n_fft: int = DEFAULT_N_FFT,
    hop_length: int | None = None,
    window: str = DEFAULT_WINDOW,
    n_iter: int = 100,
    sparse: int | None = None,
    phase: str = "target",
    seed: int | None = 0,
    phase_iter: int | None = None,
    workers: int | None = None,
    progress=None,
    method: str | None = None,
    momentum: float | None = None,
) -> np.ndarray:
    """Rebuild ``target`` from the spectral frames of ``source``.

    Parameters
    ----------
    source : np.ndarray [shape=(n,) or (channels, n)]
        Audio whose frames are the building blocks (downmixed to mono).
    target : np.ndarray [shape=(m,) or (channels, m)]
        Audio to imitate; each of its channels gets its own activations.
    sr : int > 0
        Sampling rate of both.
    n_fft, hop_length, window
        STFT framing (librosa's names; ``hop_length=None`` means ``n_fft // 4``).
    n_iter : int > 0
        Multiplicative updates of the activations.
    sparse : int > 0 or None
        Keep the ``sparse`` strongest activations per target frame.
    phase : {"target", "retrieve", "source"}
        ``"target"``: the target's phase on the mosaic's magnitude (keeps its
        timing crisp); ``"retrieve"``: phase retrieval from the magnitude alone;
        ``"source"``: the activations applied to the source's complex frames, as in
        the paper (keeps the source's timbre best).
    seed : int or None
        Seed of the activations' (and phase retrieval's) random start.
    phase_iter : int >= 0 or None
        Phase retrieval iterations for ``phase="retrieve"`` (default: the method's).
    workers : int or None
        FFT and BLAS threads; ``None`` means 1.
    progress : callable(done, total) or None
        Called as the activations are learned.
    method, momentum : str, float or None
        Phase retrieval for ``phase="retrieve"`` (defaults as :func:`spec2img.decode`).

    Returns
    -------
    y : np.ndarray [shape of ``target``, dtype=float32]
        Exactly as long as the target, at the level of ``W · H``.

    Notes
    -----
    Each update costs two products of ``n_bins x source frames x target frames``: a
    30-s source and a 3-min target at 44.1 kHz with the default framing took 4 s per
    update on one core of the test machine (under load).  Shorten the source, or raise
    ``hop_length``.
    """
    if phase not in PHASES:
        raise ParameterError(f"phase must be one of {list(PHASES)}, not {phase!r}")
    mono_out = np.ndim(target) == 1
    source = _as_audio(source, "source")
    target = _as_audio(target, "target")
    if isinstance(n_fft, bool) or not isinstance(n_fft, int | np.integer):
        raise ParameterError(f"n_fft must be a whole number, not {n_fft!r}")
    if not MIN_N_FFT <= n_fft <= MAX_N_FFT:
        raise ParameterError(f"n_fft={n_fft} is out of range [{MIN_N_FFT}, {MAX_N_FFT}]")
    hop = n_fft // 4 if hop_length is None else hop_length
    if isinstance(hop, bool) or not isinstance(hop, int | np.integer) or not 0 < hop <= n_fft:
        raise ParameterError(f"hop_length must be a whole number in [1, n_fft], not {hop!r}")
    engine = Stft(n_fft, int(hop), n_fft, window, center=True, workers=workers)
    for name, y in (("source", source), ("target", target)):
        if y.shape[-1] < n_fft:
            raise InputError(
                f"{name} of {y.shape[-1]} samples is shorter than one frame (n_fft={n_fft})"
            )
    Xs = engine.forward(source.mean(axis=0))
    W, keep = source_templates(np.abs(Xs))
    Xt = engine.forward(target)
    cells = W.shape[1] * Xt.shape[-1] * Xt.shape[0]
    if cells > MAX_ACTIVATIONS:
        raise ParameterError(
            f"{W.shape[1]} source frames x {Xt.shape[-1]} target frames x {Xt.shape[0]} "
            f"channel(s) is {cells} activations, more than {MAX_ACTIVATIONS}: use a shorter "
            "source or a larger hop_length"
        )
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    with threadpool_limits(limits=workers or 1, user_api="blas"):
        H = learn_activations(
            np.abs(Xt), W, n_iter=n_iter, sparse=sparse, seed=seed, progress=progress
        )
    V = np.matmul(W, H).astype(np.float32)
    n = target.shape[-1]
    if phase == "target":
        unit = Xt / np.maximum(np.abs(Xt), 1e-30)
        unit[np.abs(Xt) == 0] = 1.0
        y = engine.inverse((V * unit).astype(np.complex64), n)
    elif phase == "source":
        Ws = Xs[:, keep] / np.linalg.norm(np.abs(Xs[:, keep]), axis=0)
        y = engine.inverse(np.matmul(Ws.astype(np.complex64), H.astype(np.complex64)), n)
    else:
        options = PhaseOptions.of(method, phase_iter, seed, momentum)
        y = _phase.retrieve(V, engine, options, length=n)
    y = match_energy(y, np.sum(np.square(V, dtype=np.float64), axis=(-2, -1)), engine)
    return y[0] if mono_out else y


def mosaic_files(
    source: str | os.PathLike,
    target: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    output: AudioOutput = DEFAULT_OUTPUT,
    overwrite: bool = True,
    **options,
) -> tuple[np.ndarray, int]:
    """Read ``source`` and ``target`` audio, mosaic them, write ``dst`` atomically.

    The source is resampled to the target's rate.  ``options`` are those of
    :func:`mosaic`; ``output`` how the audio is written (its ``subtype`` and
    ``normalize``); ``overwrite=False`` refuses an existing ``dst`` before any work.
    """
    from ..io.atomic import check_output
    from ..io.audio import load_audio, output_format, save_audio

    output_format(dst, output.subtype)
    check_output(dst, [source, target], overwrite=overwrite)
    y_t, sr = load_audio(target)
    y_s, _ = load_audio(source, sr=sr, mono=True)
    try:
        y = mosaic(y_s, y_t, sr, **options)
    except InputError as e:
        about_source = str(e).startswith(("source", "the source"))
        raise in_file(source if about_source else target, e) from None
    save_audio(dst, y, sr, subtype=output.subtype, normalize=output.normalize,
               inputs=[source, target], overwrite=overwrite)  # fmt: skip
    return y, sr


def _as_audio(y, name: str) -> np.ndarray:
    from ..io.audio import as_audio  # integer PCM and (n, channels) as everywhere

    y = as_audio(y, name=name)
    if not np.all(np.isfinite(y)):
        raise InputError(f"{name} has NaN or infinite samples")
    return y
