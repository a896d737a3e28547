"""Inputs the way the ecosystem hands them over: paths, integer PCM, soundfile's layout.

A notebook user holds audio from ``scipy.io.wavfile.read`` (int16), from soundfile
(``(n, channels)``) or from librosa (``(n,)`` float), and images as paths.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile as sf
from conftest import SR, signals

import spec2img
from spec2img.io.audio import as_audio


@pytest.fixture(scope="module")
def stereo():
    return signals.stereo()[:, :SR]  # (2, n) float32, below full scale


# ------------------------------------------------------------------ decode(path)


def test_decode_takes_a_path_as_it_takes_the_image(tmp_path):
    y = signals.chirp()[:SR]
    spec2img.encode(y, SR).save(tmp_path / "a.png")
    want, _ = spec2img.decode(spec2img.load(tmp_path / "a.png"), n_iter=4)
    for path in (str(tmp_path / "a.png"), tmp_path / "a.png"):
        got, sr = spec2img.decode(path, n_iter=4)
        assert sr == SR
        np.testing.assert_array_equal(got, want)


def test_decode_of_a_bad_path_or_object_is_our_error_naming_it(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 2))
    plt.imshow(np.random.default_rng(0).random((32, 32)))
    fig.savefig(tmp_path / "plot.png")
    plt.close(fig)
    with pytest.raises(spec2img.ParameterError, match="plot.png: no spec2img metadata"):
        spec2img.decode(str(tmp_path / "plot.png"))  # was AttributeError: 'str' ... on_grid
    with pytest.raises(spec2img.InputError, match="missing.png"):
        spec2img.decode(tmp_path / "missing.png")
    with pytest.raises(spec2img.ParameterError, match="image must be") as info:
        spec2img.decode(np.zeros((10, 10)))
    assert info.value.params == ("image",)


# ------------------------------------------------------------------ integer PCM


@pytest.mark.parametrize(
    "dtype,scale,centre",
    [(np.int16, 2**15, 0), (np.int32, 2**31, 0), (np.int8, 2**7, 0), (np.uint8, 2**7, 128)],
)
def test_integer_pcm_is_scaled_as_soundfile_scales_it(tmp_path, dtype, scale, centre):
    y = signals.chirp()[:SR] * 0.5
    pcm = (np.round(y * (scale - 1)) + centre).astype(dtype)
    np.testing.assert_allclose(as_audio(pcm)[0], y, atol=1.5 / scale)
    if dtype in (np.int16, np.int32):  # soundfile reads these: the same numbers
        subtype = {np.int16: "PCM_16", np.int32: "PCM_32"}[dtype]
        sf.write(tmp_path / "a.wav", pcm, SR, subtype=subtype)
        np.testing.assert_array_equal(
            as_audio(pcm)[0], sf.read(tmp_path / "a.wav", dtype="float32")[0]
        )


def test_scipy_wavfile_audio_encodes_at_its_level(tmp_path):
    """The issue's case: int16 from scipy.io.wavfile sat 90 dB too high."""
    y = signals.stereo()[:, :SR] * 0.5
    pcm = np.round(y.T * 32767).astype(np.int16)  # (n, 2), as wavfile gives it
    scipy.io.wavfile.write(tmp_path / "a.wav", SR, pcm)
    sr, read = scipy.io.wavfile.read(tmp_path / "a.wav")
    image = spec2img.encode(read, sr)
    want = spec2img.encode(y, SR)
    assert image.meta.channels == 2
    assert abs(image.meta.db_max - want.meta.db_max) < 0.01
    z, _ = spec2img.decode(image, n_iter=8)
    assert z.shape == y.shape and np.max(np.abs(z)) < 1.0


def test_integer_types_without_a_full_scale_are_refused():
    with pytest.raises(spec2img.ParameterError, match="y has integer samples of type int64"):
        spec2img.encode(np.arange(SR), SR)
    with pytest.raises(spec2img.ParameterError, match="y must be real audio samples, not bool"):
        spec2img.encode(np.ones(SR, bool), SR)


def test_save_audio_takes_pcm_too(tmp_path):
    y = signals.chirp()[:SR] * 0.5
    pcm = np.round(y * 32767).astype(np.int16)
    spec2img.save_audio(tmp_path / "a.wav", pcm, SR)
    back, _ = spec2img.load_audio(tmp_path / "a.wav")
    np.testing.assert_allclose(back, y, atol=2 / 32768)


def test_mosaic_takes_pcm_and_soundfile_layout():
    src = np.round(signals.noise_bursts()[:SR] * 16000).astype(np.int16)
    tgt = signals.stereo()[:, :SR]
    out = spec2img.mosaic(src, tgt.T, SR, n_iter=2)
    assert out.shape == tgt.shape


# ------------------------------------------------------------------ layouts and shapes


def test_soundfile_layout_is_recognised(stereo):
    a = spec2img.encode(stereo, SR)
    b = spec2img.encode(np.ascontiguousarray(stereo.T), SR)  # (n, 2)
    np.testing.assert_array_equal(a.pixels, b.pixels)


@pytest.mark.parametrize("shape", [(40, 2), (64, 8)])
def test_an_ambiguous_layout_is_refused_saying_pass_y_t(shape):
    # n_fft=32: long enough read as (n, channels), so only the layout is in question
    with pytest.raises(spec2img.ParameterError, match=r"pass y\.T"):
        spec2img.encode(np.zeros(shape, np.float32), SR, n_fft=32, hop_length=8)


def test_too_many_channels_either_way_says_how_many():
    with pytest.raises(spec2img.ParameterError, match="y has 100 channels"):
        spec2img.encode(np.zeros((100, 100), np.float32), SR)


def test_one_mono_shape_everywhere(tmp_path):
    y = signals.chirp()[:SR]
    spec2img.save_audio(tmp_path / "m.wav", y, SR, subtype="FLOAT")
    loaded, _ = spec2img.load_audio(tmp_path / "m.wav")
    decoded, _ = spec2img.decode(spec2img.encode(loaded, SR), n_iter=2)
    arrays = spec2img.from_array(np.abs(spec2img.encode(y, SR).magnitude()), SR, n_iter=2)
    dropin = spec2img.griffinlim(spec2img.encode(y, SR).magnitude()[0], n_iter=2)
    assert loaded.shape == decoded.shape == (SR,)  # librosa's (n,)
    assert arrays.ndim == dropin.ndim == 1


# ------------------------------------------------------------------ every bad argument


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"sr": "x"}, "sr"), ({"sr": 0}, "sr"), ({"n_fft": 3}, "n_fft"),
        ({"hop_length": 0}, "hop_length"), ({"win_length": 99999}, "win_length"),
        ({"window": "nope"}, "window"), ({"scale": "log"}, "scale"), ({"n_mels": 0}, "n_mels"),
        ({"fmin": -1}, "fmin"), ({"top_db": -1}, "top_db"), ({"size": (0, 0)}, "size"),
        ({"db_range": (1, 0)}, "db_range"), ({"workers": 0}, "workers"),
        ({"keep_phase": "x"}, "keep_phase"), ({"center": "x"}, "center"),
    ],
)  # fmt: skip
def test_every_bad_encode_argument_is_named(kwargs, name):
    sr = kwargs.pop("sr", SR)
    with pytest.raises(spec2img.Spec2ImgError, match=name):
        spec2img.encode(signals.chirp()[:SR], sr, **kwargs)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"method": "x"}, "method"), ({"n_iter": -1}, "n_iter"), ({"seed": "x"}, "seed"),
        ({"momentum": -1}, "momentum"), ({"tol": 2}, "tol"), ({"stop_db": -1}, "stop_db"),
        ({"init": np.zeros(3)}, "init"), ({"use_phase": "x"}, "use_phase"),
        ({"workers": 0}, "workers"), ({"progress": 3}, "progress"),
        ({"block_frames": 0}, "block_frames"), ({"options": 3}, "options"),
    ],
)  # fmt: skip
def test_every_bad_decode_argument_is_named(kwargs, name):
    image = spec2img.encode(signals.chirp()[:SR], SR)
    with pytest.raises(spec2img.Spec2ImgError, match=name):
        spec2img.decode(image, **kwargs)


def test_every_bad_audio_file_argument_is_named(tmp_path):
    path = spec2img.save_audio(tmp_path / "a.wav", signals.chirp()[:SR], SR)
    for kwargs, name in [({"sr": "x"}, "sr"), ({"sr": 0}, "sr"), ({"mono": "x"}, "mono")]:
        with pytest.raises(spec2img.ParameterError, match=name):
            spec2img.load_audio(path, **kwargs)
    for sr, kwargs, name in [(0, {}, "sr"), ("x", {}, "sr"), (SR, {"normalize": "x"}, "normalize"),
                             (SR, {"overwrite": "x"}, "overwrite")]:  # fmt: skip
        with pytest.raises(spec2img.ParameterError, match=name):
            spec2img.save_audio(tmp_path / "b.wav", signals.chirp()[:SR], sr, **kwargs)


def test_audio_too_short_in_either_layout_is_an_input_error_not_a_layout_question():
    # (2, 1): two channels of one sample, or one channel of two: a frame is longer either way
    with pytest.raises(spec2img.InputError, match="shorter than one frame"):
        spec2img.encode(np.zeros((2, 1), np.float32), 22050, n_fft=16, hop_length=4)
