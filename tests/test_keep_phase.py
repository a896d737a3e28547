"""Kept phase (encode --keep-phase) and the phase options of decode."""

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, run, sc_db, signals

import spec2img
from spec2img import phase
from spec2img.cli.main import main
from spec2img.dsp.stft import Stft
from spec2img.errors import MetadataError
from spec2img.io import phase_image as keep_phase
from spec2img.io.image import SpectrogramImage
from spec2img.options import DEFAULT_METHOD, DEFAULT_N_ITER, METHODS
from spec2img.phase import spectral_convergence
from spec2img.pipeline import linear_magnitude


def test_phase_pixels_round_trip_within_half_a_step():
    rng = np.random.default_rng(0)
    phi = rng.uniform(-4 * np.pi, 4 * np.pi, (2, 9, 7))
    pixels = keep_phase.phase_to_pixels(phi)
    assert pixels.shape == (18, 7) and pixels.dtype == np.uint16
    back = keep_phase.pixels_to_phase(pixels, 2)
    err = np.angle(np.exp(1j * (back - phi)))
    assert np.abs(err).max() <= np.pi / 65536 * 1.001
    # laid out like a spectrogram image: channel 0 on top, highest bin in row 0
    assert pixels[0, 0] == keep_phase.phase_to_pixels(phi[:1, -1:, :1])[0, 0]


@pytest.mark.parametrize("name", ["mixture", "stereo"])
def test_unedited_round_trip_is_near_lossless(name):
    y = signals.__dict__[name]()
    image = spec2img.encode(y, SR, keep_phase=True)
    assert image.phase.shape == image.pixels.shape and image.phase.dtype == np.uint16
    z, _ = spec2img.decode(image)
    assert sc_db(y, z) < -60
    without, _ = spec2img.decode(image, use_phase=False)
    assert sc_db(y, without) > -45


def test_file_round_trip_through_the_cli(tmp_path, wav, capsys):
    src = wav("stereo")
    code, _, err = run(capsys, "encode", src, tmp_path / "s.png", "--keep-phase")
    assert code == 0 and "s.phase.png" in err
    assert (tmp_path / "s.phase.png").exists()
    code, out, _ = run(capsys, "info", tmp_path / "s.png")
    assert "phase_file" in out and "s.phase.png" in out
    code, _, err = run(
        capsys, "decode", tmp_path / "s.png", tmp_path / "s.wav", "--subtype", "FLOAT"
    )
    assert code == 0, err
    x, _ = sf.read(src, dtype="float32")
    z, _ = sf.read(tmp_path / "s.wav", dtype="float32")
    assert z.shape == x.shape
    assert sc_db(x.T, z.T) < -60
    # --no-phase decodes from scratch, as without --keep-phase
    code, _, _ = run(capsys, "decode", tmp_path / "s.png", tmp_path / "n.wav", "--no-phase", "-q")
    z, _ = sf.read(tmp_path / "n.wav", dtype="float32")
    assert code == 0 and sc_db(x.T, z.T) > -45


def test_edited_image_converges_from_the_original_phase():
    y = signals.mixture()
    image = spec2img.encode(y, SR, keep_phase=True)
    pixels = image.pixels.copy()
    h, w = pixels.shape
    pixels[h // 3 : h // 2, w // 4 : w // 2] = 0  # paint a region black
    pixels[h // 2 :] = (pixels[h // 2 :] * 0.9).astype(np.uint16)  # and turn a band down
    edited = SpectrogramImage(pixels, image.meta, image.phase)
    target = linear_magnitude(edited)
    engine = Stft(2048, 512)

    def sc(**kw):
        z, _ = spec2img.decode(edited, **kw)
        return spectral_convergence(target, z[None], engine)

    kept = [sc(n_iter=n) for n in (0, 32)]
    # measured: -28.2 dB at 0 and -29.2 dB at 32 iterations, -24.3 dB without the phase
    assert kept[1] < kept[0] < -26  # a good start, and iterations improve on it
    assert kept[1] < sc(n_iter=32, use_phase=False) - 3


def test_mel_image_keeps_a_linear_phase():
    y = signals.mixture()
    image = spec2img.encode(y, SR, scale="mel", keep_phase=True)
    assert image.pixels.shape[0] == 128 and image.phase.shape[0] == 1025
    with_phase, _ = spec2img.decode(image)
    without, _ = spec2img.decode(image, use_phase=False)

    def snr(z):
        return 10 * np.log10(np.sum(y**2) / np.sum((y - z) ** 2))

    # the mel magnitude limits SC either way, but the waveform follows the original
    # (measured: 1.0 dB SNR with the kept phase, -3.2 dB without)
    assert snr(with_phase) > snr(without) + 3


def test_missing_renamed_and_foreign_phase_images(tmp_path, wav, capsys):
    src = wav("mixture")
    assert main(["encode", str(src), str(tmp_path / "a.png"), "--keep-phase", "-q"]) == 0
    assert main(["encode", str(wav("tone")), str(tmp_path / "b.png"), "--keep-phase", "-q"]) == 0
    # the phase image itself is not a spectrogram
    code, _, err = run(capsys, "decode", tmp_path / "a.phase.png", tmp_path / "x.wav")
    assert code == 1 and "kept-phase image" in err
    # a foreign phase image is refused
    code, _, err = run(
        capsys,
        "decode",
        tmp_path / "a.png",
        tmp_path / "x.wav",
        "--phase",
        tmp_path / "b.phase.png",
    )
    assert code == 1 and "belongs to other audio" in err and not (tmp_path / "x.wav").exists()
    # a renamed one is found with --phase
    (tmp_path / "a.phase.png").rename(tmp_path / "renamed.png")
    code, _, err = run(
        capsys,
        "decode",
        tmp_path / "a.png",
        tmp_path / "x.wav",
        "--phase",
        tmp_path / "renamed.png",
    )
    assert code == 0, err
    x, _ = sf.read(src, dtype="float32")
    z, _ = sf.read(tmp_path / "x.wav", dtype="float32")
    assert sc_db(x, z) < -60
    # and without it the decoder warns once and decodes from scratch
    code, _, err = run(capsys, "decode", tmp_path / "a.png", tmp_path / "y.wav")
    assert code == 0 and "warning" in err and "missing" in err
    with pytest.raises(MetadataError, match="not a spec2img phase image"):
        spec2img.load(tmp_path / "a.png", phase=tmp_path / "b.png")


def test_saving_a_loaded_image_keeps_or_drops_the_link(tmp_path):
    image = spec2img.encode(signals.tone(), SR, keep_phase=True)
    image.save(tmp_path / "t.png")
    loaded = spec2img.load(tmp_path / "t.png")
    np.testing.assert_array_equal(loaded.phase, image.phase)
    loaded.save(tmp_path / "copy.png")
    assert spec2img.load(tmp_path / "copy.png").phase is not None
    bare = spec2img.load(tmp_path / "t.png", phase=False)
    assert bare.phase is None
    bare.save(tmp_path / "bare.png")
    assert "phase_file" not in spec2img.load(tmp_path / "bare.png").meta.extra


def test_cli_method_names_and_defaults_match_the_library():
    assert set(METHODS) == set(phase.METHODS)
    assert (DEFAULT_METHOD, DEFAULT_N_ITER) == (phase.DEFAULT_METHOD, phase.DEFAULT_N_ITER)


@pytest.mark.parametrize("method", sorted(phase.METHODS))
def test_decode_method_option(tmp_path, wav, capsys, method):
    src = wav("mixture")
    assert main(["encode", str(src), str(tmp_path / "m.png"), "-q"]) == 0
    momentum = ["--momentum", 0.9] if "momentum" in phase.method_options(method) else []
    code, _, err = run(
        capsys, "decode", tmp_path / "m.png", tmp_path / "m.wav", "--method", method,
        "--n-iter", 8, *momentum,
    )  # fmt: skip
    assert code == 0, err
    x, _ = sf.read(src, dtype="float32")
    z, _ = sf.read(tmp_path / "m.wav", dtype="float32")
    assert z.shape == x.shape and sc_db(x, z) < -10


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--method", "griffin-lim"], ["'griffin-lim'", "pghi+fgla"]),
        (["--momentum", "-1"], ["momentum=-1.0"]),
        (["--method", "pghi", "--momentum", "0.9"], ["'pghi' has no option 'momentum'"]),
    ],
)
def test_decode_bad_phase_options(tmp_path, wav, capsys, argv, words):
    assert main(["encode", str(wav("tone")), str(tmp_path / "t.png"), "-q"]) == 0
    code, _, err = run(capsys, "decode", tmp_path / "t.png", tmp_path / "t.wav", *argv)
    assert code == 1 and err.startswith("spec2img: error:") and len(err.strip().splitlines()) == 1
    for w in words:
        assert w in err
    assert not (tmp_path / "t.wav").exists()


def test_progress_per_iteration_and_quiet_when_piped(tmp_path, wav, capsys):
    image = spec2img.encode(signals.tone(), SR)
    calls = []
    spec2img.decode(image, n_iter=5, progress=lambda *a: calls.append(a))
    assert calls == [(i, 5) for i in range(1, 6)]
    assert main(["encode", str(wav("tone")), str(tmp_path / "t.png"), "-q"]) == 0
    code, _, err = run(capsys, "decode", tmp_path / "t.png", tmp_path / "t.wav")
    assert code == 0 and "[" not in err  # stderr is not a terminal here: no bar
    code, _, err = run(capsys, "decode", tmp_path / "t.png", tmp_path / "u.wav", "-q")
    assert code == 0 and err == ""
