"""Audio from the spectrograms scipy makes: ``scipy.signal.spectrogram`` and ``ShortTimeFFT``.

``scipy.signal.spectrogram`` frames differently from librosa: frames start at sample 0
(no centring), the default hop is ``nperseg - nperseg // 8`` (12.5 % overlap), the
window is zero-padded at the end to ``nfft``, each segment's mean is removed, and the
values are a power *density* with the one-sided bins doubled.  Feeding such an array to
a librosa-style inverse gives audio that is several times too short and ~100 dB too
quiet.  :func:`invert_scipy_spectrogram` undoes each of these steps and then retrieves
the phase with :func:`spec2img.phase.reconstruct` on that exact framing.

Low overlap is the hard part: with a Hann window and 12.5 % overlap, the window-sum
envelope falls to 0.3 % of its peak between frames, so a plain overlap-add inverse
divides by almost nothing there, and the magnitudes barely constrain those samples at
all.  Here such framings are *densified*: the magnitudes are interpolated in time onto
a hop fine enough for the envelope to stay above half its peak, and the phase is
retrieved on that grid.  The level is then matched to the given magnitudes on scipy's
own framing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import phase
from ..dsp.spectrum import match_energy
from ..dsp.stft import Stft
from ..errors import ParameterError
from ..options import PhaseOptions

__all__ = ["invert_scipy_spectrogram", "SCIPY_WINDOW"]

#: ``scipy.signal.spectrogram``'s default window (not Hann!).
SCIPY_WINDOW = ("tukey", 0.25)


class _DefaultWindow(str):
    """``"hann"``, marked as not given: a ShortTimeFFT brings its own window."""


_HANN = _DefaultWindow("hann")
MODES = ("psd", "magnitude", "complex")
SCALINGS = ("density", "spectrum")
#: Window-sum envelope floor (fraction of its peak) of the inverse STFT: it only acts
#: at the ends of the signal and in framings too sparse to be densified.
WSS_FLOOR = 0.1
#: Phase retrieval works on a hop of at most ``nperseg // REDUNDANCY`` (75 % overlap) ...
REDUNDANCY = 4
#: ... and fine enough for the window-sum envelope to stay above this fraction of its peak.
MIN_ENVELOPE = 0.4
MAX_DENSIFY = 64


@dataclass(frozen=True)
class Framing:
    """An STFT framing in the terms of :class:`~spec2img.dsp.stft.Stft` (``center=False``).

    Attributes
    ----------
    window : np.ndarray [shape=(nfft,)]
        Analysis window, zero-padded at the end to ``nfft`` as scipy does.
    hop : int > 0
    nfft : int > 0
    start : int
        Sample of the signal where frame 0 begins (negative: before the signal, which
        is zero-padded there).
    nperseg : int > 0
        Length of the window before its zero padding.
    """

    window: np.ndarray
    hop: int
    nfft: int
    start: int
    nperseg: int

    def engine(self, *, hop: int | None = None, workers=None, wss_floor=WSS_FLOOR) -> Stft:
        return Stft(
            self.nfft, self.hop if hop is None else hop, self.nfft, self.window,
            center=False, workers=workers, wss_floor=wss_floor,
        )  # fmt: skip

    def span(self, n_frames: int) -> int:
        """Samples, from ``start``, that ``n_frames`` frames cover (the engine's length)."""
        return self.nfft + (n_frames - 1) * self.hop

    def envelope_ratio(self, hop: int | None = None) -> float:
        """Minimum over maximum of the steady-state window-sum-square envelope."""
        hop = self.hop if hop is None else hop
        sq = np.square(self.window.astype(np.float64))
        sq = np.pad(sq, (0, -len(sq) % hop)).reshape(-1, hop).sum(axis=0)
        return float(sq.min() / sq.max()) if sq.max() > 0 else 0.0


def invert_scipy_spectrogram(
    Sxx: np.ndarray,
    fs,
    *,
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    window=_HANN,
    scaling: str = "density",
    mode: str = "psd",
    return_onesided: bool = True,
    length: int | None = None,
    workers: int | None = None,
    progress=None,
    method: str | None = None,
    n_iter: int | None = None,
    seed: int | None = 0,
    momentum: float | None = None,
    tol: float | None = None,
    options: PhaseOptions | None = None,
) -> np.ndarray:
    """Audio from the output of ``scipy.signal.spectrogram`` (or a ``ShortTimeFFT``).

    Pass the same framing arguments you gave scipy; the defaults are scipy's own except
    the window, Hann, which is what people pass (scipy's own default is
    ``("tukey", 0.25)``: give ``window=spec2img.SCIPY_WINDOW`` if you left it out).

    Parameters
    ----------
    Sxx : np.ndarray [shape=(..., n_freqs, n_frames)]
        ``Sxx`` as scipy returned it: real and non-negative for ``mode="psd"`` and
        ``"magnitude"``, complex for ``mode="complex"``.  Leading axes are channels.
    fs : float > 0 or scipy.signal.ShortTimeFFT
        The sampling rate given to ``scipy.signal.spectrogram``; or the
        ``ShortTimeFFT`` object that made ``Sxx``, which then defines the framing, the
        window and the scaling (``nperseg``, ``noverlap``, ``nfft``, ``window`` and
        ``scaling`` must be left out).  With a ``ShortTimeFFT``, ``mode="psd"`` means
        ``Sxx = SFT.spectrogram(x)``, ``"magnitude"`` means ``abs(SFT.stft(x))`` and
        ``"complex"`` means ``SFT.stft(x)`` (inverted exactly by ``SFT.istft``).
    nperseg : int > 0 or None
        Segment length.  Required unless ``window`` is an array (then its length).
    noverlap : int in [0, nperseg) or None
        Samples shared by consecutive segments; ``None`` means ``nperseg // 8``.
    nfft : int >= nperseg or None
        FFT length (the segment is zero-padded at its end); ``None`` means ``nperseg``.
    window : str, tuple or np.ndarray
        As :func:`scipy.signal.get_window` takes it (periodic), or the samples.
    scaling : {"density", "spectrum"}
        ``"density"`` divides the power by ``fs * sum(window**2)`` (V**2/Hz);
        ``"spectrum"`` by ``sum(window)**2`` (V**2).
    mode : {"psd", "magnitude", "complex"}
        What ``Sxx`` holds.  ``"psd"`` is a power with the one-sided bins (all but DC
        and, for even ``nfft``, Nyquist) doubled; ``"magnitude"`` is the square root of
        the scaled power without doubling; ``"complex"`` keeps the phase, so no phase
        retrieval is needed.
    return_onesided : bool
        ``False`` if ``Sxx`` holds all ``nfft`` frequencies.
    length : int > 0 or None
        Samples of the output.  ``None`` means the samples the frames cover,
        ``nperseg + (n_frames - 1) * (nperseg - noverlap)``: scipy ignores the at most
        ``nperseg - noverlap - 1`` samples after the last full frame, so the true
        length is within one hop of this.
    workers : int or None
        FFT threads.
    progress : callable(done, total) or None
        Called as phase retrieval advances.
    method, n_iter, seed, momentum, tol, options
        Phase retrieval, as for :func:`spec2img.decode`.

    Returns
    -------
    y : np.ndarray [shape=(..., length), dtype=float32]
        At the original level: the STFT energy of ``y`` on scipy's framing equals the
        energy ``Sxx`` describes.

    Raises
    ------
    ParameterError
        Framing arguments that do not fit ``Sxx``, a mode or scaling scipy does not
        have, negative or non-finite values.

    Notes
    -----
    scipy's default ``detrend="constant"`` subtracts each segment's mean before
    windowing.  The means are not stored, so what they removed cannot come back: content
    below about ``fs / nperseg`` Hz (one cycle per segment; 50 Hz at 20 ms) is
    attenuated, a tone at ``0.4 * fs / nperseg`` by about 8 dB, while anything above
    is untouched.  The inversion treats ``Sxx`` as the spectrogram of the detrended
    segments; for speech this costs a few tenths of a dB of mel log-spectral distance.
    Compute the spectrogram with ``detrend=False`` if very low frequencies matter.

    The amplitude per bin is recovered exactly: for ``mode="psd"`` the doubled bins
    are halved and ``|X| = sqrt(Sxx / scale)``.  For framings whose window-sum envelope
    dips below 40 % of its peak (Hann at 12.5 % overlap: 0.3 %) the magnitudes are
    interpolated in time onto a denser hop before phase retrieval, which fills the
    gaps between frames instead of dividing by a vanishing window sum.

    Examples
    --------
    >>> import numpy as np, scipy.signal, spec2img
    >>> fs = 16000
    >>> x = np.random.default_rng(0).standard_normal(15900).astype(np.float32) * 0.1
    >>> f, t, Sxx = scipy.signal.spectrogram(x, fs, window="hann", nperseg=320)
    >>> Sxx.shape  # 56 frames, 280 samples apart
    (161, 56)
    >>> y = spec2img.invert_scipy_spectrogram(Sxx, fs, window="hann", nperseg=320)
    >>> y.shape  # what the frames cover: 320 + 55 * 280; the last 180 samples are not in Sxx
    (15720,)

    With the modern API, pass the ``ShortTimeFFT`` instead of ``fs``:

    >>> SFT = scipy.signal.ShortTimeFFT.from_window("hann", fs, 320, 160, scale_to="psd")
    >>> y = spec2img.invert_scipy_spectrogram(SFT.spectrogram(x), SFT, length=len(x))
    >>> y.shape
    (15900,)
    """
    import scipy.signal  # slow to import; only this function needs it

    retrieval = (PhaseOptions.of(method, n_iter, seed, momentum, tol, options=options), progress)
    if mode not in MODES:
        if mode in ("angle", "phase"):
            raise ParameterError(f"mode={mode!r} holds only phases, no magnitude to invert")
        raise ParameterError(f"mode must be one of {list(MODES)}, not {mode!r}")
    Sxx = _check_sxx(Sxx, mode)
    if isinstance(fs, scipy.signal.ShortTimeFFT):
        given = {"nperseg": nperseg, "noverlap": noverlap, "nfft": nfft}
        extra = [k for k, v in given.items() if v is not None]
        if window is not _HANN:
            extra.append("window")
        if scaling != "density":
            extra.append("scaling")
        if extra:
            raise ParameterError(
                f"{', '.join(extra)} cannot be given with a ShortTimeFFT, which defines them"
            )
        if not return_onesided:
            raise ParameterError("return_onesided does not apply to a ShortTimeFFT")
        return _invert_short_time_fft(Sxx, fs, mode, length, workers, retrieval)
    framing, gains, nperseg = _spectrogram_framing(
        Sxx.shape[-2], fs, nperseg, noverlap, nfft, window, scaling, mode, return_onesided
    )
    nfft = framing.nfft
    if not return_onesided:
        Sxx = Sxx[..., : nfft // 2 + 1, :]
    if mode == "psd":
        X = np.sqrt(Sxx / gains[:, None])
    else:
        X = Sxx / np.sqrt(gains)[:, None]
    n_frames = Sxx.shape[-1]
    length = _check_length(length, nperseg + (n_frames - 1) * framing.hop, framing.hop)
    return _invert(X, framing, length, workers, retrieval)


def _check_sxx(Sxx, mode: str) -> np.ndarray:
    Sxx = np.asarray(Sxx)
    if Sxx.ndim < 2 or Sxx.shape[-1] < 1 or Sxx.shape[-2] < 2:
        raise ParameterError(f"Sxx must have shape (..., n_freqs, n_frames), not {Sxx.shape}")
    if not np.issubdtype(Sxx.dtype, np.number):
        raise ParameterError(f"Sxx must hold numbers, not {Sxx.dtype}")
    if not np.all(np.isfinite(Sxx)):
        raise ParameterError("Sxx has NaN or infinite values")
    if mode == "complex":
        return Sxx.astype(np.complex128)
    if np.iscomplexobj(Sxx):
        raise ParameterError(f"Sxx is complex but mode={mode!r}; use mode='complex'")
    if np.any(Sxx < 0):
        raise ParameterError(
            f"Sxx has {int(np.count_nonzero(Sxx < 0))} negative values; mode={mode!r} "
            "spectrograms are non-negative"
        )
    return Sxx.astype(np.float64)


def _check_length(length, default: int, hop: int) -> int:
    if length is None:
        return default
    if isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 1:
        raise ParameterError(f"length must be a whole number > 0, not {length!r}")
    if not default - hop < length < default + hop:
        warnings.warn(
            f"length={length} does not match the spectrogram's frames, which cover "
            f"{default} samples (hop {hop}); the rest is silence or cut off",
            stacklevel=3,
        )
    return int(length)


def _spectrogram_framing(n_freqs, fs, nperseg, noverlap, nfft, window, scaling, mode, onesided):
    """Framing of ``scipy.signal.spectrogram``, the power gain of each bin, and nperseg."""
    import scipy.signal

    if isinstance(fs, bool) or not isinstance(fs, int | float | np.number) or not fs > 0:
        raise ParameterError(f"fs must be a sampling rate > 0 or a ShortTimeFFT, not {fs!r}")
    if not np.isfinite(fs):
        raise ParameterError(f"fs must be finite, not {fs!r}")
    if scaling not in SCALINGS:
        raise ParameterError(f"scaling must be one of {list(SCALINGS)}, not {scaling!r}")
    if isinstance(window, str | tuple):
        if nperseg is None:
            raise ParameterError(
                "nperseg is required: give the nperseg you gave scipy (its default is 256)"
            )
        nperseg = _whole(nperseg, "nperseg", 1)
        try:
            win = scipy.signal.get_window(window, nperseg)
        except (ValueError, TypeError) as e:
            raise ParameterError(f"unknown window {window!r}: {e}") from None
    else:
        win = np.asarray(window)
        if win.ndim != 1 or win.size == 0 or not np.issubdtype(win.dtype, np.number):
            raise ParameterError(f"window array must be 1-D samples, not shape {win.shape}")
        if nperseg is not None and _whole(nperseg, "nperseg", 1) != win.size:
            raise ParameterError(f"nperseg={nperseg} differs from the window's length {win.size}")
        nperseg = win.size
    win = np.asarray(win, dtype=np.float64)
    if not np.all(np.isfinite(win)) or not np.any(win):
        raise ParameterError("window must be finite and not all zero")
    noverlap = nperseg // 8 if noverlap is None else _whole(noverlap, "noverlap", 0)
    if noverlap >= nperseg:
        raise ParameterError(f"noverlap={noverlap} must be less than nperseg={nperseg}")
    nfft = nperseg if nfft is None else _whole(nfft, "nfft", 1)
    if nfft < nperseg:
        raise ParameterError(f"nfft={nfft} must be at least nperseg={nperseg}")
    want = nfft // 2 + 1 if onesided else nfft
    if n_freqs != want:
        raise ParameterError(
            f"Sxx has {n_freqs} frequencies, but nfft={nfft} gives {want}; "
            "give the nperseg and nfft used to compute it"
        )
    if scaling == "density":
        scale = 1.0 / (float(fs) * float(np.sum(win * win)))
    else:
        scale = 1.0 / float(np.sum(win)) ** 2
    gains = np.full(nfft // 2 + 1, scale)
    if mode == "psd" and onesided:  # scipy doubles every bin that has a mirror image
        gains[1 : None if nfft % 2 else -1] *= 2
    framing = Framing(np.pad(win, (0, nfft - nperseg)), nperseg - noverlap, nfft, 0, nperseg)
    return framing, gains, nperseg


def _whole(value, name: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
        raise ParameterError(f"{name} must be a whole number >= {lo}, not {value!r}")
    return int(value)


def _invert_short_time_fft(Sxx, sft, mode, length, workers, retrieval) -> np.ndarray:
    """Invert the output of a ``scipy.signal.ShortTimeFFT``."""
    win = np.asarray(sft.win)
    if np.iscomplexobj(win) and np.any(win.imag):
        raise ParameterError("a ShortTimeFFT with a complex window cannot be inverted here")
    mfft, hop = int(sft.mfft), int(sft.hop)
    n_frames = Sxx.shape[-1]
    n_default = _short_time_fft_length(sft, n_frames)
    length = _check_length(length, n_default, hop)
    if mode == "complex":  # the phase is known: scipy's own inverse is exact
        y = sft.istft(Sxx, k1=length)
        return np.ascontiguousarray(np.real(y), dtype=np.float32)
    want = mfft if sft.fft_mode in ("twosided", "centered") else mfft // 2 + 1
    if Sxx.shape[-2] != want:
        raise ParameterError(
            f"Sxx has {Sxx.shape[-2]} frequencies, but the ShortTimeFFT gives {want}"
        )
    X = np.sqrt(Sxx) if mode == "psd" else Sxx
    if sft.fft_mode == "centered":
        X = np.fft.ifftshift(X, axes=-2)
    X = X[..., : mfft // 2 + 1, :]
    if sft.fft_mode == "onesided2X":
        X = X.copy()
        X[..., 1 : None if mfft % 2 else -1, :] /= np.sqrt(2) if sft.scaling == "psd" else 2.0
    window = np.pad(np.real(win).astype(np.float64), (0, mfft - win.size))
    framing = Framing(window, hop, mfft, sft.p_min * hop - sft.m_num_mid, int(win.size))
    return _invert(X, framing, length, workers, retrieval)


def _short_time_fft_length(sft, n_frames: int) -> int:
    """Fewest samples for which ``sft.spectrogram`` returns ``n_frames`` frames."""
    lo = sft.m_num - sft.m_num_mid
    if sft.p_num(lo) > n_frames:
        raise ParameterError(
            f"Sxx has {n_frames} frames, fewer than this ShortTimeFFT makes of any signal"
        )
    hi = max(lo, (n_frames + 1) * sft.hop + sft.m_num)
    while sft.p_num(hi) < n_frames:
        hi *= 2
    while lo < hi:  # p_num is non-decreasing in n
        mid = (lo + hi) // 2
        if sft.p_num(mid) < n_frames:
            lo = mid + 1
        else:
            hi = mid
    if sft.p_num(lo) != n_frames:
        raise ParameterError(f"no signal length gives {n_frames} frames with this ShortTimeFFT")
    return lo


def _invert(X, framing: Framing, length: int, workers, retrieval) -> np.ndarray:
    """Audio of ``length`` samples whose STFT on ``framing`` is (or has magnitude) ``X``."""
    n_frames = X.shape[-1]
    span = framing.span(n_frames)
    if np.iscomplexobj(X):
        y = framing.engine(workers=workers, wss_floor=0.0).inverse(X.astype(np.complex64), span)
    else:
        y = _retrieve(X.astype(np.float32), framing, span, workers, retrieval)
    return _place(y, framing.start, length)


def _retrieve(S, framing: Framing, span: int, workers, retrieval) -> np.ndarray:
    """Phase retrieval on ``framing``, densified where its envelope has gaps; level matched."""
    options, progress = retrieval
    engine = framing.engine(workers=workers)
    hop = dense_hop(framing)
    if hop == framing.hop:
        y = phase.retrieve(S, engine, options, length=span, progress=progress)
    else:
        dense = framing.engine(hop=hop, workers=workers)
        S_dense = interpolate_frames(S, framing.hop, hop, dense.n_frames(span))
        y = phase.retrieve(S_dense, dense, options, length=span, progress=progress)
    want = np.sum(np.square(S, dtype=np.float64), axis=(-2, -1))
    lead = y.shape[:-1]
    return match_energy(y.reshape(-1, y.shape[-1]), want.reshape(-1), engine).reshape(*lead, -1)


def dense_hop(framing: Framing) -> int:
    """Hop for phase retrieval: the framing's own, or a finer one if it is too sparse.

    Griffin-Lim-type methods need redundancy: at 12.5 % overlap the frames hardly
    constrain each other (and a Hann envelope has deep gaps), so sparse framings are
    worked on at ``nperseg // 4`` or finer, until the envelope stays above
    ``MIN_ENVELOPE`` of its peak.
    """
    base = min(framing.hop, -(-framing.nperseg // REDUNDANCY))
    for k in range(1, MAX_DENSIFY + 1):
        hop = -(-base // k)
        if framing.envelope_ratio(hop) >= MIN_ENVELOPE or hop == 1:
            return hop
    return -(-base // MAX_DENSIFY)


def interpolate_frames(S: np.ndarray, hop: int, new_hop: int, n_frames: int) -> np.ndarray:
    """Magnitudes ``(..., bins, t)`` at hop ``hop``, linearly interpolated to ``new_hop``."""
    pos = np.arange(n_frames) * (new_hop / hop)
    i0 = np.minimum(np.floor(pos).astype(np.intp), S.shape[-1] - 1)
    i1 = np.minimum(i0 + 1, S.shape[-1] - 1)
    a = (pos - i0).astype(np.float32)
    return np.ascontiguousarray(S[..., i0] * (1 - a) + S[..., i1] * a, dtype=np.float32)


def _place(y: np.ndarray, start: int, length: int) -> np.ndarray:
    """Samples ``[0, length)`` of a signal whose sample 0 is ``y[..., -start]``."""
    out = np.zeros((*y.shape[:-1], length), np.float32)
    src0 = max(0, -start)
    dst0 = max(0, start)
    n = min(y.shape[-1] - src0, length - dst0)
    if n > 0:
        out[..., dst0 : dst0 + n] = y[..., src0 : src0 + n]
    return out
