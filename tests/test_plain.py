"""Images without spec2img metadata, made the way users make them.

Every fixture image is drawn here with librosa.display.specshow + savefig (or, for the
GAN case, resized and saved as 8-bit RGB), decoded, and scored by gain-matched spectral
convergence against the source audio.  Each quality threshold sits a few dB above what
the careful decoder measured (noted beside it); the naive alternatives (luminance
instead of the colormap, bilinear sampling instead of cell averages, the wrong axis)
are scored too, so the tests fail if the careful path regresses towards them.
"""

import functools
import json
import os

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, gain_sc_db, rms_db, run, signals
from PIL import Image

import spec2img
from spec2img.wild.colormap import ColormapInverse
from spec2img.wild.plain import cell_edges, levels_to_image, load_plain, plain_spec
from spec2img.wild.raster import Raster, find_plot_area
from spec2img.wild.register import register

DURATION = signals.DURATION
N = int(round(DURATION * SR))
BASE = ["--sr", SR, "--n-fft", 2048, "--duration", DURATION]


def specshow_file(path, D, *, hop=512, y_axis="linear", cmap="gray", figsize=(20, 20),
                  dpi=72, axes=False, edge_tick=False, tight=False, **specshow):  # fmt: skip
    """Save a spectrogram as users do: specshow on a figure, then savefig."""
    import matplotlib

    matplotlib.use("Agg")
    import librosa.display
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, dpi=dpi)
    ax = fig.add_subplot()
    mesh = librosa.display.specshow(D, sr=SR, hop_length=hop, y_axis=y_axis, x_axis="time",
                                    cmap=cmap, ax=ax, **specshow)  # fmt: skip
    if axes:
        fig.colorbar(mesh, ax=ax, format="%+2.0f dB")
        ax.set_title("mixture")
        if edge_tick:  # a tick on the left edge runs on from the frame's left line
            ax.set_xticks([ax.get_xlim()[0], 0.5, 1.0])
        fig.savefig(path, bbox_inches="tight", dpi=dpi)
    else:
        ax.axis("off")
        tight_kw = {"bbox_inches": "tight", "pad_inches": 0} if tight else {}
        fig.savefig(path, dpi=dpi, **tight_kw)
    plt.close(fig)
    return path


def db_of(y, n_fft=2048, hop=512, ref=np.max):
    import librosa

    return librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)), ref=ref)


def decode_file(path, **plain):
    image = spec2img.load_image(path, plain=plain)
    return spec2img.decode(image)


@pytest.fixture(scope="module")
def y():
    return signals.mixture()


@pytest.fixture(scope="module")
def images(tmp_path_factory, y):
    """The fixture images, drawn once per module."""
    d = tmp_path_factory.mktemp("plain")
    D = db_of(y)
    out = {
        # a gray JPEG of a 20x20-inch figure at 72 dpi, default margins, axes off
        "gray_jpeg": specshow_file(d / "gray.jpg", D),
        # magma, log-frequency axis, ref=np.max, PNG
        "magma_log": specshow_file(
            d / "magma_log.png", D, y_axis="log", cmap="magma", figsize=(10, 10), dpi=100
        ),  # fmt: skip
        # a tight plot with axes, tick labels, a title and a colour bar (n_fft 1024)
        "axes": specshow_file(
            d / "axes.png",
            db_of(y, 1024, 256),
            hop=256,
            cmap="magma",
            figsize=(8, 5),
            dpi=150,
            axes=True,
            edge_tick=True,
        ),
    }
    viridis = specshow_file(d / "viridis.png", D, cmap="viridis", figsize=(12, 12), dpi=100)
    Image.open(viridis).convert("RGB").quantize(256).save(d / "palette.png")
    out["palette"] = d / "palette.png"
    for name in ("magma_log", "palette"):  # what a luminance-only decoder would see
        Image.open(out[name]).convert("L").save(d / f"{name}_luminance.png")
        out[f"{name}_luminance"] = d / f"{name}_luminance.png"
    return out


def bilinear_decode(path, spec):
    """The naive alternative: bilinear samples at the cell centres (same plot area)."""
    from scipy.ndimage import map_coordinates

    cm = ColormapInverse(spec.cmap)
    with Raster(path) as r:
        area = register(r, find_plot_area(r), functools.partial(cell_edges, spec),
                        lambda px: cm.pixel_levels(px))  # fmt: skip
        x, yv = cell_edges(spec, area)
        level = cm.pixel_levels(r.region((0, 0, *r.size)))[0]
    xc = (x[:-1] + x[1:]) / 2 - 0.5
    yc = ((yv[:-1] + yv[1:]) / 2 - 0.5)[::-1]  # lowest bin first
    rows, cols = np.meshgrid(yc, xc, indexing="ij")
    cells = map_coordinates(level, [rows, cols], order=1, mode="nearest")
    return spec2img.decode(levels_to_image(cells[None], spec))[0]


def test_gray_jpeg_cli(images, y, tmp_path, capsys):
    out = tmp_path / "gray.wav"
    code, _, err = run(capsys, "decode", images["gray_jpeg"], out, *BASE, "-q")
    assert code == 0, err
    assert "normalised to a peak of -1 dBFS" in err  # the level of a plot is unknown
    z, sr = sf.read(out, dtype="float32")
    assert sr == SR and len(z) == N
    assert abs(20 * np.log10(np.max(np.abs(z))) + 1) < 0.1
    careful = gain_sc_db(y, z)
    assert careful < -25  # measured -28.5
    spec = plain_spec(sr=SR, n_fft=2048, duration=DURATION)
    assert gain_sc_db(y, bilinear_decode(images["gray_jpeg"], spec)) > careful + 6  # -15.2


def test_magma_log_png(images, y):
    kw = dict(sr=SR, n_fft=2048, duration=DURATION, y_axis="log")
    z, sr = decode_file(images["magma_log"], cmap="magma", **kw)
    assert sr == SR and z.shape == (N,)
    careful = gain_sc_db(y, z)
    assert careful < -17  # measured -20.2 (the top octave gets 1/8 of the height)
    luminance, _ = decode_file(images["magma_log_luminance"], cmap="gray", **kw)
    assert gain_sc_db(y, luminance) > careful + 4  # measured -14.5
    wrong_axis, _ = decode_file(images["magma_log"], cmap="magma", sr=SR, n_fft=2048,
                                duration=DURATION)  # fmt: skip
    assert gain_sc_db(y, wrong_axis) > -3  # measured -0.0: the geometry is everything


def test_palette_png(images, y):
    assert Image.open(images["palette"]).mode == "P"
    z, _ = decode_file(images["palette"], cmap="viridis", sr=SR, n_fft=2048, duration=DURATION)
    careful = gain_sc_db(y, z)
    assert careful < -23 and z.shape == (N,)  # measured -26.1
    luminance, _ = decode_file(images["palette_luminance"], sr=SR, n_fft=2048,
                               duration=DURATION)  # fmt: skip
    assert gain_sc_db(y, luminance) > careful + 6  # measured -16.3


def test_tight_plot_with_axes(images, y, tmp_path, capsys):
    spec = plain_spec(sr=SR, n_fft=1024, duration=DURATION, cmap="magma")
    with Raster(images["axes"]) as r:
        area = find_plot_area(r)
    assert area.how == "axes frame"
    z = spec2img.decode(load_plain(images["axes"], spec))[0]
    careful = gain_sc_db(y, z, n_fft=1024, hop_length=256)
    assert careful < -25 and z.shape == (N,)  # measured -28.5
    # the same area given by hand
    box = f"{round(area.left)},{round(area.top)},{round(area.right)},{round(area.bottom)}"
    out = tmp_path / "crop.wav"
    code, _, err = run(capsys, "decode", images["axes"], out, "--sr", SR, "--n-fft", 1024,
                       "--frames", 1 + N // 256, "--cmap", "magma", "--crop", box, "-q")  # fmt: skip
    assert code == 0, err
    zc, _ = sf.read(out, dtype="float32")
    assert len(zc) == (N // 256) * 256  # --frames T means (T - 1) hops
    assert gain_sc_db(y[: len(zc)], zc, n_fft=1024, hop_length=256) < -22
    # without the frame search, the axes and labels would be read as data
    whole = load_plain(images["axes"], spec, crop=(0, 0, *Image.open(images["axes"]).size))
    whole_sc = gain_sc_db(y, spec2img.decode(whole)[0], n_fft=1024, hop_length=256)
    assert whole_sc > careful + 10  # measured -0.3


def test_silence_at_the_edges_is_not_a_border(tmp_path, y):
    """A tight plot (no margin) of a magma spectrogram that starts and ends with silence:
    the black ends are data, not a border to trim, and not an axes frame."""
    quiet = y.copy()
    quiet[: SR // 3] = 0
    quiet[-SR // 3 :] = 0
    path = specshow_file(tmp_path / "quiet.png", db_of(quiet), cmap="magma", figsize=(12, 12),
                         dpi=100, tight=True)  # fmt: skip
    with Raster(path) as r:
        assert find_plot_area(r).how == "whole image"
    z, _ = decode_file(path, cmap="magma", sr=SR, n_fft=2048, duration=DURATION)
    assert gain_sc_db(quiet, z) < -24  # measured -28.3 (-1.0 when the ends are trimmed)
    assert rms_db(z[: SR // 4]) < rms_db(z) - 40 and rms_db(z[-SR // 4 :]) < rms_db(z) - 40


@pytest.fixture(scope="module")
def gan(tmp_path_factory, y):
    """A GAN-style training image: spec2img at 257 bins x 259 frames, as 8-bit RGB 256x256."""
    d = tmp_path_factory.mktemp("gan")
    original = spec2img.encode(y, SR, n_fft=512, hop_length=128)
    original.save(d / "train.png")
    eight = (original.pixels >> 8).astype(np.uint8)
    Image.fromarray(eight).convert("RGB").resize((256, 256), Image.BILINEAR).save(d / "gan.png")
    (d / "info.json").write_text(json.dumps(original.meta.to_dict()))
    dataset = {"format": "spec2img-dataset", "version": 1, "metadata": original.meta.to_dict(),
               "files": ["train.png"]}  # fmt: skip
    (d / "dataset.json").write_text(json.dumps(dataset))
    return d


@pytest.mark.parametrize("source", ["train.png", "info.json", "dataset.json"])
def test_gan_output_with_params_from(gan, y, tmp_path, capsys, source):
    out = tmp_path / "gan.wav"
    code, _, err = run(capsys, "decode", gan / "gan.png", out, "--params-from", gan / source, "-q")
    assert code == 0 and "normalised" not in err, err  # the training set's dB are absolute
    z, sr = sf.read(out, dtype="float32")
    assert sr == SR and len(z) == N
    assert gain_sc_db(y, z, n_fft=512, hop_length=128) < -16  # measured -19.2
    assert abs(rms_db(z) - rms_db(y)) < 1.5  # measured -0.7 dB (8 bits, resized)


def test_stereo_gan_output_keeps_its_channels(tmp_path):
    y = signals.stereo()  # a 330 Hz tone left, a chirp right
    original = spec2img.encode(y, SR, n_fft=512, hop_length=128)
    original.save(tmp_path / "train.png")
    eight = (original.pixels >> 8).astype(np.uint8)  # 514 rows: two blocks of 257
    Image.fromarray(eight).convert("RGB").resize((256, 512)).save(tmp_path / "gan.png")
    z, _ = decode_file(tmp_path / "gan.png", params_from=tmp_path / "train.png")
    assert z.shape == y.shape
    sc = [[gain_sc_db(y[i], z[j], n_fft=512, hop_length=128) for j in (0, 1)] for i in (0, 1)]
    assert sc[0][0] < -20 and sc[1][1] < -15  # measured -29.6 and -19.5
    assert sc[0][1] > -3 and sc[1][0] > -3  # not swapped, not mixed


def test_absolute_db_range_keeps_the_level(tmp_path, y):
    D = db_of(y, ref=1.0)  # absolute dB, the colour range set by hand
    path = specshow_file(tmp_path / "abs.png", D, figsize=(12, 12), dpi=100, vmin=-60, vmax=50)
    z, _ = decode_file(path, sr=SR, n_fft=2048, duration=DURATION, db_range=(-60, 50))
    assert abs(rms_db(z) - rms_db(y)) < 0.5  # measured 0.1
    assert gain_sc_db(y, z) < -23  # measured -26.3


def test_mel_plot(tmp_path, y):
    import librosa

    M = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR), ref=np.max)
    path = specshow_file(tmp_path / "mel.png", M, y_axis="mel", cmap="magma",
                         figsize=(10, 6), dpi=100)  # fmt: skip
    kw = dict(sr=SR, n_fft=2048, duration=DURATION, cmap="magma")
    z, _ = decode_file(path, y_axis="mel", **kw)
    careful = gain_sc_db(y, z)
    assert careful < -13 and z.shape == (N,)  # measured -16.6; 128 bands lose detail
    magnitude, _ = decode_file(path, y_axis="mel", mel_power=1, **kw)
    assert gain_sc_db(y, magnitude) > careful + 3  # measured -10.8: melspectrogram is power


@pytest.fixture(scope="module")
def gray_png(tmp_path_factory, y):
    d = tmp_path_factory.mktemp("modes")
    return specshow_file(d / "gray.png", db_of(y), figsize=(12, 12), dpi=100)


@pytest.mark.parametrize("mode", ["L", "I;16", "RGB", "LA", "RGBA", "CMYK"])
def test_any_pillow_mode(gray_png, y, tmp_path, mode):
    base = Image.open(gray_png).convert("L")
    path = tmp_path / f"img.{'jpg' if mode == 'CMYK' else 'png'}"
    if mode == "I;16":
        Image.fromarray(np.asarray(base).astype(np.uint16) * 257).save(path)
    elif mode in ("LA", "RGBA"):  # transparent instead of the white margin
        g = np.asarray(base)
        rows, cols = np.flatnonzero((g < 255).any(1)), np.flatnonzero((g < 255).any(0))
        alpha = np.zeros_like(g)
        alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = 255
        Image.fromarray(np.dstack([g, alpha]), "LA").convert(mode).save(path)
    else:
        base.convert(mode).save(path, **({"quality": 95} if mode == "CMYK" else {}))
    assert Image.open(path).mode == mode
    z, _ = decode_file(path, sr=SR, n_fft=2048, duration=DURATION)
    assert gain_sc_db(y, z) < (-20 if mode == "CMYK" else -25)  # measured -28.5 .. -29.4


def test_params_from_own_metadata_when_plain_options_are_given(tmp_path, y):
    image = spec2img.encode(y, SR)
    image.save(tmp_path / "s.png")
    z, _ = decode_file(tmp_path / "s.png", cmap="gray")  # plain path, its own parameters
    assert z.shape == (N,) and abs(rms_db(z) - rms_db(y)) < 0.5


def cli_error(capsys, *argv):
    code, _, err = run(capsys, "decode", *argv)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("spec2img: error:"), err
    return lines[0]


def test_missing_parameters_are_listed(images, tmp_path, capsys):
    out = tmp_path / "o.wav"
    msg = cli_error(capsys, images["gray_jpeg"], out)
    assert "--sr RATE, --n-fft N and --duration SECONDS (or --frames N)" in msg
    assert "no axes" in msg and "--params-from" in msg and "--cmap" not in msg
    msg = cli_error(capsys, images["gray_jpeg"], out, "--sr", SR, "--n-fft", 2048)
    assert "needs --duration SECONDS (or --frames N): " in msg and "--sr RATE" not in msg
    msg = cli_error(capsys, images["gray_jpeg"], out, "--duration", 2)
    assert "needs --sr RATE and --n-fft N: " in msg
    assert not out.exists()


def test_bad_values_get_one_line(images, gan, tmp_path, capsys):
    out = tmp_path / "o.wav"
    img = images["gray_jpeg"]
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "v2.json").write_text(json.dumps({"format": "spec2img-dataset", "version": 2}))
    (tmp_path / "partial.json").write_text(json.dumps({"sample_rate": SR}))
    Image.new("RGB", (40, 30), "white").save(tmp_path / "white.png")
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / "gray8.png")
    cases = [
        (BASE + ["--db-range", 0, 0], "LOW < HIGH"),
        (BASE + ["--top-db", -3], "top_db"),
        (BASE + ["--cmap", "nope"], "unknown colormap 'nope'"),
        (BASE + ["--y-axis", "sideways"], "y_axis must be one of"),
        (BASE + ["--crop", "1,2,3"], "--crop must be four numbers"),
        (BASE + ["--crop", "0,0,5000,10"], "crop box"),
        (["--sr", SR, "--n-fft", 2048, "--frames", 0], "frames"),
        (["--sr", SR, "--n-fft", 2048, "--duration", 0], "duration"),
        (["--sr", SR, "--n-fft", 2048.5, "--duration", 1], "--n-fft must be a whole number"),
        (["--sr", -5, "--n-fft", 2048, "--duration", 1], "sample_rate"),
        (["--sr", SR, "--n-fft", 2048, "--hop-length", 4096, "--duration", 1], "hop_length"),
        (BASE + ["--n-mels", 64], "--n-mels applies to mel images"),
        (BASE + ["--fmin", 5000, "--fmax", 100], "fmin"),
        (BASE + ["--mel-power", 3, "--y-axis", "mel"], "mel_power"),
        (["--params-from", tmp_path / "nope.png"], "no such file"),
        (["--params-from", img], "no spec2img metadata to take parameters from"),
        (["--params-from", tmp_path / "bad.json"], "not a readable JSON"),
        (["--params-from", tmp_path / "v2.json"], "dataset version 2"),
        (["--params-from", tmp_path / "partial.json"], "metadata lacks"),
    ]
    for extra, words in cases:
        msg = cli_error(capsys, img, out, *extra)
        assert words in msg, (extra, msg)
    msg = cli_error(capsys, tmp_path / "gray8.png", out, *BASE, "--cmap", "magma")
    assert "grayscale" in msg
    code, _, err = run(capsys, "decode", tmp_path / "white.png", out, *BASE)  # all data
    assert code == 0 and sf.info(out).frames == N
    out.unlink()
    mel = spec2img.encode(signals.tone(), SR, scale="mel")
    mel.save(tmp_path / "mel.png")
    msg = cli_error(capsys, gan / "gan.png", out, "--params-from", tmp_path / "mel.png",
                    "--y-axis", "log")  # fmt: skip
    assert "mel bands" in msg
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_huge_jpeg_bounded_memory(tmp_path, y):
    """A 14000x14000 JPEG (over Pillow's bomb limit) decodes in bounded memory.

    matplotlib would need ~800 MB to draw it, so it is drawn here the way specshow
    does (each pixel shows the cell under its centre) inside a white margin.
    """
    import subprocess
    import sys

    D = np.maximum(db_of(y), -80)
    levels = np.rint((D + 80) / 80 * 255).astype(np.uint8)  # gray: loud is white
    size, margin = 14000, 400
    inner = size - 2 * margin
    rows = ((inner - np.arange(inner) - 0.5) / inner * levels.shape[0]).astype(np.int64)
    cols = ((np.arange(inner) + 0.5) / inner * levels.shape[1]).astype(np.int64)
    canvas = np.full((size, size), 255, np.uint8)
    canvas[margin:-margin, margin:-margin] = levels[rows][:, cols]
    big = tmp_path / "big.jpg"
    Image.fromarray(canvas).save(big, quality=90)
    del canvas
    out = tmp_path / "big.wav"
    # VmHWM: the peak resident memory of this process image (ru_maxrss would carry the
    # parent's peak across exec)
    script = (
        "import re, sys; from spec2img.cli.main import main; "
        f"code = main(['decode', {str(big)!r}, {str(out)!r}, '--sr', '{SR}', '--n-fft', "
        f"'2048', '--duration', '{DURATION}', '-q']); "
        "status = open('/proc/self/status').read(); "
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024); sys.exit(code)"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert res.returncode == 0, res.stderr
    peak_mb = int(res.stdout.strip().splitlines()[-1])
    # the image alone is 196 MB at 8 bits (784 MB as float32); read at 1/2 scale in strips
    # it peaks at ~210 MB, most of it the interpreter, numpy, scipy and librosa
    assert peak_mb < 330, peak_mb
    z, _ = sf.read(out, dtype="float32")
    assert len(z) == N and gain_sc_db(y, z) < -24  # measured -27.4
