"""Spectra of signals in bounded memory: a frame range's STFT, the magnitude on an
image's scale, and the one level matcher every decoder uses.

Phase retrieval from an inconsistent magnitude loses energy where phases disagree;
matching each channel's spectral energy to the target's (Parseval) restores the
original level, also after edits.  Every decoder (images, arrays, scipy spectrograms,
mosaics) compares in its target's own terms through :func:`match_energy`.
"""

from __future__ import annotations

import numpy as np

from ..params import BLOCK_CELLS, SpecParams
from . import scale as _scale
from .stft import Stft


def block_frames_for(channels: int, n_bins: int) -> int:
    """Frames per block for ``channels`` x ``n_bins`` rows (at least 256)."""
    return max(256, BLOCK_CELLS // max(1, channels * n_bins))


def frames(y: np.ndarray, engine: Stft, t0: int, t1: int) -> np.ndarray:
    """``engine.forward(y)[..., t0:t1]`` without transforming the other frames.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n)]
    engine : Stft
    t0, t1 : int, 0 <= t0 < t1

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, t1 - t0), dtype=complex64]
    """
    n_fft, hop = engine.n_fft, engine.hop_length
    start = t0 * hop - (n_fft // 2 if engine.center else 0)
    stop = (t1 - 1) * hop + n_fft + start - t0 * hop
    lo, hi = max(start, 0), min(stop, y.shape[-1])
    piece = np.zeros((*y.shape[:-1], stop - start), np.float32)
    if hi > lo:
        piece[..., lo - start : hi - start] = y[..., lo:hi]
    plain = Stft(n_fft, hop, engine.win_length, engine.window_name, center=False,
                 workers=engine.workers)  # fmt: skip
    return plain.forward(piece)


def magnitude(
    y: np.ndarray, params: SpecParams, *, workers: int | None = None, engine: Stft | None = None
) -> np.ndarray:
    """STFT magnitude of ``(channels, n)`` audio on the scale of ``params``.

    Long signals are transformed a block of frames at a time, so that the complex STFT
    of the whole never exists at once.
    """
    engine = Stft.from_params(params, workers=workers) if engine is None else engine
    basis = _scale.mel_basis(params) if params.scale == "mel" else None
    y = np.asarray(y, dtype=np.float32)
    n_frames = engine.n_frames(y.shape[-1])
    step = block_frames_for(y.shape[0], engine.n_bins)
    if n_frames <= 2 * step:
        S = np.abs(engine.forward(y))
        return S if basis is None else _scale.linear_to_mel(S, basis)
    rows = engine.n_bins if basis is None else basis.shape[0]
    S = np.empty((*y.shape[:-1], rows, n_frames), np.float32)
    for t0 in range(0, n_frames, step):
        t1 = min(t0 + step, n_frames)
        part = np.abs(frames(y, engine, t0, t1))
        S[..., t0:t1] = part if basis is None else _scale.linear_to_mel(part, basis)
    return S


def spectral_energy(
    y: np.ndarray, engine: Stft, *, basis: np.ndarray | None = None, mel_power: bool = False
) -> np.ndarray:
    """Energy of each channel's spectrogram, a block of frames at a time.

    Parameters
    ----------
    y : np.ndarray [shape=(channels, n)]
    engine : Stft
    basis : np.ndarray [shape=(n_mels, n_fft // 2 + 1)] or None
        Mel filterbank: measure on mel bands instead of STFT bins.
    mel_power : bool
        With ``basis``: the bands hold power (``basis @ |X|**2``) and the energy is
        their sum; otherwise they hold magnitude and the energy is the sum of squares.

    Returns
    -------
    np.ndarray [shape=(channels,), dtype=float64]
    """
    y = np.atleast_2d(y)
    got = np.zeros(y.shape[0])
    for _, _, spec in engine.forward_blocks(y):
        S = np.abs(spec)
        if basis is None:
            got += np.einsum("ctf,ctf->c", S, S, dtype=np.float64)
        elif mel_power:
            got += np.einsum("mf,ctf->c", basis, S * S, dtype=np.float64)
        else:
            M = np.einsum("mf,ctf->ctm", basis, S)
            got += np.einsum("ctm,ctm->c", M, M, dtype=np.float64)
    return got


def match_energy(
    y: np.ndarray,
    energy: np.ndarray,
    engine: Stft,
    *,
    basis: np.ndarray | None = None,
    mel_power: bool = False,
) -> np.ndarray:
    """Scale each channel of ``y`` so that its :func:`spectral_energy` is ``energy``.

    ``y`` [shape=(channels, n)] is scaled in place when it is float32 and returned; a
    channel with no energy of its own stays silent.
    """
    y = np.atleast_2d(np.asarray(y, dtype=np.float32))
    got = spectral_energy(y, engine, basis=basis, mel_power=mel_power)
    want = np.asarray(energy, dtype=np.float64)
    gain = np.sqrt(np.where(got > 0, want / np.where(got > 0, got, 1.0), 0.0))
    y *= gain.astype(np.float32)[:, None]
    return y


def match_level(y: np.ndarray, target: np.ndarray, params: SpecParams, engine: Stft) -> np.ndarray:
    """Scale each channel of ``y`` so its spectral energy on ``params``' scale equals the
    energy of ``target`` (a magnitude on that scale: mel bands for a mel image, where
    the target is exact, rather than an NNLS estimate)."""
    want = np.sum(np.square(target, dtype=np.float64), axis=(-2, -1))
    basis = _scale.mel_basis(params) if params.scale == "mel" else None
    return match_energy(y, want, engine, basis=basis)
