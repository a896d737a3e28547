"""sox's own figures decode with no options: the labels sox prints are read.

Each figure is made here by the real ``sox`` (skipped where it is missing), small
(``-x``/``-y``) to stay fast, at the rates, durations, sizes and colour options people
use; the reader must give the right rate, the duration within 1 %, the dB scale the
labels show, and refuse (a one-line error) rather than guess when labels are damaged.
"""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from conftest import rms_db, run
from PIL import Image

import spec2img
from spec2img.errors import ParameterError
from spec2img.wild import presets

pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def sox_figure(tmp_path, name, y, sr, *flags):
    wav, png = tmp_path / f"{name}.wav", tmp_path / f"{name}.png"
    sf.write(wav, y, sr, subtype="FLOAT")
    subprocess.run(["sox", str(wav), "-n", "spectrogram", *flags, "-o", str(png)],
                   check=True, capture_output=True)  # fmt: skip
    return png


def tones(sr, seconds, level=0.25):
    t = np.arange(int(round(sr * seconds))) / sr
    y = level * (np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 0.3 * sr * t))
    return y.astype(np.float32)


@pytest.mark.parametrize(
    "sr,seconds,flags",
    [
        (8000, 1.0, ("-x", "200", "-y", "129")),
        (16000, 3.0, ("-x", "300", "-y", "129", "-m")),
        (22050, 2.0, ("-X", "100", "-y", "129")),
        (44100, 1.3, ("-x", "240", "-y", "257", "-l")),
        (48000, 7.5, ("-x", "320", "-y", "129", "-t", "a title", "-z", "90")),
        (11025, 60.0, ("-x", "300", "-y", "65", "-m", "-l")),
    ],
)
def test_rate_and_duration_are_read_from_the_axes(tmp_path, sr, seconds, flags):
    png = sox_figure(tmp_path, "f", tones(sr, seconds), sr, *flags)
    res = presets.resolve(png, {})
    assert res.options["sr"] == sr and res.sources["sr"] == "frequency axis"
    assert res.sources["duration"] == "time axis"
    assert abs(res.options["duration"] - seconds) <= 0.01 * seconds
    z = 90.0 if "-z" in flags else 120.0
    assert res.options["db_range"] == (-z, 0.0) and res.sources["db_range"] == "dB scale labels"


@pytest.mark.slow
def test_ten_minutes_at_44100(tmp_path):
    """A long recording: labels in hundreds of seconds, a column of thousands of samples."""
    sr, seconds = 44100, 600.0
    rng = np.random.default_rng(3)
    y = (0.05 * rng.standard_normal(int(sr * seconds))).astype(np.float32)
    png = sox_figure(tmp_path, "long", y, sr, "-x", "400", "-y", "129")
    res = presets.resolve(png, {})
    assert res.options["sr"] == sr and abs(res.options["duration"] - seconds) <= 0.01 * seconds


def test_decodes_with_no_options_at_sox_level(tmp_path, capsys):
    sr, seconds = 16000, 1.0
    y = tones(sr, seconds)
    png = sox_figure(tmp_path, "lvl", y, sr, "-x", "200", "-y", "257")
    z, got_sr = spec2img.decode(spec2img.load_image(png))
    assert got_sr == sr and abs(len(z) - len(y)) <= 0.01 * len(y)
    assert abs(rms_db(z) - rms_db(y)) < 0.3  # measured -0.18 (1 s, 200 columns)
    code, out, err = run(capsys, "info", png)
    assert code == 0, err
    assert "(frequency axis)" in out and "(time axis)" in out and "(dB scale labels)" in out
    line = next(s for s in out.splitlines() if s.startswith("override"))
    assert f"--sr {sr}" in line and "--duration 1" in line and "--db-range" in line


def test_options_given_still_win(tmp_path):
    png = sox_figure(tmp_path, "w", tones(8000, 1.0), 8000, "-x", "200", "-y", "129")
    res = presets.resolve(png, {"sr": 16000, "duration": 0.5})
    assert res.options["sr"] == 16000 and res.sources["sr"] == "option"
    assert res.options["duration"] == 0.5 and res.sources["duration"] == "option"


def test_shifted_scale_is_read_with_its_top(tmp_path):
    """-Z moves the scale's labels: the level follows them (no --db-range needed)."""
    png = sox_figure(tmp_path, "zz", tones(8000, 1.0), 8000, "-x", "200", "-y", "129",
                     "-Z", "-20", "-z", "100")  # fmt: skip
    res = presets.resolve(png, {})
    assert res.options["db_range"] == (-120.0, -20.0)


def test_raw_figure_names_what_it_needs(tmp_path, capsys):
    png = sox_figure(tmp_path, "raw", tones(8000, 1.0), 8000, "-r", "-x", "200", "-y", "129")
    code, out, err = run(capsys, "decode", png, tmp_path / "out.wav")
    assert code == 1 and not (tmp_path / "out.wav").exists()
    assert err.count("\n") == 1
    assert "needs --sr" in err and "--duration" in err and "no sox axes" in err
    assert "Traceback" not in err
    z, sr = spec2img.decode(spec2img.load_image(png, plain={"sr": 8000, "duration": 1.0}))
    assert sr == 8000 and len(z) == 8000


def _labels_box(png):
    """The right frequency labels of a default-layout figure: (left, top, right, bottom)."""
    from spec2img.wild.raster import Raster
    from spec2img.wild.sox import layout

    with Raster(png) as r:
        w, h = r.size
        lay = layout(w, h, lambda y, x0, x1: r.rgba((x0, y, x1, y + 1))[0])
    return lay.data


def test_damaged_labels_never_give_a_wrong_rate(tmp_path):
    """A frequency label pasted over another (the axis reads 0, 1, 2, 2, 4 ...): the
    reader refuses with a one-line error rather than decode at a wrong rate."""
    png = sox_figure(tmp_path, "bad", tones(16000, 1.0), 16000, "-x", "200", "-y", "129")
    left, top, right, bottom = _labels_box(png)
    im = Image.open(png)
    a = np.array(im)
    ink = (a[:, right + 4 : right + 30] == 2).any(axis=1)  # rows of the right labels
    rows = np.flatnonzero(ink[top - 5 : bottom + 6]) + top - 5
    starts = rows[np.diff(np.concatenate([[-10], rows])) > 1]
    assert len(starts) >= 4
    h = 9
    a[starts[1] : starts[1] + h, right + 4 : right + 30] = a[
        starts[2] : starts[2] + h, right + 4 : right + 30
    ]
    out = Image.fromarray(a, mode="P")
    out.putpalette(im.getpalette())
    out.save(png)
    with pytest.raises(ParameterError) as e:
        presets.resolve(png, {})
    assert "could not read the axes' labels" in str(e.value)
    # with the rate given, only the duration is still needed: reading the time axis
    # alone is not trusted either, so it is asked for
    res = presets.resolve(png, {"sr": 16000, "duration": 1.0})
    assert res.options["sr"] == 16000


def test_reading_is_bounded_on_noise_labels(tmp_path):
    """Thousands of text-like blobs where the labels go: a prompt refusal."""
    import time

    png = sox_figure(tmp_path, "noise", tones(8000, 1.0), 8000, "-x", "600", "-y", "513")
    im = Image.open(png)
    a = np.array(im)
    rng = np.random.default_rng(0)
    strip = a[:, -120:]
    strip[rng.random(strip.shape) < 0.3] = 2
    a[-48:, :] = np.where(rng.random(a[-48:, :].shape) < 0.3, 2, a[-48:, :])
    out = Image.fromarray(a, mode="P")
    out.putpalette(im.getpalette())
    out.save(png)
    t0 = time.perf_counter()
    with pytest.raises(ParameterError):
        presets.resolve(png, {})
    assert time.perf_counter() - t0 < 5.0


def test_digital_silence_between_clicks_stays_silent(tmp_path):
    """The level correction must not lift cells below sox's floor out of silence (it
    did once: clicks' mel-LSD went from 1.85 to 12)."""
    sr = 16000
    rng = np.random.default_rng(0)
    y = np.zeros(2 * sr, np.float32)
    y[rng.integers(0, len(y), 8)] = rng.uniform(-0.9, 0.9, 8)
    png = sox_figure(tmp_path, "clicks", y, sr, "-x", "200", "-y", "129")
    z, got = spec2img.decode(spec2img.load_image(png))
    assert got == sr
    assert np.mean(z == 0) > 0.6  # measured 0.87 (0.10 when lifted)


@pytest.mark.parametrize("x,y_size", [("200", "257"), ("400", "129")])
def test_clicks_come_back_where_they_were(tmp_path, x, y_size):
    """Decoded at sox's own step and delayed by where its windows sit, a click comes
    back at its sample (on the finer grid of interpolated frames it smeared)."""
    sr = 16000
    y = np.zeros(sr, np.float32)
    at = (3001, 9377)
    y[list(at)] = 0.7
    png = sox_figure(tmp_path, "click", y, sr, "-x", x, "-y", y_size)
    res = presets.resolve(png, {})
    assert res.extra.get("delay", 0) > 0
    z, _ = spec2img.decode(spec2img.load_image(png))
    for t in at:
        around = np.abs(z[t - 400 : t + 400])
        assert abs(int(np.argmax(around)) - 400) <= 8


@pytest.mark.parametrize("value,moved", [("3", True), ("0", False), ("-4", False),
                                         ("512", False), ("x", False), ("1e9", False)])  # fmt: skip
def test_delay_metadata_is_bounded(value, moved):
    """``delay`` in an image's metadata is data: only a shift within one window counts."""
    from types import SimpleNamespace

    from spec2img.pipeline import _delayed

    y = np.arange(1, 1001, dtype=np.float32)[None]
    meta = SimpleNamespace(extra={"delay": value}, params=SimpleNamespace(n_fft=512))
    out = _delayed(y, meta)
    assert out.shape == y.shape
    assert (out[0, 0] == 0 and out[0, 3] == 1) if moved else np.array_equal(out, y)


def test_stereo_figure_is_read(tmp_path):
    """Two channels stacked: the lower channel's labels are read (the upper's DC is
    drawn over by the lower's top label)."""
    y = tones(16000, 2.0)
    png = sox_figure(tmp_path, "st", np.stack([y, 0.5 * y], axis=1), 16000, "-x", "200")
    res = presets.resolve(png, {})
    assert res.extra["channels"] == 2
    assert res.options["sr"] == 16000 and abs(res.options["duration"] - 2.0) <= 0.02


# -- copies without sox's palette (JPEG, RGB), arbitrary lengths, broken files ----------


def _lossy(png, path, quality=None):
    img = Image.open(png).convert("RGB")
    if quality is None:
        img.save(path)
    else:
        img.save(path, quality=quality)
    return path


@pytest.mark.parametrize(
    "quality,flags",
    [(90, ()), (75, ("-l",)), (95, ("-m",)), (75, ("-h",)), (None, ("-m", "-h", "-l"))],
)
def test_jpeg_and_rgb_copies_are_read_with_no_option(tmp_path, quality, flags):
    """Saved as JPEG (or converted to RGB) the palette is gone: the figure is known by its
    layout, its labels read through the JPEG's ringing, its colours as sox's palette."""
    sr, seconds = 16000, 1.0
    png = sox_figure(tmp_path, "j", tones(sr, seconds), sr, "-x", "200", "-y", "129", *flags)
    copy = _lossy(png, tmp_path / ("j.png" if quality is None else f"j{quality}.jpg"), quality)
    res = presets.resolve(copy, {})
    assert res.preset == "sox" and res.sources["preset"] == "detected"
    assert res.options["sr"] == sr and res.sources["sr"] == "frequency axis"
    assert abs(res.options["duration"] - seconds) <= 0.01 * seconds
    assert res.options["db_range"] == (-120.0, 0.0)
    variant = " ".join(flags) or "default"
    assert res.options["cmap"] == f"sox {variant}" and res.sources["cmap"] == "dB scale colours"
    assert any("not its palette" in n for n in res.notes)


@pytest.mark.slow
def test_jpeg_decodes_as_if_told_every_option(tmp_path):
    """The JPEG's decode with no option is within 0.5 dB mel-LSD of its decode given
    every option (the rate, DFT size, duration and dB range), at the PNG's rate, the
    length within 1 %, the level within 1 dB of the PNG's (measured +0.78: JPEG blurs
    a tone's few bright rows), and far from a misreading (measured LSD 5.0 against the
    PNG's 1.7: JPEG's colour error on these sparse tones; see docs/presets.md)."""
    from conftest import mel_lsd

    sr, seconds = 16000, 1.0
    y = tones(sr, seconds)
    png = sox_figure(tmp_path, "d", y, sr, "-x", "200", "-y", "257")
    jpg = _lossy(png, tmp_path / "d.jpg", 90)
    zp, sp = spec2img.decode(spec2img.load_image(png))
    zj, sj = spec2img.decode(spec2img.load_image(jpg))
    told = {"preset": "sox", "sr": sr, "n_fft": 512, "duration": seconds,
            "db_range": (-120.0, 0.0)}  # fmt: skip
    za, sa = spec2img.decode(spec2img.load_image(jpg, plain=told))
    assert sj == sp == sa == sr and abs(len(zj) - len(y)) <= 0.01 * len(y)
    assert abs(rms_db(zj) - rms_db(zp)) < 1.0
    assert abs(mel_lsd(y, zj, sr) - mel_lsd(y, za, sr)) < 0.5
    assert mel_lsd(y, zj, sr) < mel_lsd(y, zp, sr) + 4.0


def test_a_plot_is_not_taken_for_sox(tmp_path):
    """An RGB image that is not a sox figure (a gray frame elsewhere, noise) is not read
    as one."""
    from spec2img.wild.presets import detect
    from spec2img.wild.raster import Raster
    from spec2img.wild.sox import looks_like_sox

    rng = np.random.default_rng(1)
    px = rng.integers(0, 255, (591, 944, 3), dtype=np.uint8)
    Image.fromarray(px).save(tmp_path / "noise.png")
    with Raster(tmp_path / "noise.png") as r:
        assert looks_like_sox(r) is None
    from spec2img.io.png import read_header

    assert detect(read_header(tmp_path / "noise.png"), tmp_path / "noise.png") is None


@pytest.mark.parametrize(
    "sr,seconds,flags",
    [
        (44100, 0.37, ()),
        (44100, 1.23, ()),
        (22050, 2.71, ("-x", "300")),
        (16000, 7.9, ("-X", "150")),
        (44100, 2.71, ("-x", "600", "-y", "257")),
    ],
)
def test_arbitrary_lengths_within_one_percent(tmp_path, sr, seconds, flags):
    """Lengths that are not round: where the recording ends shows in how the last
    columns fade (sox shortens the windows past the end), and ``info`` says so."""
    png = sox_figure(tmp_path, "len", tones(sr, seconds), sr, *flags)
    res = presets.resolve(png, {})
    assert abs(res.options["duration"] - seconds) <= 0.01 * seconds
    assert res.sources["duration"] == "time axis"
    assert any(n.startswith("duration:") and "samples a column" in n for n in res.notes)


def test_end_from_tail_finds_a_modelled_end():
    """The fade model itself: columns of a steady sound whose windows are shortened at
    sample 16317 give that end back within a few samples."""
    from spec2img.wild.sox import end_from_tail

    n_fft, step, columns, end = 1024, 20, 800, 16317
    first = columns - 60
    starts = (first + np.arange(60)) * step - (n_fft - step) // 2
    power = (np.clip(end - starts, 0, n_fft) / n_fft) ** 3
    got, how = end_from_tail(power, first=first, step=step, steps=1, n_fft=n_fft,
                             lo=16000, hi=16800)  # fmt: skip
    assert abs(got - end) <= 4 and "fade" in how


def test_broken_copies_fail_in_one_line(tmp_path, capsys):
    png = sox_figure(tmp_path, "b", tones(8000, 1.0), 8000, "-x", "200", "-y", "129")
    jpg = _lossy(png, tmp_path / "b.jpg", 90)
    for src in (png, jpg):
        cut = tmp_path / f"cut{src.suffix}"
        cut.write_bytes(src.read_bytes()[: len(src.read_bytes()) // 2])
        code, out, err = run(capsys, "decode", cut, tmp_path / "out.wav")
        assert code == 1 and not (tmp_path / "out.wav").exists()
        assert err.count("\n") == 1 and str(cut) in err and "truncated" in err
        assert "Traceback" not in err


def test_odd_step_windows_sit_where_sox_puts_them(tmp_path):
    """With an odd step sox's first window holds ceil((n_fft - step) / 2) zeros: every
    cell of the figure is then the periodic Hann's power (one sample off, far fewer)."""
    from spec2img.wild.sox import leading_zeros

    sr, n_fft, step, cols = 8000, 256, 41, 200
    rng = np.random.default_rng(3)
    y = (0.1 * rng.standard_normal(step * cols + 50)).astype(np.float32)
    png = sox_figure(tmp_path, "odd", y, sr, "-x", str(cols), "-y", str(n_fft // 2 + 1))
    idx = np.asarray(Image.open(png)).astype(int)
    h, w = idx.shape
    shown = idx[30 : h - 48, 58 : w - 86][::-1] - 4  # bins bottom-up, palette levels
    i = np.arange(n_fft)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * i / n_fft)
    win *= 2 / win.sum()

    def cells(zeros):
        pad = np.concatenate([np.zeros(zeros), y.astype(np.float64), np.zeros(n_fft)])
        fr = np.stack([pad[k * step : k * step + n_fft] * win for k in range(cols)])
        db = 10 * np.log10(np.maximum(np.abs(np.fft.rfft(fr, axis=1)) ** 2, 1e-300)).T
        return np.where(db < -120, 0, np.where(db >= 0, 250, 1 + np.floor((1 + db / 120) * 249)))

    zeros = leading_zeros(n_fft, step)
    assert zeros == 108
    inner = (slice(None), slice(3, -3))  # the shortened windows at either end aside
    assert np.mean(cells(zeros)[inner] == shown[inner]) > 0.99
    assert np.mean(cells(zeros - 1)[inner] == shown[inner]) < 0.97
