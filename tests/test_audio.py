"""spec2img.io.audio: reading and writing audio, resampling, level and clipping."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import soundfile as sf

from spec2img.errors import InputError, ParameterError
from spec2img.io.audio import (
    NORMALIZE_PEAK,
    load_audio,
    output_format,
    prepare_for_output,
    resample,
    save_audio,
)

SR = 22050


@pytest.fixture
def stereo(rng):
    """Two different band-limited channels within full scale, 0.5 s."""
    t = np.arange(SR // 2) / SR
    left = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 1234 * t)
    return np.stack([left, right]).astype(np.float32)


# Largest error each lossless subtype may add: half a quantisation step (plus float32).
@pytest.mark.parametrize("name, subtype, tol", [
    ("a.wav", None, 2.0**-15), ("a.wav", "PCM_24", 2.0**-23), ("a.wav", "FLOAT", 0.0),
    ("a.flac", None, 2.0**-15), ("a.flac", "PCM_24", 2.0**-23),
    ("a.aiff", None, 2.0**-15), ("a.wav", "pcm_24", 2.0**-23),
])  # fmt: skip
def test_lossless_round_trip_per_format_and_subtype(tmp_path, stereo, name, subtype, tol):
    path = save_audio(tmp_path / name, stereo, SR, subtype=subtype)
    info = sf.info(path)
    fmt, want = output_format(path, subtype)
    assert (info.format, info.subtype) == (fmt, want)
    y, sr = load_audio(path)
    assert sr == SR and y.dtype == np.float32 and y.shape == stereo.shape
    assert float(np.max(np.abs(y - stereo))) <= tol + 1e-7


def test_ogg_round_trip_keeps_length_channels_and_level(tmp_path, stereo):
    y, sr = load_audio(save_audio(tmp_path / "a.ogg", stereo, SR))
    assert sr == SR and y.shape == stereo.shape
    for ch in range(2):
        level = 20 * np.log10(np.std(y[ch]) / np.std(stereo[ch]))
        assert abs(level) < 0.5, level


def test_mono_is_the_channel_mean_and_one_dimensional_as_librosa_has_it(tmp_path, stereo):
    path = save_audio(tmp_path / "s.wav", stereo, SR, subtype="FLOAT")
    y, _ = load_audio(path, mono=True)
    assert y.shape == (stereo.shape[1],)  # librosa's (n,), what decode returns
    np.testing.assert_allclose(y, stereo.mean(axis=0), atol=1e-7)
    y1, _ = load_audio(save_audio(tmp_path / "m.wav", stereo[0], SR, subtype="FLOAT"))
    assert y1.shape == (stereo.shape[1],)
    np.testing.assert_array_equal(y1, stereo[0])
    y2, _ = load_audio(path, mono=True, sr=SR // 2)  # resampled: still one dimension
    assert y2.ndim == 1


@pytest.mark.parametrize("sr_out", [8000, 16000, 44100])
def test_resampling_keeps_duration_pitch_and_level(sr_out):
    t = np.arange(SR) / SR
    y = (0.5 * np.sin(2 * np.pi * 1000 * t))[None].astype(np.float32)
    out = resample(y, SR, sr_out)
    assert out.dtype == np.float32 and out.shape[0] == 1
    assert abs(out.shape[1] - sr_out) <= 1  # one second
    spectrum = np.abs(np.fft.rfft(out[0] * np.hanning(out.shape[1])))
    peak_hz = np.argmax(spectrum) * sr_out / out.shape[1]
    assert abs(peak_hz - 1000) <= 1.5
    mid = out[0, sr_out // 10 : -sr_out // 10]  # away from the filter's edges
    assert abs(np.sqrt(2) * np.std(mid) - 0.5) < 0.005


def test_load_with_sr_resamples_and_reports_the_new_rate(tmp_path, stereo):
    path = save_audio(tmp_path / "s.wav", stereo, SR, subtype="FLOAT")
    y, sr = load_audio(path, sr=11025)
    assert sr == 11025 and y.shape[0] == 2
    assert abs(y.shape[1] - stereo.shape[1] / 2) <= 1
    y_same, sr_same = load_audio(path, sr=SR)
    assert sr_same == SR
    np.testing.assert_array_equal(y_same, stereo)


@pytest.mark.parametrize("bad", [0, -1, 1_000_001, 22050.0, True, "22050"])
def test_resampling_to_a_bad_rate_is_a_parameter_error(bad):
    with pytest.raises(ParameterError, match="sr must be an integer"):
        resample(np.zeros((1, 100), np.float32), SR, bad)


def test_clipping_warns_with_the_exact_count_and_never_wraps(tmp_path):
    y = np.linspace(-1.5, 1.5, 301, dtype=np.float32)[None]  # 50 samples beyond each end
    over = int(np.count_nonzero(np.abs(y) > 1))
    with pytest.warns(UserWarning, match=f"clipped {over} samples"):
        path = save_audio(tmp_path / "c.wav", y, SR)
    back, _ = load_audio(path)
    assert over == 100
    assert back.min() >= -1.0 and back.max() <= 1.0
    np.testing.assert_allclose(back[:50], -1.0, atol=2**-15)  # clipped, not wrapped
    np.testing.assert_allclose(back[-50:], 1.0, atol=2**-15)


def test_float_subtypes_keep_samples_beyond_full_scale_without_a_warning(tmp_path):
    y = np.array([[0.0, 1.5, -2.0, 0.25]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = save_audio(tmp_path / "f.wav", y, SR, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path)[0], y[0])


def test_normalize_puts_the_peak_at_minus_one_dbfs(tmp_path, stereo):
    y = stereo * 3.0  # beyond full scale: normalising avoids any clipping
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = save_audio(tmp_path / "n.wav", y, SR, subtype="FLOAT", normalize=True)
    back, _ = load_audio(path)
    assert abs(float(np.max(np.abs(back))) - NORMALIZE_PEAK) < 1e-6
    assert abs(20 * np.log10(NORMALIZE_PEAK) + 1.0) < 1e-9
    np.testing.assert_allclose(back, y * (NORMALIZE_PEAK / np.max(np.abs(y))), atol=1e-6)
    silent = prepare_for_output(np.zeros((1, 10)), "PCM_16", normalize=True)
    assert not silent.any() and silent.dtype == np.float32  # nothing to scale, no NaN


@pytest.mark.parametrize("name, subtype, words", [
    ("a.mp4", None, "unknown audio extension '.mp4'"),
    ("a", None, "unknown audio extension ''"),
    ("a.wav", "VORBIS", "subtype must be one of"),
    ("a.flac", "FLOAT", "not 'FLOAT'"),
])  # fmt: skip
def test_bad_outputs_are_parameter_errors_before_anything_is_written(tmp_path, name, subtype,
                                                                     words):  # fmt: skip
    with pytest.raises(ParameterError, match=words.replace("(", r"\(")):
        save_audio(tmp_path / name, np.zeros((1, 100), np.float32), SR, subtype=subtype)
    assert list(tmp_path.iterdir()) == []


def test_non_finite_samples_are_never_written(tmp_path):
    y = np.zeros((2, 100), np.float32)
    y[0, 3], y[1, 7] = np.nan, np.inf
    with pytest.raises(ParameterError, match="refusing to write 2 NaN or infinite"):
        save_audio(tmp_path / "x.wav", y, SR, subtype="FLOAT")
    assert list(tmp_path.iterdir()) == []


def test_unreadable_inputs_are_input_errors_naming_the_file(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(InputError, match="no such file"):
        load_audio(missing)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEfmt nonsense")
    with pytest.raises(InputError, match="not a readable audio file") as e:
        load_audio(junk)
    assert str(e.value).startswith(f"{junk}: ")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), SR)
    with pytest.raises(InputError, match="no samples"):
        load_audio(empty)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([0.0, np.nan, np.inf, 0.5], np.float32), SR, subtype="FLOAT")
    with pytest.raises(InputError, match="2 NaN or infinite samples"):
        load_audio(nan)
    with pytest.raises(InputError, match="is a folder"):
        load_audio(tmp_path)


@pytest.mark.parametrize("channels", [1, 2])
def test_plain_wav_is_byte_for_byte_what_libsndfile_writes(channels, rng):
    """16-bit WAV is written without libsndfile (:func:`spec2img.io.audio._plain_wav`):
    the same bytes as soundfile's, on every 16-bit step, half-steps, the floats next to
    them, full scale and random samples."""
    from spec2img.io.audio import encode_audio

    k = np.arange(-32768, 32768, dtype=np.float64)
    x = np.concatenate([k / 32768, (k + 0.5) / 32768, k / 32767, rng.uniform(-1, 1, 50000),
                        rng.uniform(-1e-4, 1e-4, 5000)]).astype(np.float32)  # fmt: skip
    x = np.concatenate([x, np.nextafter(x, np.float32(2)), np.nextafter(x, np.float32(-2))])
    x = np.clip(x, -1, 1)[: x.size // channels * channels].reshape(channels, -1)
    ours = encode_audio(x, SR, "WAV", "PCM_16")
    buf = io.BytesIO()
    sf.write(buf, x.T, SR, format="WAV", subtype="PCM_16")
    assert ours == buf.getvalue()
    back, sr = sf.read(io.BytesIO(ours), dtype="float32", always_2d=True)
    assert sr == SR and back.shape == (x.shape[1], channels)
