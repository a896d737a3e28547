"""Shared makers for the editor's tests: a short stereo recording and a session on it."""

from __future__ import annotations

import numpy as np
import soundfile as sf

SR = 16000


def stereo_clip(seconds: float = 3.0, seed: int = 7) -> np.ndarray:
    """``(2, n)`` float32: a glide and a tone burst over quiet noise, the channels differ."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    glide = 0.25 * np.sin(2 * np.pi * (300 + 150 * t) * t)
    burst = 0.15 * np.sin(2 * np.pi * 2500 * t) * ((t % 1.0) < 0.4)
    left = glide + burst + 0.01 * rng.standard_normal(t.size)
    right = 0.8 * glide + 0.01 * rng.standard_normal(t.size)
    return np.stack([left, right]).astype(np.float32)


def write_clip(path, seconds: float = 3.0, subtype: str = "FLOAT") -> np.ndarray:
    y = stereo_clip(seconds)
    sf.write(path, y.T, SR, subtype=subtype)
    return y


def session_for(path):
    from spec2img.edit.session import open_input

    s = open_input(path)
    s.prepare()
    return s
