"""A spectrogram image shows itself: a one-line repr, the labelled preview, a bounded
player, ``.plot(ax=...)`` like ``specshow`` and ``.audio()``; in a real notebook too."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, rms_db, signals
from PIL import Image

import spec2img
from spec2img import display
from spec2img.errors import ParameterError
from spec2img.params import frame_count


@pytest.fixture(scope="module")
def stereo():
    y = signals.stereo()
    return y, spec2img.encode(y, SR)


def _data_uri(html: str, kind: str) -> bytes:
    m = re.search(rf'src="data:{kind};base64,([^"]+)"', html)
    assert m, f"no {kind} data URI"
    return base64.b64decode(m.group(1))


def test_the_repr_is_one_line_not_arrays(stereo):
    _, image = stereo
    text = repr(image)
    assert "\n" not in text and "array" not in text and len(text) < 200
    assert "2 channel(s)" in text and "22050 Hz" in text and "1.50 s" in text


def test_the_png_repr_is_the_labelled_preview(stereo):
    _, image = stereo
    png = image._repr_png_()
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        assert im.size == (800, 600)  # 10 x 7.5 inches (two panels) at 80 dpi


def test_the_html_repr_has_the_picture_and_a_player_of_its_decode(stereo):
    y, image = stereo
    page = image._repr_html_()
    with Image.open(io.BytesIO(_data_uri(page, "image/png"))) as im:
        assert im.size == (800, 600)
    assert "<audio controls" in page
    back, sr = sf.read(io.BytesIO(_data_uri(page, "audio/wav")), always_2d=True)
    assert sr == SR and back.shape == (y.shape[1], 2)  # the whole image: it is short
    for k in range(2):
        assert abs(rms_db(back[:, k]) - rms_db(y[k])) < 1.0
    bundle = image._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png"}
    assert bundle["image/png"] == _data_uri(bundle["text/html"], "image/png")


def test_a_long_image_is_not_decoded_whole_to_be_shown(monkeypatch):
    y = np.tile(signals.mixture(), 16)[: SR * 20]  # 20 s
    image = spec2img.encode(y, SR)
    seen = []
    real = spec2img.pipeline.decode

    def spy(img, **kw):
        seen.append(img.meta.n_samples)
        return real(img, **kw)

    monkeypatch.setattr(spec2img.pipeline, "decode", spy)
    page = display.player_html(image, seconds=2.0)
    assert seen == [2 * SR]
    back, sr = sf.read(io.BytesIO(_data_uri(page, "audio/wav")))
    assert len(back) == 2 * SR
    assert "the first 2.0 s of 20.0 s" in page


def test_an_excerpt_is_a_prefix_of_the_image(stereo):
    _, image = stereo
    part, cut = display.excerpt(image, 0.5)
    p = image.params
    frames = frame_count(SR // 2, p.n_fft, p.hop_length, p.center)
    assert cut and part.meta.n_samples == SR // 2 and part.pixels.shape[1] == frames
    np.testing.assert_array_equal(part.pixels, image.pixels[:, :frames])
    assert display.excerpt(image, 60.0) == (image, False)
    with pytest.raises(ParameterError, match="seconds"):
        display.excerpt(image, -1)


def test_plot_draws_time_and_hz_like_specshow(stereo):
    from matplotlib.figure import Figure

    _, image = stereo
    ax = Figure().subplots()
    im = image.plot(ax=ax)
    assert ax.get_xlabel() == "Time (s)" and ax.get_ylabel() == "Frequency (Hz)"
    frames, hop, df = image.meta.n_frames, image.params.hop_length, SR / image.params.n_fft
    assert np.allclose(ax.get_xlim(), (-hop / 2 / SR, (frames - 0.5) * hop / SR))
    assert np.allclose(ax.get_ylim(), (-df / 2, SR / 2 + df / 2))
    data = im.get_array()  # dB of channel 0: its loudest row is its 330 Hz tone
    assert abs(np.argmax(data[:, frames // 2]) * df - 330) <= df
    other = image.plot(ax=Figure().subplots(), channel=1).get_array()  # the chirp
    assert abs(np.argmax(other[:, frames // 2]) * df - 330) > 10 * df
    assert im.get_clim() == (image.meta.db_min, image.meta.db_max)
    with pytest.raises(ParameterError, match="channel=2"):
        image.plot(ax=ax, channel=2)


def test_plot_labels_a_mel_image_in_hz():
    from matplotlib.figure import Figure

    image = spec2img.encode(signals.mixture(), SR, scale="mel", n_mels=64)
    ax = Figure().subplots()
    image.plot(ax)
    assert "1k" in [t.get_text() for t in ax.get_yticklabels()]


def test_audio_is_an_ipython_player_of_the_whole_decode(stereo):
    pytest.importorskip("IPython")
    y, image = stereo
    player = image.audio(n_iter=8)
    assert type(player).__name__ == "Audio"
    back, sr = sf.read(io.BytesIO(player.data), always_2d=True)
    assert sr == SR and back.shape == (y.shape[1], 2)
    assert abs(rms_db(back[:, 0]) - rms_db(y[0])) < 1.5


def test_importing_spec2img_imports_neither_ipython_nor_matplotlib():
    code = (
        "import sys, numpy as np, spec2img\n"
        "spec2img.encode(np.zeros(4096, np.float32) + 0.1, 8000)\n"
        "print(sorted(m for m in ('IPython', 'matplotlib', 'anywidget') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_notebook_run_headless_shows_the_picture_and_a_player(tmp_path):
    """nbclient runs a real kernel; the output is what Jupyter would display."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import numpy as np, spec2img\n"
            "sr = 22050\n"
            "y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32) / 2\n"
            "image = spec2img.encode(y, sr)\n"
            "image"
        ),
    ]
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()
    (out,) = nb.cells[0].outputs
    assert out["output_type"] == "execute_result"
    page = out["data"]["text/html"]
    assert re.search(r'<img src="data:image/png;base64,', page)
    assert re.search(r'<audio controls[^>]*src="data:audio/wav;base64,', page)
    back, sr = sf.read(io.BytesIO(_data_uri(page, "audio/wav")))
    assert sr == 22050 and len(back) == 22050
    assert "image/png" in out["data"] and out["data"]["text/plain"].startswith("<SpectrogramImage")
