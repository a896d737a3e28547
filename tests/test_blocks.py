"""spec2img.phase.blocks: long spectrograms reconstructed block by block.

The block plan's coverage and the seams' clicks on a blockwise decode are also tested in
test_segments.py; this file pins the framing itself: every frame reconstructed once, the
crossfade's level, the defaults, determinism and errors.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from spec2img.dsp.stft import Stft
from spec2img.errors import ParameterError
from spec2img.options import PhaseOptions
from spec2img.phase import blocks

SR = 8000


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(3)
    t = np.arange(3 * SR) / SR
    chirp = 0.3 * np.sin(2 * np.pi * (200 * t + 300 * t**2))
    y = np.stack([chirp + 0.05 * rng.standard_normal(t.size), 0.2 * rng.standard_normal(t.size)])
    return y.astype(np.float32)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("block_frames, overlap", [(60, 20), (97, 31), (150, 40)])
def test_with_the_true_phase_every_sample_comes_back_once(signal, center, block_frames, overlap):
    """With each block started from the true phase and no iterations, every block is the
    exact inverse of its frames: any sample left out or counted twice by the framing or
    the crossfade would show as an error, seams included."""
    engine = Stft(256, 64, center=center)
    X = engine.forward(signal)
    S, angles = np.abs(X), np.angle(X)
    n_frames = S.shape[-1]
    length = signal.shape[-1] if center else (n_frames - 1) * 64 + 256
    asked = []

    def source(t0, t1):
        asked.append((t0, t1))
        return S[..., t0:t1]

    y = blocks.reconstruct(
        source, engine, n_frames=n_frames, length=length, channels=2,
        block_frames=block_frames, overlap_frames=overlap,
        options=PhaseOptions(method="fgla", n_iter=0), init=angles,
    )  # fmt: skip
    assert y.shape == (2, length) and y.dtype == np.float32
    plan = blocks.plan(n_frames, block_frames, overlap)
    assert asked == plan and len(plan) > 1  # each block asked for once, in order
    # away from the signal's own ends (uncentred framing has fewer windows there)
    edge = 0 if center else 256
    ref = signal[..., edge : length - edge]
    err = np.max(np.abs(y[..., edge : length - edge] - ref))
    assert err < 1e-4 * np.max(np.abs(ref)), err


def test_seams_keep_the_quality_of_the_rest(signal):
    """Random starts: the error near each seam is bounded by the error elsewhere."""
    engine = Stft(256, 64)
    S = np.abs(engine.forward(signal))
    n_frames, length = S.shape[-1], signal.shape[-1]
    plan = blocks.plan(n_frames, 120, 40)
    y = blocks.reconstruct(
        lambda t0, t1: S[..., t0:t1], engine, n_frames=n_frames, length=length, channels=2,
        block_frames=120, overlap_frames=40,
        options=PhaseOptions(method="pghi+fgla", n_iter=16, seed=0),
    )  # fmt: skip
    Y = np.abs(engine.forward(y))
    diff = np.sqrt(np.sum((Y - S) ** 2, axis=(0, 1)) / np.maximum(np.sum(S**2, axis=(0, 1)), 1e-30))
    seam = np.zeros(n_frames, bool)
    for (_, a1), (b0, _) in pairwise(plan):
        seam[b0:a1] = True
    assert seam.any() and (~seam).any()
    assert np.median(diff[seam]) < 1.5 * np.median(diff[~seam]) + 0.02
    assert np.max(np.abs(y)) < 4 * np.max(np.abs(signal))  # no burst at a seam


def test_reconstruction_is_deterministic_per_seed(signal):
    engine = Stft(256, 64)
    S = np.abs(engine.forward(signal))
    kw = dict(n_frames=S.shape[-1], length=signal.shape[-1], channels=2, block_frames=100,
              overlap_frames=32)  # fmt: skip
    src = lambda t0, t1: S[..., t0:t1]  # noqa: E731
    a, b, c = (blocks.reconstruct(src, engine, options=PhaseOptions("fgla", 4, seed=seed), **kw)
               for seed in (5, 5, 6))  # fmt: skip
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_source_of_the_wrong_shape_is_a_parameter_error(signal):
    engine = Stft(256, 64)
    S = np.abs(engine.forward(signal))
    with pytest.raises(ParameterError, match=r"source gave shape \(2, 129, 9\) for frames 0:10"):
        blocks.reconstruct(lambda t0, t1: S[..., t0 : t1 - 1], engine, n_frames=S.shape[-1],
                           length=signal.shape[-1], channels=2, block_frames=10,
                           overlap_frames=3, options=PhaseOptions(n_iter=1))  # fmt: skip


@pytest.mark.parametrize("n, block, overlap", [(1000, 200, 32), (257, 100, 33), (10**6, 2048, 96)])
def test_the_plan_shares_exactly_the_overlap_in_near_equal_blocks(n, block, overlap):
    plan = blocks.plan(n, block, overlap)
    sizes = [t1 - t0 for t0, t1 in plan]
    assert max(sizes) <= block
    assert max(sizes[:-1]) - min(sizes[:-1]) == 0  # all but the last the same size
    for (_, a1), (b0, _) in list(pairwise(plan))[:-1]:
        assert a1 - b0 == overlap  # the last pair may share more
    covered = np.zeros(n, np.int64)
    for t0, t1 in plan[:1000]:
        covered[t0:t1] += 1
    if len(plan) <= 1000:
        assert covered.min() == 1 and covered.max() == 2


def test_one_block_when_everything_fits():
    assert blocks.plan(500, 500, 10) == [(0, 500)]
    assert blocks.plan(1, 64, 1) == [(0, 1)]


@pytest.mark.parametrize("block, overlap", [(64, 32), (10, 0), (2, 1)])
def test_a_block_must_exceed_twice_its_overlap(block, overlap):
    with pytest.raises(ParameterError, match=f"block_frames={block} must exceed"):
        blocks.plan(10_000, block, overlap)


@pytest.mark.parametrize("channels, n_bins", [(1, 1025), (2, 1025), (2, 8193), (64, 32769)])
def test_block_frames_for_keeps_a_block_near_its_cell_budget(channels, n_bins):
    frames = blocks.block_frames_for(channels, n_bins)
    assert frames >= 256
    if frames > 256:  # not at the floor: the budget decides, within one frame
        assert frames * channels * n_bins <= blocks.BLOCK_CELLS
        assert (frames + 1) * channels * n_bins > blocks.BLOCK_CELLS
    assert blocks.block_frames_for(channels, 2 * n_bins) <= frames  # more rows, fewer frames
    assert blocks.BLOCK_CELLS < blocks.BLOCKWISE_CELLS  # a blockwise decode has >= 4 blocks


def test_the_overlap_is_24_windows_and_at_least_32_frames():
    assert blocks.overlap_frames_for(2048, 512) == 96
    assert blocks.overlap_frames_for(2048, 600) == 82  # rounded up
    assert blocks.overlap_frames_for(256, 256) == 32


def test_crossfade_of_a_signal_with_itself_is_the_signal(signal):
    a = signal[:, :2000]
    np.testing.assert_allclose(blocks.crossfade(a, a.copy(), 256), a, atol=1e-6)


def test_crossfade_holds_the_level_of_uncorrelated_signals():
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((1, 20_000)).astype(np.float32) for _ in range(2))
    out = blocks.crossfade(a, b, 2000)
    assert out.shape == a.shape
    changed = np.flatnonzero((out[0] != a[0]) & (out[0] != b[0]))
    assert changed.size >= 1990  # a fade of about the margin, not a hard cut
    p, q = changed[0], changed[-1] + 1
    np.testing.assert_array_equal(out[:, :p], a[:, :p])
    np.testing.assert_array_equal(out[:, q:], b[:, q:])
    assert 2000 <= p and q <= 18_000  # kept clear of both ends
    rms = np.sqrt(np.mean(out[0, p:q].astype(np.float64) ** 2))
    assert abs(20 * np.log10(rms)) < 0.5  # power crossfade: no dip in the middle
