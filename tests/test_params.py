import math

import pytest

from spec2img.errors import MetadataError, ParameterError
from spec2img.params import KEYS, Metadata, SpecParams


def test_defaults_follow_librosa():
    p = SpecParams(sample_rate=22050)
    assert (p.n_fft, p.win_length, p.hop_length) == (2048, 2048, 512)
    assert p.fmax == 11025.0 and p.n_bins == 1025
    assert SpecParams(sample_rate=22050, n_fft=1024, win_length=800).hop_length == 200
    assert SpecParams(sample_rate=8000, scale="mel", n_mels=40).n_bins == 40
    assert SpecParams(sample_rate=8000, n_mels=4096, n_fft=65536).n_mels == 4096  # linear


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"sample_rate": 0}, "sample_rate=0"),
        ({"sample_rate": 2_000_000}, "sample_rate=2000000"),
        ({"n_fft": 3}, "n_fft=3"),
        ({"n_fft": 2**17}, "n_fft=131072"),
        ({"hop_length": 0}, "hop_length=0"),
        ({"n_fft": 512, "hop_length": 600}, "hop_length=600"),
        ({"n_fft": 512, "win_length": 1024}, "win_length=1024"),
        ({"scale": "bark"}, "'bark'"),
        ({"fmin": 5000.0, "fmax": 4000.0}, "fmin=5000"),
        ({"fmax": 1e6}, "fmax=1e+06"),
        ({"fmin": math.nan}, "finite"),
        ({"n_fft": 2048.5}, "integer"),
        ({"center": "yes"}, "center"),
        ({"scale": "mel", "n_mels": 4096, "n_fft": 65536}, "n_mels=4096 with n_fft=65536"),
    ],
)
def test_bad_params_name_the_value(kw, words):
    with pytest.raises(ParameterError, match=words.replace("+", r"\+").replace("(", r"\(")):
        SpecParams(**{"sample_rate": 22050, **kw})


def _meta(**kw):
    base = dict(params=SpecParams(sample_rate=22050), db_min=-100.0, db_max=20.0,
                n_samples=22050, channels=2)  # fmt: skip
    base.update(kw)
    return Metadata(**base)


def test_text_round_trip_is_exact():
    m = _meta(db_min=-87.123456789, db_max=12.5)
    text = m.to_text()
    assert list(text) == list(KEYS)
    assert all(isinstance(v, str) for v in text.values())
    back = Metadata.from_text(text)
    assert back == m
    assert back.shape == (2 * 1025, 44)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("n_fft", "3", "n_fft=3"),
        ("hop_length", "0", "hop_length=0"),
        ("db_min", "30", "db_min=30"),
        ("db_max", "nan", "db_max"),
        ("db_max", "inf", "db_max"),
        ("n_samples", "-1", "n_samples=-1"),
        ("n_samples", "1000000000000000", "n_samples"),
        ("version", "2", "version=2"),
        ("version", "one", "version"),
        ("channels", "65", "channels=65"),
        ("center", "maybe", "center"),
        ("sample_rate", "__import__('os')", "sample_rate"),
        ("window", "x" * 10_000, "too long"),
    ],
)
def test_bad_text_is_refused_with_the_key(key, value, words):
    text = _meta().to_text()
    text[key] = value
    with pytest.raises(MetadataError, match=words.replace("(", r"\(")):
        Metadata.from_text(text)


@pytest.mark.parametrize("n_fft, center, shortest", [(64, True, 0), (65, True, 1),
                                                     (64, False, 64), (65, False, 65)])  # fmt: skip
def test_n_samples_must_hold_one_frame(n_fft, center, shortest):
    p = SpecParams(sample_rate=8000, n_fft=n_fft, center=center)
    assert Metadata(params=p, db_min=-1.0, db_max=0.0, n_samples=shortest).n_frames == 1
    if shortest:
        with pytest.raises(ParameterError, match=f"n_samples={shortest - 1} is shorter"):
            Metadata(params=p, db_min=-1.0, db_max=0.0, n_samples=shortest - 1)


def test_missing_keys_are_listed():
    text = _meta().to_text()
    del text["n_fft"], text["db_max"]
    with pytest.raises(MetadataError, match="n_fft, db_max"):
        Metadata.from_text(text)


def test_extra_keys_survive():
    text = _meta().to_text()
    text["future_key"] = "42"
    assert Metadata.from_text(text).to_text()["future_key"] == "42"


@pytest.mark.parametrize(
    "window",
    ["general_cosine:0", "taylor:4:1e300", "chebwin:1e9", "kaiser:1e308", "kaiser:-1e3",
     "gaussian:0", "general_hamming:1e308", "exponential:0:0", "exponential:1e300:1e-300"],
)  # fmt: skip
def test_windows_whose_parameters_break_scipy_are_parameter_errors(window):
    from spec2img.dsp.stft import get_window

    with pytest.raises(ParameterError, match="window"):
        get_window(window, 64)


@pytest.mark.parametrize("window", ["taylor:3e8", "gaussian:1e300", "kaiser:-70000"])
def test_window_parameters_are_bounded_before_scipy_sees_them(window):
    import time

    start = time.perf_counter()
    with pytest.raises(ParameterError, match="beyond"):
        SpecParams(sample_rate=8000, n_fft=64, window=window)
    assert time.perf_counter() - start < 0.5  # taylor:3e8 took 6 s and 2.3 GB
    assert SpecParams(sample_rate=8000, n_fft=64, window="gaussian:65536").n_fft == 64


def test_an_all_zero_window_is_refused_by_length():
    with pytest.raises(ParameterError, match="window 'hann' of 1 samples"):
        SpecParams(sample_rate=8000, n_fft=64, win_length=1)
    assert SpecParams(sample_rate=8000, n_fft=64, win_length=1, window="boxcar").win_length == 1


def test_a_broken_window_in_metadata_is_refused_when_read():
    text = _meta().to_text()
    text["window"] = "gaussian:0"
    with pytest.raises(MetadataError, match="window 'gaussian:0'"):
        Metadata.from_text(text)
    assert SpecParams(sample_rate=8000, n_fft=64, window="kaiser:8.6").window == "kaiser:8.6"


@pytest.mark.parametrize("n_fft, hop, center", [(64, 16, True), (65, 16, True), (33, 8, True),
                                                (65, 16, False), (100, 7, True)])  # fmt: skip
def test_frame_count_matches_the_stft_also_for_odd_n_fft(n_fft, hop, center):
    import numpy as np

    from spec2img.dsp.stft import Stft

    p = SpecParams(sample_rate=8000, n_fft=n_fft, hop_length=hop, center=center)
    engine = Stft.from_params(p)
    for n in (n_fft, n_fft + 1, 2 * n_fft, 3 * hop * 7, 1000, 1001):
        frames = engine.forward(np.zeros(n, np.float32)).shape[-1]
        assert p.n_frames(n) == engine.n_frames(n) == frames, n


@pytest.mark.parametrize("window", ["blackman", "hann", "blackmanharris"])
def test_window_rounding_noise_is_never_a_divisor_of_the_inverse(window):
    import numpy as np

    from spec2img.dsp.stft import Stft

    rng = np.random.default_rng(0)
    engine = Stft(64, 16, window=window, center=False)
    x = rng.standard_normal(512).astype(np.float32)
    X = engine.forward(x)
    X = np.abs(X) * np.exp(2j * np.pi * rng.random(X.shape))  # inconsistent, as in phase retrieval
    y = engine.inverse(X, len(x))
    assert np.all(np.isfinite(y)) and np.abs(y).max() < 1e7  # 4e16 before, for blackman


def test_db_values_are_bounded_so_that_decoding_stays_finite():
    import numpy as np

    import spec2img
    from spec2img.io.image import SpectrogramImage
    from spec2img.params import MAX_DB

    p = SpecParams(sample_rate=8000, n_fft=64, hop_length=16, window="blackman", center=False)
    with pytest.raises(ParameterError, match=f"db_max={MAX_DB + 1:g} is out of range"):
        Metadata(params=p, db_min=0.0, db_max=MAX_DB + 1, n_samples=512)
    meta = Metadata(params=p, db_min=0.0, db_max=MAX_DB, n_samples=512)
    pixels = np.full(meta.shape, 65535, np.uint16)
    y, _ = spec2img.decode(SpectrogramImage(pixels, meta), n_iter=3)
    assert np.all(np.isfinite(y))
