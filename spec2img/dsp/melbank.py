"""Mel filterbanks, computed here so that decoding a mel image does not import librosa.

librosa takes about a second to import (it pulls in numba, scipy.signal and more), which
is most of a short decode.  These are the same filterbanks as
:func:`librosa.filters.mel` (Slaney's or HTK's mel scale, triangles with or without
Slaney's area normalisation), computed the same way in float64 and rounded to float32;
``tests/test_scale.py`` compares them with librosa's.
"""

from __future__ import annotations

import numpy as np

_F_SP = 200.0 / 3  # Slaney: Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f, *, htk: bool = False) -> np.ndarray:
    """Mel value of frequencies ``f`` in Hz (Slaney's scale, or HTK's with ``htk``)."""
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mel = f / _F_SP
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, mel)


def mel_to_hz(m, *, htk: bool = False) -> np.ndarray:
    """Frequencies in Hz of mel values ``m``; the inverse of :func:`hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(
        m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m
    )


def mel_filters(
    *, sr: float, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None,
    htk: bool = False, slaney_norm: bool = True,
) -> np.ndarray:  # fmt: skip
    """Triangular mel filterbank ``(n_mels, n_fft // 2 + 1)``, float32.

    Parameters
    ----------
    sr : float > 0
    n_fft : int > 0
    n_mels : int > 0
    fmin, fmax : float
        Band edges in Hz; ``fmax=None`` is ``sr / 2``.
    htk : bool
        HTK's mel scale instead of Slaney's.
    slaney_norm : bool
        Divide each triangle by its width in Hz over 2 (constant energy per band), as
        ``norm="slaney"``; ``False`` leaves peaks of 1 (``norm=None``).

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1), dtype=float32]
    """
    fmax = sr / 2.0 if fmax is None else float(fmax)
    freqs = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    edges = mel_to_hz(
        np.linspace(hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk), n_mels + 2), htk=htk
    )
    width = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = -ramps[:-2] / width[:-1, None]
        upper = ramps[2:] / width[1:, None]
        weights = np.maximum(0.0, np.minimum(lower, upper))
        if slaney_norm:
            weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)
