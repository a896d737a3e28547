"""STFT and inverse STFT with librosa's conventions, in float32, on ``scipy.fft``.

This is the hot loop of phase retrieval, so it avoids ``librosa.stft`` (whose import
pulls in numba and scipy.signal) and ``scipy.signal`` (1.2 s to import): the common
windows are computed here, and only an unusual window name loads scipy.signal.

Conventions match :func:`librosa.stft` / :func:`librosa.istft`: periodic window of
``win_length`` zero-padded to ``n_fft`` and centred, optional centring by zero padding
of ``n_fft // 2`` samples, frame ``t`` starting at ``t * hop_length`` of the padded
signal, no normalisation of the forward transform, and a window-sum-square normalised
overlap-add inverse.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.fft

from .errors import ParameterError

__all__ = ["Stft", "get_window"]

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


class Stft:
    """A reusable STFT/iSTFT pair for one set of framing parameters.

    The window, its padded form and buffers that do not depend on the signal are
    computed once, so that an iterative phase-retrieval loop pays only for the FFTs.

    Parameters
    ----------
    n_fft : int > 0
    hop_length : int > 0
    win_length : int <= n_fft or None
    window : str
    center : bool
    workers : int or None
        Threads for ``scipy.fft``; ``None`` means 1 (measured faster on a loaded
        2-core machine than 2).
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
        wss_floor: float = 0.0,
    ) -> None:
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.win_length = self.n_fft if win_length is None else int(win_length)
        self.window_name = window
        self.center = bool(center)
        self.workers = 1 if workers is None else int(workers)
        self.window = get_window(window, self.win_length, self.n_fft).astype(np.float32)
        self.n_bins = self.n_fft // 2 + 1
        if not 0.0 <= wss_floor < 1.0:
            raise ParameterError(f"wss_floor must be in [0, 1), not {wss_floor!r}")
        self.wss_floor = float(wss_floor)
        self._wss_cache: dict[int, np.ndarray] = {}

    @classmethod
    def from_params(cls, params, *, workers: int | None = None) -> Stft:
        """Build from a :class:`~spec2img.params.SpecParams`."""
        return cls(
            params.n_fft, params.hop_length, params.win_length, params.window,
            params.center, workers=workers,
        )  # fmt: skip

    def n_frames(self, n_samples: int) -> int:
        """Frames :meth:`forward` returns for ``n_samples`` samples."""
        padded = n_samples + 2 * (self.n_fft // 2) if self.center else n_samples
        return 1 + max(0, padded - self.n_fft) // self.hop_length

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
        if self.center:
            pad = [(0, 0)] * (y.ndim - 1) + [(self.n_fft // 2, self.n_fft // 2)]
            y = np.pad(y, pad)
        if y.shape[-1] < self.n_fft:
            raise ParameterError(
                f"signal of {y.shape[-1]} samples is shorter than n_fft={self.n_fft}"
            )
        frames = np.lib.stride_tricks.sliding_window_view(y, self.n_fft, axis=-1)
        frames = frames[..., :: self.hop_length, :] * self.window
        spec = scipy.fft.rfft(frames, axis=-1, workers=self.workers)
        return np.ascontiguousarray(np.swapaxes(spec, -1, -2))

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
        n_fft, hop = self.n_fft, self.hop_length
        n_frames = spec.shape[-1]
        if length is not None:
            padded = length + 2 * (n_fft // 2) if self.center else length
            n_frames = min(n_frames, -(-padded // hop))
        spec = spec[..., :n_frames]
        frames = scipy.fft.irfft(
            np.swapaxes(spec, -1, -2), n=n_fft, axis=-1, workers=self.workers
        ).astype(np.float32, copy=False)
        frames *= self.window
        y = self._overlap_add(frames)
        wss = self._window_sumsquare(n_frames)
        y /= wss
        start = n_fft // 2 if self.center else 0
        if length is None:
            end = y.shape[-1] - (n_fft // 2 if self.center else 0)
            return np.ascontiguousarray(y[..., start:end])
        y = y[..., start : start + length]
        if y.shape[-1] < length:
            pad = [(0, 0)] * (y.ndim - 1) + [(0, length - y.shape[-1])]
            y = np.pad(y, pad)
        return np.ascontiguousarray(y)

    def _overlap_add(self, frames: np.ndarray) -> np.ndarray:
        """Sum frames ``(..., t, n_fft)`` at hop spacing into ``(..., n_fft + hop*(t-1))``."""
        hop, n_fft = self.hop_length, self.n_fft
        n_frames = frames.shape[-2]
        n_chunks = -(-n_fft // hop)
        span = n_chunks * hop
        if span != n_fft:  # hop does not divide n_fft: pad frames to whole chunks
            pad = [(0, 0)] * (frames.ndim - 1) + [(0, span - n_fft)]
            frames = np.pad(frames, pad)
        out = np.zeros((*frames.shape[:-2], hop * (n_frames + n_chunks - 1)), np.float32)
        chunks = frames.reshape(*frames.shape[:-1], n_chunks, hop)
        for r in range(n_chunks):
            out[..., r * hop : (r + n_frames) * hop] += chunks[..., r, :].reshape(
                *frames.shape[:-2], n_frames * hop
            )
        return out[..., : n_fft + hop * (n_frames - 1)]

    def _window_sumsquare(self, n_frames: int) -> np.ndarray:
        """Window-sum-square envelope; tiny values become 1 so division leaves them."""
        wss = self._wss_cache.get(n_frames)
        if wss is None:
            sq = np.broadcast_to(self.window**2, (n_frames, self.n_fft))
            wss = self._overlap_add(sq)
            if self.wss_floor > 0:
                np.maximum(wss, np.float32(self.wss_floor * wss.max()), out=wss)
            # Below (float32 eps * peak of the window)^2 the envelope is rounding noise of
            # the window (a periodic Blackman's first sample is -1.4e-17, not 0): dividing
            # by it turned the edge samples of center=False frames into 1e16 spikes.
            noise = (np.finfo(np.float32).eps * np.abs(self.window).max()) ** 2
            wss[wss <= max(noise, np.finfo(np.float32).tiny)] = 1.0
            self._wss_cache = {n_frames: wss}
        return wss
