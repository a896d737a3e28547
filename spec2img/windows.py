"""Analysis windows by name (``"hann"``, ``"kaiser:8.6"``), as librosa and scipy take them.

A leaf module (numpy only; scipy.signal is loaded for unusual names): the parameter
classes compute a window to validate an untrusted name, and the STFT engine uses it.
"""

from __future__ import annotations

import warnings

import numpy as np

from .errors import ParameterError

# Periodic ("fftbins=True") forms of the windows people actually use, as cosine sums.
_COSINE_WINDOWS = {
    "hann": (0.5, 0.5),
    "hanning": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.5, 0.08),
}
_FLAT_WINDOWS = ("boxcar", "rect", "rectangular", "ones", "box")


def get_window(window, win_length: int, n_fft: int | None = None) -> np.ndarray:
    """Periodic window of ``win_length`` samples, zero-padded and centred in ``n_fft``.

    Parameters
    ----------
    window : str or np.ndarray
        Window name as :func:`scipy.signal.get_window` takes it (``"hann"``,
        ``"hamming"``, ``"blackman"``, ``"boxcar"`` are computed here; other names load
        scipy.signal), or the window's samples (``win_length`` of them).
    win_length : int > 0
        Length of the window itself.
    n_fft : int >= win_length or None
        Length to pad to; ``None`` means ``win_length``.

    Returns
    -------
    np.ndarray [shape=(n_fft,), dtype=float64]
    """
    n_fft = win_length if n_fft is None else n_fft
    if not isinstance(window, str):
        w = np.asarray(window, dtype=np.float64)
        if w.ndim != 1 or len(w) != win_length or not np.all(np.isfinite(w)):
            raise ParameterError(
                f"window array must be {win_length} finite samples, not shape {w.shape}"
            )
        name = None
    else:
        name = window.lower().strip()
    n = np.arange(win_length)
    if name is None:
        pass
    elif name in _COSINE_WINDOWS:
        w = np.zeros(win_length)
        for k, a in enumerate(_COSINE_WINDOWS[name]):
            w += (-1) ** k * a * np.cos(2 * np.pi * k * n / win_length)
    elif name in _FLAT_WINDOWS:
        w = np.ones(win_length)
    else:
        import scipy.signal  # slow import, only for unusual windows

        spec = _window_spec(name)
        try:  # the parameters may come from an untrusted file: any failure is a bad window
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w = np.asarray(scipy.signal.get_window(spec, win_length, fftbins=True), np.float64)
        except Exception as e:
            raise ParameterError(f"unknown window {window!r}: {e}") from None
    with np.errstate(all="ignore"):
        w32 = w.astype(np.float32)
    if not (np.all(np.isfinite(w32)) and np.any(w32)):
        raise ParameterError(
            f"window {window!r} of {win_length} samples has non-finite values or is all zero"
        )
    out = np.zeros(n_fft)
    start = (n_fft - win_length) // 2
    out[start : start + win_length] = w
    return out


def _window_spec(name: str):
    """``"kaiser:8.6"`` -> ``("kaiser", 8.6)``: windows with a parameter, as text."""
    if ":" not in name:
        return name
    base, *args = name.split(":")
    try:
        return (base, *(float(a) for a in args))
    except ValueError:
        raise ParameterError(f"unknown window {name!r}: bad parameter") from None


#: Time-frequency ratio of the Gaussian closest to a Hann window of length L is
#: 0.25645 L**2 (Průša, Balazs & Søndergaard 2017, section IV).
_HANN_LAMBDA = 0.25645


def window_lambda(window, win_length: int, n_fft: int | None = None) -> float:
    """Time-frequency ratio ``λ`` (samples²) of the Gaussian ``exp(-π t² / λ)`` that
    best stands in for ``window``.

    ``window`` is a name or an array, as for :func:`get_window`.  Hann windows use the
    published fit ``0.25645 * win_length**2``.  Other windows are matched by their
    energy spread: the Gaussian whose square has the same variance
    ``σ²`` as the squared window has ``λ = 4π σ²`` (exact for Gaussian windows).

    Returns
    -------
    float > 0
    """
    if isinstance(window, str) and window.lower().strip() in ("hann", "hanning"):
        return _HANN_LAMBDA * win_length**2
    w2 = get_window(window, win_length, n_fft) ** 2
    total = w2.sum()
    if not total > 0:
        raise ParameterError(f"window {window!r} is zero everywhere")
    t = np.arange(w2.size, dtype=np.float64)
    mean = (t * w2).sum() / total
    var = ((t - mean) ** 2 * w2).sum() / total
    return float(4 * np.pi * max(var, 1e-3))
