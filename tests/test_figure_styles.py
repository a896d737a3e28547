"""Figures drawn under matplotlib styles other than the default (issue 20): the
page's ink is decided once (``wild/ink.py``) and the frame, ticks and colour bar are
read through it, while the plot's colours are read as they are."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import mel_lsd

SR = 22050


def _sound():
    t = np.arange(int(SR * 2.0)) / SR
    y = 0.4 * np.sin(2 * np.pi * (300 + 500 * t) * t) + 0.2 * np.sin(2 * np.pi * 1500 * t) * (t > 1)
    return (y + 0.01 * np.random.default_rng(0).standard_normal(len(t))).astype(np.float32)


def _matched(z, ref):
    n = min(len(z), len(ref))
    return (z * np.sqrt(np.mean(ref[:n] ** 2) / max(np.mean(z[:n] ** 2), 1e-30))).astype(np.float32)


def _specshow(path, y, style, y_axis):
    import matplotlib

    matplotlib.use("Agg")
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt

    S = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    with plt.style.context(style):
        fig, ax = plt.subplots(figsize=(6, 4))
        img = librosa.display.specshow(S, sr=SR, x_axis="time", y_axis=y_axis, ax=ax)
        fig.colorbar(img, ax=ax, format="%+2.0f dB")
        fig.savefig(path)
        plt.close(fig)
    return float(S.min()), float(S.max())


def test_page_ink_is_decided_from_the_margins():
    from spec2img.wild.ink import page_ink

    black = np.zeros((20, 30, 4), np.uint8)
    black[..., 3] = 255
    white = black.copy()
    white[..., :3] = 255
    assert page_ink(black).light and not page_ink(white).light
    view = page_ink(black).view(black)
    assert (view[..., :3] == 255).all() and (view[..., 3] == 255).all()
    assert page_ink(white).view(white) is white


@pytest.mark.parametrize("y_axis", ["linear", pytest.param("log", marks=pytest.mark.slow)])
def test_dark_background_specshow_reads_as_well_as_all_options(tmp_path, y_axis):
    import spec2img
    from spec2img.wild.figure import read_figure

    warnings.simplefilter("ignore")
    y = _sound()
    path = tmp_path / "dark.png"
    lo, hi = _specshow(path, y, "dark_background", y_axis)
    reading = read_figure(path)
    assert reading.problem is None, reading.problem
    assert reading.settings["sr"] == SR
    assert reading.settings["cmap"] == "magma"
    assert abs(reading.settings["duration"] - len(y) / SR) <= 0.01 * len(y) / SR
    told = {
        "sr": SR,
        "n_fft": 2048,
        "hop_length": 512,
        "duration": len(y) / SR,
        "y_axis": y_axis,
        "cmap": "magma",
        "top_db": hi - lo,
    }
    z0, _ = spec2img.decode(spec2img.load_image(path))
    z1, _ = spec2img.decode(spec2img.load_image(path, plain=told))
    a, b = mel_lsd(y, _matched(z0, y), SR), mel_lsd(y, _matched(z1, y), SR)
    assert a <= b + 0.5, (a, b)


def test_default_style_is_still_read_as_dark_ink(tmp_path):
    from spec2img.wild.figure import read_figure

    path = tmp_path / "default.png"
    _specshow(path, _sound(), "default", "linear")
    reading = read_figure(path)
    assert reading.problem is None and reading.settings["sr"] == SR
    assert not any("dark page" in n for n in reading.notes)


def _specgram(path, y, style):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.style.context(style):
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.specgram(y, Fs=16000)
        fig.savefig(path)
        plt.close(fig)


def test_dark_background_specgram_reads_like_the_default_style(tmp_path):
    import spec2img

    warnings.simplefilter("ignore")
    t = np.arange(32000) / 16000
    y = (0.4 * np.sin(2 * np.pi * (300 + 500 * t) * t)).astype(np.float32)
    zs = []
    for style in ("default", "dark_background"):
        _specgram(tmp_path / f"{style}.png", y, style)
        z, sr = spec2img.decode(spec2img.load_image(tmp_path / f"{style}.png"))
        assert sr == 16000 and abs(len(z) - len(y)) <= 0.01 * len(y)
        zs.append(mel_lsd(y, _matched(z, y), 16000))
    assert abs(zs[1] - zs[0]) <= 0.5, zs
