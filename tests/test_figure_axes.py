"""Axes read from figures: plain log axes labelled 10^k, mel bands counted, bounds.

Fixtures: fixtures/figures/{specshow_plainlog_bar,scipy_db_plainlog,specshow_mel64}.*,
drawn by fixtures/make_figures.py.  Figures made on the fly are drawn here with
matplotlib, as people draw them.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, mel_lsd, run

_spec = importlib.util.spec_from_file_location("make_figures", FIXTURES / "make_figures.py")
figs = importlib.util.module_from_spec(_spec)
sys.modules["make_figures"] = figs
_spec.loader.exec_module(figs)

KINDS = {k.name: k for k in figs.KINDS}


def _path(kind):
    return FIXTURES / "figures" / f"{kind.name}.{kind.fmt}"


def _source(kind):
    import librosa

    y = figs.audio()
    return y if kind.sr == 22050 else librosa.resample(y, orig_sr=22050, target_sr=kind.sr)


def _drawn(kind):
    """The fixture drawn again: its colour limits, colormap and axis limits."""
    info = {}
    with tempfile.TemporaryDirectory() as d:
        _, clim, cmap = figs.draw(kind, figs.audio(), 22050, Path(d) / "again", info)
    return clim, cmap, info["ylim"]


def _matched(z, ref):
    n = min(len(z), len(ref))
    g = np.sqrt(np.mean(ref[:n] ** 2) / max(np.mean(z[:n] ** 2), 1e-30))
    return (z * g).astype(np.float32)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _read(path):
    from spec2img.wild.axes import read_axes
    from spec2img.wild.raster import Raster, find_plot_area

    with Raster(path) as r:
        area = find_plot_area(r)
        w, h = r.size
        rgba = r.rgba((0, 0, w, h))
    return read_axes(rgba, area)


# -- plain log axes ------------------------------------------------------------------
@pytest.mark.parametrize("dpi", [72, 100, 150, 200])
@pytest.mark.parametrize("lo,hi", [(0.01, 1e5), (3, 2e4), (1e-3, 1)])
def test_power_labels_are_read(tmp_path, dpi, lo, hi):
    """LogFormatterSciNotation's labels (a 10 and a raised exponent, minor ticks
    unlabelled) are read at the usual resolutions, negative exponents too; a misread
    exponent is rare and outvoted by the fit."""
    from spec2img.wild.figure import fit_axis

    plt = _plt()
    fig, ax = plt.subplots(dpi=dpi)
    y = np.geomspace(lo, hi, 50)
    ax.pcolormesh(np.arange(40), y, np.random.default_rng(0).random((50, 40)))
    ax.set_yscale("log")
    fig.canvas.draw()
    want = [t for t in ax.get_yticks() if lo <= t <= hi]
    fig.savefig(tmp_path / "f.png")
    plt.close(fig)
    _, yaxis = _read(tmp_path / "f.png")
    assert len(yaxis.ticks) == len(want)  # the minor ticks are left out
    got = sorted(v for v in yaxis.values if v is not None)
    right = sum(any(np.isclose(g, w) for w in want) for g in got)
    assert right >= len(want) - 1, (yaxis.labels, want)
    assert all("^" in t for t in yaxis.labels if t)
    fit = fit_axis(yaxis.readable, ("plainlog",), tol=max(1.0, 0.12 * yaxis.digit_height))
    assert fit is not None and fit.kind == "plainlog"


@pytest.mark.parametrize("name", ["specshow_plainlog_bar", "scipy_db_plainlog"])
def test_plain_log_figures_read_without_options(name):
    from spec2img.wild import presets

    kind = KINDS[name]
    res = presets.resolve(_path(kind), {})
    spec = presets.plain_spec_of(_path(kind), res)
    n = len(_source(kind))
    _, _, ylim = _drawn(kind)
    assert spec.y_axis == "plainlog" and res.sources["y_axis"] == "frequency axis"
    assert spec.params.sample_rate == kind.sr
    assert abs(spec.n_samples - n) <= 0.01 * n
    # the bottom of the axis within half a pixel's worth (fmin is where 0 Hz cannot be)
    fmin, fmax = spec.limits
    assert abs(np.log10(fmin / ylim[0])) < 0.006, (fmin, ylim)
    if kind.tool == "specshow":
        assert res.preset is None and fmax is None  # the outer cell edge, as drawn
    else:
        # scipy's gouraud mesh, told by its vertices on the stretched rows; no cells
        # to go by: both ends as the labels put them
        assert res.preset == "scipy" and abs(np.log10(fmax / ylim[1])) < 0.006


def _no_options_as_good_as_all(name):
    """Decode figure ``name`` with no options and with every option it was drawn with
    (the truth); the first within 0.2 dB mel-LSD of the second.  ``(kind, source
    audio, the options, the no-options decode's mel-LSD)``."""
    import spec2img

    warnings.simplefilter("ignore")
    kind = KINDS[name]
    ref = _source(kind)
    clim, cmap, ylim = _drawn(kind)
    want = figs.truth(kind, len(ref), clim, cmap, ylim)
    z0, _ = spec2img.decode(spec2img.load_image(_path(kind)))
    z1, _ = spec2img.decode(spec2img.load_image(_path(kind), plain=want))
    a = mel_lsd(ref, _matched(z0, ref), kind.sr)
    b = mel_lsd(ref, _matched(z1, ref), kind.sr)
    assert a <= b + 0.2, (a, b)
    return kind, ref, want, a


@pytest.mark.parametrize("name", ["specshow_plainlog_bar", "scipy_db_plainlog"])
def test_plain_log_decodes_as_well_as_all_options(name):
    import spec2img

    kind, ref, want, a = _no_options_as_good_as_all(name)
    # read as librosa's symlog axis (specshow's old reading), or as linear, far off
    wrong = dict(want, y_axis="log" if kind.tool == "specshow" else "linear")
    wrong.pop("fmin"), wrong.pop("fmax", None)
    z2, _ = spec2img.decode(spec2img.load_image(_path(kind), plain=wrong))
    assert mel_lsd(ref, _matched(z2, ref), kind.sr) > a + 1.0


def test_plainlog_needs_its_bottom(tmp_path, capsys):
    """Without axes to read it from, a plain log axis needs --fmin (0 Hz has no place
    on it); given, it decodes."""
    from PIL import Image

    from spec2img.wild.raster import Raster, find_plot_area

    kind = KINDS["specshow_plainlog_bar"]
    with Raster(_path(kind)) as r:
        a = find_plot_area(r)
    bare = tmp_path / "bare.png"
    box = (int(a.left) + 2, int(a.top) + 2, int(a.right) - 2, int(a.bottom) - 2)
    Image.open(_path(kind)).convert("RGB").crop(box).save(bare)
    args = ("--sr", 22050, "--n-fft", 2048, "--duration", 2, "--cmap", "magma", "--y-axis",
            "plainlog")  # fmt: skip
    code, _, err = run(capsys, "decode", bare, tmp_path / "o.wav", *args)
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "--fmin" in line and "plainlog" in line and "Traceback" not in err
    assert not (tmp_path / "o.wav").exists()
    code, _, _ = run(capsys, "decode", bare, tmp_path / "o.wav", *args, "--fmin", 3.7, "-q")
    assert code == 0 and (tmp_path / "o.wav").exists()


def test_info_prints_the_plain_log_override(capsys):
    kind = KINDS["specshow_plainlog_bar"]
    code, out, _ = run(capsys, "info", _path(kind))
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "plainlog" in rows["y_axis"] and "(frequency axis)" in rows["y_axis"]
    assert "frequency axis (bottom" in rows["fmin"]
    assert "10^3" in out  # the labels as read
    assert "--y-axis plainlog --fmin" in rows["override"]


def test_inconsistent_power_labels_fail_in_one_line(tmp_path, capsys):
    """Labels that are powers but not in order: the frequency axis is named, with
    the labels read, and nothing is written."""
    import librosa
    import librosa.display

    plt = _plt()
    y = figs.audio()
    S = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    fig, ax = plt.subplots()
    librosa.display.specshow(S, x_axis="time", y_axis="linear", sr=22050, ax=ax)
    ax.set_yscale("log")
    ticks = [10, 100, 1000, 10000]
    ax.set_yticks(ticks, labels=[f"$\\mathdefault{{10^{{{k}}}}}$" for k in (3, 1, 4, 2)])
    ax.minorticks_off()
    p = tmp_path / "odd.png"
    fig.savefig(p)
    plt.close(fig)
    code, _, err = run(capsys, "decode", p, tmp_path / "o.wav")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 or "Traceback" not in err
    line = lines[-1]
    assert "frequency axis" in line and "10^3" in line and "--sr" in line
    assert "--duration" not in line  # the time axis was read
    assert not (tmp_path / "o.wav").exists()


def test_minor_ticks_are_told_from_major_ones():
    from spec2img.wild.axes import _major

    ticks = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    assert _major(ticks, [5, 3, 3, 5, 3, 5]) == [10.0, 40.0, 60.0]
    assert _major(ticks, [5, 5, 5, 5, 4, 5]) == ticks  # one length: all major


# -- mel bands ---------------------------------------------------------------------------
@pytest.mark.parametrize("name,n_mels", [("specshow_mel64", 64), ("specshow_mel_bar", 128)])
def test_n_mels_is_measured_from_the_bands(name, n_mels):
    from spec2img.wild import presets

    kind = KINDS[name]
    res = presets.resolve(_path(kind), {})
    spec = presets.plain_spec_of(_path(kind), res)
    assert spec.params.n_mels == n_mels
    assert res.sources["n_mels"] == f"frame grid ({n_mels} mel bands)"


def test_n_mels_too_thin_to_measure_falls_back_and_says_so(tmp_path, capsys):
    import librosa
    import librosa.display

    plt = _plt()
    y = figs.audio()
    M = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_mels=256),
                            ref=np.max)  # fmt: skip
    fig, ax = plt.subplots(dpi=72)  # 256 bands on ~265 rows
    librosa.display.specshow(M, x_axis="time", y_axis="mel", sr=22050, ax=ax)
    p = tmp_path / "thin.png"
    fig.savefig(p)
    plt.close(fig)
    code, out, _ = run(capsys, "info", p)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "128" in rows["n_mels"] and "not measured" in rows["n_mels"]


def test_mel64_decodes_as_well_as_all_options():
    _no_options_as_good_as_all("specshow_mel64")


# -- bounds ------------------------------------------------------------------------------
def test_label_reading_is_bounded_by_ticks_and_glyphs(tmp_path, monkeypatch):
    """Ticks beside a field of thousands of text-like blobs: each label is read from at
    most MAX_GLYPHS glyphs, so the matching done is bounded by ticks x glyphs."""
    from PIL import Image, ImageDraw

    from spec2img.wild import axes
    from spec2img.wild.figure import read_figure

    calls = {"n": 0}
    classify = axes.classify

    def counting(glyphs, *a, **k):
        calls["n"] += len(glyphs)
        return classify(glyphs, *a, **k)

    monkeypatch.setattr(axes, "classify", counting)
    rng = np.random.default_rng(5)
    im = Image.new("RGB", (1400, 900), "white")
    d = ImageDraw.Draw(im)
    d.rectangle((600, 50, 1350, 800), outline="black", width=1)
    for k in range(40):  # tick marks left of and below the frame
        y = 60 + 18 * k
        d.line((594, y, 599, y), fill="black", width=1)
        d.line((610 + 18 * k, 801, 610 + 18 * k, 806), fill="black", width=1)
    for _ in range(6000):  # a field of text-like blobs where the labels would be
        x, y = int(rng.integers(0, 585)), int(rng.integers(40, 860))
        d.rectangle((x, y, x + 2, y + 6), fill="black")
    for _ in range(3000):
        x, y = int(rng.integers(590, 1380)), int(rng.integers(812, 895))
        d.rectangle((x, y, x + 2, y + 6), fill="black")
    p = tmp_path / "blobs.png"
    im.save(p)
    r = read_figure(p)
    assert calls["n"] <= 2 * axes.MAX_TICKS * axes.MAX_GLYPHS
    assert "sr" not in r.settings and r.problem


# -- sox and audio-diffusion framing -----------------------------------------------------
def test_sox_framing_uses_its_periodic_window_and_its_own_step(tmp_path):
    import shutil

    if shutil.which("sox") is None:
        pytest.skip("sox is not installed")
    _t = importlib.util.spec_from_file_location("tools", FIXTURES / "make_tool_images.py")
    tools = importlib.util.module_from_spec(_t)
    _t.loader.exec_module(tools)
    from spec2img.wild import presets
    from spec2img.wild.sox import framing

    y = tools.signal(2.0)
    wav = tools.write_wav(tmp_path / "m.wav", y)
    png = tools.sox_image(tmp_path / "s.png", wav)
    res = presets.resolve(png, {"sr": tools.SR, "duration": 2.0})
    spec = presets.plain_spec_of(png, res)
    step, steps = framing(tools.SR, 1024, 800, 2.0)
    p = spec.params
    assert p.win_length == p.n_fft  # periodic: symmetric about n_fft / 2
    assert spec.n_columns == 800 * steps
    # windows overlapping by 65 % or more: decoded at sox's step, one frame a window;
    # window k starts ceil((n_fft - step) / 2) zeros into sox's buffer (C rounds the
    # negative (step - n_fft) / 2 toward zero), centred n_fft / 2 in
    zeros = -((step - 1024) // 2)
    assert zeros == 1024 - step - (1024 - step) // 2
    assert step <= 0.35 * 1024 and p.hop_length == step and spec.column_step == 1
    assert spec.column_lag == 0 and spec.delay == 512 - zeros
    # wider steps (8 s at 44.1 kHz: 441) keep the finer grid, the lag in its frames
    res = presets.resolve(png, {"sr": 44100, "duration": 8.0})
    spec = presets.plain_spec_of(png, res)
    step, _ = framing(44100, 1024, 800, 8.0)
    p = spec.params
    assert step == 441 and step % p.hop_length == 0 and p.hop_length <= p.n_fft // 8
    assert spec.column_step == step // p.hop_length and spec.delay == 0
    assert spec.column_lag * p.hop_length == pytest.approx(512 - 292)  # 292 zeros, not 291


def test_audio_diffusion_length_is_its_slice(tmp_path):
    _t = importlib.util.spec_from_file_location("tools", FIXTURES / "make_tool_images.py")
    tools = importlib.util.module_from_spec(_t)
    _t.loader.exec_module(tools)
    from spec2img.wild import presets

    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(140000) / 22050)).astype(np.float32)
    path = tools.audio_diffusion_image(tmp_path / "ad.png", y)
    res = presets.resolve(path, {"preset": "audio-diffusion"})
    spec = presets.plain_spec_of(path, res)
    assert spec.n_samples == 256 * 512 - 1  # Mel.audio_slice_to_image's slice
    assert spec.n_frames == 256


# -- colour bars with rounded labels --------------------------------------------------
@pytest.mark.parametrize("lo,dpi", [(-18.0, 72), (-37.0, 72), (-21.0, 100)])
def test_rounded_colour_bar_labels_give_the_range(tmp_path, lo, dpi):
    """'%+2.0f dB' prints ticks 2.5 dB apart rounded (-2.5 as -2, -7.5 as -8): a small
    range (noise, ref=np.max) is read from them, not replaced by librosa's 80 dB."""
    from spec2img.wild.identify import identify

    plt = _plt()
    rng = np.random.default_rng(4)
    data = rng.uniform(lo, 0.0, (128, 200))
    data[0, 0], data[0, 1] = lo, 0.0
    fig, ax = plt.subplots(dpi=dpi)
    import librosa.display

    img = librosa.display.specshow(data, x_axis="time", y_axis="mel", sr=22050, ax=ax)
    fig.colorbar(img, ax=ax, format="%+2.0f dB")
    path = tmp_path / "rounded.png"
    fig.savefig(path)
    plt.close(fig)
    fig_read = identify(path).figure
    assert fig_read.sources.get("top_db", "").startswith("colour bar"), fig_read.notes
    assert abs(fig_read.settings["top_db"] - (-lo)) <= 0.6, fig_read.notes


@pytest.mark.parametrize(
    "dpi,fmt", [(72, "png"), (100, "jpg"), pytest.param(200, "png", marks=pytest.mark.slow)]
)
def test_log_axis_tells_a_gouraud_mesh_from_specgram(tmp_path, dpi, fmt):
    """On a plain log axis scipy's gouraud mesh is told from plt.specgram's cells by
    where the colour bends on the stretched low rows (the rows' phase test sees no
    grid there), and in JPEG, which smears the bends, by which knots the colours
    ramp between (plt.specgram's image ramps between its cells' centres); it
    decodes with scipy's framing; the duration counts its segments (the middle of
    the lengths that give as many)."""
    from scipy import signal

    from spec2img.wild.figure import read_figure

    plt = _plt()
    sr = 16000
    rng = np.random.default_rng(8)
    y = 0.2 * rng.standard_normal(3 * sr) + np.sin(2 * np.pi * 440 * np.arange(3 * sr) / sr)
    got = {}
    for how in ("gouraud", "specgram"):
        fig, ax = plt.subplots(dpi=dpi)
        if how == "gouraud":
            f, t, sxx = signal.spectrogram(y, sr)
            img = ax.pcolormesh(t, f, 10 * np.log10(np.maximum(sxx, 1e-20)), shading=how)
            ax.set_ylim(f[1], f[-1])
        else:
            _, _, _, img = ax.specgram(y, Fs=sr)
            ax.set_ylim(sr / 256, sr / 2)
        ax.set_yscale("log")
        fig.colorbar(img, ax=ax)
        path = tmp_path / f"{how}.{fmt}"
        fig.savefig(path)
        plt.close(fig)
        got[how] = read_figure(path)
    assert got["gouraud"].tool == "scipy", got["gouraud"].notes
    assert got["specgram"].tool == "specgram", got["specgram"].notes
    dur = got["gouraud"].settings["duration"]
    segments = (len(y) - 256) // 224 + 1
    assert round(dur * sr) == 256 + 224 * (segments - 1) + 112


@pytest.mark.parametrize("seconds", [1.0, 3.0, 10.0, pytest.param(30.0, marks=pytest.mark.slow)])
def test_millisecond_time_axis_is_not_read_as_seconds(tmp_path, seconds):
    """specshow(x_axis='ms') labels the time axis in milliseconds: read as seconds it
    said 1000 times the length.  Its first cell (half a hop before 0) or its frame
    grid gives the unit away; past a few seconds neither shows, and the labels do:
    librosa writes a thousand milliseconds and more as 1e+03, 1.5e+04 (labels that
    long nearly touch, and are told apart by their ticks)."""
    import librosa
    import librosa.display

    from spec2img.wild.figure import read_figure

    plt = _plt()
    sr = 22050
    y = figs.audio(sr=sr, duration=seconds, seed=2)
    S = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    fig, ax = plt.subplots()
    img = librosa.display.specshow(S, x_axis="ms", y_axis="log", sr=sr, ax=ax)
    fig.colorbar(img, ax=ax, format="%+2.0f dB")
    path = tmp_path / "ms.png"
    fig.savefig(path)
    plt.close(fig)
    r = read_figure(path)
    # as many frames as drawn (a second's frames leave half a hop, 1.2 %, unknown);
    # 30 s across 400 pixels: a pixel is 75 ms
    if seconds <= 10:
        assert round(r.settings["duration"] * sr) // 512 == len(y) // 512, r.notes
    assert abs(r.settings["duration"] - seconds) <= 0.015 * min(seconds, 3.0), r.notes
    assert r.settings["hop_length"] == 512


def _log_mesh(path, *, ylim=None, xlog=False, dpi=100):
    """scipy's documentation figure of noise at 16 kHz on a plain log frequency axis
    (``ylim`` its limits) and, with ``xlog``, a log time axis too."""
    from scipy import signal

    plt = _plt()
    rng = np.random.default_rng(1)
    f, t, sxx = signal.spectrogram(rng.standard_normal(32000), 16000)
    fig, ax = plt.subplots(dpi=dpi)
    ax.pcolormesh(t, f, 10 * np.log10(sxx), shading="gouraud")
    ax.set_yscale("log")
    ax.set_ylim(*(ylim or (f[1], f[-1])))
    if xlog:
        ax.set_xscale("log")
    fig.savefig(path)
    plt.close(fig)
    return path


@pytest.mark.parametrize("lo,dpi", [(1000, 100), pytest.param(2000, 150, marks=pytest.mark.slow)])
def test_minor_tick_labels_of_a_log_axis_are_read(tmp_path, lo, dpi):
    """Under a decade, matplotlib labels the ticks between the powers of ten
    (LogFormatterSciNotation: 2×10^3); they are read, and give the rate."""
    from spec2img.wild.figure import read_figure

    r = read_figure(_log_mesh(tmp_path / "minor.png", ylim=(lo, 8000), dpi=dpi))
    yaxis = _read(tmp_path / "minor.png")[1]
    read = {t: v for t, v in zip(yaxis.labels, yaxis.values, strict=True) if v is not None}
    assert {"2\u00d710^3": 2000.0, "3\u00d710^3": 3000.0}.items() <= read.items(), read
    assert r.problem is None and r.settings["sr"] == 16000
    assert abs(np.log10(r.settings["fmin"] / lo)) < 0.006


def test_log_time_axis_fails_in_one_line(tmp_path, capsys):
    """A time axis on a log scale is not read as a linear one: one line names it."""
    path = _log_mesh(tmp_path / "xlog.png", xlog=True)
    code, _, err = run(capsys, "decode", path, tmp_path / "out.wav")
    assert code == 1
    err = err.strip()
    assert "\n" not in err and "time axis" in err and "Traceback" not in err, err
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("tool", ["specgram", "scipy"])
def test_labels_at_60_dpi_are_read(tmp_path, tool):
    """At 60 dpi a digit is 6 pixels tall and its shape depends on where it falls
    between pixels: the labels (0.5, 1.0, ... 8000) are still read, and the figure
    gives its rate and length."""
    from scipy import signal

    from spec2img.wild.figure import read_figure

    plt = _plt()
    sr = 16000
    y = figs.audio(sr=sr, duration=3.0, seed=5)
    fig, ax = plt.subplots(dpi=60)
    if tool == "specgram":
        ax.specgram(y, Fs=sr)
    else:
        f, t, sxx = signal.spectrogram(y, sr)
        ax.pcolormesh(t, f, 10 * np.log10(np.maximum(sxx, 1e-20)), shading="gouraud")
    path = tmp_path / "small.png"
    fig.savefig(path)
    plt.close(fig)
    r = read_figure(path)
    assert r.problem is None, r.problem
    assert r.settings["sr"] == sr and abs(r.settings["duration"] - 3.0) <= 0.03, r.notes


def test_waveform_panel_above_the_spectrogram_is_passed_over(tmp_path):
    """librosa's documentation often draws the waveform above the spectrogram
    (``plt.subplots(nrows=2, sharex=True)``): the panel read is the one that holds a
    picture, not the mostly blank waveform's."""
    import librosa
    import librosa.display

    from spec2img.wild.figure import read_figure

    plt = _plt()
    sr = 22050
    y = figs.audio(sr=sr, duration=3.0, seed=6)
    S = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    fig, ax = plt.subplots(nrows=2, sharex=True)
    librosa.display.waveshow(y, sr=sr, ax=ax[0])
    img = librosa.display.specshow(S, x_axis="time", y_axis="log", sr=sr, ax=ax[1])
    fig.colorbar(img, ax=ax, format="%+2.f dB")
    path = tmp_path / "panels.png"
    fig.savefig(path)
    plt.close(fig)
    r = read_figure(path)
    assert r.problem is None, r.problem
    assert r.settings["sr"] == sr and abs(r.settings["duration"] - 3.0) <= 0.03
    assert r.settings["y_axis"] == "log" and r.sources["top_db"].startswith("colour bar")


def _specgram_figure(path, y, sr, *, dpi=72, layout=None):
    plt = _plt()
    fig, ax = plt.subplots(dpi=dpi)
    _, _, _, img = ax.specgram(y, Fs=sr)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Frequency (Hz)")
    fig.colorbar(img, ax=ax)
    if layout == "tight_layout":
        fig.tight_layout()
    fig.savefig(path, bbox_inches="tight" if layout == "bbox" else None)
    plt.close(fig)
    return path


@pytest.mark.parametrize("seconds", [2.0, 5.3, 8.0])
def test_specgram_duration_at_72_dpi_is_read_to_its_segment(tmp_path, seconds):
    """At 72 dpi a pixel of an 8-s figure is 28 ms, and matplotlib snaps the ticks
    and the frame to whole pixels: a line through the ticks put the end of the axis
    up to 14 ms out (two of plt.specgram's 128-sample segments, 0.8 dB mel-LSD on
    speech).  Every tick read as the pixel interval that draws it, with the default
    layout's exact frame, gives the segment count (to one segment with five ticks)."""
    from spec2img.wild.figure import read_figure

    sr = 22050
    y = figs.audio(sr=sr, duration=seconds, seed=3)
    r = read_figure(_specgram_figure(tmp_path / "s.png", y, sr))
    segments = (len(y) - 128) // 128
    read = (round(r.settings["duration"] * sr) - 192) / 128
    assert abs(read - segments) <= (0 if seconds == 8.0 else 1), r.notes
    assert any("default layout" in n for n in r.notes), r.notes


@pytest.mark.parametrize("layout", ["tight_layout", "bbox"])
def test_specgram_duration_without_the_default_layout(tmp_path, layout):
    """Off matplotlib's default layout the frame's sides are known to a pixel only:
    the end that fits every tick is still within a pixel's time of the truth."""
    from spec2img.wild.figure import read_figure

    sr = 16000
    y = figs.audio(sr=sr, duration=8.0, seed=4)
    r = read_figure(_specgram_figure(tmp_path / "s.png", y, sr, layout=layout))
    per_px = 8.0 / 285
    assert abs(r.settings["duration"] - 8.0) <= per_px / 2, r.notes
    assert not any("default layout" in n for n in r.notes), r.notes


def test_axes_at_50_dpi_are_read(tmp_path):
    """At 50 dpi the 0.8-pt frame is half a pixel wide (gray over white) and the
    digits 5 pixels tall, their decimal point a gray pixel in a two-column gap: the
    frame is found and both axes read."""
    from spec2img.wild.figure import read_figure

    plt = _plt()
    sr = 16000
    y = figs.audio(sr=sr, duration=4.0)
    fig, ax = plt.subplots(dpi=50)
    _, _, _, img = ax.specgram(y, Fs=sr)
    fig.colorbar(img, ax=ax)
    path = tmp_path / "d50.png"
    fig.savefig(path)
    plt.close(fig)
    r = read_figure(path)
    assert r.problem is None, r.problem
    assert r.settings["sr"] == sr
    assert abs(r.settings["duration"] - 4.0) <= 0.01 * 4.0, r.notes


def test_a_dark_session_style_does_not_reach_the_readers_drawings():
    """A notebook that ran ``plt.style.use('dark_background')`` (black faces, white
    text) must not blank the glyph templates or change the drawn noise the readers
    compare a figure against; nor what a default figure is read as."""
    import matplotlib.style

    import spec2img
    from spec2img.wild import axes, colorbar, redraw

    def drawings():
        digits = colorbar._templates.__wrapped__(9)
        powers = axes._exponent_templates.__wrapped__(7)
        noise, top, _ = redraw._drawn.__wrapped__(
            "specgram", 16000, 16000, 256, 128, 120, 60, "viridis", 3, None
        )
        return digits, powers, noise, top

    plain = drawings()
    path = _path(KINDS["specshow_log_bar"])
    told = spec2img.load_image(path).meta
    with matplotlib.style.context("dark_background"):
        dark = drawings()
        for cached in (colorbar._templates, axes._exponent_templates, redraw._drawn):
            cached.cache_clear()  # what the readers would draw in this session
        read = spec2img.load_image(path).meta
    assert plain[0].keys() == dark[0].keys() and len(dark[0]) >= 10
    for ch, (glyph, top, height) in plain[0].items():
        assert np.array_equal(glyph, dark[0][ch][0]) and (top, height) == dark[0][ch][1:]
    for ch, glyphs in plain[1].items():
        assert len(glyphs) == len(dark[1][ch]) and all(
            np.array_equal(a, b) for a, b in zip(glyphs, dark[1][ch], strict=True)
        )
    assert np.array_equal(plain[2], dark[2]) and plain[3] == dark[3]
    assert read.params.sample_rate == told.params.sample_rate
    assert read.n_samples == told.n_samples
    assert (read.db_min, read.db_max) == (told.db_min, told.db_max)
