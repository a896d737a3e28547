"""NumPy mode (short work without numba or scipy.fft) and PGHI's spanning-forest
integration (spec2img.phase.forest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import modules_loaded_by
from test_phase import tone_chirp_bursts

import spec2img
from spec2img import phase
from spec2img.dsp import jit
from spec2img.dsp.stft import Stft
from spec2img.phase import forest, pghi, spectral_convergence

ROOT = Path(__file__).resolve().parents[1]


def smooth_phase(rows=40, bins=30, seed=0):
    """A phase field with gradients of several radians per step."""
    rng = np.random.default_rng(seed)
    i, k = np.mgrid[0:rows, 0:bins]
    return 0.7 * i * k / bins + 2.1 * k + 0.3 * np.sin(i / 3.0) + rng.normal(0, 0.5, (rows, bins))


def steps(phi):
    return phi[1:] - phi[:-1], phi[:, 1:] - phi[:, :-1]


def test_consistent_gradients_integrate_to_the_phase_up_to_one_constant_per_component():
    phi = smooth_phase()
    level = np.random.default_rng(1).integers(0, forest.N_LEVELS, phi.shape).astype(np.int32)
    valid = np.ones(phi.shape, bool)
    valid[:, 14] = False  # two components, left and right of an invalid column
    out = forest.forest_phase(level, valid, *steps(phi))
    for part in (np.s_[:, :14], np.s_[:, 15:]):
        d = out[part] - phi[part]
        np.testing.assert_allclose(d, d.flat[0], atol=1e-9)
    left, right = out[:, :14] - phi[:, :14], out[:, 15:] - phi[:, 15:]
    assert abs(left[0, 0] - right[0, 0]) > 1e-6  # the components' constants are their own


def test_fixed_bins_keep_their_phases_and_their_component_follows():
    phi = smooth_phase()
    level = np.full(phi.shape, 100, np.int32)
    valid = np.ones(phi.shape, bool)
    known = np.arange(phi.shape[1], dtype=np.int32)  # row 0
    out = forest.forest_phase(level, valid, *steps(phi), fixed=(known, phi[0].copy()))
    np.testing.assert_allclose(out, phi, atol=1e-9)


def test_bins_in_no_edge_stay_out_of_the_rounds_and_change_nothing():
    """Silence (invalid bins) and a valid bin with no valid neighbour never become
    components: the regions around them integrate as before, the lone bin gets 0, and a
    fixed row in one region pins that region to the true phase."""
    phi = smooth_phase(40, 30)
    level = np.random.default_rng(2).integers(0, forest.N_LEVELS, phi.shape).astype(np.int32)
    valid = np.zeros(phi.shape, bool)
    regions = (np.s_[5:15, 2:12], np.s_[20:35, 15:28])
    for part in regions:
        valid[part] = True
    valid[38, 0] = True  # alone
    out = forest.forest_phase(level, valid, *steps(phi))
    for part in regions:
        d = out[part] - phi[part]
        np.testing.assert_allclose(d, d.flat[0], atol=1e-9)
    assert out[38, 0] == 0 and not out[~valid].any()
    known = (5 * 30 + np.arange(2, 12)).astype(np.int32)  # row 5 of the first region
    pinned = forest.forest_phase(level, valid, *steps(phi), fixed=(known, phi[5, 2:12].copy()))
    np.testing.assert_allclose(pinned[regions[0]], phi[regions[0]], atol=1e-9)
    d = pinned[regions[1]] - phi[regions[1]]
    np.testing.assert_allclose(d, d.flat[0], atol=1e-9)


def test_the_path_keeps_to_strong_bins():
    """Steps touching the weak bins are wrong; the strong bins form a ring around them,
    so a maximum spanning forest reaches every strong bin through strong bins only."""
    phi = smooth_phase(12, 12)
    level = np.full(phi.shape, 3000, np.int32)
    weak = np.zeros(phi.shape, bool)
    weak[3:9, 3:9] = True
    level[weak] = 5
    st, sf = steps(phi)
    st[weak[1:] | weak[:-1]] += 1.0  # corrupt every step with a weak end
    sf[weak[:, 1:] | weak[:, :-1]] -= 1.0
    out = forest.forest_phase(level, np.ones(phi.shape, bool), st, sf)
    d = (out - phi)[~weak]
    np.testing.assert_allclose(d, d[0], atol=1e-9)


def test_numpy_pghi_is_as_good_as_the_queue():
    y = tone_chirp_bursts()
    engine = Stft(512, 128)
    S = np.ascontiguousarray(np.abs(engine.forward(y)).T)[None]
    rng = np.random.default_rng
    queue = pghi.pghi_phase(S, engine, rng=rng(0))
    with jit.numpy_only():
        tree = pghi.pghi_phase(S, engine, rng=rng(0))
    sc_q = spectral_convergence(S[0].T, engine.inverse_tf(queue, y.size)[0], engine)
    sc_t = spectral_convergence(S[0].T, engine.inverse_tf(tree, y.size)[0], engine)
    assert sc_t < -20 and sc_t < sc_q + 1.0
    np.testing.assert_allclose(np.abs(tree), np.abs(queue), rtol=1e-6)  # only the phase differs


def test_numpy_pghi_continues_across_blocks(monkeypatch):
    y = tone_chirp_bursts()
    engine = Stft(512, 128)
    S = np.ascontiguousarray(np.abs(engine.forward(y)).T)[None]
    with jit.numpy_only():
        whole = engine.inverse_tf(pghi.pghi_phase(S, engine, rng=np.random.default_rng(0)))
        monkeypatch.setattr(pghi, "BLOCK_BINS", 40 * S.shape[-1])  # 40 frames a block
        blocks = engine.inverse_tf(pghi.pghi_phase(S, engine, rng=np.random.default_rng(0)))
    sc_w = spectral_convergence(S[0].T, whole[0, : y.size], engine)
    sc_b = spectral_convergence(S[0].T, blocks[0, : y.size], engine)
    assert sc_b < sc_w + 1.5


def test_stft_agrees_in_both_modes():
    y = tone_chirp_bursts()[None]
    engine = Stft(512, 128)
    X = engine.forward(y)
    Xi = np.ascontiguousarray(np.swapaxes(X, -1, -2))
    got = {}
    for mode in ("compiled", "numpy"):
        ctx = jit.numpy_only() if mode == "numpy" else jit.deciding(float("inf"))
        with ctx:
            seen: dict[int, np.ndarray] = {}  # by first frame: halves may come in any order
            engine.project(Xi, lambda c, a, b, seen=seen: seen.update({a: c.copy()}),
                           y.shape[-1])  # fmt: skip
            rebuilt = np.concatenate([seen[a] for a in sorted(seen)], 1)
            got[mode] = (engine.forward(y), engine.inverse(X, y.shape[-1]), rebuilt)
    for a, b in zip(got["compiled"], got["numpy"], strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5 * np.abs(a).max())


@pytest.mark.parametrize(
    ("channels", "n_fft", "hop"), [(1, 512, 128), (2, 512, 128), (1, 500, 128)]
)
def test_the_numpy_projection_is_the_same_on_one_thread_or_two(monkeypatch, channels, n_fft, hop):
    """Two threads split each pass of the projection (n_fft a multiple of the hop; else
    one thread streams it): the same bits either way, and every call of ``update``, on
    either thread, sees NumPy mode."""
    from spec2img.dsp import stft

    y = np.stack([tone_chirp_bursts(), tone_chirp_bursts()[::-1]])[:channels]
    engine = Stft(n_fft, hop)
    X = np.ascontiguousarray(np.swapaxes(engine.forward(y), -1, -2))
    got = {}
    for threads in (1, 2):
        monkeypatch.setattr(stft, "NUMPY_THREADS", threads)
        calls: list[tuple[int, int, bool]] = []
        out = np.zeros_like(X)

        def update(c, a, b, out=out, calls=calls):
            out[:, a:b] = c
            calls.append((a, b, jit.compiled_active()))

        with jit.numpy_only():
            engine.project(X, update, y.shape[-1])
        assert sorted((a, b) for a, b, _ in calls)[0][0] == 0
        assert not any(compiled for _, _, compiled in calls)
        got[threads] = out, len(calls)
    np.testing.assert_array_equal(got[1][0], got[2][0])
    split = n_fft % hop == 0
    assert got[2][1] == (stft.PIECES if split else 1)  # update calls: one per piece
    assert got[1][1] == 1


def test_one_engine_projects_in_two_threads_at_once():
    """Two projections through one engine at the same time (an editor serving two
    requests) do not mix: the second takes fresh buffers instead of the kept ones.
    (With the kept ones shared by both, each round failed 4 times in 5.)"""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    engine = Stft(2048, 512)
    y = np.tile(tone_chirp_bursts(), 5)
    specs = [np.ascontiguousarray(np.swapaxes(engine.forward(x[None]), -1, -2))
             for x in (y, y[::-1].copy())]  # fmt: skip
    start = threading.Barrier(2)

    def project(X, together=False):
        out = np.zeros_like(X)
        if together:
            start.wait(10)
        with jit.numpy_only():
            for _ in range(10):
                engine.project(X, lambda c, a, b: out.__setitem__(np.s_[:, a:b], c), None)
        return out

    alone = [project(X) for X in specs]
    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            together = list(pool.map(lambda X: project(X, True), specs))
        for a, b in zip(alone, together, strict=True):
            np.testing.assert_array_equal(a, b)


def test_both_threads_share_a_pass_in_the_callers_mode(monkeypatch):
    """The pool's thread runs its pieces in the caller's context (NumPy mode), and a
    piece it takes is not done twice."""
    import threading

    from spec2img.dsp import stft

    monkeypatch.setattr(stft, "NUMPY_THREADS", 2)
    seen = []
    went = {True: threading.Event(), False: threading.Event()}

    def piece(a, b):
        mine = threading.current_thread() is threading.main_thread()
        seen.append((a, b, mine, jit.compiled_active()))
        # each thread holds its first piece until the other has taken one: whichever
        # starts first cannot take every piece
        went[mine].set()
        went[not mine].wait(10)

    monkeypatch.setattr(stft, "PIECES", 4)
    # A pool of its own: the shared one may still hold work another test left running
    # (then its thread would not come within the wait, and the main thread take every piece).
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="spec2img-fft-test")
    monkeypatch.setattr(stft, "_pool", pool)
    try:
        with jit.numpy_only():
            stft._shared(piece, 100)
    finally:
        pool.shutdown(wait=True)
    assert sorted((a, b) for a, b, _, _ in seen) == [(0, 25), (25, 50), (50, 75), (75, 100)]
    assert {mine for _, _, mine, _ in seen} == {True, False}
    assert not any(compiled for *_, compiled in seen)


def test_the_outermost_decision_holds():
    seen = []
    kernel = jit.Kernel(lambda: "compiled", fallback=lambda: "numpy")
    kernel._compiled, kernel._tried = kernel.py_func, True  # no numba needed for this
    with jit.deciding(0.0):  # small: NumPy mode
        seen.append(kernel())
        with jit.deciding(float("inf")):  # an inner call does not overturn it
            seen.append(kernel())
    seen.append(kernel())  # undecided: compiled
    assert seen == ["numpy", "numpy", "compiled"]
    assert not jit.worth_compiling(jit.COMPILE_WORK / 2)


def test_a_decode_is_the_same_in_any_process(tmp_path):
    """Whether numba is loaded already does not change a decode (the mode depends on
    the work alone)."""
    y = tone_chirp_bursts()
    png = tmp_path / "a.png"
    spec2img.encode(y, 16000, n_fft=512, hop_length=128).save(png)
    big = np.abs(Stft(512, 128).forward(np.tile(y, 2)))
    with jit.deciding(float("inf")):
        phase.reconstruct(big, Stft(512, 128), n_iter=1)  # kernels loaded here
    here, _ = spec2img.decode(spec2img.load(png), n_iter=8)
    code = (f"import numpy as np, spec2img; y, _ = spec2img.decode(spec2img.load({str(png)!r}), "
            f"n_iter=8); np.save({str(tmp_path / 'b.npy')!r}, y)")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    np.testing.assert_array_equal(here, np.load(tmp_path / "b.npy"))


@pytest.mark.parametrize("command", ["decode", "encode"])
def test_a_short_conversion_loads_neither_numba_nor_scipy_fft(tmp_path, command):
    src = ROOT / "fixtures" / ("chirp_golden.png" if command == "decode" else "chirp.wav")
    dst = tmp_path / ("o.wav" if command == "decode" else "o.png")
    env = {k: v for k, v in os.environ.items() if k != "SPEC2IMG_NUMBA"}
    loaded = modules_loaded_by(command, src, dst, "-q", env=env)
    assert "numba" not in loaded and "scipy.fft" not in loaded


@pytest.mark.parametrize("value", ["always", ""])
def test_spec2img_numba_always_forces_compiled_kernels(monkeypatch, value):
    monkeypatch.setenv("SPEC2IMG_NUMBA", value)
    assert jit.worth_compiling(1.0) is (value == "always" and jit.numba_available())


@pytest.mark.parametrize("numpy_mode", [True, False])
def test_pghi_continues_from_a_known_first_frame(numpy_mode):
    """Blocks of a long decode start where the block before left off."""
    y = tone_chirp_bursts()
    engine = Stft(512, 128)
    X = engine.forward(y)
    S = np.ascontiguousarray(np.abs(X).T)[None]
    known = np.angle(X.T[None, 40])  # the true phase of frame 40
    ctx = jit.numpy_only() if numpy_mode else jit.deciding(float("inf"))
    with ctx:
        cont = pghi.pghi_phase(S[:, 40:], engine, rng=np.random.default_rng(0), first=known)
    loud = S[0, 40] > 1e-3 * S[0, 40].max()
    np.testing.assert_allclose(np.angle(cont[0, 0] * np.exp(-1j * known[0]))[loud], 0, atol=1e-5)
    # the next frames continue the true phase: near it where the signal is steady
    step = np.angle(cont[0, 1] * np.conj(X.T[41]))
    strong = S[0, 41] > 0.3 * S[0, 41].max()
    assert np.median(np.abs(step[strong])) < 0.3


def test_a_batch_of_many_files_decodes_with_compiled_kernels(tmp_path):
    from spec2img.convert import BATCH_COMPILED, DecodeTask
    from spec2img.options import PhaseOptions

    assert not DecodeTask().for_batch(BATCH_COMPILED - 1).compiled
    task = DecodeTask(phase=PhaseOptions(n_iter=4)).for_batch(BATCH_COMPILED)
    assert task.compiled
    src = ROOT / "fixtures" / "chirp_golden.png"
    task(str(src), str(tmp_path / "batch.wav"))
    z, _ = spec2img.pipeline.load_audio(tmp_path / "batch.wav")
    with jit.deciding(float("inf")):
        compiled, _ = spec2img.decode(spec2img.load(src), n_iter=4)
    alone, _ = spec2img.decode(spec2img.load(src), n_iter=4)
    scale = np.abs(compiled).max()
    np.testing.assert_allclose(z, compiled, atol=2 / 32768 * max(1.0, scale))
    assert np.abs(alone - compiled).max() > 10 / 32768  # NumPy mode's PGHI differs


def test_thread_choice_times_both_ways_then_takes_the_faster():
    """The second thread is taken where it pays, as timed (spec2img.dsp.stft._ThreadChoice):
    a warm-up, both ways timed, then the faster, the other tried again every RECHECK-th
    projection; a change of the machine's load changes the choice."""
    from spec2img.dsp.stft import _ThreadChoice

    choice = _ThreadChoice()
    cost = {1: 1.0, 2: 2.0}  # one thread faster: a busy machine
    ways = []
    for _ in range(3 * choice.RECHECK):
        k, threads = choice.pick()
        ways.append(threads)
        choice.record(k, threads, cost[threads])
    assert ways[:3] == [2, 1, 2]  # warm-up (not counted), then both ways timed
    later = ways[3:]
    tries = [k for k, w in enumerate(ways) if k >= 3 and w == 2]
    assert tries == [k for k in range(3, len(ways)) if k % choice.RECHECK == 0]
    assert later.count(1) == len(later) - len(tries)
    cost = {1: 1.0, 2: 0.5}  # the machine became idle: two threads pay
    for _ in range(2 * choice.RECHECK):
        k, threads = choice.pick()
        choice.record(k, threads, cost[threads])
    assert choice.best() == 2
    assert [choice.pick()[1] for _ in range(3)].count(2) >= 2


@pytest.mark.parametrize("ways", [[1] * 4, [2] * 4, [1, 2, 1, 2]])
def test_the_numpy_projection_is_the_same_whichever_way_is_chosen(monkeypatch, ways):
    from spec2img.dsp import stft

    monkeypatch.setattr(stft, "NUMPY_THREADS", 2)
    y = tone_chirp_bursts()[None]
    engine = Stft(1024, 256)
    X0 = np.ascontiguousarray(np.swapaxes(engine.forward(y), -1, -2))

    def run(picks):
        picks = iter(picks)
        monkeypatch.setattr(stft.THREAD_CHOICE, "pick", lambda: (1, next(picks)))
        X = X0.copy()
        with jit.numpy_only():
            for _ in range(4):
                engine.project(X, lambda c, a, b: X.__setitem__(np.s_[:, a:b], 0.5 * c), None)
        return X

    np.testing.assert_array_equal(run(ways), run([2, 2, 2, 2]))
