"""Riffusion images: made here from audio with Riffusion's conventions, decoded unaided."""

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, gain_sc_db, signals
from PIL import Image

import spec2img
from spec2img.cli.main import main
from spec2img.wild.identify import identify

RIFF_SR = 44100
HOP = 441  # 10 ms


def riffusion_image(path, y, *, stereo=False, tags=None, sr=RIFF_SR):
    """Riffusion's image of ``y``, made by ``fixtures/make_fixtures.py``."""
    return signals.riffusion_image(path, y, stereo=stereo, tags=tags, sr=sr)


@pytest.fixture(scope="module")
def source():
    """0.75 s of tones and a chirp (all below Riffusion's 10 kHz), at 44.1 kHz."""
    from spec2img.io.audio import resample

    n = int(0.75 * SR)
    y = (signals.tone()[:n] + signals.chirp()[:n])[None]
    return resample(y, SR, RIFF_SR)[0]


@pytest.fixture(scope="module")
def mono(tmp_path_factory, source):
    return riffusion_image(tmp_path_factory.mktemp("riff") / "mono.png", source)


def test_detected_and_decoded_without_parameters(mono, source, tmp_path, capsys):
    assert identify(mono).kind == "riffusion"
    out = tmp_path / "riff.wav"
    code = main(["decode", str(mono), str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "normalised to a peak of -1 dBFS" in err and "--db-range" not in err
    z, sr = sf.read(out, dtype="float32")
    frames = Image.open(mono).size[0]
    assert sr == RIFF_SR and z.ndim == 1 and len(z) == (frames - 1) * HOP
    assert gain_sc_db(source[: len(z)], z) < -17  # measured -19.9


def test_mel_bands_are_inverted_by_nnls(mono):
    """The linear magnitude decoded from the image reproduces the image's mel bands."""
    from spec2img.wild.riffusion import mel_from_pixels, riffusion_basis, riffusion_params

    image = spec2img.load_image(mono)
    with Image.open(mono) as img:
        p = riffusion_params(img.getexif())
        pixels = np.asarray(img.convert("RGB"))[::-1, :, 0]
    mel = mel_from_pixels(pixels, p["power"])
    S = image.magnitude()[0]
    assert S.shape == (17640 // 2 + 1, pixels.shape[1]) and S.min() >= 0
    fit = riffusion_basis(p) @ S
    gain = np.sum(fit * mel) / np.sum(fit * fit)
    assert np.linalg.norm(gain * fit - mel) < 0.02 * np.linalg.norm(mel)
    assert np.all(S[image.params.n_fft * 10000 // RIFF_SR + 2 :] == 0)  # nothing above 10 kHz


def test_stereo_in_green_and_blue(tmp_path, source):
    left = source[: RIFF_SR // 2]
    right = (0.3 * np.sin(2 * np.pi * 3000 * np.arange(len(left)) / RIFF_SR)).astype(np.float32)
    path = riffusion_image(tmp_path / "stereo.png", np.stack([left, right]), stereo=True)
    z, sr = spec2img.decode(spec2img.load_image(path), n_iter=20)
    assert z.shape[0] == 2 and sr == RIFF_SR
    n = z.shape[1]
    assert gain_sc_db(left[:n], z[0]) < -12 and gain_sc_db(right[:n], z[1]) < -12
    assert gain_sc_db(left[:n], z[1]) > -3  # the channels are not swapped or mixed


def test_missing_tags_take_riffusion_defaults(tmp_path, source, capsys):
    path = riffusion_image(tmp_path / "few.png", source[: RIFF_SR // 2],
                           tags={"step_size_ms": None, "power_for_image": None})  # fmt: skip
    out = tmp_path / "few.wav"
    assert main(["decode", str(path), str(out), "--n-iter", "5", "-q"]) == 0
    err = capsys.readouterr().err
    assert "lacks the EXIF tags for step_size_ms, power_for_image" in err
    assert sf.info(out).samplerate == RIFF_SR


@pytest.mark.parametrize(
    "tags, words",
    [({"sample_rate": 0}, "sample_rate=0"), ({"num_frequencies": 99999}, "num_frequencies"),
     ({"power_for_image": 0.0}, "power_for_image"), ({"min_frequency": 20000}, "frequency range 20000-10000"),
     ({"window_duration_ms": 900}, "window")],
)  # fmt: skip
def test_bad_tags_get_one_line(tmp_path, source, capsys, tags, words):
    path = riffusion_image(tmp_path / "bad.png", source[: RIFF_SR // 2], tags=tags)
    code = main(["decode", str(path), str(tmp_path / "bad.wav")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("spec2img: error:"), err
    assert words in err[0] and str(path) in err[0]
    assert not (tmp_path / "bad.wav").exists()
