"""The methods after FGLA (AGLA, RAAR, GLA->DM, ADMM), the stopping rule, coarse grids."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import ROOT
from test_phase import tone_chirp_bursts

from spec2img import phase
from spec2img.dsp.stft import Stft
from spec2img.errors import ParameterError
from spec2img.options import PhaseOptions
from spec2img.phase import agla, coarse, loop, reconstruct
from spec2img.phase import spectral_convergence as sc_of

sys.path.insert(0, str(ROOT / "bench"))
import reference_phase  # noqa: E402  (bench/: the methods that win nowhere)

ALL = {**phase.METHODS, **reference_phase.REFERENCE}


@pytest.fixture(scope="module")
def case():
    y = tone_chirp_bursts()
    engine = Stft(512, 128)
    return y, engine, np.abs(engine.forward(y))


def run(case, method, n_iter, **options):
    """Audio from ``method`` (selectable or reference) called as reconstruct calls it."""
    y, engine, S = case
    if method in phase.METHODS:
        return reconstruct(S, engine, method=method, n_iter=n_iter, length=y.size, **options)
    return direct(case, method, n_iter, **options)


def direct(case, method, n_iter, **options):
    """Audio from the method's function called directly (compiled kernels: no decision
    for NumPy mode is made outside reconstruct)."""
    y, engine, S = case
    Si = np.ascontiguousarray(S.T)[None]
    return ALL[method](Si, engine, n_iter=n_iter, init=None, rng=np.random.default_rng(0),
                       length=y.size, **options)[0]  # fmt: skip


# SC after 32 iterations from PGHI (measured -38.0, -38.8, -38.6, -34.8, -33.5 dB; the
# schedule, FGLA then AGLA, -37.6 in NumPy mode, as this small case runs).
@pytest.mark.parametrize(
    "method,max_sc_db",
    [("pghi+fgla+agla", -37), ("pghi+fgla", -36), ("pghi+agla", -36.5), ("pghi+raar", -36), ("pghi+dm", -32),
     ("pghi+admm", -31)],
)  # fmt: skip
def test_quality_per_method(case, method, max_sc_db):
    y, engine, S = case
    out = run(case, method, 32)
    assert out.shape == y.shape and out.dtype == np.float32
    assert sc_of(S, out, engine) < max_sc_db


@pytest.mark.parametrize("method", sorted(m for m in ALL if m.startswith("pghi+")))
def test_iterations_improve_on_the_pghi_start(case, method):
    y, engine, S = case
    start = sc_of(S, run(case, "pghi", 0), engine)
    assert sc_of(S, run(case, method, 16), engine) < start - 5


def test_agla_with_gamma_one_ignores_beta(case):
    """γ = 1 makes t_n the projection itself: d, and so β, no longer matter."""
    a = run(case, "pghi+agla", 8, gamma=1.0, beta=0.5)
    b = run(case, "pghi+agla", 8, gamma=1.0, beta=1.5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, run(case, "pghi+agla", 8, gamma=1.2, beta=1.5))


def test_dm_with_switch_one_is_fgla(case):
    a = direct(case, "pghi+dm", 8, switch=1.0)
    b = direct(case, "pghi+fgla", 8)
    np.testing.assert_array_equal(a, b)


def _random_blocks(rng, shape):
    c = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    return c


@pytest.mark.parametrize(
    "kernel,buffers,args",
    [
        (agla._update, 2, (0.99, 1.1, 1.2)),
        (reference_phase.raar_update, 1, (0.9,)),
        (reference_phase.admm_update, 1, ()),
    ],
)
def test_compiled_kernels_match_their_numpy_versions(kernel, buffers, args):
    """Each fused kernel computes what its NumPy fallback does (frames 3: of 10)."""
    rng = np.random.default_rng(0)
    shape = (2, 10, 33)
    S = np.abs(rng.standard_normal(shape)).astype(np.float32)
    S[0, 4, 5] = 0.0
    c = _random_blocks(rng, (2, 7, 33))
    c[1, 2, 3] = 0
    results = []
    for impl in (kernel, kernel.fallback):
        X = _random_blocks(np.random.default_rng(1), shape)
        bufs = [_random_blocks(np.random.default_rng(2 + k), shape) for k in range(buffers)]
        impl(c.view(np.float32), S, X.view(np.float32), *(b.view(np.float32) for b in bufs),
             3, *args)  # fmt: skip
        results.append([X, *bufs])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize(
    "method,options,needle",
    [("pghi+agla", {"alpha": 1.5}, "alpha=1.5"), ("pghi+agla", {"gamma": 0}, "gamma=0"),
     ("pghi+agla", {"gamma": 2.5}, "gamma=2.5"), ("pghi+agla", {"beta": "x"}, "beta='x'"),
     ("pghi+agla", {"alpha": float("nan")}, "alpha=nan"), ("pghi+raar", {"beta": 0}, "beta=0"),
     ("pghi+raar", {"beta": 1.5}, "beta=1.5"), ("pghi+dm", {"switch": 2}, "switch=2"),
     ("pghi+dm", {"switch": True}, "switch=True"), ("pghi+fgla", {"stop_db": -1}, "stop_db=-1"),
     ("pghi+agla", {"stop_db": "a"}, "stop_db='a'"), ("pghi+admm", {"stop_db": np.inf}, "inf")],
)  # fmt: skip
def test_bad_parameters_quote_the_value(case, method, options, needle):
    with pytest.raises(ParameterError, match=needle.replace("(", r"\(")):
        run(case, method, 2, **options)


def test_reference_methods_are_not_selectable(case):
    y, engine, S = case
    with pytest.raises(ParameterError, match="pghi\\+raar"):
        reconstruct(S, engine, method="pghi+raar")


# ------------------------------------------------------------------ stopping rule


def test_stop_db_stops_where_nothing_improves(case):
    """On a magnitude no signal has (noise), SC stalls at once: the loop stops early,
    reports a full bar, and runs every iteration without stop_db."""
    y, engine, S = case
    noise = np.abs(np.random.default_rng(3).standard_normal(S.shape)).astype(np.float32)
    calls = []
    loop.TRACE = []
    try:
        reconstruct(noise, engine, method="pghi+fgla", n_iter=200, stop_db=0.1,
                    progress=lambda *a: calls.append(a))  # fmt: skip
        trace = loop.TRACE
    finally:
        loop.TRACE = None
    ran = len(calls) - 1  # the last call fills the bar
    assert ran < 200 and ran % loop.CHECK_EVERY == 0 and calls[-1] == (200, 200)
    assert len(trace) == ran // loop.CHECK_EVERY >= loop.PATIENCE
    best = min(v for _, v in trace[: -loop.PATIENCE])
    assert all(best - v < 0.1 for _, v in trace[-loop.PATIENCE :])  # why it stopped
    calls.clear()
    reconstruct(noise, engine, method="pghi+fgla", n_iter=30, progress=lambda *a: calls.append(a))
    assert len(calls) == 30


def test_stop_db_keeps_iterating_while_it_pays(case):
    """On a real signal's magnitude SC improves by more than 0.1 dB per 10 iterations for
    a long time: the same threshold then changes nothing."""
    y, engine, S = case
    a = reconstruct(S, engine, method="pghi+agla", n_iter=30, stop_db=0.1, length=y.size)
    b = reconstruct(S, engine, method="pghi+agla", n_iter=30, length=y.size)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value,expected", [(None, None), (0, None), (0.0, None), (0.5, 0.5)])
def test_stop_db_zero_means_off(value, expected):
    assert loop.check_stop_db(value) == expected


def test_mel_images_stop_and_linear_images_do_not():
    import spec2img
    from spec2img import pipeline

    y = tone_chirp_bursts(sr=22050)
    lin = spec2img.encode(y, 22050)
    mel = spec2img.encode(y, 22050, scale="mel", n_mels=64)
    assert pipeline.default_stop_db(lin.meta) is None
    assert pipeline.default_stop_db(lin.meta, eight_bit=True) == loop.DEFAULT_STOP_DB
    assert pipeline.default_stop_db(mel.meta) == loop.DEFAULT_STOP_DB
    counts = {}
    for name, image in (("lin", lin), ("mel", mel)):
        calls = []
        spec2img.decode(image, n_iter=300, progress=lambda *a, c=calls: c.append(a))
        counts[name] = len(calls)
    assert counts["lin"] == 300 and counts["mel"] < 300


# ------------------------------------------------------------------ coarse grids


def test_coarse_factor():
    assert coarse.coarse_factor(Stft(17640, 441, 4410)) == 4  # Riffusion
    assert coarse.coarse_factor(Stft(2048, 512)) == 1
    assert coarse.coarse_factor(Stft(4096, 256, 1024)) == 4
    assert coarse.coarse_factor(Stft(4096, 256, 1024, center=False)) == 1
    assert coarse.coarse_factor(Stft(2048, 256, 1000)) == 1


def test_oversampled_factor():
    assert coarse.oversampled_factor(Stft(17640, 441, 4410)) == 2  # Riffusion: 8820 >= 8819
    assert coarse.oversampled_factor(Stft(4096, 256, 1024)) == 2
    assert coarse.oversampled_factor(Stft(8192, 256, 1024)) == 4
    assert coarse.oversampled_factor(Stft(2048, 512)) == 1
    assert coarse.oversampled_factor(Stft(4096, 256, 1024, center=False)) == 1


def test_the_oversampled_grid_determines_every_finer_one():
    """Why PGHI and the refinement run on the oversampled grid: its squared magnitude is
    the DFT of each windowed frame's autocorrelation, whole (m >= 2 win_length - 1), so
    the full grid's magnitude follows from it."""
    y = tone_chirp_bursts(sr=22050)
    big = Stft(8192, 256, 1024)
    k = coarse.oversampled_factor(big)
    small = coarse.coarse_engine(big, k)
    m, w = small.n_fft, big.win_length
    power = np.abs(small.forward(y)).astype(np.float64) ** 2
    r = np.fft.irfft(power, n=m, axis=0)  # circular autocorrelation, lags -(w-1)..(w-1)
    lags = np.zeros((big.n_fft, r.shape[1]))
    lags[:w] = r[:w]
    lags[-(w - 1) :] = r[-(w - 1) :]
    predicted = np.sqrt(np.maximum(np.fft.rfft(lags, axis=0).real, 0))
    full = np.abs(big.forward(y))
    np.testing.assert_allclose(predicted, full, atol=2e-3 * full.max())


def test_every_kth_bin_is_the_coarse_stft():
    """Why the coarse grid is exact: a window of 1024 padded to 4096 gives, at every 4th
    bin, the STFT with n_fft 1024."""
    y = tone_chirp_bursts(sr=22050)
    big, k = Stft(4096, 256, 1024), 4
    small = coarse.coarse_engine(big, k)
    np.testing.assert_allclose(np.abs(big.forward(y))[::k], np.abs(small.forward(y)),
                               rtol=1e-3, atol=1e-3)  # fmt: skip


def test_coarse_reconstruction_reaches_the_full_one(case):
    y = tone_chirp_bursts(sr=22050)
    big = Stft(4096, 256, 1024)
    S = np.abs(big.forward(y))
    calls = []
    out = coarse.reconstruct(S, big, PhaseOptions(method="pghi+fgla", n_iter=40, seed=0),
                             factor=4, length=y.size,
                             progress=lambda *a: calls.append(a))  # fmt: skip
    full = reconstruct(S, big, method="pghi+fgla", n_iter=40, length=y.size)
    assert sc_of(S, out, big) < sc_of(S, full, big) + 3
    steps = 40 + coarse.REFINE_ITER
    assert calls[-1] == (steps, steps) and len(calls) == steps


def test_methods_are_records_and_no_code_parses_their_names():
    import re

    from spec2img import options

    assert set(phase.METHODS) == set(options.METHODS)
    for name, m in ALL.items():
        assert m.name == name and m.start in ("pghi", "random")
    for name, m in phase.METHODS.items():
        assert phase.method_options(name) == list(m.options)
    assert phase.METHODS["pghi+fgla"].iterates_from_pghi
    assert not phase.METHODS["pghi"].iterates_from_pghi  # no step
    assert not phase.METHODS["fgla"].iterates_from_pghi  # a random start
    parsing = re.compile(r"""\.startswith\(\s*["'](pghi|fgla|gla|agla)""")
    offenders = [
        str(p.relative_to(ROOT)) for p in sorted((ROOT / "spec2img").rglob("*.py"))
        if parsing.search(p.read_text())
    ]  # fmt: skip
    assert offenders == []


def test_momentum_above_one_warns_and_the_bounds_are_the_records():
    engine, S = _small()
    with pytest.warns(UserWarning, match="momentum=1.5 > 1 is unstable"):
        reconstruct(S, engine, method="fgla", n_iter=1, momentum=1.5)
    with pytest.raises(ParameterError, match=r"momentum=-0.5 must be in \[0, inf\)"):
        reconstruct(S, engine, method="pghi+fgla", n_iter=1, momentum=-0.5)
    with pytest.raises(ParameterError, match=r"tol=1.0 must be in \(0, 1\)"):
        reconstruct(S, engine, method="pghi", tol=1.0)
    with pytest.raises(ParameterError, match="has no option 'momentum'"):
        reconstruct(S, engine, method="gla", momentum=0.5)


def _small():
    engine = Stft(64, 16)
    S = np.abs(engine.forward(np.random.default_rng(0).standard_normal(400).astype(np.float32)))
    return engine, S
