"""Property tests: any audio and any valid parameters round-trip; any invalid parameter is
refused by name.  (Narrow mel bands legitimately warn about empty filters.)

The examples are derandomised so CI is repeatable; ``SPEC2IMG_EXAMPLES=2000`` runs a
longer, random search locally.
"""

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spec2img
from spec2img import params as P
from spec2img.errors import InputError, MetadataError, ParameterError
from spec2img.io.image import SpectrogramImage
from spec2img.params import Metadata, SpecParams

pytestmark = pytest.mark.filterwarnings("ignore:Empty filters detected")

EXAMPLES = int(os.environ.get("SPEC2IMG_EXAMPLES", "0"))
FAST = settings(
    max_examples=EXAMPLES or 100, deadline=None, derandomize=not EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip

WINDOWS = ["hann", "hamming", "blackman", "boxcar", "kaiser:8.6", "tukey:0.25", "dpss:3"]


@st.composite
def spec_params(draw, max_n_fft=512):
    """Valid SpecParams with a small n_fft (any framing, window, scale and range)."""
    sr = draw(st.sampled_from([1, 100, 8000, 22050, 44100, P.MAX_SAMPLE_RATE])
              | st.integers(1, P.MAX_SAMPLE_RATE))  # fmt: skip
    n_fft = draw(st.integers(P.MIN_N_FFT, max_n_fft))
    win = draw(st.integers(2, n_fft))  # a periodic Hann of 1 sample is 0: refused
    hop = draw(st.integers(max(1, win // 8), win))
    window = draw(st.sampled_from(WINDOWS))
    if window.startswith("dpss") and win <= 6:  # dpss needs NW < win / 2
        window = "hann"
    scale = draw(st.sampled_from(["linear", "mel"]))
    nyquist = sr / 2
    fmin = draw(st.floats(0, nyquist * 0.9))
    fmax = draw(st.floats(fmin, nyquist).filter(lambda f: f > fmin))
    return SpecParams(
        sample_rate=sr, n_fft=n_fft, hop_length=hop, win_length=win,
        window=window, center=draw(st.booleans()), scale=scale,
        n_mels=draw(st.integers(1, 48)), fmin=fmin, fmax=fmax,
    )  # fmt: skip


@st.composite
def audio(draw, n_fft, hop):
    """(channels, n) audio of one frame and up to a few more: silence, DC, noise, tones."""
    channels = draw(st.integers(1, 4))
    n = n_fft + draw(st.integers(0, 3 * hop) | st.sampled_from([0, 1, hop - 1, hop, 2 * hop]))
    kind = draw(st.sampled_from(["silence", "dc", "noise", "full-scale", "tone", "click", "tiny"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "silence":
        y = np.zeros((channels, n))
    elif kind == "dc":
        y = np.full((channels, n), draw(st.floats(-1, 1)))
    elif kind == "noise":
        y = rng.standard_normal((channels, n)) * draw(st.floats(1e-6, 10))
    elif kind == "full-scale":
        y = rng.choice([-1.0, 1.0], size=(channels, n))
    elif kind == "tone":
        t = np.arange(n) / n_fft
        y = np.sin(2 * np.pi * draw(st.floats(0, n_fft / 2)) * t)[None].repeat(channels, 0)
    elif kind == "click":
        y = np.zeros((channels, n))
        y[:, rng.integers(n)] = 1.0
    else:
        y = rng.standard_normal((channels, n)) * 1e-30
    return y.astype(np.float32)


def check_decoded(z, sr, meta):
    assert sr == meta.params.sample_rate
    z = np.atleast_2d(z)
    assert z.dtype == np.float32
    assert z.shape == (meta.channels, meta.n_samples)
    assert np.all(np.isfinite(z))


@FAST
@given(data=st.data(), p=spec_params(), top_db=st.floats(1, 300), n_iter=st.integers(0, 3))
def test_any_audio_round_trips_with_any_valid_parameters(tmp_path_factory, data, p, top_db, n_iter):
    y = data.draw(audio(p.n_fft, p.hop_length))
    kw = {f: getattr(p, f) for f in ("n_fft", "hop_length", "win_length", "window", "center",
                                     "scale", "n_mels", "fmin", "fmax")}  # fmt: skip
    image = spec2img.encode(y, p.sample_rate, top_db=top_db, **kw)
    meta = image.meta
    assert meta.params == p and meta.channels == y.shape[0] and meta.n_samples == y.shape[1]
    assert image.pixels.shape == meta.shape and image.pixels.dtype == np.uint16
    assert meta.db_max - meta.db_min == pytest.approx(top_db)
    path = tmp_path_factory.mktemp("prop") / "x.png"
    image.save(path)
    back = spec2img.load(path)
    assert back.meta == meta and np.array_equal(back.pixels, image.pixels)
    check_decoded(*spec2img.decode(back, n_iter=n_iter, seed=0), meta)


@FAST
@given(data=st.data(), p=spec_params(max_n_fft=128))
def test_non_finite_or_short_audio_is_an_input_error(data, p):
    y = data.draw(audio(p.n_fft, p.hop_length))
    if data.draw(st.booleans()):
        flat = y.reshape(-1)
        flat[data.draw(st.integers(0, flat.size - 1))] = data.draw(
            st.sampled_from([np.nan, np.inf, -np.inf]))  # fmt: skip
        words = "NaN or infinite"
    else:
        y = y[:, : data.draw(st.integers(0, p.n_fft - 1))]
        words = "no samples" if y.shape[1] == 0 else "shorter than one frame"
    with pytest.raises(InputError, match=words):
        spec2img.encode(y, p.sample_rate, n_fft=p.n_fft, hop_length=p.hop_length,
                        win_length=p.win_length)  # fmt: skip


@st.composite
def metadata(draw):
    """Any valid Metadata whose image is small: the decoder must cope with all of them."""
    p = draw(spec_params(max_n_fft=256))
    db_min = draw(st.floats(-P.MAX_ABS_DB, P.MAX_DB - 1e-3))
    db_max = draw(st.floats(db_min, P.MAX_DB).filter(lambda d: d > db_min))
    n = draw(st.integers(p.min_samples, p.min_samples + 6 * p.hop_length))
    return Metadata(params=p, db_min=db_min, db_max=db_max, n_samples=n,
                    channels=draw(st.integers(1, 3)))  # fmt: skip


@FAST
@given(meta=metadata(), seed=st.integers(0, 2**32 - 1), extra=st.integers(-1, 1),
       fill=st.sampled_from(["random", "zero", "max"]))  # fmt: skip
def test_any_valid_metadata_with_any_pixels_decodes_to_finite_audio(meta, seed, extra, fill):
    h, w = meta.shape
    w = max(1, w + extra)  # editors may leave one frame more or less
    rng = np.random.default_rng(seed)
    pixels = {"random": lambda: rng.integers(0, 65536, (h, w)), "zero": lambda: np.zeros((h, w)),
              "max": lambda: np.full((h, w), 65535)}[fill]().astype(np.uint16)  # fmt: skip
    check_decoded(*spec2img.decode(SpectrogramImage(pixels, meta), n_iter=2), meta)


def test_an_empty_mel_image_on_coarse_grids_decodes_to_no_samples():
    """Found by the test above: a mel image of 0 samples whose framing allows coarse grids
    reached ``Stft.forward`` with an empty signal, whose ``reshape(-1, 0)`` is ambiguous."""
    p = SpecParams(sample_rate=100, n_fft=16, hop_length=1, win_length=2, scale="mel",
                   n_mels=1, fmin=0.0, fmax=1.0)  # fmt: skip
    meta = Metadata(params=p, db_min=-1.0, db_max=0.0, n_samples=0, channels=1)
    pixels = np.random.default_rng(0).integers(0, 65536, meta.shape).astype(np.uint16)
    check_decoded(*spec2img.decode(SpectrogramImage(pixels, meta), n_iter=2), meta)


@pytest.mark.parametrize("mode", ["numpy", "compiled"])
@pytest.mark.parametrize("method", ["pghi+fgla", "pghi+agla", "fgla"])
def test_the_loudest_image_decodes_to_finite_audio_in_either_mode(mode, method):
    """Found by the test above: at db_max near MAX_DB the NumPy projection divided the
    magnitude by |t| floored at 1e-30 and overflowed float32 (the compiled kernels floor
    |t|^2 there); both now floor |t| at 1e-15."""
    from spec2img.dsp import jit

    p = SpecParams(sample_rate=1, n_fft=16, hop_length=1, win_length=2)
    meta = Metadata(params=p, db_min=P.MAX_DB - 100, db_max=P.MAX_DB, n_samples=16, channels=1)
    pixels = np.full(meta.shape, 65535, np.uint16)
    with jit.numpy_only() if mode == "numpy" else jit.deciding(float("inf")):
        check_decoded(*spec2img.decode(SpectrogramImage(pixels, meta), n_iter=2, method=method),
                      meta)  # fmt: skip


# Invalid values, by key: each must be refused with the key's name in the message.
INVALID = {
    "sample_rate": st.sampled_from([0, -1, P.MAX_SAMPLE_RATE + 1, 10**12, 8000.5, True, "8000"]),
    "n_fft": st.sampled_from([0, P.MIN_N_FFT - 1, P.MAX_N_FFT + 1, -2048, 2048.5, None]),
    "hop_length": st.sampled_from([0, -1, 1.5, "x"]),
    "win_length": st.sampled_from([0, -5, 0.5]),
    "window": st.sampled_from(
        ["", "nope", "x" * 65, 3, "gaussian:0", "kaiser:1e308", "general_cosine:0", "hann:5"]
    ),  # fmt: skip
    "center": st.sampled_from([0, 1, "true", None]),
    "scale": st.sampled_from(["bark", "", None, "MEL"]),
    "n_mels": st.sampled_from([0, -1, P.MAX_N_MELS + 1, 1.5]),
    "fmin": st.sampled_from([-1.0, math.nan, math.inf, 1e9]),
    "fmax": st.sampled_from([-1.0, math.nan, 1e9, 0.0]),
}
META_INVALID = {
    "db_min": st.sampled_from([math.nan, -math.inf, -P.MAX_ABS_DB - 1, P.MAX_DB + 1, 20.0]),
    "db_max": st.sampled_from([math.nan, math.inf, P.MAX_DB + 1, -100.0]),
    "n_samples": st.sampled_from([-1, P.MAX_N_SAMPLES + 1, 1.5, "ten"]),
    "channels": st.sampled_from([0, -1, P.MAX_CHANNELS + 1, 1.5]),
    "version": st.sampled_from([0, 2, -1, "1x"]),
}


@FAST
@given(data=st.data(), key=st.sampled_from(sorted(INVALID)))
def test_an_invalid_parameter_is_refused_by_name(data, key):
    kw = {"sample_rate": 22050, "n_fft": 512}
    value = data.draw(INVALID[key])
    kw[key] = value
    with pytest.raises(ParameterError, match=key):
        SpecParams(**kw)


@FAST
@given(data=st.data(), key=st.sampled_from(sorted(META_INVALID)))
def test_invalid_metadata_is_refused_by_name_also_as_text(data, key):
    base = Metadata(params=SpecParams(sample_rate=22050, n_fft=512), db_min=-100.0,
                    db_max=0.0, n_samples=22050)  # fmt: skip
    value = data.draw(META_INVALID[key])
    fields = {"params": base.params, "db_min": -100.0, "db_max": 0.0, "n_samples": 22050}
    with pytest.raises(ParameterError, match=key):
        Metadata(**{**fields, key: value})
    text = base.to_text()
    text[key] = str(value)
    with pytest.raises(MetadataError, match=key):
        Metadata.from_text(text)


@FAST
@given(key=st.sampled_from(P.KEYS), value=st.text(max_size=300))
def test_any_text_in_any_key_is_a_result_or_a_metadata_error(key, value):
    text = Metadata(params=SpecParams(sample_rate=22050), db_min=-100.0, db_max=0.0,
                    n_samples=22050).to_text()  # fmt: skip
    text[key] = value
    try:
        meta = Metadata.from_text(text)
    except MetadataError as e:  # names the key, or the key it is inconsistent with
        assert any(k in str(e) for k in P.KEYS), e
        return
    assert Metadata.from_text(meta.to_text()) == meta
