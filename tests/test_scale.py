import numpy as np
import pytest

from spec2img.dsp import scale
from spec2img.errors import ParameterError
from spec2img.params import SpecParams


def test_db_pixels_round_trip_within_half_a_step(rng):
    db = rng.uniform(-120, 20, size=(3, 50)).astype(np.float32)
    pix = scale.db_to_pixels(db, -120.0, 20.0)
    assert pix.dtype == np.uint16 and pix.min() >= 0 and pix.max() <= 65535
    step = 140.0 / 65535
    assert np.max(np.abs(scale.pixels_to_db(pix, -120.0, 20.0) - db)) <= step / 2 + 1e-4


def test_pixel_zero_is_silence_and_top_is_db_max():
    amp = scale.pixels_to_amplitude(np.array([0, 1, 65535], np.uint16), -100.0, 0.0)
    assert amp[0] == 0.0
    assert amp[1] == pytest.approx(10 ** (-100 / 20), rel=1e-3)
    assert amp[2] == pytest.approx(1.0, rel=1e-6)


def test_silence_gives_finite_range_and_black_pixels():
    db = scale.amplitude_to_db(np.zeros((4, 4)))
    lo, hi = scale.db_range(db, 120.0)
    assert np.isfinite([lo, hi]).all() and hi - lo == 120.0
    assert not scale.db_to_pixels(db, lo, hi).any()


@pytest.mark.parametrize("top_db", [0, -5, np.nan, np.inf])
def test_bad_top_db(top_db):
    with pytest.raises(ParameterError, match="top_db"):
        scale.db_range(np.zeros(3), top_db)


def test_mel_nnls_inverse_is_non_negative_and_beats_pinv(rng):
    p = SpecParams(sample_rate=22050, n_fft=1024, scale="mel", n_mels=64)
    basis = scale.mel_basis(p)
    S = np.abs(rng.standard_normal((2, 513, 20))).astype(np.float32) ** 2
    M = scale.linear_to_mel(S, basis)
    S_nnls = scale.mel_to_linear(M, basis)
    assert S_nnls.shape == S.shape and S_nnls.min() >= 0
    err_nnls = np.linalg.norm(scale.linear_to_mel(S_nnls, basis) - M)
    S_pinv = np.maximum(np.einsum("fm,cmt->cft", np.linalg.pinv(basis), M), 0)
    err_pinv = np.linalg.norm(scale.linear_to_mel(S_pinv, basis) - M)
    assert err_nnls < 0.5 * err_pinv


def test_mel_nnls_on_a_long_sparse_filterbank_fits(rng):
    # Riffusion-sized: 512 HTK bands over 8821 bins (0.2% non-zero), solved through the
    # Gram matrix and sparse products (a dense SVD pseudo-inverse took ~20 s here).
    import librosa

    basis = librosa.filters.mel(sr=44100, n_fft=17640, n_mels=512, fmax=10000, htk=True,
                                norm=None, dtype=np.float32)  # fmt: skip
    S = rng.random((8821, 60)).astype(np.float32) ** 4
    M = basis @ S
    X = scale.mel_to_linear(M, basis)
    assert X.min() >= 0 and np.linalg.norm(basis @ X - M) < 1e-3 * np.linalg.norm(M)


@pytest.mark.filterwarnings("ignore:Empty filters detected")
def test_a_band_narrower_than_any_bin_gives_an_empty_filter_not_nan():
    p = SpecParams(sample_rate=1, n_fft=16, scale="mel", n_mels=2, fmax=1e-308)
    basis = scale.mel_basis(p)
    assert np.all(basis == 0)
    M = np.ones((1, 2, 5), np.float32)
    assert np.all(scale.mel_to_linear(M, basis) == 0)  # nothing to recover; no 1/0


def test_mel_inverse_time_does_not_grow_with_n_mels_times_bins():
    # A two-frame image of 2048 mel bands for n_fft=16384 is 4096 pixels; a dense
    # pseudo-inverse of its filterbank took 100 s.  Its linear spectrogram is 16k cells.
    import time

    basis = scale.mel_basis(SpecParams(sample_rate=44100, n_fft=16384, scale="mel", n_mels=2048))
    start = time.perf_counter()
    S = scale.mel_to_linear(np.ones((1, 2048, 2), np.float32), basis)
    assert time.perf_counter() - start < 10
    assert S.shape == (1, 8193, 2) and np.all(np.isfinite(S)) and S.min() >= 0


def test_linear_to_mel_is_the_filterbank_product(rng):
    basis = scale.mel_basis(SpecParams(sample_rate=16000, n_fft=512, scale="mel", n_mels=40))
    S = np.abs(rng.standard_normal((3, 257, 7))).astype(np.float32)
    want = np.einsum("mf,cft->cmt", basis.astype(np.float64), S)
    assert np.allclose(scale.linear_to_mel(S, basis), want, rtol=1e-5, atol=1e-6)
