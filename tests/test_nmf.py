"""NMF decompose/recompose: the factor images, their metadata, edits, and the CLI."""

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, rms_db, signals

import spec2img
from spec2img.arrays.nmf import decompose, load_factors, recompose
from spec2img.cli.main import main
from spec2img.errors import MetadataError, OutputError, ParameterError
from spec2img.io.png import read_png, write_png

SMALL = {"n_fft": 512, "hop_length": 128}


@pytest.fixture(scope="module")
def image():
    return spec2img.encode(signals.mixture(), SR, **SMALL)


@pytest.fixture(scope="module")
def saved(image, tmp_path_factory):
    out = tmp_path_factory.mktemp("nmf")
    factors = decompose(image, 8, max_iter=100)
    w, h = factors.save(out / "parts")
    return factors, w, h


def two_notes(sr=SR):
    """440 Hz for the first half, 1500 Hz for the second."""
    t = np.arange(int(sr * 1.5)) / sr
    half = len(t) // 2
    y = np.where(t < t[half], np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1500 * t))
    return (0.3 * y).astype(np.float32)


def test_saved_factors_recompose_to_the_direct_product_within_16_bits(saved):
    factors, w, h = saved
    direct = factors.spectrogram()
    loaded = load_factors(w, h)
    assert loaded.id == factors.id and loaded.meta == factors.meta
    back = loaded.spectrogram()
    # two factors, each rounded to half a step of 200 dB / 65535: 2 x 1.8e-4 relative
    big = direct > 1e-6 * direct.max()  # the source image's 120 dB
    assert np.max(np.abs(back - direct)[big] / direct[big]) < 4e-4
    assert np.max(np.abs(back - direct)) < 4e-4 * direct.max()


def test_recompose_png_is_a_spectrogram_of_the_product(saved, tmp_path):
    factors, w, h = saved
    out = tmp_path / "back.png"
    recompose(w, h, out)
    img = spec2img.load(out)
    assert img.params == factors.meta.params and img.meta.n_samples == factors.meta.n_samples
    assert img.meta.db_max - img.meta.db_min == pytest.approx(120)
    product_db = 20 * np.log10(np.maximum(load_factors(w, h).spectrogram(), 1e-30))
    inside = product_db > img.meta.db_min + 0.01
    assert np.max(np.abs(img.db() - product_db)[inside]) < 0.002  # half a step: 0.0009 dB
    assert np.all(img.pixels[~inside.reshape(img.pixels.shape[0], -1)[::-1]] <= 6)


def test_error_decreases_as_k_grows(image):
    V = image.magnitude()
    errors = []
    for k in (4, 16, 64):
        f = decompose(image, k, max_iter=150)
        assert f.W.shape == (1, 257, k) and f.H.shape == (k, V.shape[-1])
        assert np.all(f.W >= 0) and np.all(f.H >= 0)
        assert np.allclose(f.W.max(axis=1), 1.0)  # each component peaks at 1
        errors.append(np.linalg.norm(f.spectrogram() - V) / np.linalg.norm(V))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.6 * errors[0]


def test_components_are_sorted_low_to_high(image):
    f = decompose(image, 6, max_iter=100)
    peaks = np.argmax(f.W[0], axis=0)
    assert list(peaks) == sorted(peaks)


def test_frobenius_fits_best_in_its_own_norm(image):
    V = image.magnitude()
    err = {}
    for beta_loss in ("frobenius", "kullback-leibler"):
        f = decompose(image, 8, beta_loss=beta_loss, max_iter=200)
        err[beta_loss] = np.linalg.norm(f.spectrogram() - V) / np.linalg.norm(V)
    assert err["frobenius"] < err["kullback-leibler"] < 1.0
    with pytest.raises(ParameterError, match="beta_loss must be one of"):
        decompose(image, 8, beta_loss="itakura-saito")


def test_same_seed_same_factors_and_id(image):
    a, b = decompose(image, 4, seed=1, max_iter=50), decompose(image, 4, seed=1, max_iter=50)
    assert a.id == b.id and a.W.tobytes() == b.W.tobytes() and a.H.tobytes() == b.H.tobytes()
    c = decompose(image, 4, seed=2, beta_loss="frobenius", max_iter=50)
    assert c.id != a.id


def test_stereo_components_have_one_spectrum_per_channel(tmp_path):
    img = spec2img.encode(signals.stereo(), SR, **SMALL)
    f = decompose(img, 4, max_iter=100)
    assert f.W.shape == (2, 257, 4)
    w, h = f.save(tmp_path / "st")
    pixels, _, _ = read_png(w)
    assert pixels.shape == (2 * 257, 4)
    assert load_factors(w, h).spectrogram().shape == img.magnitude().shape


def test_black_activation_row_silences_that_component(tmp_path, capsys):
    wav = tmp_path / "notes.wav"
    sf.write(wav, two_notes(), SR, subtype="FLOAT")
    png, parts = tmp_path / "notes.png", tmp_path / "parts"
    assert main(["encode", str(wav), str(png), "--n-fft", "1024", "-q"]) == 0
    assert main(["decompose", str(png), str(parts), "--components", "2", "-q"]) == 0
    w, h = parts / "components.png", parts / "activations.png"
    factors = load_factors(w, h)
    high = int(np.argmax(np.argmax(factors.W[0], axis=0)))  # the 1500 Hz component
    assert abs(np.argmax(factors.W[0, :, high]) * SR / 1024 - 1500) < 30
    # "edit" activations.png as an image editor would: paint its row black
    pixels, text, _ = read_png(h)
    pixels[high] = 0
    write_png(h, pixels, {k.removeprefix("spec2img:"): v for k, v in text.items()})
    out = tmp_path / "edited.wav"
    code = main(["recompose", str(w), str(h), str(out), "--n-iter", "16", "-q"])
    assert code == 0, capsys.readouterr().err
    y, sr = sf.read(out)
    x = two_notes()
    assert sr == SR and len(y) == len(x)
    half = len(x) // 2
    assert abs(rms_db(y[: half - 2048]) - rms_db(x[: half - 2048])) < 1.5  # 440 Hz kept
    assert rms_db(y[half + 2048 :]) < rms_db(x[half + 2048 :]) - 40  # 1500 Hz gone
    edited = load_factors(w, h).spectrogram()
    kept = 1 - high
    expected = factors.W[..., kept, None] * factors.H[kept]
    assert np.allclose(edited, expected, rtol=1e-3, atol=1e-6 * expected.max())


def test_factor_images_refuse_to_be_mixed_up(saved, image, tmp_path):
    _, w, h = saved
    with pytest.raises(MetadataError, match="give components.png first"):
        load_factors(h, w)
    other = decompose(image, 8, seed=5, max_iter=20)
    w2, h2 = other.save(tmp_path / "other")
    with pytest.raises(MetadataError, match="different decompositions"):
        load_factors(w, h2)
    with pytest.raises(MetadataError, match="NMF components image, not a spectrogram"):
        spec2img.load(w)
    image.save(tmp_path / "plain.png")
    with pytest.raises(MetadataError, match="not an NMF components image"):
        load_factors(tmp_path / "plain.png", h)


@pytest.mark.parametrize("key, value, words", [
    ("nmf_components", "0", "nmf_components"),
    ("nmf_components", "9", "different decompositions"),
    ("nmf_id", "../../etc", "nmf_id"),
    ("nmf_db_max", "lots", "nmf_db_min/nmf_db_max"),
    ("nmf_db_max", "-500", "nmf_db_min/nmf_db_max"),
    ("n_samples", "10", "different sources"),
])  # fmt: skip
def test_tampered_metadata_is_refused(saved, tmp_path, key, value, words):
    _, w, h = saved
    pixels, text, _ = read_png(w)
    text = {k: v for k, v in text.items()}
    text[key] = value
    bad = tmp_path / "bad.png"
    write_png(bad, pixels, text)
    with pytest.raises(MetadataError, match=words) as err:
        load_factors(bad, h)
    assert str(bad) in str(err.value) or "different" in str(err.value)


def test_cli_errors_are_one_line_and_leave_nothing(saved, tmp_path, capsys):
    _, w, h = saved
    cases = [
        (["decompose", tmp_path / "missing.png", tmp_path / "o", "-k", 4], "no such file"),
        (["decompose", w, tmp_path / "o", "-k", 4], "not a spectrogram"),
        (["decompose", tmp_path / "missing.png", tmp_path / "a" / "b", "-k", 4], "no such file"),
        (["recompose", w, h, tmp_path / "out.mp4"], "unknown audio extension"),
        (["recompose", h, w, tmp_path / "out.png"], "give components.png first"),
        (["recompose", w, h, tmp_path / "nodir" / "out.png"], "does not exist"),
    ]
    before = sorted(p.name for p in tmp_path.iterdir())
    for argv, words in cases:
        code = main([str(a) for a in argv])
        err = capsys.readouterr().err.strip()
        assert code == 1 and len(err.splitlines()) == 1 and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_outdir_needs_an_existing_parent(image, tmp_path):
    f = decompose(image, 2, max_iter=20)
    with pytest.raises(OutputError, match="parent folder"):
        f.save(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()
