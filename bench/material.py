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


# --- stereo material for bench/stereo.py (tune set) ---------------------------------


def _tone(f0: float, n: int, sr: int, rng, partials: int = 8) -> np.ndarray:
    """A decaying harmonic note with a little vibrato (piano- or string-like)."""
    t = np.arange(n) / sr
    vib = 1 + 0.003 * np.sin(2 * np.pi * rng.uniform(4, 6) * t)
    y = np.zeros(n)
    for k in range(1, partials + 1):
        if f0 * k < sr / 2.2:
            y += np.sin(2 * np.pi * np.cumsum(f0 * k * vib) / sr + rng.uniform(0, 6.3)) / k
    return y * np.exp(-t / rng.uniform(0.4, 1.5)) * (1 - np.exp(-t / 0.005))


def _sources(seconds: float, sr: int, seed: int) -> list[np.ndarray]:
    """Five mono sources: three note sequences, a noise-burst percussion line, a pad."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = []
    for base in (110.0, 220.0, 440.0):
        y = np.zeros(n)
        pos = 0
        while pos < n:
            m = int(rng.uniform(0.25, 0.8) * sr)
            f0 = base * 2 ** (rng.integers(0, 12) / 12)
            note = _tone(f0, min(2 * m, n - pos), sr, rng)
            y[pos : pos + note.size] += note
            pos += m
        out.append(y)
    perc = np.zeros(n)
    step = int(0.25 * sr)
    for pos in range(0, n, step):
        m = min(int(0.15 * sr), n - pos)
        perc[pos : pos + m] += rng.standard_normal(m) * _decay(m, 0.02, sr) * rng.uniform(0.3, 1)
    out.append(_onepole_lowpass(perc, 4000, sr))
    t = np.arange(n) / sr
    out.append(0.3 * sum(np.sin(2 * np.pi * f * t * (1 + 0.001 * k)) for k, f in
                         enumerate((196.0, 246.9, 293.7))))  # fmt: skip
    return out


def _peak(y: np.ndarray) -> np.ndarray:
    return (y * (10 ** (-1 / 20) / np.abs(y).max())).astype(np.float32)


def stereo_panned(seconds: float = 10.0, sr: int = SR, seed: int = 1) -> np.ndarray:
    """Amplitude-panned sources (constant-power pan law): the channels share each
    source's phase, as in a studio mix; ``(2, n)`` float32."""
    out = 0.0
    for y, pan in zip(_sources(seconds, sr, seed), (-0.8, 0.5, -0.2, 0.9, 0.0), strict=True):
        a = (pan + 1) * np.pi / 4
        out = out + np.stack([np.cos(a) * y, np.sin(a) * y])
    return _peak(out)


def stereo_spaced(seconds: float = 10.0, sr: int = SR, seed: int = 2) -> np.ndarray:
    """A spaced pair in a room: each source reaches the microphones with its own delay
    (0.2-2 ms) and gain, and each channel has its own reverberation tail
    (decorrelated); ``(2, n)`` float32."""
    import scipy.signal

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros((2, n))
    for y in _sources(seconds, sr, seed):
        for ch in range(2):
            d = int(rng.uniform(0.0002, 0.002) * sr)
            out[ch, d:] += rng.uniform(0.5, 1.0) * y[: n - d]
    m = int(1.2 * sr)
    for ch in range(2):  # exponentially decaying noise: an independent late reverb
        ir = rng.standard_normal(m) * _decay(m, 0.25, sr)
        ir *= 0.6 / np.sqrt(np.sum(ir**2))
        out[ch] += scipy.signal.fftconvolve(out[ch], ir)[:n]
    return _peak(out)


def stereo_acoustic(seconds: float = 10.0, sr: int = SR, seed: int = 3) -> np.ndarray:
    """A wide acoustic recording: three sparse note lines through a spaced pair, each
    reaching each microphone with its own delay (0.3-3 ms), six early reflections per
    source and channel, and a short independent tail per channel; the channels' levels
    stay close, so their magnitude ratios look as steady as a pan's; ``(2, n)`` float32.
    (A stand-in for spaced-microphone recordings in the tune set.)"""
    import scipy.signal

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros((2, n))
    for y in _sources(seconds, sr, seed)[:3]:
        for ch in range(2):
            h = np.zeros(int(0.04 * sr))
            h[int(rng.uniform(0.0003, 0.003) * sr)] = rng.uniform(0.6, 1.0)
            for _ in range(6):
                h[int(rng.uniform(0.004, 0.039) * sr)] += rng.uniform(-0.35, 0.35)
            out[ch] += scipy.signal.fftconvolve(y, h)[:n]
    m = int(0.8 * sr)
    for ch in range(2):
        ir = rng.standard_normal(m) * _decay(m, 0.15, sr)
        ir *= 0.3 / np.sqrt(np.sum(ir**2))
        out[ch] += scipy.signal.fftconvolve(out[ch], ir)[:n]
    return _peak(out)


def near_mono_drums(seconds: float = 10.0, sr: int = SR, side_db: float = -25.0) -> np.ndarray:
    """:func:`drum_and_bass` folded nearly to mono: its side signal scaled so that it is
    ``side_db`` dB below the mid, as in a club mix; ``(2, n)`` float32."""
    y = drum_and_bass(seconds, sr, seed=175).astype(np.float64)
    mid, side = (y[0] + y[1]) / 2, (y[0] - y[1]) / 2
    side *= 10 ** (side_db / 20) * np.sqrt(np.sum(mid**2) / max(np.sum(side**2), 1e-30))
    return _peak(np.stack([mid + side, mid - side]))
