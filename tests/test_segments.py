"""Long recordings: blockwise decoding, segment images, and joining them back."""

import tracemalloc
from itertools import pairwise

import numpy as np
import pytest
from conftest import SR, rms_db, sc_db, signals

import spec2img
from spec2img import blocks, phase
from spec2img.errors import ParameterError
from spec2img.stft import Stft

SMALL = {"n_fft": 512, "hop_length": 128}


def low_tones(seconds: float = 6.0, sr: int = SR) -> np.ndarray:
    """Low, slowly beating tones: tiny sample-to-sample steps, so a seam's click shows."""
    t = np.arange(int(seconds * sr)) / sr
    y = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 330 * t + 1.0)
    y += 0.1 * np.sin(2 * np.pi * 110 * t)
    return (y * (0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)


def max_step(y: np.ndarray, centres, half: int) -> float:
    """Largest sample-to-sample step within ``half`` samples of any of ``centres``."""
    return max(float(np.max(np.abs(np.diff(y[max(0, c - half) : c + half])))) for c in centres)


# ---------------------------------------------------------------- blocks


@pytest.mark.parametrize("n, block, overlap", [(100, 200, 32), (1000, 200, 32), (1001, 97, 16),
                                               (5000, 2048, 32), (300, 100, 40)])  # fmt: skip
def test_block_plan_covers_every_frame_with_the_overlap(n, block, overlap):
    plan = blocks.plan(n, block, overlap)
    assert plan[0][0] == 0 and plan[-1][1] == n
    assert all(t1 - t0 <= block for t0, t1 in plan)
    for (a0, a1), (b0, b1) in pairwise(plan):
        assert a0 < b0 < a1 < b1 and a1 - b0 >= overlap
    with pytest.raises(ParameterError, match="block_frames"):
        blocks.plan(n, 64, 32)


@pytest.mark.parametrize("center", [True, False])
def test_frames_are_the_whole_stft_in_a_range(center):
    y = signals.mixture()[None, :]
    engine = Stft(512, 128, center=center)
    whole = engine.forward(y)
    for t0, t1 in [(0, 5), (17, 40), (whole.shape[-1] - 3, whole.shape[-1])]:
        np.testing.assert_allclose(blocks.frames(y, engine, t0, t1), whole[..., t0:t1],
                                   rtol=0, atol=1e-4)  # fmt: skip


def test_blockwise_decode_keeps_quality_length_level_and_determinism():
    y = signals.stereo()
    image = spec2img.encode(y, SR, **SMALL)
    whole, _ = spec2img.decode(image, n_iter=60)
    z, _ = spec2img.decode(image, n_iter=60, block_frames=96)
    assert z.shape == y.shape and z.dtype == np.float32
    assert len(blocks.plan(image.meta.n_frames, 96, 32)) >= 3
    assert sc_db(y, z, **SMALL) < sc_db(y, whole, **SMALL) + 1.5
    assert abs(rms_db(z) - rms_db(y)) < 0.2
    again, _ = spec2img.decode(image, n_iter=60, block_frames=96)
    other, _ = spec2img.decode(image, n_iter=60, block_frames=96, seed=1)
    assert again.tobytes() == z.tobytes() and other.tobytes() != z.tobytes()


def test_block_seams_are_click_free_where_hard_cuts_click():
    y = low_tones(3.0)
    image = spec2img.encode(y, SR, **SMALL)
    plan = blocks.plan(image.meta.n_frames, 128, 32)
    z, _ = spec2img.decode(image, n_iter=60, block_frames=128)
    hop = SMALL["hop_length"]
    seams = [(b0 + a1) // 2 * hop for (_, a1), (b0, _) in pairwise(plan)]
    own = float(np.max(np.abs(np.diff(y))))
    assert max_step(z, seams, 2048) <= 1.25 * own
    # The measure does catch a click: blocks decoded apart and butted together.
    engine = Stft(**SMALL)
    S = np.abs(engine.forward(y[None]))
    parts = [
        phase.reconstruct(S[..., t0:t1], engine, n_iter=60, seed=k, length=(t1 - t0 - 1) * hop)[
            0
        ]  # fmt: skip
        for k, (t0, t1) in enumerate(plan)
    ]
    naive = np.concatenate([p[: (b0 - a0) * hop] for p, ((a0, _), (b0, _))
                            in zip(parts, pairwise(plan), strict=False)])  # fmt: skip
    cuts = np.cumsum([(b0 - a0) * hop for (a0, _), (b0, _) in pairwise(plan)])[:-1]
    assert max_step(naive, cuts, 4) > 2 * own


def test_blockwise_decode_peak_memory_is_bounded():
    rng = np.random.default_rng(3)
    sr, seconds = 16000, 40
    t = np.arange(sr * seconds) / sr
    y = (0.3 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    image = spec2img.encode(y, sr, **SMALL)
    magnitude_bytes = 4 * image.pixels.size

    def peak(**kw) -> int:
        tracemalloc.start()
        try:
            spec2img.decode(image, n_iter=2, **kw)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    blockwise, whole = peak(block_frames=256), peak()
    assert blockwise < 6 * magnitude_bytes  # the phase engine's target for its own work
    assert whole > 6 * magnitude_bytes  # what the whole-array path needs


def test_decode_goes_blockwise_above_the_threshold(monkeypatch):
    image = spec2img.encode(signals.tone(), SR, **SMALL)
    calls = []
    real = blocks.plan
    monkeypatch.setattr(blocks, "plan", lambda *a: calls.append(a) or real(*a))
    spec2img.decode(image, n_iter=2)
    assert calls == []
    monkeypatch.setattr(blocks, "BLOCKWISE_CELLS", image.pixels.size // 2)
    spec2img.decode(image, n_iter=2)
    assert len(calls) == 1
