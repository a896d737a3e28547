"""Round trips through arrays and files: quality, length, channels, level, metadata."""

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, rms_db, sc_db, signals

import spec2img
from spec2img.errors import InputError, MetadataError, OutputError, ParameterError

# Spectral convergence (dB) a default decode must reach, per signal and scale.  Linear
# thresholds sit ~3 dB above what the default engine gets; mel loses detail by design.
SC_MAX = {
    ("tone", "linear"): -28, ("chirp", "linear"): -27, ("noise_bursts", "linear"): -23,
    ("mixture", "linear"): -26, ("stereo", "linear"): -26,
    ("tone", "mel"): -20, ("chirp", "mel"): -12, ("mixture", "mel"): -10,
}  # fmt: skip


@pytest.mark.parametrize("name, scale", sorted(SC_MAX))
def test_round_trip_quality_length_level(name, scale):
    y = getattr(signals, name)()
    image = spec2img.encode(y, SR, scale=scale)
    z, sr = spec2img.decode(image)
    assert sr == SR and z.shape == y.shape and z.dtype == np.float32
    assert sc_db(y, z) < SC_MAX[name, scale]
    assert abs(rms_db(z) - rms_db(y)) < (0.1 if scale == "linear" else 0.5)


def test_image_layout_low_frequencies_at_the_bottom_channel_zero_on_top():
    y = signals.stereo()  # left: 330 Hz tone, right: chirp
    image = spec2img.encode(y, SR)
    h, w = image.pixels.shape
    assert h == 2 * 1025 and w == 1 + y.shape[-1] // 512
    left = image.pixels[:1025]
    row_330 = 1024 - round(330 * 2048 / SR)
    assert np.argmax(left[:, w // 2]) == row_330  # top block is channel 0, bottom = low f
    assert image.pixels.max() == 65535  # the loudest cell is db_max
    right = image.pixels[1025:]
    assert np.argmax(right[:, 2]) > np.argmax(right[:, w - 3])  # chirp rises: row falls


def test_level_is_absolute():
    y = signals.tone()
    quiet = spec2img.encode(0.01 * y, SR)
    loud = spec2img.encode(y, SR)
    assert loud.meta.db_max - quiet.meta.db_max == pytest.approx(40.0, abs=0.01)
    z, _ = spec2img.decode(quiet)
    assert rms_db(z) == pytest.approx(rms_db(0.01 * y), abs=0.1)


def test_seed_determinism_bit_for_bit():
    image = spec2img.encode(signals.mixture(), SR)
    a, _ = spec2img.decode(image, seed=7, n_iter=10)
    b, _ = spec2img.decode(image, seed=7, n_iter=10)
    c, _ = spec2img.decode(image, seed=8, n_iter=10)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize("y", [np.zeros(30000), np.full(30000, 1e-9)], ids=["zero", "tiny"])
def test_silence_stays_finite(y):
    image = spec2img.encode(y, SR)
    assert np.isfinite([image.meta.db_min, image.meta.db_max]).all()
    z, _ = spec2img.decode(image)
    assert np.isfinite(z).all() and np.max(np.abs(z)) < 1e-6


def test_erased_region_is_silent_and_nothing_else_changes():
    y = signals.mixture()
    image = spec2img.encode(y, SR)
    edited = spec2img.SpectrogramImage(image.pixels.copy(), image.meta)
    edited.pixels[:, 20:40] = 0  # erase 20 frames, every frequency
    z, _ = spec2img.decode(edited)
    hop = 512
    gap = z[24 * hop : 36 * hop]
    kept = z[: 14 * hop]
    assert rms_db(gap) < rms_db(y[24 * hop : 36 * hop]) - 40
    assert abs(rms_db(kept) - rms_db(y[: 14 * hop])) < 1.0


@pytest.mark.parametrize("params", [
    {"n_fft": 1024, "hop_length": 256},
    {"n_fft": 512, "win_length": 400, "hop_length": 100, "window": "hamming"},
    {"n_fft": 1024, "center": False},
    {"n_fft": 512, "window": "kaiser:8.6"},
])  # fmt: skip
def test_params_survive_the_file(tmp_path, params):
    y = signals.chirp()
    image = spec2img.encode(y, SR, **params)
    image.save(tmp_path / "x.png")
    back = spec2img.load(tmp_path / "x.png")
    assert back.meta == image.meta
    np.testing.assert_array_equal(back.pixels, image.pixels)
    z, _ = spec2img.decode(back, n_iter=20)
    assert z.shape == y.shape


def test_file_round_trip_keeps_channels_rate_and_length(tmp_path, wav):
    src = wav("stereo")
    spec2img.audio_to_image(src, tmp_path / "s.png")
    y, sr = spec2img.image_to_audio(tmp_path / "s.png", tmp_path / "s.flac")
    info = sf.info(tmp_path / "s.flac")
    orig = sf.info(src)
    assert (info.channels, info.samplerate, info.frames) == (2, SR, orig.frames)
    assert info.subtype == "PCM_16"


def test_resample_and_mono_on_encode(tmp_path, wav):
    image = spec2img.audio_to_image(wav("stereo"), tmp_path / "m.png", sr=16000, mono=True)
    assert image.meta.channels == 1 and image.meta.params.sample_rate == 16000
    assert image.meta.n_samples == pytest.approx(signals.DURATION * 16000, abs=1)


def test_clipping_warns_with_count_and_normalize_scales(tmp_path):
    from spec2img.io.audio import NORMALIZE_PEAK, save_audio

    y = np.array([0.5, 1.5, -2.0, 0.1], np.float32)
    with pytest.warns(UserWarning, match="clipped 2 samples"):
        save_audio(tmp_path / "c.wav", y, 8000)
    back, _ = sf.read(tmp_path / "c.wav")
    assert back.max() <= 1.0 and back.min() >= -1.0 and back[1] > 0.99  # clipped, not wrapped
    save_audio(tmp_path / "n.wav", y, 8000, normalize=True, subtype="FLOAT")
    back, _ = sf.read(tmp_path / "n.wav")
    assert np.max(np.abs(back)) == pytest.approx(NORMALIZE_PEAK, rel=1e-6)
    save_audio(tmp_path / "f.wav", y, 8000, subtype="FLOAT")  # float keeps them, no warning
    assert sf.read(tmp_path / "f.wav")[0][2] == -2.0


@pytest.mark.parametrize("y, error, words", [
    (np.zeros(0), InputError, "no samples"),
    (np.zeros(100), InputError, "shorter than one frame"),
    (np.array([0.0, np.nan] * 2000), InputError, "2000 NaN"),
    (np.zeros((2, 2, 3000)), ParameterError, "shape"),
    (np.zeros((65, 3000)), ParameterError, "65 channels"),
    (np.full(3000, 1e15), InputError, "samples reach 1e"),
])  # fmt: skip
def test_bad_audio_arrays(y, error, words):
    with pytest.raises(error, match=words):
        spec2img.encode(y, SR)


def test_no_partial_output_when_decoding_fails(tmp_path, monkeypatch):
    image = spec2img.encode(signals.tone(), SR)
    image.save(tmp_path / "t.png")

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("soundfile.write", boom)  # FLAC's encoder (16-bit WAV has none)
    with pytest.raises(OutputError, match="disk on fire"):
        spec2img.image_to_audio(tmp_path / "t.png", tmp_path / "t.flac", n_iter=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.png"]


def test_full_disk_is_an_output_error_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    image = spec2img.encode(signals.tone(), SR)

    def enospc(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("PIL.Image.Image.save", enospc)
    with pytest.raises(OutputError, match="No space left"):
        image.save(tmp_path / "full.png")
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_mismatched_height(tmp_path):
    from spec2img.io.png import write_png

    image = spec2img.encode(signals.tone(), SR)
    write_png(tmp_path / "h.png", image.pixels[:-3], image.meta.to_text())
    with pytest.raises(MetadataError, match="height 1022 does not match"):
        spec2img.load(tmp_path / "h.png")


def test_audio_to_image_takes_encodes_keywords_and_no_others(tmp_path):
    import inspect

    from spec2img import pipeline

    encodes = [p.name for p in inspect.signature(pipeline.encode).parameters.values()
               if p.kind is p.KEYWORD_ONLY]  # fmt: skip
    assert sorted(pipeline._ENCODE_KEYWORDS) == sorted(encodes)
    with pytest.raises(TypeError, match="segment"):
        pipeline.audio_to_image(tmp_path / "a.wav", tmp_path / "a.png", segment=1.0)
