"""What keeps decodes fast: own mel filterbanks, light imports, small mel images, --stop-db."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, mel_lsd, modules_loaded_by, run, signals
from PIL import Image

import spec2img
from spec2img.dsp.melbank import mel_filters


@pytest.mark.parametrize(
    "kw",
    [dict(sr=22050, n_fft=2048, n_mels=128), dict(sr=16000, n_fft=512, n_mels=40, fmin=50,
     fmax=7000), dict(sr=8000, n_fft=256, n_mels=100), dict(sr=44100, n_fft=17640, n_mels=512,
     fmax=10000, htk=True, norm=None), dict(sr=22050, n_fft=1024, n_mels=64, htk=True)],
)  # fmt: skip
def test_mel_filters_match_librosa(kw):
    librosa = pytest.importorskip("librosa")
    kw = dict(kw)
    ours = {**kw}
    norm = ours.pop("norm", "slaney")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns about empty filters
        want = librosa.filters.mel(**kw, dtype=np.float32)
    got = mel_filters(**ours, slaney_norm=norm == "slaney")
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


HEAVY = ("librosa", "matplotlib", "sklearn", "scipy.signal", "numba.cuda")


@pytest.mark.parametrize("scale", ["linear", "mel"])
def test_decode_imports_nothing_it_does_not_need(tmp_path, scale):
    """A decode never loads librosa, matplotlib, scikit-learn or scipy.signal."""
    y = signals.chirp()[:SR]
    spec2img.encode(y, SR, scale=scale).save(tmp_path / "a.png")
    loaded = modules_loaded_by(
        "decode", tmp_path / "a.png", tmp_path / "a.wav", "-q", "--n-iter", "2"
    )
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == [], heavy


def test_stop_db_in_help_and_checked(tmp_path, capsys):
    code, out, _ = run(capsys, "decode", "--help")
    assert code == 0 and "--stop-db" in out and "16-bit linear" in " ".join(out.split())
    code, _, err = run(capsys, "decode", "a.png", str(tmp_path / "b.wav"), "--stop-db", "-1")
    assert code == 2 and "-1" in err


@pytest.fixture(scope="module")
def gan(tmp_path_factory):
    """A mel image of a tone, a chirp and noise bursts (128 bands x 216 frames), as an
    8-bit RGB 256x256 image, and the training image it came from."""
    d = tmp_path_factory.mktemp("gan")
    rng = np.random.default_rng(5)
    n = 5 * SR
    t = np.arange(n) / SR
    y = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.2 * np.sin(2 * np.pi * (200 * t + 300 * t**2))
    for start in (1.0, 2.5, 4.0):
        i = int(start * SR)
        y[i : i + 1000] += 0.3 * rng.standard_normal(1000) * np.hanning(1000)
    y = y.astype(np.float32)
    train = spec2img.encode(y, SR, scale="mel", n_mels=128)
    train.save(d / "train.png")
    eight = (train.pixels >> 8).astype(np.uint8)
    Image.fromarray(eight).convert("RGB").resize((256, 256), Image.BILINEAR).save(d / "gan.png")
    (d / "info.json").write_text(json.dumps(train.meta.to_dict()))
    return d, y, train


def careful(d, train, n):
    """The careful decoder: bicubic back to the grid, NNLS mel inverse, 100 iterations."""
    from spec2img import phase
    from spec2img.dsp import scale
    from spec2img.dsp.stft import Stft

    g = np.asarray(Image.open(d / "gan.png").convert("L"), np.float32)
    rows, cols = train.pixels.shape
    back = np.asarray(Image.fromarray(g).resize((cols, rows), Image.BICUBIC), np.float64)
    m = train.meta
    amp = scale.pixels_to_amplitude(np.clip(back * 257, 0, 65535)[::-1], m.db_min, m.db_max)
    S = scale.mel_to_linear(amp, scale.mel_basis(m.params))
    return phase.reconstruct(S, Stft.from_params(m.params), n_iter=100, length=n)


def test_small_mel_image_matches_the_careful_decoder(gan, tmp_path, capsys):
    d, y, train = gan
    out = tmp_path / "gan.wav"
    code, _, err = run(capsys, "decode", d / "gan.png", out, "--params-from", d / "train.png", "-q")
    assert code == 0, err
    z, sr = sf.read(out, dtype="float32")
    assert sr == SR and len(z) == len(y)
    ours, theirs = mel_lsd(y, z, SR), mel_lsd(y, careful(d, train, len(y)), SR)
    assert ours <= theirs + 0.05, (ours, theirs)  # measured 2.15 vs 2.33 dB


def test_wav_decode_does_not_load_libsndfile(tmp_path):
    """The default output (16-bit WAV) is written with the standard library: loading
    soundfile and its codecs cost a 5-s decode about 3% of its CPU time."""
    y = signals.chirp()[:SR]
    spec2img.encode(y, SR).save(tmp_path / "a.png")
    loaded = modules_loaded_by(
        "decode", tmp_path / "a.png", tmp_path / "a.wav", "-q", "--n-iter", "2"
    )
    assert "soundfile" not in loaded
    back, sr = sf.read(tmp_path / "a.wav")
    assert sr == SR and back.shape == (SR,) and np.abs(back).max() > 0.1
