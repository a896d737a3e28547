"""Inverting scipy.signal.spectrogram and ShortTimeFFT output: framing, length, level, quality."""

import inspect
import warnings

import numpy as np
import pytest
import scipy.signal
from conftest import CORPUS, SR, mel_lsd, rms_db, signals

import spec2img
from spec2img import phase
from spec2img.arrays.scipy_compat import SCIPY_WINDOW, invert_scipy_spectrogram
from spec2img.dsp.stft import Stft
from spec2img.errors import ParameterError

N_ITER = 60


def test_defaults_are_scipys_but_the_window_is_hann():
    ours = inspect.signature(invert_scipy_spectrogram).parameters
    theirs = inspect.signature(scipy.signal.spectrogram).parameters
    for name in ("noverlap", "nfft", "scaling", "mode", "return_onesided"):
        assert ours[name].default == theirs[name].default, name
    assert ours["window"].default == "hann"  # the signature; what people pass
    # SCIPY_WINDOW is scipy's own default (renamed "tukey" -> "tukey_periodic"): the
    # samples must agree
    for n in (255, 256, 441):
        np.testing.assert_array_equal(
            scipy.signal.get_window(SCIPY_WINDOW, n),
            scipy.signal.get_window(theirs["window"].default, n),
        )


def test_hann_default_inverts_a_hann_spectrogram_and_scipy_window_its_default():
    fs = 16000
    x = np.random.default_rng(4).standard_normal(fs).astype(np.float32) * 0.1
    _, _, hann = scipy.signal.spectrogram(x, fs, window="hann", nperseg=320)
    _, _, tukey = scipy.signal.spectrogram(x, fs, nperseg=320)
    rms = lambda y: np.sqrt(np.mean(np.square(y)))  # noqa: E731
    for Sxx, kw in ((hann, {}), (tukey, {"window": SCIPY_WINDOW})):
        y = invert_scipy_spectrogram(Sxx, fs, nperseg=320, n_iter=5, **kw)
        assert abs(20 * np.log10(rms(y[320:-320]) / rms(x[320:-320]))) < 1.0


def _oracles(x, fs, Sxx, window, nperseg, noverlap, nfft, scaling):
    """Phase retrieval from the true STFT magnitude on scipy's framing (no detrending).

    (a) through the same inversion, given the exact magnitude instead of scipy's
    output; (b) plain fast Griffin-Lim on scipy's framing itself.  The framing is built
    here from scipy's documented conventions, independently of the code under test.
    """
    win = scipy.signal.get_window(window, nperseg) if isinstance(window, str | tuple) else window
    noverlap = nperseg // 8 if noverlap is None else noverlap
    nfft = nperseg if nfft is None else nfft
    hop = nperseg - noverlap
    n_frames = Sxx.shape[-1]
    engine = Stft(nfft, hop, nfft, np.pad(win, (0, nfft - nperseg)), center=False, wss_floor=0.1)
    span = nfft + (n_frames - 1) * hop
    S = np.abs(engine.forward(np.pad(x, (0, max(0, span - len(x))))[:span]))
    assert S.shape[-1] == n_frames
    scale = 1 / (fs * np.sum(win**2)) if scaling == "density" else 1 / np.sum(win) ** 2
    a = invert_scipy_spectrogram(
        S * np.sqrt(scale), fs, nperseg=nperseg, noverlap=noverlap, nfft=nfft, window=window,
        scaling=scaling, mode="magnitude", length=len(x), n_iter=N_ITER,
    )  # fmt: skip
    b = phase.reconstruct(S, engine, n_iter=N_ITER, length=span)[: len(x)]
    return a, b


# (window, scaling, mode, noverlap, nfft, nperseg, detrend): the setting first.
# scipy's default detrend="constant" removes each segment's mean, which no inversion can
# restore (see test_detrending_loses_only_what_it_removed); the other cases turn it off
# so that they measure the framing, window, scaling and mode alone.
CASES = [
    ("hann", "density", "psd", None, None, 441, "constant"),  # 20 ms, 12.5 %, odd nfft
    (SCIPY_WINDOW, "density", "psd", None, None, 512, "constant"),  # all scipy's defaults
    ("hann", "spectrum", "magnitude", 256, None, 512, False),
    ("hamming", "density", "magnitude", 384, None, 512, False),
    (("kaiser", 8.0), "spectrum", "psd", None, 1024, 512, False),  # zero-padded FFT
    ("blackman-array", "density", "psd", 128, None, 256, False),
    ("boxcar", "spectrum", "psd", 0, None, 256, False),  # no overlap at all
]


@pytest.mark.parametrize("window, scaling, mode, noverlap, nfft, nperseg, detrend", CASES)
def test_duration_level_and_quality_against_the_oracle(
    window, scaling, mode, noverlap, nfft, nperseg, detrend
):
    x = signals.mixture()
    if window == "blackman-array":
        window = scipy.signal.windows.blackman(nperseg, sym=True)
    kw = {"window": window, "nperseg": nperseg, "noverlap": noverlap, "nfft": nfft}
    _, _, Sxx = scipy.signal.spectrogram(x, SR, scaling=scaling, mode=mode, detrend=detrend, **kw)
    y = invert_scipy_spectrogram(Sxx, SR, scaling=scaling, mode=mode, n_iter=N_ITER, **kw)
    hop = nperseg - (nperseg // 8 if noverlap is None else noverlap)
    assert y.dtype == np.float32 and abs(len(y) - len(x)) < hop  # duration to one hop
    assert abs(rms_db(y) - rms_db(x[: len(y)])) < 1.0  # level
    a, b = _oracles(x, SR, Sxx, window, nperseg, noverlap, nfft, scaling)
    ours = mel_lsd(x, y, SR)
    assert ours < min(mel_lsd(x, a, SR), mel_lsd(x, b, SR)) + 1.0, ours


def test_low_overlap_hann_beats_plain_griffin_lim_on_that_framing():
    """Densifying is what makes 12.5 % overlap work: compare with the oracle (b)."""
    x = signals.mixture()
    _, _, Sxx = scipy.signal.spectrogram(x, SR, window="hann", nperseg=441)
    y = invert_scipy_spectrogram(Sxx, SR, window="hann", nperseg=441, n_iter=N_ITER)
    _, b = _oracles(x, SR, Sxx, "hann", 441, None, None, "density")
    assert mel_lsd(x, y, SR) < mel_lsd(x, b, SR) - 1.0


def test_naive_librosa_griffinlim_is_far_off_and_ours_is_not():
    import librosa

    x = signals.mixture()
    _, _, Sxx = scipy.signal.spectrogram(x, SR, window="hann", nperseg=441)
    naive = librosa.griffinlim(Sxx, n_iter=4)  # treats the PSD as a librosa magnitude
    assert len(x) / len(naive) > 3  # ~3.5x too short: hop 110 instead of 386
    assert rms_db(naive) < rms_db(x) - 60  # a power density, not a magnitude
    y = invert_scipy_spectrogram(Sxx, SR, window="hann", nperseg=441, n_iter=N_ITER)
    assert abs(len(y) - len(x)) < 386 and abs(rms_db(y) - rms_db(x)) < 1.0


def test_complex_mode_is_inverted_exactly():
    x = signals.mixture()
    kw = {"window": "hann", "nperseg": 512, "noverlap": 64, "detrend": False}
    _, _, Z = scipy.signal.spectrogram(x, SR, mode="complex", **kw)
    kw.pop("detrend")
    y = invert_scipy_spectrogram(Z, SR, mode="complex", **kw)
    n = len(y)
    # float32 inverse; at 12.5 % overlap its rounding is amplified where windows are thin
    assert np.linalg.norm(y - x[:n]) < 1e-3 * np.linalg.norm(x[:n])  # better than -60 dB


def test_channels_and_explicit_length():
    x = signals.stereo()
    _, _, Sxx = scipy.signal.spectrogram(x, SR, window="hann", nperseg=512, noverlap=256)
    y = invert_scipy_spectrogram(
        Sxx, SR, window="hann", nperseg=512, noverlap=256, length=x.shape[-1], n_iter=N_ITER
    )
    assert y.shape == x.shape
    for c in range(2):
        assert abs(rms_db(y[c]) - rms_db(x[c])) < 1.0
    spec = np.abs(np.fft.rfft(y[0]))
    assert abs(np.argmax(spec) * SR / len(y[0]) - 330) < 5  # channel 0 is the 330 Hz tone


def test_detrending_loses_only_what_it_removed():
    """A tone well below fs / nperseg is attenuated by detrend='constant' for good; with
    detrend=False the same framing inverts to the right level (the Notes' claim)."""
    fs, nperseg = 16000, 320
    t = np.arange(fs) / fs
    x = (0.5 * np.sin(2 * np.pi * 20 * t) + 0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    kw = {"window": "hann", "nperseg": nperseg, "noverlap": 160}
    _, _, kept = scipy.signal.spectrogram(x, fs, detrend=False, **kw)
    _, _, removed = scipy.signal.spectrogram(x, fs, **kw)
    y_kept = invert_scipy_spectrogram(kept, fs, n_iter=N_ITER, **kw)
    y_removed = invert_scipy_spectrogram(removed, fs, n_iter=N_ITER, **kw)
    assert abs(rms_db(y_kept) - rms_db(x)) < 1.0
    assert rms_db(y_removed) < rms_db(x) - 3.0


@pytest.mark.parametrize("scale_to, fft_mode", [
    ("psd", "onesided2X"), ("magnitude", "onesided2X"), ("magnitude", "onesided"),
    (None, "twosided"), (None, "centered"),
])  # fmt: skip
@pytest.mark.parametrize("mode", ["psd", "magnitude", "complex"])
def test_short_time_fft(scale_to, fft_mode, mode):
    x = signals.mixture().astype(np.float64)
    sft = scipy.signal.ShortTimeFFT.from_window(
        "hann", SR, 512, 384, scale_to=scale_to, fft_mode=fft_mode
    )
    Z = sft.stft(x)
    Sxx = {"psd": sft.spectrogram(x), "magnitude": np.abs(Z), "complex": Z}[mode]
    y = invert_scipy_spectrogram(Sxx, sft, mode=mode, n_iter=N_ITER)
    assert abs(len(y) - len(x)) < sft.hop
    n = min(len(y), len(x))
    if mode == "complex":
        assert np.linalg.norm(y[:n] - x[:n]) < 1e-3 * np.linalg.norm(x[:n])
    else:
        assert abs(rms_db(y[:n]) - rms_db(x[:n])) < 1.0
        assert mel_lsd(x, y, SR) < 4.0


def test_short_time_fft_takes_its_framing_from_the_object():
    sft = scipy.signal.ShortTimeFFT.from_window("hann", SR, 256, 128)
    Sxx = sft.spectrogram(signals.tone())
    for bad in ({"nperseg": 256}, {"window": "hann"}, {"scaling": "spectrum"}):
        with pytest.raises(ParameterError, match="ShortTimeFFT"):
            invert_scipy_spectrogram(Sxx, sft, **bad)


@pytest.mark.parametrize("kwargs, words", [
    ({"window": "hann"}, "nperseg is required"),
    ({"nperseg": 256}, "gives 129"),  # Sxx came from nperseg=512
    ({"nperseg": 512, "mode": "angle"}, "only phases"),
    ({"nperseg": 512, "mode": "loud"}, "mode must be one of"),
    ({"nperseg": 512, "scaling": "both"}, "scaling must be one of"),
    ({"nperseg": 512, "noverlap": 512}, "noverlap=512"),
    ({"nperseg": 512, "nfft": 256}, "nfft=256"),
    ({"nperseg": 512, "window": "nope"}, "unknown window"),
    ({"nperseg": 256, "window": np.ones(512)}, "differs from the window"),
])  # fmt: skip
def test_bad_parameters_name_the_value(kwargs, words):
    _, _, Sxx = scipy.signal.spectrogram(signals.tone(), SR, nperseg=512)
    with pytest.raises(ParameterError, match=words):
        invert_scipy_spectrogram(Sxx, SR, **kwargs)


def test_bad_arrays():
    _, _, Sxx = scipy.signal.spectrogram(signals.tone(), SR, nperseg=512)
    with pytest.raises(ParameterError, match="negative"):
        invert_scipy_spectrogram(-Sxx, SR, nperseg=512)
    with pytest.raises(ParameterError, match="mode='complex'"):
        invert_scipy_spectrogram(Sxx + 0j, SR, nperseg=512)
    with pytest.raises(ParameterError, match="NaN"):
        invert_scipy_spectrogram(Sxx * np.nan, SR, nperseg=512)
    with pytest.raises(ParameterError, match="fs must be"):
        invert_scipy_spectrogram(Sxx, -1, nperseg=512)
    with pytest.warns(UserWarning, match="does not match"):
        y = invert_scipy_spectrogram(
            Sxx, SR, nperseg=512, length=10 * len(signals.tone()), n_iter=2
        )
    assert len(y) == 10 * len(signals.tone())


def test_public_name_and_no_scipy_signal_at_import():
    import subprocess
    import sys

    assert spec2img.invert_scipy_spectrogram is invert_scipy_spectrogram
    code = "import sys, spec2img.arrays.scipy_compat; print('scipy.signal' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "False"


@pytest.mark.slow
@pytest.mark.corpus
def test_speech_excerpt_at_20_ms_hann():
    y, sr = spec2img.load_audio(CORPUS / "3436-172162-0000.ogg")
    x = y[: 15 * sr]  # mono: (n,)
    nperseg = sr // 50
    _, _, Sxx = scipy.signal.spectrogram(x, sr, window="hann", nperseg=nperseg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = invert_scipy_spectrogram(Sxx, sr, window="hann", nperseg=nperseg)
    assert abs(len(z) - len(x)) < nperseg - nperseg // 8
    assert abs(rms_db(z) - rms_db(x[: len(z)])) < 1.0
    a, b = _oracles(x, sr, Sxx, "hann", nperseg, None, None, "density")
    assert mel_lsd(x, z, sr) < min(mel_lsd(x, a, sr), mel_lsd(x, b, sr)) + 1.0
