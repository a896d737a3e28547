"""Multichannel phase retrieval, each channel on its own thread (spec2img.phase.channels)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from test_phase import tone_chirp_bursts

from spec2img import phase
from spec2img.dsp import jit
from spec2img.dsp.stft import Stft
from spec2img.phase import channels


def stereo():
    y = tone_chirp_bursts()
    return np.stack([y, 0.5 * y[::-1]])


@pytest.mark.parametrize("mode", ["numpy", "compiled"])
def test_the_output_does_not_depend_on_the_threads(monkeypatch, mode):
    """Channels retrieved each on its own (``link=False``; linked ones: test_stereo.py)."""
    engine = Stft(512, 128)
    y = stereo()
    S = np.abs(engine.forward(y))
    out = {}
    for threads in (1, 2):
        monkeypatch.setattr(channels, "THREADS", threads)
        with jit.numpy_only() if mode == "numpy" else jit.deciding(float("inf")):
            out[threads] = phase.reconstruct(S, engine, n_iter=12, seed=3, length=y.shape[-1],
                                             stop_db=0.01, link=False)  # fmt: skip
    np.testing.assert_array_equal(out[1], out[2])
    # channel 0 is what a mono retrieval with the same seed gives
    with jit.numpy_only() if mode == "numpy" else jit.deciding(float("inf")):
        mono = phase.reconstruct(S[0], engine, n_iter=12, seed=3, length=y.shape[-1],
                                 stop_db=0.01)  # fmt: skip
    np.testing.assert_array_equal(out[2][0], mono)
    assert phase.spectral_convergence(S[1], out[2][1], engine) < -15


def test_progress_follows_the_least_advanced_channel():
    engine = Stft(512, 128)
    y = stereo()
    S = np.abs(engine.forward(y))
    calls = []
    phase.reconstruct(S, engine, n_iter=15, length=y.shape[-1],
                      progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and calls[-1] == (15, 15)
    assert {t for _, t in calls} == {15}


def test_a_failing_channel_stops_the_others(monkeypatch):
    monkeypatch.setattr(channels, "THREADS", 2)
    reached = {}

    def run(c, report):
        for i in range(1, 10_000):
            if c == 1 and i == 5:
                raise ValueError("channel 1 failed")
            reached[c] = i
            report(i, 10_000)
            time.sleep(0.001)
        return np.zeros((1, 4))

    with pytest.raises(ValueError, match="channel 1 failed"):
        channels.each_channel(run, 2, None)
    assert reached[0] < 5_000  # channel 0 was cancelled, not run to its end


def test_an_interrupt_on_this_thread_stops_the_other_channels(monkeypatch):
    monkeypatch.setattr(channels, "THREADS", 2)
    stopped = threading.Event()

    def run(c, report):
        for i in range(1, 10_000):
            if c == 0 and i == 20:
                raise KeyboardInterrupt
            try:
                report(i, 10_000)
            except channels.Cancelled:
                stopped.set()
                raise
            time.sleep(0.001)
        return np.zeros((1, 4))

    with pytest.raises(KeyboardInterrupt):
        channels.each_channel(run, 2, None)
    assert stopped.is_set()  # each_channel returned only once channel 1 had stopped


def test_channel_generators():
    a = channels.channel_rng(7, 0).random(4)
    np.testing.assert_array_equal(a, np.random.default_rng(7).random(4))
    b = channels.channel_rng(7, 1).random(4)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, channels.channel_rng(7, 1).random(4))
