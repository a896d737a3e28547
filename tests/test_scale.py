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


def _dense_fista(M, basis, n_iter=200):
    """mel_to_linear's algorithm written plainly: dense float32 products over every bin,
    dense float64 linear algebra for the start and the step, fresh arrays throughout."""
    A = np.asarray(basis, np.float32)
    n_mels, n_bins = A.shape
    lead, t = M.shape[:-2], M.shape[-1]
    B = np.moveaxis(np.asarray(M, np.float32).reshape(-1, n_mels, t), 0, 1).reshape(n_mels, -1)
    peak = float(B.max())
    B = B / peak
    gram = A.astype(np.float64) @ A.T.astype(np.float64)
    top = np.linalg.eigvalsh(gram)[-1]
    step = np.float32(1 / top)
    Z = np.linalg.solve(gram + 1e-9 * top * np.eye(n_mels), B).astype(np.float32)
    X = np.maximum(A.T @ Z, 0)
    Y, tk, last, b_norm = X.copy(), 1.0, np.inf, np.linalg.norm(B)
    for i in range(n_iter):
        X_new = np.maximum(Y - step * (A.T @ (A @ Y - B)), 0)
        tn = (1 + np.sqrt(1 + 4 * tk * tk)) / 2
        Y = X_new + np.float32((tk - 1) / tn) * (X_new - X)
        X, tk = X_new, tn
        if i % 10 == 9:
            res = np.linalg.norm(A @ X - B) / b_norm
            if res < 1e-6 or res > 0.999 * last:
                break
            last = res
    X = (X * np.float32(peak)).reshape(n_bins, -1, t)
    return np.moveaxis(X, 1, 0).reshape(*lead, n_bins, t)


def _gappy_basis(holes=(30, 31, 32, 90)):
    """40 bands up to 6 kHz at 22.05 kHz (bins above it uncovered), with ``holes`` cut
    in the middle so that the covered bins are not one run."""
    basis = scale.mel_basis(
        SpecParams(sample_rate=22050, n_fft=512, scale="mel", n_mels=40, fmax=6000)
    )
    basis[:, list(holes)] = 0
    return basis


# Float32 round-off (products summed in another order) grows over the iterations: about
# 1e-6 of the peak after 20, 5e-5 after 200.  A 1% smaller step, a start not clipped at 0
# or a slightly lagging momentum each put the result off by 6e-4 or more after 20.
@pytest.mark.parametrize("n_iter, tol", [(20, 1e-5), (200, 2e-4)])
@pytest.mark.parametrize("lead, holes", [((), ()), ((2,), ()), ((2, 3), (30, 31, 32, 90))])
def test_mel_nnls_matches_a_plain_dense_fista_and_zeroes_uncovered_bins(
    rng, lead, holes, n_iter, tol
):
    basis = _gappy_basis(holes)
    uncovered = ~(basis != 0).any(axis=0)
    assert uncovered[list(holes)].all() and uncovered[-50:].all() and not uncovered[50]
    S = rng.random((*lead, 257, 25)).astype(np.float32) ** 3
    M = scale.linear_to_mel(S, basis)
    X = scale.mel_to_linear(M, basis, n_iter=n_iter)
    assert X.shape == S.shape and X.dtype == np.float32
    assert np.all(X[..., uncovered, :] == 0)
    want = _dense_fista(M, basis, n_iter=n_iter)
    assert np.max(np.abs(X - want)) <= tol * np.max(want)


def test_mel_nnls_takes_a_sparse_basis_with_stored_zeros(rng):
    import scipy.sparse

    basis = _gappy_basis()
    A = scipy.sparse.csr_matrix(basis)
    A.data[A.indices == 50] = 0  # stored, but zero: bin 50 is covered by no band
    dense = A.toarray()
    M = scale.linear_to_mel(rng.random((2, 257, 12)).astype(np.float32), dense)
    X = scale.mel_to_linear(M, A)
    assert np.all(X[..., 50, :] == 0)
    assert np.array_equal(X, scale.mel_to_linear(M, dense))


def test_mel_nnls_of_silence_is_silence():
    basis = _gappy_basis()
    X = scale.mel_to_linear(np.zeros((2, 40, 7), np.float32), basis)
    assert X.shape == (2, 257, 7) and X.dtype == np.float32 and not X.any()


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


def test_sparse_filterbank_is_scipys_csr_of_the_dense_one():
    import scipy.sparse

    basis = _gappy_basis()
    basis[3, 7], basis[5, 9], basis[6, 0] = np.nan, -0.0, -1.5
    got, want = scale._sparse(basis), scipy.sparse.csr_matrix(basis)
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data, equal_nan=True)
