"""Figures read with no options: axes, colours, colour bars (spec2img/wild/figure.py).

The fixtures are fixtures/figures/*, drawn by fixtures/make_figures.py from our own
synthetic audio (2 s at 22.05 kHz, resampled per kind).
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np
import pytest
from conftest import CORPUS, FIXTURES, mel_lsd, run

_spec = importlib.util.spec_from_file_location("make_figures", FIXTURES / "make_figures.py")
figs = importlib.util.module_from_spec(_spec)
sys.modules["make_figures"] = figs
_spec.loader.exec_module(figs)

KINDS = {k.name: k for k in figs.KINDS}
FIGS = FIXTURES / "figures"


def _path(kind):
    return FIGS / f"{kind.name}.{kind.fmt}"


def _source(kind):
    """The audio the fixture was drawn from, at the kind's rate."""
    import librosa

    y = figs.audio()
    return y if kind.sr == 22050 else librosa.resample(y, orig_sr=22050, target_sr=kind.sr)


def _matched(z, ref):
    n = min(len(z), len(ref))
    g = np.sqrt(np.mean(ref[:n] ** 2) / max(np.mean(z[:n] ** 2), 1e-30))
    return (z * g).astype(np.float32)


@pytest.mark.parametrize("name", list(KINDS))
def test_fixture_figures_read_without_options(name):
    from spec2img.wild import presets

    kind = KINDS[name]
    res = presets.resolve(_path(kind), {})
    spec = presets.plain_spec_of(_path(kind), res)
    n = len(_source(kind))
    assert spec.params.sample_rate == kind.sr
    assert abs(spec.n_samples / kind.sr - n / kind.sr) <= 0.01 * n / kind.sr
    assert spec.y_axis == ("plainlog" if kind.yscale == "log" else kind.y_axis)
    assert res.sources["sr"] != "option"
    if kind.tool == "specshow":
        assert res.preset is None
        assert spec.params.n_fft == kind.extra.get("n_fft", 2048)
        assert spec.params.hop_length == kind.extra.get("hop_length", 512)
    else:
        # scipy's gouraud mesh (vertices 1/128 of a linear axis apart) is told from
        # specgram's imshow (129 cells) by where the colours bend (on a log axis, at
        # its vertices on the stretched low rows)
        want = {"specgram": "specgram", "scipy": "scipy" if kind.scipy_db else "scipy-power"}
        assert res.preset == want[kind.tool]
    if kind.y_axis == "mel":
        assert spec.params.fmax == (kind.fmax or kind.sr / 2)
    if kind.colorbar:  # the colour bar's labels give the range
        assert res.sources.get("db_range", res.sources.get("top_db")).startswith("colour bar")


@pytest.mark.parametrize(
    "name,ceiling",
    [("specshow_log_bar", 8.0), ("specshow_grid", 8.0), ("specshow_mel_bar", 12.0),
     ("specgram_bar", 12.0), ("specgram", 12.0), ("scipy_linear", 30.0)],
)  # fmt: skip
def test_no_options_decode_as_well_as_all_options(name, ceiling):
    """The judged criterion on our own fixtures: within 0.5 dB mel-LSD of the decode
    told every parameter (clim from the same drawing)."""
    import spec2img

    warnings.simplefilter("ignore")
    kind = KINDS[name]
    ref = _source(kind)
    # the colour limits of the fixture, as the drawing had them
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        _, clim, cmap = figs.draw(kind, figs.audio(), 22050, Path(d) / "again")
    want = figs.truth(kind, len(ref), clim, cmap)
    z0, _ = spec2img.decode(spec2img.load_image(_path(kind)))
    z1, _ = spec2img.decode(spec2img.load_image(_path(kind), plain=want))
    a = mel_lsd(ref, _matched(z0, ref), kind.sr)
    b = mel_lsd(ref, _matched(z1, ref), kind.sr)
    assert a <= b + 0.5, (a, b)
    # and resembles the sound (linear power keeps only the loudest ~25 dB)
    assert a < ceiling, a


@pytest.mark.parametrize(
    "fmt,size,dpi", [("png", (6.4, 4.8), 100), ("png", (8, 4.5), 72), ("jpg", (8, 4.5), 100)]
)
def test_rows_tell_specgram_from_a_gouraud_mesh(tmp_path, fmt, size, dpi):
    """The same 256-point spectra drawn both ways: specgram's 129 cells, scipy's 129
    vertices; PNG down to 72 dpi (1.9 pixels a row) and JPEG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    from spec2img.wild.figure import read_figure

    y = figs.audio(sr=16000, duration=1.0, seed=3)
    got = {}
    for how in ("specgram", "gouraud"):
        fig, ax = plt.subplots(figsize=size, dpi=dpi)
        if how == "specgram":
            ax.specgram(y, Fs=16000)
        else:
            f, t, sxx = signal.spectrogram(y, 16000)
            ax.pcolormesh(t, f, 10 * np.log10(np.maximum(sxx, 1e-20)), shading="gouraud")
        path = tmp_path / f"{how}.{fmt}"
        fig.savefig(path)
        plt.close(fig)
        got[how] = read_figure(path)
    assert got["specgram"].mesh == "cells" and got["specgram"].tool == "specgram"
    assert got["gouraud"].mesh == "vertices" and got["gouraud"].tool == "scipy"
    # the time axes end where each tool's framing says: within 1 % of the second
    for r in got.values():
        assert abs(r.settings["duration"] - 1.0) <= 0.01, r.settings


def test_steady_peaks_measure_the_range():
    """The main lobe's shape is a ruler in dB: levels of a specgram of steady tones
    (the range 1/R of their dB) give R back; noise has no steady peaks and is left to
    the consistency estimate."""
    from matplotlib import mlab

    from spec2img.wild.estimate import range_from_peaks

    rng = np.random.default_rng(11)
    sr, n = 16000, 32000
    t = np.arange(n) / sr
    tones = sum(a * np.sin(2 * np.pi * f * t) for a, f in zip(
        rng.uniform(0.1, 1, 12), rng.uniform(200, 7000, 12), strict=True))  # fmt: skip
    for name, y in (("tones", tones + 1e-3 * rng.standard_normal(n)),
                    ("noise", rng.standard_normal(n))):  # fmt: skip
        Z = 10 * np.log10(mlab.specgram(y, NFFT=256, Fs=sr, noverlap=128)[0])
        span = Z.max() - Z.min()
        levels = np.round((Z - Z.min()) / span * 255) / 255  # 8-bit colours
        found = range_from_peaks(levels, "hann", 256)
        if name == "tones":
            assert found is not None and found[1] >= 50
            assert abs(found[0] / span - 1) < 0.03, (found, span)
        else:
            assert found is None


def _noise_like(kind: str, sr: int, seconds: float, seed: int = 4) -> np.ndarray:
    """Our own noise-like sounds (not the bench's): pink noise, a rain-like crackle."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    if kind == "pink":
        f = np.fft.rfft(rng.standard_normal(n))
        f[1:] /= np.sqrt(np.arange(1, len(f)))
        y = np.fft.irfft(f, n)
    else:  # drops of decaying noise, 60 a second, over a faint hiss
        y = 0.01 * rng.standard_normal(n)
        for s0 in rng.integers(0, n - 400, int(seconds * 60)):
            m = int(rng.integers(20, 300))
            y[s0 : s0 + m] += (
                rng.uniform(0.1, 1) * rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 4))
            )
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def _draw_nobar(tmp_path, y, sr, tool, figsize=(6.4, 4.8), dpi=100):
    """A figure as people make it, with no colour bar; returns its path and the
    colours' dB range (the data's own min..max)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    if tool == "specgram":
        _, _, _, img = ax.specgram(y, Fs=sr)
    else:
        f, t, sxx = signal.spectrogram(y, sr)
        img = ax.pcolormesh(t, f, 10 * np.log10(np.maximum(sxx, 1e-20)), shading="gouraud")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Frequency (Hz)")
    path = tmp_path / f"{tool}.png"
    fig.savefig(path)
    lo, hi = img.get_clim()
    plt.close(fig)
    return path, hi - lo


@pytest.mark.parametrize("tool", ["specgram", "scipy"])
def test_noise_is_a_ruler_without_a_colour_bar(tmp_path, tool):
    """A figure of noise has no steady peaks; its rows, shaped like white noise drawn
    by the same tool at the same size, give the range from their spread (before: the
    consistency estimate, 2x off on noise)."""
    import spec2img

    warnings.simplefilter("ignore")
    y = _noise_like("pink", 16000, 2.0)
    path, span = _draw_nobar(tmp_path, y, 16000, tool)
    extra = spec2img.load_image(path).meta.extra
    assert extra["estimated_by"].startswith("spread of"), extra
    assert abs(float(extra["estimated_top_db"]) / span - 1) < 0.06, (extra, span)


def test_repeated_columns_do_not_make_noise_steady(tmp_path):
    """A swelling band of noise on a figure whose frames span two pixel columns: the
    repeated columns made its random peaks look steady (1.39x from 617 'steady
    peaks'); judged a frame apart they are not, and its noise gives the range."""
    import spec2img

    warnings.simplefilter("ignore")
    sr, n = 16000, 48000
    rng = np.random.default_rng(5)
    swell = 1.2 + np.sin(2 * np.pi * 0.3 * np.arange(n) / sr)
    y = np.convolve(rng.standard_normal(n), np.hanning(31), "same") * swell
    path, span = _draw_nobar(tmp_path, (0.5 * y / np.abs(y).max()).astype(np.float32), sr,
                             "specgram", figsize=(9.6, 7.2))  # fmt: skip
    extra = spec2img.load_image(path).meta.extra
    assert not extra["estimated_by"].startswith("shapes of"), extra
    assert abs(float(extra["estimated_top_db"]) / span - 1) < 0.06, (extra, span)


def test_bursts_are_not_noise_to_the_ruler():
    """A crackle's bursts raise every bin of a column together: its rows spread
    like noise's, several times wider, and are refused (0.3x the range before the
    coupling test); white noise's rows are taken."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from spec2img.params import SpecParams
    from spec2img.wild import estimate
    from spec2img.wild.colormap import ColormapInverse
    from spec2img.wild.plain import PlainSpec, centre_rows_of
    from spec2img.wild.redraw import drawn_noise

    sr, n = 16000, 16000 * 8
    spec = PlainSpec(params=SpecParams(sample_rate=sr, n_fft=256, hop_length=128),
                     n_samples=n, cmap="viridis", first_frame=1)  # fmt: skip
    cm = ColormapInverse("viridis")
    rgba, top_db, w = drawn_noise("specgram", sr=sr, n_samples=n, n_fft=256, hop_length=128,
                                  width=480, height=360)  # fmt: skip
    ruler = estimate.NoiseRuler(centre_rows_of(rgba, cm, spec=spec), top_db)
    for kind in ("pink", "crackle"):
        fig = Figure(figsize=(4.8, 3.6), dpi=100)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        _, _, _, img = ax.specgram(_noise_like(kind, sr, 8.0), Fs=sr)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        lo, hi = img.get_clim()
        rows = centre_rows_of(np.asarray(canvas.buffer_rgba()), cm, spec=spec)
        found = estimate.range_from_noise(rows, ruler)
        if kind == "pink":
            assert found is not None and abs(found[0] / (hi - lo) - 1) < 0.06, (found, hi - lo)
        else:
            assert found is None, found


def _voice(sr: int, seconds: float, seed: int = 3) -> np.ndarray:
    """A speech-like sound of our own: a buzz whose pitch never holds (no steady
    peaks), in syllables over breath noise (rows of sound and pauses, not noise)."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    f0 = 140 + 40 * np.sin(2 * np.pi * 3.1 * t) + 25 * np.sin(2 * np.pi * 0.7 * t + 1)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    env = np.clip(np.sin(2 * np.pi * 2.3 * t), 0, None) ** 0.5
    breath = np.convolve(rng.standard_normal(n), np.ones(3) / 3, "same")
    y = sum(np.sin(k * phase) / k for k in range(1, 30)) * env + 0.3 * breath * (1.2 - env)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def test_dips_are_a_ruler_where_every_frame_shows(tmp_path, capsys):
    """A 2-s speech-like figure has neither steady peaks nor noise-shaped rows; it
    shows every frame, and its cells' dips below their rows give the range (the
    consistency estimate said 1.27x); info names the ruler."""
    import shlex

    warnings.simplefilter("ignore")
    path, span = _draw_nobar(tmp_path, _voice(16000, 2.0), 16000, "specgram")
    code, out, _ = run(capsys, "info", str(path))
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "estimated from the picture: depth of" in rows["db_range"], rows["db_range"]
    words = shlex.split(rows["override"].split(None, 1)[1])
    top_db = float(words[words.index("--top-db") + 1])
    assert abs(top_db / span - 1) < 0.05, (top_db, span)


def test_dips_refuse_clicks_crackle_and_blended_frames():
    """Clicks in silence dip nowhere alike at the two running medians, and a
    crackle's gaps empty whole columns (0.65x before the coupling test): both are
    refused (left to the consistency estimate); the dips of speech drawn two frames
    a pixel column (an 8-s figure) are its pauses, and the ruler is not asked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from spec2img.params import SpecParams
    from spec2img.wild import estimate
    from spec2img.wild.colormap import ColormapInverse
    from spec2img.wild.plain import PlainSpec, centre_rows_of
    from spec2img.wild.raster import PlotArea
    from spec2img.wild.redraw import drawn_noise

    warnings.simplefilter("ignore")  # log10 of the silence between clicks
    sr = 16000
    cm = ColormapInverse("viridis")
    rng = np.random.default_rng(3)
    clicks = np.zeros(2 * sr, np.float32)
    clicks[rng.integers(0, clicks.size, 12)] = rng.uniform(-0.9, 0.9, 12)
    crackle = _noise_like("crackle", sr, 2.0)
    for y, want in ((_voice(sr, 2.0), True), (clicks, False), (crackle, False)):
        spec = PlainSpec(params=SpecParams(sample_rate=sr, n_fft=256, hop_length=128),
                         n_samples=y.size, cmap="viridis", first_frame=1)  # fmt: skip
        drawn = []
        for seed in estimate.DIP_DRAWN_SEEDS:
            rgba, top_db, _ = drawn_noise("specgram", sr=sr, n_samples=y.size, n_fft=256,
                                          hop_length=128, width=480, height=360, seed=seed,
                                          top_db=estimate.DIP_DRAWN_TOP_DB)  # fmt: skip
            drawn.append((centre_rows_of(rgba, cm, spec=spec), top_db))
        fig = Figure(figsize=(4.8, 3.6), dpi=100)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        _, _, _, img = ax.specgram(y, Fs=sr)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        lo, hi = img.get_clim()
        rows = centre_rows_of(np.asarray(canvas.buffer_rgba()), cm, spec=spec)
        found = estimate.range_from_dips(rows, drawn)
        if want:
            assert found is not None and abs(found[0] / (hi - lo) - 1) < 0.05, (found, hi - lo)
        else:
            assert found is None, found
    # an 8-s figure of 480 columns: 1000 frames, and estimate_range never asks the dips
    y = _voice(sr, 8.0)
    spec = PlainSpec(params=SpecParams(sample_rate=sr, n_fft=256, hop_length=128),
                     n_samples=y.size, cmap="viridis", first_frame=1)  # fmt: skip
    asked = []
    real = estimate.range_from_dips
    try:
        estimate.range_from_dips = lambda *a: asked.append(a)
        rows = np.full((129, 476), np.nan)
        estimate.estimate_range(np.zeros((1, 129, 8)), rows, spec, PlotArea(0, 0, 480, 360),
                                lambda rgba, cm: np.full((129, 476), np.nan))  # fmt: skip
    finally:
        estimate.range_from_dips = real
    assert not asked


@pytest.mark.slow
@pytest.mark.parametrize(
    "tool,seconds,size",
    [("specgram", 2.0, (6.4, 4.8)), ("specgram", 8.0, (12, 8)), ("scipy", 8.0, (6.4, 4.8))],
)
def test_noise_decodes_as_well_as_told_the_range(tmp_path, tool, seconds, size):
    """The judged criterion on noise without a colour bar: within 0.5 dB mel-LSD of the
    decode told the range (and every other parameter)."""
    import spec2img

    warnings.simplefilter("ignore")
    sr = 16000
    y = _noise_like("pink", sr, seconds, seed=9)
    path, _ = _draw_nobar(tmp_path, y, sr, tool, figsize=size)
    import matplotlib.pyplot as plt

    # the clim as the drawing had it
    fig, ax = plt.subplots()
    if tool == "specgram":
        img = ax.specgram(y, Fs=sr)[3]
    else:
        from scipy import signal

        f, t, sxx = signal.spectrogram(y, sr)
        img = ax.pcolormesh(t, f, 10 * np.log10(np.maximum(sxx, 1e-20)), shading="gouraud")
    clim = img.get_clim()
    plt.close(fig)
    want = {"sr": sr, "duration": len(y) / sr, "preset": "scipy" if tool == "scipy" else tool,
            "db_range": (float(clim[0]), float(clim[1]))}  # fmt: skip
    z0, _ = spec2img.decode(spec2img.load_image(path))
    z1, _ = spec2img.decode(spec2img.load_image(path, plain=want))
    a, b = mel_lsd(y, _matched(z0, y), sr), mel_lsd(y, _matched(z1, y), sr)
    assert a <= b + 0.5, (a, b)


def test_a_db_floor_is_not_linear_power(tmp_path):
    """Clicks in silence drawn in dB sit mostly at scipy's floor (the bottom colour),
    as linear power does; what rises above it tells them apart."""
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    from spec2img.wild.figure import read_figure

    rng = np.random.default_rng(20)
    y = np.zeros(8 * 22050)
    y[rng.integers(0, len(y), 40)] = rng.uniform(-0.9, 0.9, 40)
    f, t, sxx = signal.spectrogram(librosa.resample(y, orig_sr=22050, target_sr=16000), 16000)
    got = {}
    for how, data in (("db", 10 * np.log10(np.maximum(sxx, 1e-20))), ("power", sxx)):
        fig, ax = plt.subplots()
        fig.colorbar(ax.pcolormesh(t, f, data, shading="gouraud"), ax=ax)
        fig.savefig(tmp_path / f"{how}.png")
        plt.close(fig)
        got[how] = read_figure(tmp_path / f"{how}.png")
    assert got["db"].bottom_fraction < 0.08 and got["db"].tool == "scipy"
    assert got["power"].bottom_fraction < 0.08 and got["power"].tool == "scipy-power"


@pytest.mark.parametrize(
    "text,value",
    [("0", 0.0), ("1.5", 1.5), ("\u22120.5", -0.5), ("2048", 2048.0), ("1e3", 1000.0),
     ("0:05", 5.0), ("1:30", 90.0), ("1:02:03", 3723.0), ("+0", 0.0), ("1:75", None),
     ("8.1.2", None), ("", None), ("::", None)],
)  # fmt: skip
def test_parse_value(text, value):
    from spec2img.wild.axes import parse_value

    assert parse_value(text) == value


def test_fit_axis_outvotes_a_misread_label_and_tells_kinds_apart():
    from spec2img.wild.figure import _forward, fit_axis

    px = np.array([400.0, 350.0, 300.0, 250.0, 200.0, 150.0])
    vals = [0.0, 2000.0, 4000.0, 6000.0, 8000.0, 10000.0]
    bad = list(vals)
    bad[2] = 3000.0  # an 8 read as a 3
    fit = fit_axis(list(zip(px, bad, strict=True)), ("linear", "log", "mel"))
    assert fit.kind == "linear" and fit.inliers == 5
    assert fit.value_at(100.0) == pytest.approx(12000.0, abs=1)
    # librosa's log axis: 0, 64, 128, ... equally spaced above C2
    logv = [0.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0]
    u = _forward("log", np.array(logv))
    pxl = 400 - 40 * (u - u[0]) / (u[1] - u[0]) * 1.0
    fit = fit_axis(list(zip(pxl, logv, strict=True)), ("linear", "log", "mel"))
    assert fit.kind == "log"
    # labels that are not monotonic lie on no line
    assert fit_axis([(0, 0.0), (10, 3.0), (20, 1.0), (30, 2.0)], ("linear",)) is None


def _figure(path, *, axis_off=False, labels=None, dpi=100):
    import librosa
    import librosa.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = figs.audio()
    S = librosa.amplitude_to_db(np.abs(librosa.stft(y)), ref=np.max)
    fig, ax = plt.subplots(dpi=dpi)
    librosa.display.specshow(S, x_axis="time", y_axis="linear", sr=22050, ax=ax)
    if axis_off:
        ax.axis("off")
    if labels is not None:
        ax.set_xticks(ax.get_xticks()[: len(labels)])
        ax.set_xticklabels(labels)
    fig.savefig(path)
    plt.close(fig)
    return path


def test_figure_without_axes_names_only_what_is_missing(tmp_path, capsys):
    p = _figure(tmp_path / "off.png", axis_off=True)
    code, _, err = run(capsys, "decode", p, tmp_path / "o.wav")
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "needs --sr" in line and "--duration" in line and "no axes" in line
    assert "--cmap" not in line and len(line) - len(str(p)) < 200
    assert not (tmp_path / "o.wav").exists()
    code, _, err = run(capsys, "decode", p, tmp_path / "o.wav", "--sr", 22050, "--n-fft",
                       2048, "--duration", 2, "--cmap", "magma", "-q")  # fmt: skip
    assert code == 0 and (tmp_path / "o.wav").exists()


def test_inconsistent_time_labels_refuse_rather_than_guess(tmp_path, capsys):
    p = _figure(tmp_path / "odd.png", labels=["0", "3", "1", "2", "0.5"])
    code, _, err = run(capsys, "decode", p, tmp_path / "o.wav")
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "--duration" in line and "time axis" in line and "--sr" not in line
    code, _, _ = run(capsys, "decode", p, tmp_path / "o.wav", "--duration", 2, "-q")
    assert code == 0


def test_options_win_over_the_figure():
    import spec2img

    kind = KINDS["specshow_linear"]
    image = spec2img.load_image(_path(kind), plain={"sr": 16000, "duration": 1.0})
    assert image.meta.params.sample_rate == 16000
    assert image.meta.n_samples == 16000


def test_info_says_where_each_value_came_from(capsys):
    kind = KINDS["specshow_log_bar"]
    code, out, _ = run(capsys, "info", _path(kind))
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "(frequency axis" in rows["sr"] and "22050" in rows["sr"]
    assert "(time axis)" in rows["duration"]
    assert "(librosa default)" in rows["n_fft"]
    assert "colour bar" in rows["db_range"]
    assert "log" in rows["y_axis"]
    line = rows["override"]
    assert "--sr 22050" in line and "--y-axis log" in line and "--duration" in line
    code, out, _ = run(capsys, "info", _path(kind), "--sr", 44100, "--json")
    import json

    d = json.loads(out)
    assert d["sr"] == {"value": "44100", "from": "option"}
    assert d["y_axis"]["from"] == "frequency axis"


def test_info_says_which_ruler_gave_the_range(capsys):
    """A figure without a colour bar: info measures the range as decoding does, names
    the ruler, and its override line decodes to the same levels."""
    import shlex

    import spec2img

    path = _path(KINDS["scipy_db_nobar"])  # noise between tones: the noise ruler
    code, out, _ = run(capsys, "info", path)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "estimated from the picture: spread of" in rows["db_range"], rows["db_range"]
    words = shlex.split(rows["override"].split(None, 1)[1])
    top_db = float(words[words.index("--top-db") + 1])
    got = spec2img.load_image(path)
    assert abs(float(got.meta.extra["estimated_top_db"]) - top_db) < 0.05
    told = spec2img.load_image(path, plain={"preset": "scipy", "sr": 16000, "top_db": top_db,
                                            "duration": float(words[words.index("--duration") + 1])})  # fmt: skip
    np.testing.assert_allclose(told.db(), got.db(), atol=0.1)


def test_colormap_from_the_pixels():
    from PIL import Image

    from spec2img.wild.colormap import identify_colormap

    for name, want in (("specshow_linear", "magma"), ("specgram", "viridis"),
                       ("specshow_linear_big_jpg", "magma")):  # fmt: skip
        kind = KINDS[name]
        a = np.asarray(Image.open(_path(kind)).convert("RGB"))
        h, w = a.shape[:2]
        inner = a[h // 4 : 3 * h // 4 : 2, w // 5 : 3 * w // 5 : 2]
        assert identify_colormap(inner.reshape(-1, 3))[0] == want
    gray_text = np.full((500, 3), 255, np.uint8)
    assert identify_colormap(gray_text) is None  # one colour says nothing


def test_reading_is_bounded_on_hostile_images(tmp_path):
    """A huge canvas is not searched; thousands of text-like blobs around a frame
    give up (too many ticks) instead of reading them all."""
    from PIL import Image, ImageDraw

    from spec2img.wild.figure import AXES_PIXELS, read_figure

    big = tmp_path / "big.png"
    side = int(AXES_PIXELS**0.5) + 10
    Image.new("L", (side, side), 255).save(big)
    r = read_figure(big)
    assert r.problem and "too large" in r.problem and not r.settings
    rng = np.random.default_rng(3)
    im = Image.new("RGB", (1600, 1200), "white")
    d = ImageDraw.Draw(im)
    d.rectangle((200, 100, 1500, 1000), outline="black", width=1)
    for _ in range(5000):  # blobs everywhere, ticks too many to be an axis
        x, y = int(rng.integers(0, 1600)), int(rng.integers(0, 1200))
        if 200 <= x <= 1500 and 100 <= y <= 1000:
            continue
        d.rectangle((x, y, x + 1, y + 2), fill="black")
    noisy = tmp_path / "blobs.png"
    im.save(noisy)
    r = read_figure(noisy)
    assert r.problem is not None and "sr" not in r.settings


@pytest.mark.slow
@pytest.mark.corpus
def test_judge_clips_read_right():
    """Unseen recordings: a specshow figure and a default specgram of each judge clip
    read to the right rate and a duration within 1 %."""
    import soundfile as sf

    from spec2img.wild import presets

    warnings.simplefilter("ignore")
    import tempfile
    from pathlib import Path

    names = ["3436-172162-0000", "pibble", "Karissa_Hobbs_-_Lets_Go_Fishin"]
    with tempfile.TemporaryDirectory() as d:
        for name in names:
            with sf.SoundFile(CORPUS / f"{name}.ogg") as f:
                y = f.read(int(5 * f.samplerate), dtype="float32", always_2d=True).mean(axis=1)
                sr = f.samplerate
            for kname in ("specshow_log_bar", "specgram"):
                kind = KINDS[kname]
                p, _, _ = figs.draw(kind, y, sr, Path(d) / f"{name}_{kname}")
                res = presets.resolve(p, {})
                spec = presets.plain_spec_of(p, res)
                assert spec.params.sample_rate == kind.sr, (name, kname)
                want = len(y) * kind.sr / sr / kind.sr
                assert abs(spec.n_samples / kind.sr - want) <= 0.01 * want, (name, kname)


@pytest.mark.slow
@pytest.mark.corpus
def test_judge_clips_specgram_range_from_peaks(tmp_path):
    """A default plt.specgram of unseen recordings (no colour bar): the range the
    figure was drawn with (the data's own min..max) is measured from steady peaks to
    within 8 % (music, speech, a dog's howl)."""
    import soundfile as sf

    import spec2img

    warnings.simplefilter("ignore")
    kind = KINDS["specgram"]
    for name in ("147793__setuniman__sweet-waltz-0i-22mi", "3436-172162-0000", "pibble"):
        with sf.SoundFile(CORPUS / f"{name}.ogg") as f:
            y = f.read(int(8 * f.samplerate), dtype="float32", always_2d=True).mean(axis=1)
            sr = f.samplerate
        p, clim, _ = figs.draw(kind, y, sr, tmp_path / name)
        image = spec2img.load_image(p)
        got = float(image.meta.extra["estimated_top_db"])
        assert image.meta.extra["estimated_by"].startswith("shapes of"), name
        assert abs(got / (clim[1] - clim[0]) - 1) < 0.08, (name, got, clim)


@pytest.mark.slow
@pytest.mark.corpus
def test_two_second_specgram_range_from_dips(tmp_path):
    """A 2-s default plt.specgram of music and of birdsong (no colour bar) whose peaks
    do not agree: the cells' dips give the range within 10 % (the consistency
    estimate said 1.27x on the music)."""
    import soundfile as sf

    import spec2img

    warnings.simplefilter("ignore")
    kind = KINDS["specgram"]
    for name in ("Kevin_MacLeod_-_Vibe_Ace", "456440__inspectorj__bird-whistling-robin-single-13"):
        with sf.SoundFile(CORPUS / f"{name}.ogg") as f:
            y = f.read(int(2 * f.samplerate), dtype="float32", always_2d=True).mean(axis=1)
            sr = f.samplerate
        p, clim, _ = figs.draw(kind, y, sr, tmp_path / name)
        extra = spec2img.load_image(p).meta.extra
        assert extra["estimated_by"].startswith("depth of"), (name, extra)
        got = float(extra["estimated_top_db"])
        assert abs(got / (clim[1] - clim[0]) - 1) < 0.1, (name, got, clim)


def test_show_and_batch_read_figures_too(tmp_path, capsys):
    import shutil

    import soundfile as sf

    src = tmp_path / "figs"
    src.mkdir()
    for name in ("specshow_log_bar", "specgram_bar"):
        shutil.copy(_path(KINDS[name]), src)
    code, _, err = run(capsys, "show", src / "specgram_bar.png", "-o", tmp_path / "p.png", "-q")
    assert code == 0, err
    code, _, err = run(capsys, "decode", src, "-o", tmp_path / "out", "-q")
    assert code == 0, err
    for name in ("specshow_log_bar", "specgram_bar"):
        kind = KINDS[name]
        info = sf.info(tmp_path / "out" / f"{name}.wav")
        assert info.samplerate == kind.sr
        assert abs(info.duration - 2.0) <= 0.02


def test_the_figure_is_read_once_per_load(monkeypatch):
    """identify reads a plain image's figure once; resolve takes that reading."""
    import spec2img
    from spec2img.wild import figure

    calls = []
    real = figure.read_figure

    def counting(*a, **kw):
        calls.append(a)
        return real(*a, **kw)

    monkeypatch.setattr(figure, "read_figure", counting)
    identity = spec2img.identify(_path(KINDS["specgram_bar"]))
    assert identity.kind == "plain" and identity.tool == "specgram"
    assert identity.figure is not None and identity.figure.settings["sr"] == 22050
    assert len(calls) == 1
    image = spec2img.load_image(_path(KINDS["specgram_bar"]))
    assert len(calls) == 2 and image.meta.params.sample_rate == 22050
