"""Spectrogram arrays made with librosa: to_image() and from_array() for every kind."""

import librosa
import numpy as np
import pytest
from conftest import SR, rms_db, sc_db, signals

import spec2img
from spec2img.arrays.spectra import KINDS, from_array, to_image
from spec2img.errors import ParameterError


def _arrays(y, sr=SR, **stft):
    """Each kind as librosa makes it, and the ``ref`` it needs."""
    D = librosa.stft(y, **stft)
    M = librosa.feature.melspectrogram(S=np.abs(D) ** 2, sr=sr)
    peak = float(np.abs(D).max())
    return {
        "magnitude": (np.abs(D), 1.0),
        "power": (np.abs(D) ** 2, 1.0),
        "db": (librosa.amplitude_to_db(np.abs(D), ref=np.max), peak),
        "mel": (librosa.feature.melspectrogram(S=np.abs(D), sr=sr, power=1.0), 1.0),
        "mel_power": (M, 1.0),
        "mel_db": (librosa.power_to_db(M, ref=10.0), 10.0),
    }


# spectral convergence (dB) each kind must reach against the original; mel loses detail
SC_MAX = {"magnitude": -25, "power": -25, "db": -25, "mel": -12, "mel_power": -12, "mel_db": -12}


def test_the_table_covers_every_kind():
    assert sorted(SC_MAX) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips_through_audio_and_through_an_image(kind):
    y = signals.mixture()
    S, ref = _arrays(y)[kind]
    z = from_array(S, SR, kind=kind, ref=ref, length=len(y))
    assert z.shape == y.shape and z.dtype == np.float32
    assert abs(rms_db(z) - rms_db(y)) < (0.3 if kind in ("magnitude", "power", "db") else 1.0)
    assert sc_db(y, z) < SC_MAX[kind]
    image = to_image(S, SR, kind=kind, ref=ref, length=len(y))
    assert image.params.scale == ("mel" if kind.startswith("mel") else "linear")
    w, _ = spec2img.decode(image)
    assert w.shape == y.shape and abs(rms_db(w) - rms_db(y)) < 1.0
    assert sc_db(y, w) < SC_MAX[kind]


def test_to_image_of_an_stft_magnitude_is_what_encode_makes():
    y = signals.chirp()
    image = to_image(np.abs(librosa.stft(y)), SR, length=len(y))
    ref = spec2img.encode(y, SR)
    a, b = image.meta.to_dict(), ref.meta.to_dict()
    for key in ("db_min", "db_max"):
        assert a.pop(key) == pytest.approx(b.pop(key), abs=1e-3)
    assert a == b
    loud = ref.db() > ref.meta.db_max - 100  # float32 rounding matters only far below
    assert np.max(np.abs(image.db() - ref.db())[loud]) < 0.05


def test_mel_magnitude_image_is_what_encode_makes():
    y = signals.tone()
    S = librosa.feature.melspectrogram(y=y, sr=SR, power=1.0, n_mels=64, fmax=8000)
    image = to_image(S, SR, kind="mel", length=len(y), fmax=8000)
    ref = spec2img.encode(y, SR, scale="mel", n_mels=64, fmax=8000)
    assert (image.params, image.meta.n_samples) == (ref.params, ref.meta.n_samples)
    loud = ref.db() > ref.meta.db_max - 80
    assert np.max(np.abs(image.db() - ref.db())[loud]) < 0.05


def test_other_framing_and_default_length():
    y = signals.mixture()
    stft = {"n_fft": 512, "hop_length": 128, "window": "hamming", "center": False}
    S = np.abs(librosa.stft(y, **stft)) ** 2
    z = from_array(S, SR, kind="power", **stft)
    assert abs(len(z) - len(y)) < 128  # shortest length with these frames
    assert len(z) == 512 + (S.shape[-1] - 1) * 128
    assert sc_db(y[: len(z)], z, n_fft=512, hop_length=128) < -20
    assert abs(rms_db(z) - rms_db(y[: len(z)])) < 0.3


def test_db_reference_sets_the_level():
    y = signals.tone()
    D = np.abs(librosa.stft(y))
    S_db = librosa.amplitude_to_db(D, ref=np.max)
    right = from_array(S_db, SR, kind="db", ref=float(D.max()), n_iter=10)
    relative = from_array(S_db, SR, kind="db", n_iter=10)  # loudest cell at magnitude 1
    assert rms_db(right) == pytest.approx(rms_db(y[: len(right)]), abs=0.3)
    assert rms_db(relative) == pytest.approx(rms_db(right) - 20 * np.log10(D.max()), abs=0.1)
    with pytest.raises(ParameterError, match="np.max cannot be undone"):
        from_array(S_db, SR, kind="db", ref=np.max)


def test_channels():
    y = signals.stereo()
    S = np.abs(librosa.stft(y))  # (2, 1025, t)
    z = from_array(S, SR, length=y.shape[-1], n_iter=30)
    assert z.shape == y.shape
    for c in range(2):
        assert abs(rms_db(z[c]) - rms_db(y[c])) < 0.3
    image = to_image(S, SR, length=y.shape[-1])
    assert image.meta.channels == 2 and image.pixels.shape == (2 * 1025, S.shape[-1])


@pytest.mark.parametrize("S, kwargs, words", [
    (np.ones((1025, 10), complex), {}, "np.abs"),
    (-np.ones((1025, 10)), {}, "kind='db'"),
    (np.ones((1025, 10)), {"n_fft": 1024}, "give the n_fft"),
    (np.ones((1025, 10)), {"kind": "loudness"}, "kind must be one of"),
    (np.ones((1025, 10)), {"length": 99999}, "but S has 10"),
    (np.ones((2, 2, 1025, 10)), {}, "shape"),
    (np.full((1025, 10), np.nan), {}, "NaN"),
    (np.ones((1025, 10)), {"kind": "db", "ref": -1.0}, "ref must be"),
])  # fmt: skip
def test_bad_arrays_name_the_problem(S, kwargs, words):
    with pytest.raises(ParameterError, match=words):
        to_image(S, SR, **kwargs)
    with pytest.raises(ParameterError, match=words):
        from_array(S, SR, **kwargs)


def test_public_names():
    assert spec2img.to_image is to_image and spec2img.from_array is from_array
