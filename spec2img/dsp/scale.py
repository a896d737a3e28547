"""Amplitude <-> dB <-> 16-bit pixels, and the mel filterbank with its NNLS inverse.

Pixel values are linear in dB: pixel 0 is ``db_min``, pixel 65535 is ``db_max``.
Pixel 0 decodes to exact silence, so a region erased to black in an image editor is
silent, not merely quiet.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

#: Amplitudes below this are treated as this (-200 dB), so silence is finite.
AMIN = 1e-10
AMIN_DB = -200.0
PIXEL_MAX = 65535


def amplitude_to_db(S: np.ndarray) -> np.ndarray:
    """``20 log10(max(S, 1e-10))`` in float32 (ref = 1.0, so level is absolute)."""
    S = np.asarray(S, dtype=np.float32)
    return (20.0 * np.log10(np.maximum(S, np.float32(AMIN)))).astype(np.float32)


def db_range(db: np.ndarray, top_db: float) -> tuple[float, float]:
    """``(db_min, db_max)`` keeping ``top_db`` dB below the peak of ``db``.

    For silent or near-silent input the peak is raised to ``AMIN_DB + top_db`` so that
    the range stays finite and the floor maps to pixel 0.
    """
    if not np.isfinite(top_db) or top_db <= 0:
        raise ParameterError(f"top_db must be a positive number, not {top_db!r}")
    peak = float(np.max(db)) if db.size else AMIN_DB
    db_max = max(peak, AMIN_DB + float(top_db))
    return db_max - float(top_db), db_max


def db_to_pixels(db: np.ndarray, db_min: float, db_max: float) -> np.ndarray:
    """Quantise dB values linearly to uint16 between ``db_min`` (0) and ``db_max`` (65535)."""
    x = (np.asarray(db, dtype=np.float64) - db_min) * (PIXEL_MAX / (db_max - db_min))
    return np.rint(np.clip(x, 0, PIXEL_MAX)).astype(np.uint16)


def pixels_to_db(pixels: np.ndarray, db_min: float, db_max: float) -> np.ndarray:
    """dB value of each pixel (float32); the inverse of :func:`db_to_pixels`."""
    step = (db_max - db_min) / PIXEL_MAX
    return (np.asarray(pixels, dtype=np.float32) * np.float32(step) + np.float32(db_min)).astype(
        np.float32
    )


def pixels_to_amplitude(pixels: np.ndarray, db_min: float, db_max: float) -> np.ndarray:
    """Linear amplitude of each pixel (float32); pixel 0 is exact silence."""
    amp = np.power(np.float32(10.0), pixels_to_db(pixels, db_min, db_max) / np.float32(20.0))
    amp[np.asarray(pixels) == 0] = 0.0
    return amp.astype(np.float32, copy=False)


def mel_basis(params) -> np.ndarray:
    """Mel filterbank ``(n_mels, n_fft // 2 + 1)`` of :class:`~spec2img.params.SpecParams`.

    librosa's Slaney-style filterbank (``htk=False, norm="slaney"``, computed by
    :mod:`spec2img.dsp.melbank` without importing librosa), applied to the STFT
    *magnitude* (power 1).
    """
    from .melbank import mel_filters

    with np.errstate(all="ignore"):
        basis = mel_filters(
            sr=params.sample_rate, n_fft=params.n_fft, n_mels=params.n_mels,
            fmin=params.fmin, fmax=params.fmax,
        )  # fmt: skip
    # A band far narrower than a bin (fmax=1e-300) covers no bin but normalises by ~1/0:
    # its weights come out 0 * inf = NaN.  It is an empty filter, as librosa warns.
    return np.nan_to_num(basis, nan=0.0, posinf=0.0, neginf=0.0)


def linear_to_mel(S: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Mel magnitude ``(..., n_mels, t)`` from linear magnitude ``(..., n_fft//2+1, t)``."""
    A = _sparse(basis)
    lead, (n_bins, t) = S.shape[:-2], S.shape[-2:]
    cols = np.moveaxis(np.asarray(S, np.float32).reshape(-1, n_bins, t), 0, 1)
    out = A @ cols.reshape(n_bins, -1)
    return _uncolumns(np.asarray(out, np.float32), lead, A.shape[0], t)


def mel_to_linear(M: np.ndarray, basis: np.ndarray, *, n_iter: int = 200) -> np.ndarray:
    """Non-negative least-squares inverse of :func:`linear_to_mel`.

    A pseudo-inverse gives negative magnitudes (clipped to zero they leave holes and
    spikes).  This solves ``min ||basis @ S - M||`` subject to ``S >= 0`` by
    accelerated projected gradient (FISTA), started from the clipped minimum-norm
    least-squares solution (the pseudo-inverse's).  librosa's L-BFGS-based ``nnls``
    stops on an absolute gradient tolerance and barely moves from that start on quiet
    spectra; this converges regardless of level and is faster.

    Each mel band overlaps only its neighbours, so the filterbank is sparse (about two
    weights per FFT bin) and its Gram matrix ``basis @ basis.T`` is banded: the start
    and the step size come from banded solvers in ``O(n_mels)``, and each iteration
    costs ``O(bins * t)``, so the time grows with the linear spectrogram's size alone,
    not with ``n_mels * bins`` (a dense pseudo-inverse of a 2048-band filterbank for
    n_fft=16384 took 100 s for a two-frame image).  Bins that no band covers (above
    ``fmax``, say) come out exactly 0 and cost nothing in the iterations.

    Parameters
    ----------
    M : np.ndarray [shape=(..., n_mels, t), non-negative]
    basis : np.ndarray [shape=(n_mels, n_fft // 2 + 1)]
    n_iter : int > 0
        Iterations at most; it stops early once the residual no longer improves.

    Returns
    -------
    np.ndarray [shape=(..., n_fft // 2 + 1, t), dtype=float32, non-negative]
    """
    import scipy.linalg

    A = _sparse(basis)
    n_mels, n_bins = A.shape
    lead, t = M.shape[:-2], M.shape[-1]
    B = np.moveaxis(np.asarray(M, np.float32).reshape(-1, n_mels, t), 0, 1).reshape(n_mels, -1)
    peak = float(B.max()) if B.size else 0.0
    # A bin no band covers (above fmax: over half of Riffusion's) has a zero column, so
    # a zero start and a zero gradient: it stays exactly 0.  Solve on the others only.
    cols = np.flatnonzero(np.bincount(A.indices[A.data != 0], minlength=n_bins))
    if cols.size and cols[-1] - cols[0] + 1 == cols.size:  # one run, as in a filterbank
        cols = slice(cols[0], cols[-1] + 1)  # a slice is cheaper to take and to fill
    A = A[:, cols]
    AT = A.T.tocsr()
    gram = _banded_gram(A)
    if peak <= 0 or not gram.any():  # silence, or bands that cover no bin: nothing to recover
        return np.zeros((*lead, n_bins, t), np.float32)
    B = B / peak  # work at unit scale; the solution scales back linearly
    bw = gram.shape[0] - 1
    top = scipy.linalg.eigvals_banded(gram, select="i", select_range=(n_mels - 1, n_mels - 1))
    step = np.float32(1.0 / top[0])  # 1 / ||basis||_2^2
    # Minimum-norm least squares: basis.T @ solve(gram, B).  A tiny ridge keeps the solve
    # defined for empty or repeated bands, whose directions basis.T maps to zero anyway.
    ridged = gram.copy()
    ridged[bw] += 1e-9 * top[0]
    Z = scipy.linalg.solveh_banded(ridged, B, check_finite=False).astype(np.float32)
    X = AT @ Z  # float32
    np.maximum(X, 0, out=X)
    Y, X_new, tk = X.copy(), np.empty_like(X), 1.0
    b_norm = float(np.linalg.norm(B))
    last = np.inf
    # The element-wise steps dominate.  They run in place in three reused buffers (fresh
    # temporaries cost more than the arithmetic), with the old operations in the old
    # order (so the same rounding), over blocks of rows of about 1 MB: each block's six
    # passes then stay in cache.  Rows are independent given R = A @ Y - B.
    rows = max(1, (1 << 18) // X.shape[1])  # float32 values; X.shape[1] >= 1 here
    blocks = [(slice(r, r + rows), AT[r : r + rows]) for r in range(0, X.shape[0], rows)]
    # np.maximum against a scalar 0 runs about 3x slower than against an array of zeros.
    zeros = np.zeros((min(rows, X.shape[0]), X.shape[1]), np.float32)
    for i in range(n_iter):
        R = A @ Y
        R -= B
        tn = (1 + np.sqrt(1 + 4 * tk * tk)) / 2
        momentum = np.float32((tk - 1) / tn)
        for s, AT_s in blocks:
            G = AT_s @ R
            G *= step
            x, x_new, y = X[s], X_new[s], Y[s]
            np.subtract(y, G, out=x_new)
            np.maximum(x_new, zeros[: len(x_new)], out=x_new)  # max(Y - step AT @ R, 0)
            np.subtract(x_new, x, out=y)
            y *= momentum
            y += x_new  # Y = X_new + momentum * (X_new - X)
        X, X_new, tk = X_new, X, tn
        if i % 10 == 9:  # check convergence now and then; it costs a product
            res = float(np.linalg.norm(A @ X - B)) / b_norm
            if res < 1e-6 or res > 0.999 * last:
                break
            last = res
    out = np.zeros((n_bins, X.shape[1]), np.float32)
    out[cols] = X * np.float32(peak)
    return _uncolumns(out, lead, n_bins, t)


def _sparse(basis):
    """The filterbank as a CSR matrix (float32): about two weights per FFT bin."""
    import scipy.sparse

    if scipy.sparse.issparse(basis):
        return basis.tocsr().astype(np.float32)
    b = np.asarray(basis, np.float32)
    if b.ndim != 2:
        return scipy.sparse.csr_matrix(b)
    # The same matrix as csr_matrix(b), built from the non-zero positions directly: its
    # conversion through COO took 17 ms of a Riffusion-sized mel_to_linear, this 4 ms.
    nonzero = b != 0
    at = np.flatnonzero(nonzero)  # row-major, so each row's columns come sorted
    indptr = np.concatenate([[0], np.cumsum(np.count_nonzero(nonzero, axis=1))])
    return scipy.sparse.csr_matrix((b.ravel()[at], at % b.shape[1], indptr), shape=b.shape)


def _banded_gram(A) -> np.ndarray:
    """``A @ A.T`` in upper banded storage (float64) for scipy.linalg's banded solvers."""
    G = (A.astype(np.float64) @ A.T.astype(np.float64)).tocoo()
    bw = int(np.max(np.abs(G.row - G.col))) if G.nnz else 0
    ab = np.zeros((bw + 1, A.shape[0]))
    upper = G.col >= G.row
    ab[bw + G.row[upper] - G.col[upper], G.col[upper]] = G.data[upper]
    return ab


def _uncolumns(X: np.ndarray, lead: tuple, rows: int, t: int) -> np.ndarray:
    """``(rows, batch * t)`` back to ``(*lead, rows, t)``."""
    return np.ascontiguousarray(np.moveaxis(X.reshape(rows, -1, t), 1, 0).reshape(*lead, rows, t))
