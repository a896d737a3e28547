"""The STFT engine: librosa parity, streaming projection, kernels, import cost."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from spec2img.dsp import stft as stft_mod
from spec2img.dsp.stft import Stft, get_window, window_lambda
from spec2img.errors import ParameterError

librosa = pytest.importorskip("librosa")

FRAMINGS = [
    # n_fft, hop, win_length
    (512, 128, None),
    (512, 131, None),  # odd hop that does not divide n_fft
    (256, 64, 200),  # win_length < n_fft, (n_fft - win) even
    (255, 50, 101),  # odd n_fft
    (64, 64, None),  # no overlap
]
WINDOWS = ["hann", "hamming", "blackman", "boxcar", "kaiser:8.6"]


def _librosa_window(window: str):
    if ":" in window:
        name, arg = window.split(":")
        return (name, float(arg))
    return window


def _signal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("window", WINDOWS)
def test_forward_matches_librosa(center, framing, window):
    n_fft, hop, win = framing
    y = _signal((2, 3001))
    engine = Stft(n_fft, hop, win, window, center, block=7)
    X = engine.forward(y)
    ref = librosa.stft(
        y, n_fft=n_fft, hop_length=hop, win_length=win, window=_librosa_window(window),
        center=center, pad_mode="constant",
    )  # fmt: skip
    assert X.dtype == np.complex64
    assert X.shape == ref.shape
    assert X.shape[-1] == engine.n_frames(y.shape[-1])
    np.testing.assert_allclose(X, ref, rtol=0, atol=2e-6 * np.abs(ref).max())


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("length", [None, "same", "short", "long"])
def test_inverse_matches_librosa(center, framing, window, length):
    n_fft, hop, win = framing
    y = _signal((2, 3001), seed=1)
    kw = dict(n_fft=n_fft, hop_length=hop, win_length=win, window=_librosa_window(window))
    X = librosa.stft(y, center=center, **kw)
    n = {None: None, "same": 3001, "short": 2000, "long": 4000}[length]
    out = Stft(n_fft, hop, win, window, center, block=5).inverse(X, n)
    ref = librosa.istft(X, center=center, length=n, **kw)
    assert out.dtype == np.float32
    assert out.shape == ref.shape
    # Where the window-sum envelope is only the window's rounding noise (uncentred
    # Blackman: its end samples are 1e-17, not 0), librosa divides by it and emits 1e9+
    # spikes; spec2img leaves those samples undivided.  Everywhere else: equal.
    noise = _noise_samples(window, n_fft, hop, win, X.shape[-1], center, out.shape[-1])
    np.testing.assert_allclose(out[..., ~noise], ref[..., ~noise], rtol=0,
                               atol=2e-6 * np.abs(ref[..., ~noise]).max())  # fmt: skip
    assert np.all(np.abs(out[..., noise]) <= 1e-3 * np.abs(ref[..., ~noise]).max())


def _noise_samples(window, n_fft, hop, win, n_frames, center, length):
    """Output samples whose window-sum-square is below float32 rounding of the window."""
    w = np.abs(get_window(window, win or n_fft, n_fft))
    wss = librosa.filters.window_sumsquare(
        window=_librosa_window(window), n_frames=n_frames, hop_length=hop,
        win_length=win, n_fft=n_fft,
    )  # fmt: skip
    start = n_fft // 2 if center else 0
    wss = np.pad(wss, (0, max(0, start + length - wss.size)))[start : start + length]
    return wss <= (np.finfo(np.float32).eps * w.max()) ** 2


@pytest.mark.parametrize("block", [1, 3, 64, None])
def test_round_trip_is_exact_for_any_block_size(block):
    y = _signal((3, 2, 5000), seed=2)
    engine = Stft(1024, 256, block=block)
    out = engine.inverse(engine.forward(y), y.shape[-1])
    assert out.shape == y.shape
    np.testing.assert_allclose(out, y, atol=2e-5)


def test_workers_do_not_change_the_result():
    y = _signal((2, 20000), seed=3)
    one, two = Stft(512, 128, workers=1), Stft(512, 128, workers=2)
    np.testing.assert_array_equal(one.forward(y), two.forward(y))
    X = one.forward(y)
    np.testing.assert_array_equal(one.inverse(X, 20000), two.inverse(X, 20000))


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("framing", [(512, 128, None), (400, 150, 300)])
@pytest.mark.parametrize("length", [None, 6000, 9000])
def test_project_is_forward_of_inverse(center, framing, length):
    n_fft, hop, win = framing
    engine = Stft(n_fft, hop, win, "hann", center, block=6)
    n_frames = engine.n_frames(7000)
    rng = np.random.default_rng(4)
    X = (rng.standard_normal((2, n_frames, engine.n_bins)) * (1 + 1j)).astype(np.complex64)
    rebuilt = np.full_like(X, np.nan)
    seen = []

    def update(c, t0, t1):
        seen.append((t0, t1))
        rebuilt[:, t0:t1] = c

    engine.project(X, update, length)
    y = engine.inverse(np.swapaxes(X, -1, -2), length)
    ref = np.swapaxes(engine.forward(y), -1, -2)
    t = min(n_frames, ref.shape[1])
    assert [a for a, _ in seen] == sorted(a for a, _ in seen)
    assert sum(b - a for a, b in seen) == n_frames
    np.testing.assert_allclose(rebuilt[:, :t], ref[:, :t], atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("base", [-48, 0, 100, 480])
def test_compiled_kernel_matches_numpy_fallback(center, base):
    rng = np.random.default_rng(5)
    n_fft, hop, k = 64, 24, 2
    engine = Stft(n_fft, hop, center=center)
    gain = engine._gain(25, 500)
    fin = rng.standard_normal((2, 5, n_fft)).astype(np.float32)
    w = engine.window
    acc = rng.standard_normal((2, (5 + k) * hop + n_fft)).astype(np.float32)
    outs = []
    for impl in (stft_mod._ola_frame, stft_mod._ola_frame.fallback):
        a, f = acc.copy(), np.zeros((2, 6, n_fft), np.float32)
        impl(fin, w, a, k * hop, gain, base, k * hop, (5 + k) * hop, f, hop, hop)
        outs.append((a, f))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6, atol=1e-6)


def test_gain_is_the_inverse_window_sum_square():
    for n_fft, hop, frames in [(64, 24, 25), (64, 16, 2), (64, 64, 5), (60, 7, 40)]:
        engine = Stft(n_fft, hop, center=False)
        total = n_fft + hop * (frames - 1)
        gain = stft_mod._gain_slice(engine._gain(frames, total), 0, total)
        wss = np.zeros(total)
        for t in range(frames):
            wss[t * hop : t * hop + n_fft] += engine.window.astype(np.float64) ** 2
        expected = np.where(wss > 1e-30, 1 / np.where(wss > 1e-30, wss, 1), 1)
        np.testing.assert_allclose(gain, expected, rtol=1e-5)


def test_shapes_and_errors():
    engine = Stft(512, 128, center=False)
    with pytest.raises(ParameterError, match="shorter than n_fft=512"):
        engine.forward(np.zeros(100, np.float32))
    with pytest.raises(ParameterError, match="257"):
        engine.inverse(np.zeros((100, 5), np.complex64))
    with pytest.raises(ParameterError, match="workers"):
        Stft(512, 128, workers=0)
    with pytest.raises(ParameterError, match="win_length"):
        Stft(512, 128, win_length=600)
    with pytest.raises(ParameterError, match="unknown window 'nope'"):
        get_window("nope", 64)
    assert Stft(512, 128).forward(np.zeros(1000)).shape == (257, 8)
    assert Stft(512, 128).inverse(np.zeros((257, 8), np.complex64)).shape == (896,)


def test_window_lambda():
    assert window_lambda("hann", 1024) == pytest.approx(0.25645 * 1024**2)
    # exact for a Gaussian window: exp(-t²/(2σ²)) = exp(-π t²/λ) with λ = 2πσ²
    assert window_lambda("gaussian:100", 2048) == pytest.approx(2 * np.pi * 100**2, rel=1e-4)
    # and close to the published fit for Hann
    assert window_lambda("hanning ", 1024, 2048) == pytest.approx(0.25645 * 1024**2)
    assert window_lambda("blackman", 1024) < window_lambda("hamming", 1024)


def test_default_workers_from_environment(monkeypatch):
    monkeypatch.setenv("SPEC2IMG_WORKERS", "2")
    assert Stft(256, 64).workers == 2
    monkeypatch.setenv("SPEC2IMG_WORKERS", "two")
    with pytest.raises(ParameterError, match="'two'"):
        Stft(256, 64)


def test_linear_path_imports_neither_librosa_nor_scipy_signal():
    code = (
        "import sys, numpy as np\n"
        "import spec2img.phase as p\n"
        "from spec2img.dsp.stft import Stft\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('librosa', 'numba')"
        " or m.startswith('scipy.signal')]\n"
        "assert not bad, bad\n"
        "e = Stft(256, 64)\n"
        "S = np.abs(e.forward(np.random.default_rng(0).standard_normal(4000)))\n"
        "p.reconstruct(S, e, n_iter=2)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'librosa'"
        " or m.startswith('scipy.signal')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_repo_root())


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def test_window_array_is_the_same_as_its_name():
    y = _signal(3000, seed=6)
    named = Stft(512, 128, 400, "hamming")
    arrayed = Stft(512, 128, 400, get_window("hamming", 400))
    np.testing.assert_array_equal(named.forward(y), arrayed.forward(y))
    assert window_lambda(get_window("hamming", 400), 400) == pytest.approx(
        window_lambda("hamming", 400)
    )
    with pytest.raises(ParameterError, match="400 finite samples"):
        Stft(512, 128, 400, np.ones(300))


@pytest.mark.parametrize("n_samples", [600, 5000])
def test_wss_floor_limits_the_gain_between_sparse_frames(n_samples):
    n_fft, hop, floor = 256, 224, 0.1
    engine = Stft(n_fft, hop, wss_floor=floor, center=False)
    rng = np.random.default_rng(7)
    n_frames = engine.n_frames(n_samples)
    X = (rng.standard_normal((engine.n_bins, n_frames)) * (1 + 1j)).astype(np.complex64)
    out = engine.inverse(X)
    frames = np.fft.irfft(X.T, n=n_fft, axis=-1) * engine.window
    total = n_fft + hop * (n_frames - 1)
    y, wss = np.zeros(total), np.zeros(total)
    for t in range(n_frames):
        y[t * hop : t * hop + n_fft] += frames[t]
        wss[t * hop : t * hop + n_fft] += engine.window.astype(np.float64) ** 2
    expected = y / np.maximum(wss, floor * wss.max())
    np.testing.assert_allclose(out, expected, atol=1e-5 * np.abs(expected).max())
    with pytest.raises(ParameterError, match="wss_floor"):
        Stft(256, 64, wss_floor=1.0)


def _add(a, b):
    return a + b


def test_kernel_compiles_uncached_when_numba_cannot_cache():
    pytest.importorskip("numba")
    from spec2img.dsp.jit import Kernel

    k = Kernel(_add)

    def no_cache(*args):
        raise RuntimeError("cannot cache function '_add': no locator available for file")

    k._compiled = no_cache
    with pytest.warns(UserWarning, match="cannot cache _add"):
        assert k(1, 2) == 3
    assert k(2, 3) == 5


def test_kernel_reraises_other_errors():
    from spec2img.dsp.jit import Kernel

    k = Kernel(_add)

    def broken(*args):
        raise RuntimeError("something else")

    k._compiled = broken
    with pytest.raises(RuntimeError, match="something else"):
        k(1, 2)


@pytest.mark.parametrize("framing", [(512, 128, None), (255, 50, 101)])
def test_projection_into_kept_buffers_is_bit_identical_to_scipy_fft(framing, monkeypatch):
    """The streaming transforms write into kept buffers through the module under
    scipy.fft (no fresh pages per block); the result is scipy.fft's, bit for bit."""
    assert stft_mod._pocketfft() is not None  # the scipy this project pins has it
    n_fft, hop, win = framing
    engine = Stft(n_fft, hop, win, block=7)
    rng = np.random.default_rng(5)
    n_frames = engine.n_frames(9000)
    X = (rng.standard_normal((2, n_frames, engine.n_bins)) * (1 - 2j)).astype(np.complex64)

    def projected():
        got = np.zeros_like(X)
        engine.project(X, lambda c, t0, t1: got.__setitem__((slice(None), slice(t0, t1)), c))
        return got, engine.inverse_tf(X)

    kept = projected()
    monkeypatch.setattr(stft_mod, "_DIRECT", [None])  # scipy.fft's public functions
    public = projected()
    for a, b in zip(kept, public, strict=True):
        np.testing.assert_array_equal(a, b)
    # and the two transforms alone, on channel-strided views as the stream hands them
    x = _signal((2, 9, n_fft), seed=6)[:, 1:8]
    F = np.empty((2, 7, n_fft // 2 + 1), np.complex64)
    y = np.empty((2, 7, n_fft), np.float32)
    monkeypatch.setattr(stft_mod, "_DIRECT", [])
    import scipy.fft

    np.testing.assert_array_equal(stft_mod.rfft(x, 1, out=F), scipy.fft.rfft(x, axis=-1))
    np.testing.assert_array_equal(stft_mod.irfft(F, n_fft, 1, out=y), scipy.fft.irfft(F, n_fft))


def test_a_changed_scipy_interface_falls_back_to_the_public_functions(monkeypatch):
    import scipy.fft._pocketfft as inner

    class Broken:
        @staticmethod
        def r2c(*args):
            raise TypeError("r2c(): incompatible function arguments")

        c2r = r2c

    monkeypatch.setattr(inner, "pypocketfft", Broken)
    monkeypatch.setattr(stft_mod, "_DIRECT", [])
    assert stft_mod._pocketfft() is None
    x = _signal((1, 3, 64), seed=7)
    import scipy.fft

    np.testing.assert_array_equal(
        stft_mod.rfft(x, 1, out=np.empty((1, 3, 33), np.complex64)), scipy.fft.rfft(x, axis=-1)
    )
