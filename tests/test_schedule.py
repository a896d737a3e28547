"""The default decode's schedule (FGLA, then AGLA; spec2img.phase.schedule), and what a
short decode does not load."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import modules_loaded_by
from test_phase import tone_chirp_bursts
from test_stereo import figures, panned
from test_stereo import retrieve as retrieve_stereo

import spec2img
from spec2img import options, phase
from spec2img.dsp import jit
from spec2img.dsp.stft import Stft
from spec2img.phase import loop, methods, pghi, schedule
from spec2img.phase import spectral_convergence as sc_of
from spec2img.phase.channels import LazyRng


@pytest.fixture(scope="module")
def case():
    y = tone_chirp_bursts()
    engine = Stft(512, 128)
    return y, engine, np.abs(engine.forward(y))


def run(case, n_iter, method=options.DEFAULT_METHOD, **kw):
    y, engine, S = case
    return phase.reconstruct(S, engine, method=method, n_iter=n_iter, length=y.size, **kw)


def test_the_default_is_the_schedule_and_n_iter_counts_every_iteration(case):
    assert (options.DEFAULT_METHOD, options.DEFAULT_N_ITER) == ("pghi+fgla+agla", 90)
    assert schedule.split(90) == (65, 25)
    for n in range(0, 200):
        first, rest = schedule.split(n)
        assert first + rest == n and first >= rest >= 0
    seen = []
    run(case, 30, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 30) for i in range(1, 31)]  # one bar, every iteration counted


def test_the_fgla_part_is_fgla(case):
    """With no AGLA part (one iteration) the schedule is pghi+fgla, bit for bit; with
    one, it differs from FGLA alone."""
    assert schedule.split(1) == (1, 0)
    tol = methods.SCHEDULE_TOL.default
    np.testing.assert_array_equal(run(case, 1), run(case, 1, method="pghi+fgla", tol=tol))
    assert not np.array_equal(run(case, 12), run(case, 12, method="pghi+fgla", tol=tol))


def test_the_schedule_leaves_the_quietest_bins_to_its_iterations(case):
    """The default's PGHI integrates the bins down to -80 dB (SCHEDULE_TOL), not -100 as
    PGHI alone does: a different start, as good a decode (on the 5-s clips of
    bench/oneliner.py the same SC to 0.01 dB, in 10-40 ms less of PGHI)."""
    y, engine, S = case
    tol = methods.SCHEDULE_TOL.default
    assert (tol, methods.TOL.default, pghi.DEFAULT_TOL) == (1e-4, 1e-5, 1e-5)
    assert ((S > 1e-5 * S.max()) & (S <= tol * S.max())).sum() > 1000  # bins it changes
    ours = run(case, 30)
    np.testing.assert_array_equal(ours, run(case, 30, tol=tol))
    finer = run(case, 30, tol=pghi.DEFAULT_TOL)
    assert not np.array_equal(ours, finer)
    assert sc_of(S, ours, engine) <= sc_of(S, finer, engine) + 0.05


@pytest.mark.slow
def test_the_schedule_is_as_good_as_more_fgla(case):
    """90 iterations of the schedule against 100 of FGLA (the previous default), in both
    modes (measured: -41.2 against -40.8 dB in NumPy mode, -41.9 against -40.9 with
    compiled kernels)."""
    y, engine, S = case
    for mode in (jit.numpy_only, lambda: jit.deciding(float("inf"))):
        with mode():
            ours = sc_of(S, run(case, 90), engine)
            before = sc_of(S, run(case, 100, method="pghi+fgla"), engine)
        assert ours <= before + 0.05, (ours, before)


def test_the_stopping_rule_ends_the_schedule_and_keeps_its_sc(case, monkeypatch):
    """Once the consistency stops improving in the FGLA part, the AGLA part does not run:
    the decode is the previous default's under the same rule, bit for bit (the rule is
    for images that hold no more detail, where those iterations change nothing heard;
    here, a clean linear magnitude, running all 400 would gain 1.8 dB)."""
    y, engine, S = case
    trace = []
    monkeypatch.setattr(loop, "TRACE", trace)
    seen = []
    stopped = run(case, 400, stop_db=0.1, progress=lambda d, t: seen.append(d))
    ran = len(seen) - 1  # the bar is filled once more when the rule stops it
    assert ran < schedule.split(400)[0], ran  # stopped in the FGLA part
    assert trace and trace[-1][0] == ran
    tol = methods.SCHEDULE_TOL.default
    np.testing.assert_array_equal(stopped, run(case, ran, method="pghi+fgla", tol=tol))  # no AGLA
    np.testing.assert_array_equal(stopped, run(case, 400, method="pghi+fgla", stop_db=0.1, tol=tol))


@pytest.mark.parametrize("mode", ["numpy", "compiled"])
def test_agla_part_of_a_linked_decode_is_coupled(monkeypatch, mode):
    """Linked channels stay linked through the AGLA part (it couples them as the FGLA
    part does), and the output is the same on one thread or two."""
    y = panned()[:, :22050]
    out = {}
    from spec2img.phase import channels, stereo

    for threads in (1, 2):
        monkeypatch.setattr(channels, "THREADS", threads)
        monkeypatch.setattr(stereo, "THREADS", threads)
        with jit.numpy_only() if mode == "numpy" else jit.deciding(float("inf")):
            out[threads] = retrieve_stereo(y, n_iter=30, method="pghi+agla", seed=1)
    np.testing.assert_array_equal(out[1], out[2])
    with jit.numpy_only() if mode == "numpy" else jit.deciding(float("inf")):
        alone = retrieve_stereo(y, n_iter=30, method="pghi+agla", seed=1, link=False)
    linked, free = figures(y, out[2]), figures(y, alone)
    assert linked["side"] < free["side"] - 5, (linked, free)
    assert linked["mid"] < -15, linked


def test_quiet_bins_get_the_same_phases_whatever_the_blocks(case, monkeypatch):
    """PGHI's quiet bins take a hash of the seed and their place: the same in one block
    or many, spread over the circle, different for another seed."""
    y, engine, S = case
    Si = np.ascontiguousarray(S.T)[None].copy()
    Si[:, 20:40, 100:] = 0  # a silent stretch of the upper bins
    quiet = Si <= Si.max() * pghi.DEFAULT_TOL
    whole = pghi.pghi_phase(Si, engine, rng=LazyRng(0))
    monkeypatch.setattr(pghi, "BLOCK_BINS", 10 * Si.shape[-1])
    blocks = pghi.pghi_phase(Si, engine, rng=LazyRng(0))
    assert quiet.sum() > 1000
    # a quiet bin's phase shows where its magnitude is not 0
    nonzero = quiet & (Si > 0)
    assert nonzero.sum() > 100
    np.testing.assert_array_equal(whole[nonzero], blocks[nonzero])
    ch, t, f = np.nonzero(quiet)
    one = pghi.scattered_phases(LazyRng(0).key(), ch, t * Si.shape[-1] + f)
    assert np.array_equal(one, pghi.scattered_phases(LazyRng(0).key(), ch, t * Si.shape[-1] + f))
    other = pghi.scattered_phases(LazyRng(1).key(), ch, t * Si.shape[-1] + f)
    assert not np.allclose(one, other)
    assert 0 <= one.min() and one.max() < 2 * np.pi
    assert abs(np.mean(np.exp(1j * one))) < 0.05  # spread over the circle
    assert whole.shape == blocks.shape


def test_short_decode_does_not_load_numpy_random(tmp_path):
    """A decode of a 16-bit image never draws from numpy.random (10 ms of a short
    decode's CPU time to import): PGHI's quiet bins take hashed phases."""
    sr = 22050
    y = tone_chirp_bursts(sr)
    y[sr // 2 : sr] = 0  # digital silence: quiet bins
    spec2img.encode(y, sr).save(tmp_path / "a.png")
    loaded = modules_loaded_by("decode", tmp_path / "a.png", tmp_path / "a.wav", "-q")
    drawn = sorted(m for m in loaded if m.startswith("numpy.random"))
    assert drawn == [], drawn
