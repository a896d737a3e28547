"""spec2img show: labelled previews of images and audio."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import SR, signals
from PIL import Image

import spec2img
from spec2img.cli.main import main
from spec2img.cli.preview import figure


@pytest.fixture(scope="module")
def stereo_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("show") / "stereo.png"
    spec2img.encode(signals.stereo(), SR).save(path)
    return path


def test_figure_is_labelled_on_the_image_scale(stereo_png):
    image = spec2img.load(stereo_png)
    fig = figure(image, title="stereo.png")
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2  # one per channel
    title = fig._suptitle.get_text()
    assert "stereo.png" in title and "22050 Hz" in title and "n_fft 2048" in title
    assert "hop 512" in title and "1.50 s" in title
    assert panels[-1].get_xlabel() == "Time (s)" and "Frequency (Hz)" in panels[0].get_ylabel()
    frames, hop, df = image.meta.n_frames, 512, SR / 2048
    assert np.allclose(panels[0].get_xlim(), (-hop / 2 / SR, (frames - 0.5) * hop / SR))
    assert np.allclose(panels[0].get_ylim(), (-df / 2, SR / 2 + df / 2))
    bar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][0]
    assert "dB" in bar.get_ylabel()
    # the picture is the image's dB: the 330 Hz tone of channel 0 is its loudest row
    data = panels[0].get_images()[0].get_array()
    assert abs(np.argmax(data[:, data.shape[1] // 2]) - round(330 / df)) <= 1


def test_mel_image_is_labelled_in_hz(tmp_path):
    image = spec2img.encode(signals.mixture(), SR, scale="mel", n_mels=64)
    fig = figure(image)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "1k" in labels and "mel" in ax.get_ylabel()
    ticks = dict(zip(labels, ax.get_yticks(), strict=True))
    assert ticks["1k"] < ticks["5k"] < 64  # positions are mel bands, labels are Hz


def test_cli_show_image_and_audio(stereo_png, tmp_path, capsys):
    out = tmp_path / "p.png"
    assert main(["show", str(stereo_png), "-o", str(out), "--dpi", "50"]) == 0
    assert "wrote" in capsys.readouterr().err
    with Image.open(out) as img:
        assert img.size == (500, 375)  # 10 x 7.5 inches at 50 dpi
    svg = tmp_path / "chirp.svg"
    wav = tmp_path / "chirp.wav"
    import soundfile as sf

    sf.write(wav, signals.chirp(), SR)
    assert main(["show", str(wav), "-o", str(svg), "-q"]) == 0
    assert svg.read_text().lstrip().startswith("<?xml") and capsys.readouterr().err == ""


def test_without_output_and_display_writes_beside(stereo_png, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["show", str(stereo_png)]) == 0
    assert (tmp_path / "stereo_preview.png").exists()
    assert "stereo_preview.png" in capsys.readouterr().err


def test_show_errors(stereo_png, tmp_path, capsys):
    Image.new("RGB", (50, 40), "gray").save(tmp_path / "plot.png")
    cases = [
        (["show", tmp_path / "plot.png", "-o", tmp_path / "a.png"], "no axes to read them from"),
        (["show", stereo_png, "-o", tmp_path / "a.gif"], "preview must be one of"),
        (["show", tmp_path / "none.png", "-o", tmp_path / "a.png"], "no such file"),
        (["show", stereo_png, "-o", stereo_png], "same file as the input"),
        (["show", stereo_png, "-o", tmp_path / "a.png", "--cmap", "nope"], "unknown colormap"),
    ]
    for argv, words in cases:
        code = main([str(a) for a in argv])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "a.png").exists()


def test_saving_needs_no_pyplot(stereo_png, tmp_path):
    code = (
        "import sys; from spec2img.cli.preview import show; "
        f"show({str(stereo_png)!r}, {str(tmp_path / 'x.png')!r}); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_window_when_there_is_a_display(stereo_png, monkeypatch):
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spec2img.cli import preview

    monkeypatch.setattr(preview, "_interactive", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Agg cannot show; that is fine here
        assert preview.show(stereo_png) is None
    fig = plt.gcf()
    assert "stereo.png" in fig._suptitle.get_text() and len(fig.axes) == 3
    plt.close(fig)
