"""Images made by the tools people use, decoded with their presets.

The images are made by the real tools (fixtures/make_tool_images.py: matplotlib's
plt.specgram, sox's spectrogram effect where installed, audio-diffusion's Mel
conventions) from a known signal, and decodes are scored against that signal by
gain-matched spectral convergence and mel log-spectral distance.  Each threshold sits
a little above what the decoder measured (noted beside it); the naive decode (no
preset: a named colormap, a guessed range, the tool's STFT size given by hand) is
scored too, so the tests fail if the preset path regresses towards it.
"""

import importlib.util
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import FIXTURES, gain_sc_db, mel_lsd, rms_db, run
from PIL import Image

import spec2img
from spec2img.errors import ParameterError
from spec2img.io.png import read_header
from spec2img.wild import presets

_spec = importlib.util.spec_from_file_location("tools", FIXTURES / "make_tool_images.py")
tools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tools)

SR = tools.SR
DURATION = 2.0
HAS_SOX = shutil.which("sox") is not None
needs_sox = pytest.mark.skipif(not HAS_SOX, reason="sox is not installed")


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("tools")
    y = tools.signal(DURATION)
    out = {"dir": d, "y": y, "wav": tools.write_wav(d / "mixture.wav", y)}
    out["specgram"] = tools.specgram_figure(d / "specgram.png", y)
    out["house"] = tools.specgram_figure(d / "house.png", y, cmap=tools.custom_colormap())
    out["nobar"] = tools.specgram_figure(d / "nobar.png", y, colorbar=False)
    return out


def decode(path, **plain):
    y, sr = spec2img.decode(spec2img.load_image(path, plain=plain))
    return y, sr


def scores(ref, y):
    return gain_sc_db(ref, y), mel_lsd(ref, y, SR)


# -- sox ---------------------------------------------------------------------------------


@needs_sox
@pytest.mark.parametrize(
    "variant,max_sc,max_lsd",
    [("default", -22, 1.1), ("m", -22, 1.1), ("l", -22, 1.1), ("h", -22, 1.1), ("r", -22, 1.1)],
)  # measured -24.7 dB SC, 0.74-0.76 dB LSD for every variant
def test_sox_variants_are_recognised_and_decode_at_their_level(made, variant, max_sc, max_lsd):
    path = tools.sox_image(made["dir"] / f"sox_{variant}.png", made["wav"],
                           *tools.SOX_VARIANTS[variant])  # fmt: skip
    z, sr = decode(path, sr=SR, duration=DURATION)  # no --preset: the palette says sox
    assert sr == SR and z.shape == made["y"].shape
    sc, lsd = scores(made["y"], z)
    assert sc < max_sc and lsd < max_lsd
    assert abs(rms_db(z) - rms_db(made["y"])) < 0.5  # measured 0.1: sox's dBFS kept


@needs_sox
def test_sox_naive_decode_misses(made):
    path = tools.sox_image(made["dir"] / "sox_n.png", made["wav"])
    Image.open(path).convert("RGB").save(made["dir"] / "sox_rgb.png")  # no palette
    careful, _ = scores(made["y"], decode(path, sr=SR, duration=DURATION)[0])
    z, _ = decode(made["dir"] / "sox_rgb.png", sr=SR, n_fft=1024, hop_length=55,
                  duration=DURATION, cmap="inferno", top_db=120)  # fmt: skip
    naive, _ = scores(made["y"], z)
    assert naive > careful + 10  # measured -0.0 against -24.7
    # the same RGB image with the preset reads sox's scale for its colours
    z, _ = decode(made["dir"] / "sox_rgb.png", preset="sox", sr=SR, duration=DURATION)
    sc, _ = scores(made["y"], z)
    assert sc < careful + 2  # measured -24.6
    assert abs(rms_db(z) - rms_db(made["y"])) < 1.0
    # --cmap auto on sox's own PNG reads sox's colours, as detection does
    auto, _ = scores(made["y"], decode(path, cmap="auto", sr=SR, duration=DURATION)[0])
    assert abs(auto - careful) < 0.5


@needs_sox
def test_sox_range_is_read_from_its_scale(made, capsys):
    path = tools.sox_image(made["dir"] / "sox_z80.png", made["wav"], "-z", "80")
    code, out, err = run(capsys, "info", path, "--sr", SR, "--duration", DURATION)
    assert code == 0, err
    assert "dB scale labels: -80 .. +0 dBFS" in out  # the labels' values, not only places
    assert "(dB scale labels)" in out.split("db_range")[1].splitlines()[0]
    z, _ = decode(path, sr=SR, duration=DURATION)
    assert abs(rms_db(z) - rms_db(made["y"])) < 1.0  # measured 0.2


@needs_sox
def test_sox_header_is_read_without_pixels(made):
    path = tools.sox_image(made["dir"] / "sox_h1.png", made["wav"])
    header = read_header(path)
    assert header.palette is not None and len(header.palette) == 3 * 255
    assert read_header(made["specgram"]).software.startswith("Matplotlib")


# -- matplotlib's specgram ---------------------------------------------------------------


@pytest.mark.parametrize("dpi", [72, 100, 200])
def test_specgram_preset_reads_the_colour_bar_labels(made, dpi):
    from matplotlib import mlab

    Pxx, _, _ = mlab.specgram(made["y"], Fs=SR)
    low, high = 10 * np.log10(Pxx.min()), 10 * np.log10(Pxx.max())
    path = tools.specgram_figure(made["dir"] / f"dpi{dpi}.png", made["y"], dpi=dpi)
    res = presets.resolve(path, {"preset": "specgram", "sr": SR, "duration": DURATION})
    got = res.options["db_range"]
    assert res.sources["db_range"].startswith("colour bar")
    assert abs(got[0] - low) < 1.0 and abs(got[1] - high) < 1.0  # measured <= 0.5


def _without_axes(path):
    """The plot area of a figure alone, saved beside it: a picture without axes."""
    from spec2img.wild.raster import Raster, find_plot_area

    with Raster(path) as r:
        a = find_plot_area(r)
    out = path.with_name(path.stem + "_bare.png")
    box = (int(a.left) + 2, int(a.top) + 2, int(a.right) - 2, int(a.bottom) - 2)
    Image.open(path).convert("RGB").crop(box).save(out)
    return out


def test_specgram_preset_against_naive(made):
    z, sr = decode(made["specgram"], preset="specgram", sr=SR, duration=DURATION)
    assert sr == SR and z.shape == made["y"].shape
    sc, lsd = scores(made["y"], z)
    assert sc < -5 and lsd < 9  # measured -6.3, 7.5 (256-point windows, half overlap)
    assert abs(rms_db(z) - rms_db(made["y"])) < 2.5  # measured 1.5: the PSD's level
    # naive: the picture without its axes (nothing to read the conventions from), the
    # tool's STFT given by hand and librosa's 80-dB guess
    naive = decode(_without_axes(made["specgram"]), sr=SR, n_fft=256, hop_length=128,
                   duration=DURATION, cmap="viridis")[0]  # fmt: skip
    n_sc, n_lsd = scores(made["y"], naive)
    assert n_sc > sc + 3 and n_lsd > lsd + 8  # measured -1.9, 24.2


def test_cmap_auto_matches_the_named_colormap(made):
    kw = dict(preset="specgram", sr=SR, duration=DURATION)
    named = scores(made["y"], decode(made["specgram"], cmap="viridis", **kw)[0])
    auto = scores(made["y"], decode(made["specgram"], cmap="auto", **kw)[0])
    assert abs(auto[0] - named[0]) < 1.0 and abs(auto[1] - named[1]) < 1.0


def test_cmap_auto_reads_an_unknown_colormap(made):
    kw = dict(preset="specgram", sr=SR, duration=DURATION)
    named = scores(made["y"], decode(made["specgram"], **kw)[0])
    house = scores(made["y"], decode(made["house"], cmap="auto", **kw)[0])
    assert house[0] < named[0] + 1.0 and house[1] < named[1] + 1.0  # measured -6.2, 7.4
    wrong = scores(made["y"], decode(made["house"], cmap="viridis", **kw)[0])
    assert wrong[0] > house[0] + 3  # measured -1.4


def test_cmap_auto_on_a_specshow_figure(made):
    """A librosa.display.specshow figure (ref=np.max, "%+2.0f dB" labels) in an
    unknown colormap decodes as well as the same figure in a named one."""
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt

    D = librosa.amplitude_to_db(np.abs(librosa.stft(made["y"])), ref=np.max)
    paths = {}
    for name, cmap in (("magma", "magma"), ("house", tools.custom_colormap())):
        fig = plt.figure(figsize=(8, 5), dpi=100)
        ax = fig.add_subplot()
        mesh = librosa.display.specshow(D, sr=SR, x_axis="time", y_axis="linear", cmap=cmap,
                                        ax=ax)  # fmt: skip
        fig.colorbar(mesh, ax=ax, format="%+2.0f dB")
        paths[name] = made["dir"] / f"specshow_{name}.png"
        fig.savefig(paths[name], bbox_inches="tight")
        plt.close(fig)
    kw = dict(sr=SR, n_fft=2048, duration=DURATION)
    res = presets.resolve(paths["house"], dict(cmap="auto", **kw))
    assert res.sources["top_db"] == "detected" and abs(res.options["top_db"] - 80) < 1.5
    named = scores(made["y"], decode(paths["magma"], cmap="magma", **kw)[0])
    auto = scores(made["y"], decode(paths["house"], cmap="auto", **kw)[0])
    assert abs(auto[0] - named[0]) < 1.0 and abs(auto[1] - named[1]) < 1.5  # measured -6.4


@pytest.mark.parametrize("name", ["mixture", "chirp"])
def test_specgram_without_colour_bar_estimates_the_range(made, name):
    from matplotlib import mlab

    y = made["y"] if name == "mixture" else (0.5 * tools.signals.chirp(SR, DURATION))
    path = tools.specgram_figure(made["dir"] / f"nobar_{name}.png", y, colorbar=False)
    Pxx, _, _ = mlab.specgram(y, Fs=SR)
    true = 10 * np.log10(Pxx.max() / Pxx.min())
    res = presets.resolve(path, {"preset": "specgram", "sr": SR, "duration": DURATION})
    assert res.sources["top_db"] == "estimated"
    image = spec2img.load_image(path, plain={"preset": "specgram", "sr": SR, "duration": DURATION})
    estimate = float(image.meta.extra["estimated_top_db"])
    assert abs(estimate / true - 1) < 0.25  # measured 191 / 204 and 242 / 237
    z, _ = spec2img.decode(image)
    fixed = decode(path, preset="specgram", sr=SR, duration=DURATION, top_db=80)[0]
    assert scores(y, z)[0] < scores(y, fixed)[0] - 3  # mixture: measured -6.4 against -1.8


# -- audio-diffusion ---------------------------------------------------------------------


def test_audio_diffusion_preset(tmp_path):
    n = 256 * 512 - 1
    y = (0.5 * tools.signals.mixture(SR, n / SR)).astype(np.float32)
    path = tools.audio_diffusion_image(tmp_path / "ad.png", y)
    z, sr = decode(path, preset="audio-diffusion")
    assert sr == 22050
    sc, lsd = scores(y, z)
    assert sc < -17 and lsd < 11  # measured -20.0, 9.7
    naive = decode(path, sr=22050, n_fft=2048, frames=256)[0]  # linear bins, not flipped
    assert scores(y, naive)[0] > sc + 15  # measured -0.0
    flipped = Image.open(path).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    flipped.save(tmp_path / "flipped.png")
    wrong = decode(tmp_path / "flipped.png", preset="audio-diffusion")[0]
    assert scores(y, wrong)[0] > sc + 10  # the rows' order matters


# -- Riffusion ---------------------------------------------------------------------------


def test_riffusion_preset_without_exif_takes_riffusion_defaults(tmp_path):
    Image.fromarray(np.full((512, 100), 200, np.uint8)).save(tmp_path / "r.png")
    z, sr = decode(tmp_path / "r.png", preset="riffusion")
    assert sr == 44100 and z.shape[-1] == 99 * 441
    z, sr = decode(tmp_path / "r.png", preset="riffusion", sr=22050)
    assert sr == 22050


# -- refusals ----------------------------------------------------------------------------


def cli_error(capsys, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith("spec2img: error: ") and len(err.strip().splitlines()) == 1
    return err


def test_bad_presets_and_conflicts_are_refused_by_name(made, tmp_path, capsys):
    img = made["specgram"]
    base = [img, tmp_path / "o.wav", "--sr", SR, "--duration", DURATION]
    assert "--preset must be one of" in cli_error(capsys, "decode", *base, "--preset", "sxo")
    err = cli_error(capsys, "decode", *base, "--preset", "specgram", "--y-axis", "mel")
    assert "--preset 'specgram': --y-axis does not apply" in err
    err = cli_error(capsys, "decode", *base, "--preset", "specgram", "--params-from", img)
    assert "--preset 'specgram' and --params-from" in err
    err = cli_error(capsys, "decode", img, tmp_path / "o.wav", "--preset", "riffusion",
                    "--cmap", "magma")  # fmt: skip
    assert "--cmap does not apply" in err
    bare = _without_axes(img)
    err = cli_error(capsys, "decode", bare, tmp_path / "o.wav", "--preset", "specgram")
    assert "--sr" in err and "--duration" in err and "no axes" in err
    err = cli_error(capsys, "decode", made["nobar"], tmp_path / "o.wav", "--cmap", "auto",
                    "--sr", SR, "--n-fft", 256, "--duration", DURATION)  # fmt: skip
    assert "no colour bar found" in err and "--cmap" in err
    assert not (tmp_path / "o.wav").exists()
    with pytest.raises(ParameterError, match="preset must be one of"):
        spec2img.load_image(img, plain={"preset": "nope"})
    with pytest.raises(ParameterError, match="'specgram': y_axis does not apply"):
        spec2img.load_image(img, plain={"preset": "specgram", "sr": SR, "duration": 2.0,
                                        "y_axis": "log"})  # fmt: skip


@needs_sox
def test_sox_conflicts(made, tmp_path, capsys):
    path = tools.sox_image(made["dir"] / "sox_c.png", made["wav"])
    base = [path, tmp_path / "o.wav", "--sr", SR, "--duration", DURATION]
    assert "not --n-fft 2048" in cli_error(capsys, "decode", *base, "--n-fft", 2048)
    assert "--n-mels does not apply" in cli_error(capsys, "decode", *base, "--n-mels", 64)
    # a figure with axes needs nothing more (tests/test_sox_axes.py); a raw one does
    code, _, err = run(capsys, "decode", path, tmp_path / "o.wav")
    assert code == 0, err
    raw = tools.sox_image(made["dir"] / "sox_cr.png", made["wav"], "-r")
    err = cli_error(capsys, "decode", raw, tmp_path / "o2.wav")
    assert "--sr" in err and "--duration" in err


def test_info_says_where_each_parameter_came_from(made, capsys):
    code, out, err = run(capsys, "info", made["specgram"], "--preset", "specgram",
                         "--sr", SR, "--duration", DURATION, "--json")  # fmt: skip
    assert code == 0, err
    d = json.loads(out)
    assert d["preset"] == {"value": "specgram", "from": "option"}
    assert d["sr"]["from"] == "option" and d["n_fft"] == {"value": "256", "from": "preset specgram"}
    assert d["db_range"]["from"].startswith("colour bar")
    code, out, err = run(capsys, "info", made["specgram"], "--preset", "specgram",
                         "--sr", SR, "--duration", DURATION, "--n-fft", 512)  # fmt: skip
    assert code == 0, err
    assert any(line.startswith("n_fft") and "512" in line and "(option)" in line
               for line in out.splitlines())  # fmt: skip


def test_decode_cli_with_preset(made, tmp_path, capsys):
    out = tmp_path / "sg.wav"
    code, _, err = run(capsys, "decode", made["specgram"], out, "--preset", "specgram",
                       "--sr", SR, "--duration", DURATION, "-q")  # fmt: skip
    assert code == 0, err
    z, sr = sf.read(out, dtype="float32")
    assert sr == SR and len(z) == len(made["y"])


@needs_sox
def test_show_draws_a_sox_image_and_a_preset_figure(made, tmp_path, capsys):
    path = tools.sox_image(made["dir"] / "sox_show.png", made["wav"])
    code, _, err = run(capsys, "show", path, "-o", tmp_path / "a.png", "--sr", SR,
                       "--duration", DURATION, "-q")  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "show", made["specgram"], "-o", tmp_path / "b.png",
                       "--preset", "specgram", "--sr", SR, "--duration", DURATION, "-q")  # fmt: skip
    assert code == 0, err
    assert Image.open(tmp_path / "a.png").size[0] > 100 and (tmp_path / "b.png").exists()


@needs_sox
def test_sox_stereo(made, tmp_path):
    stereo = np.stack([made["y"], 0.5 * made["y"]], axis=1)
    wav = tools.write_wav(tmp_path / "st.wav", stereo)
    path = tools.sox_image(tmp_path / "st.png", wav)
    z, sr = decode(path, sr=SR, duration=DURATION)
    assert z.shape == (2, len(made["y"]))
    assert abs((rms_db(z[0]) - rms_db(z[1])) - 6.0) < 0.5  # each channel keeps its level
    assert gain_sc_db(made["y"], z[0]) < -22  # measured -26.0 (a DFT of 512 for stereo)


def test_header_reads_other_programs_text_as_bounded_data(tmp_path):
    from PIL import PngImagePlugin

    from spec2img.io.png import MAX_TEXT_CHUNK

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "x\x1b[31m" * 50_000)  # huge, with a terminal escape
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "s.png", pnginfo=info)
    header = read_header(tmp_path / "s.png")
    assert len(header.software) <= MAX_TEXT_CHUNK and header.palette is None
    assert presets.detect(header) is None
    # a palette that is not sox's is not taken for sox
    Image.fromarray(np.zeros((8, 8), np.uint8)).convert("P").save(tmp_path / "p.png")
    assert presets.detect(read_header(tmp_path / "p.png")) is None


def test_info_on_a_spec2img_image_read_as_plain(made, tmp_path, capsys):
    png = tmp_path / "own.png"
    assert run(capsys, "encode", made["wav"], png, "-q")[0] == 0
    code, out, err = run(capsys, "info", png, "--top-db", 60, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["n_fft"] == {"value": "2048", "from": "params_from"}
    assert d["db_range"]["from"] == "option"


def test_info_on_a_riffusion_preset(tmp_path, capsys):
    Image.fromarray(np.full((512, 100), 200, np.uint8)).save(tmp_path / "r.png")
    code, out, err = run(capsys, "info", tmp_path / "r.png", "--preset", "riffusion", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["sample_rate"] == 44100 and d["source"] == "riffusion"
