"""The dB range of a plot that shows no colour bar, estimated from the picture itself.

A plot maps ``db_min .. db_max`` onto its colormap; read with the wrong range, the
magnitudes are the true ones raised to a power (``R_guess / R_true``), and a
spectrogram bent that way is no longer the STFT of any signal.  So the range whose
magnitudes phase retrieval can match best is the estimate: for each candidate range a
short excerpt of the image is decoded (a few dozen iterations) and the gain-matched
spectral convergence between the magnitudes and the STFT of the result is measured;
the minimum over a grid, refined by a parabola through its neighbours, is returned.

Measured on ``plt.specgram`` figures of a tone in faint noise, a chirp and the
fixtures' mixture (true ranges 150, 237 and 204 dB), the estimate lands within about
20 % of the true range; see ``docs/presets.md``.
"""

from __future__ import annotations

import numpy as np

#: Candidate ranges in dB.
CANDIDATES = (40.0, 60.0, 80.0, 100.0, 120.0, 150.0, 200.0, 250.0, 300.0)
#: Frames of the excerpt decoded for each candidate.
EXCERPT_FRAMES = 320
N_ITER = 30


def inconsistency(levels: np.ndarray, top_db: float, params) -> float:
    """Gain-matched spectral convergence (dB) of the best signal for ``levels`` read
    with ``top_db`` (levels ``(channels, bins, frames)`` in [0, 1], linear bins)."""
    from ..dsp.stft import Stft
    from ..phase import reconstruct

    S = 10.0 ** ((np.asarray(levels, np.float64) - 1.0) * top_db / 20.0)
    S = S.astype(np.float32)
    engine = Stft(params.n_fft, params.hop_length, win_length=params.win_length,
                  window=params.window)  # fmt: skip
    n = (S.shape[-1] - 1) * params.hop_length
    y = reconstruct(S, engine, n_iter=N_ITER, seed=0, length=n)
    X = np.abs(engine.forward(y)).astype(np.float64)
    t = min(X.shape[-1], S.shape[-1])
    S64, X = S[..., :t].astype(np.float64), X[..., :t]
    gain = np.sum(S64 * X) / max(np.sum(X * X), 1e-300)
    return float(20 * np.log10(np.linalg.norm(S64 - gain * X) / np.linalg.norm(S64)))


def estimate_top_db(levels: np.ndarray, params) -> float:
    """The dB range (``db_max - db_min``) that makes ``levels`` most consistent.

    Parameters
    ----------
    levels : np.ndarray [shape=(channels, n_fft // 2 + 1, frames)]
        Colormap values of the cells, in [0, 1], on ``params``' framing.
    params : spec2img.params.SpecParams
        Linear-frequency framing of the cells.
    """
    levels = np.asarray(levels)[:1]
    t = levels.shape[-1]
    if t > EXCERPT_FRAMES:  # the loudest stretch says most
        energy = np.convolve(levels[0].mean(axis=0), np.ones(EXCERPT_FRAMES), "valid")
        start = int(np.argmax(energy))
        levels = levels[..., start : start + EXCERPT_FRAMES]
    scores = np.array([inconsistency(levels, r, params) for r in CANDIDATES])
    i = int(np.argmin(scores))
    if 0 < i < len(CANDIDATES) - 1:  # parabola through the minimum and its neighbours
        x = np.log(CANDIDATES[i - 1 : i + 2])
        a, b, _ = np.polyfit(x, scores[i - 1 : i + 2], 2)
        if a > 0:
            return float(np.exp(np.clip(-b / (2 * a), x[0], x[2])))
    return CANDIDATES[i]
