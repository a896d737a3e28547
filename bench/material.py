"""Benchmark material made here: a drum & bass track and Riffusion-convention images.

The corpus has no drum & bass recording, and no Riffusion image exists on disk, so
:func:`drum_and_bass` synthesises a deterministic 174-BPM stereo track (a breakbeat of
kicks, snares, ghost notes and hats with sharp attacks, a detuned "reese" bass with a
sub, and a slow pad), and :func:`riffusion_image` writes an image of any audio with
Riffusion's conventions (the writer the tests use, from ``fixtures/make_fixtures.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 44100
BPM = 174


def _decay(n: int, tau: float, sr: int) -> np.ndarray:
    return np.exp(-np.arange(n) / (tau * sr))


def _onepole_lowpass(x: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    import scipy.signal

    a = np.exp(-2 * np.pi * cutoff / sr)
    return scipy.signal.lfilter([1 - a], [1, -a], x)


def _saw(freq: np.ndarray, sr: int, phase0: float = 0.0) -> np.ndarray:
    ph = phase0 + np.cumsum(freq) / sr
    return 2 * (ph - np.floor(ph + 0.5))


def drum_and_bass(seconds: float = 60.0, sr: int = SR, seed: int = 174) -> np.ndarray:
    """A deterministic stereo drum & bass track, ``(2, n)`` float32 peaking at -1 dBFS."""
    import scipy.signal

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros((2, n))
    step = 60.0 / BPM / 4  # sixteenth notes
    n_steps = int(seconds / step)
    # a two-bar break: K kick, S snare, g ghost snare, h closed hat, o open hat
    kick = "K.........K.....K.K.......K....."
    snare = "....S.......S.......S.......S..."
    ghost = ".......g..g...g.....g.g..g....g."
    hats = "hhhohhhhhhhohhhhhhhohhhhhhhohhho"
    t_k = np.arange(int(0.35 * sr)) / sr
    f_k = 45 + 110 * np.exp(-t_k / 0.03)
    kick_snd = np.sin(2 * np.pi * np.cumsum(f_k) / sr) * _decay(t_k.size, 0.12, sr)
    kick_snd[: int(0.002 * sr)] += rng.uniform(-1, 1, int(0.002 * sr)) * 0.8  # click
    b, a = scipy.signal.butter(2, [1200, 7000], btype="band", fs=sr)
    n_s = int(0.25 * sr)
    snare_snd = scipy.signal.lfilter(b, a, rng.standard_normal(n_s)) * _decay(n_s, 0.06, sr) * 2.5
    snare_snd += np.sin(2 * np.pi * 190 * np.arange(n_s) / sr) * _decay(n_s, 0.04, sr) * 0.6
    bh, ah = scipy.signal.butter(2, 7000, btype="high", fs=sr)
    n_h = int(0.3 * sr)
    hat_noise = scipy.signal.lfilter(bh, ah, rng.standard_normal(n_h))
    closed = hat_noise * _decay(n_h, 0.012, sr) * 0.5
    opened = hat_noise * _decay(n_h, 0.08, sr) * 0.35
    for i in range(n_steps):
        pos = int(i * step * sr + rng.normal(0, 0.002) * sr * (i % 2))  # a little swing
        pos = max(0, pos)
        j = i % 32
        hits = []
        if kick[j] == "K":
            hits.append((kick_snd, 0.0, 1.0))
        if snare[j] == "S":
            hits.append((snare_snd, 0.1, 0.9))
        if ghost[j] == "g":
            hits.append((snare_snd, -0.2, 0.25))
        if hats[j] in "ho":
            hits.append((closed if hats[j] == "h" else opened, 0.5 * (-1) ** j, 0.7))
        for snd, pan, gain in hits:
            m = min(snd.size, n - pos)
            if m > 0:
                out[0, pos : pos + m] += snd[:m] * gain * (1 - pan) / 2 * 2
                out[1, pos : pos + m] += snd[:m] * gain * (1 + pan) / 2 * 2
    # reese bass: two detuned saws, low-passed, following a bar-long riff, plus a sub
    notes = [41.2, 41.2, 49.0, 36.7, 41.2, 55.0, 49.0, 46.2]  # Hz, half a bar each
    bar = 16 * step
    idx = np.minimum((np.arange(n) / sr / (bar / 2)).astype(int) % len(notes), len(notes) - 1)
    f = np.asarray(notes)[idx]
    gate = (np.arange(n) / sr) % (bar / 2) < bar / 2 * 0.9
    env = _onepole_lowpass(gate.astype(float), 30, sr)
    reese = _saw(f * 1.006, sr) + _saw(f / 1.006, sr, 0.3)
    reese = _onepole_lowpass(_onepole_lowpass(reese, 350, sr), 500, sr)
    sub = np.sin(2 * np.pi * np.cumsum(f) / sr)
    bass = (0.5 * reese + 0.6 * sub) * env
    out += bass * 0.8
    # pad: a minor seventh chord of detuned saws, slow attack, wide stereo
    pad = np.zeros((2, n))
    for k, fr in enumerate((220.0, 261.6, 329.6, 392.0)):
        for ch in range(2):
            detune = 1 + (0.004 if ch else -0.004) * (1 + k % 2)
            pad[ch] += _saw(np.full(n, fr * detune), sr, 0.17 * k + 0.5 * ch)
    swell = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / sr / (4 * bar))
    pad = _onepole_lowpass(pad, 1500, sr) * swell * 0.08
    out += pad
    out *= 10 ** (-1 / 20) / np.abs(out).max()
    return out.astype(np.float32)


def riffusion_image(path, y: np.ndarray, *, sr: int = SR):
    """Write ``y`` as a Riffusion image, with the writer ``fixtures/make_fixtures.py`` holds
    (the tests use the same one)."""
    return _fixtures().riffusion_image(path, y, sr=sr)


def _fixtures():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_fixtures", Path(__file__).resolve().parent.parent / "fixtures" / "make_fixtures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
