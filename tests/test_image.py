"""spec2img.io.image: the SpectrogramImage type, its PNG file, and load()'s checks."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from PIL import Image

import spec2img
from spec2img.dsp.scale import PIXEL_MAX
from spec2img.errors import InputError, MetadataError
from spec2img.io.image import SpectrogramImage, load
from spec2img.io.png import read_png, write_png

SR = 8000


@pytest.fixture(scope="module")
def stereo():
    rng = np.random.default_rng(7)
    t = np.arange(4000) / SR
    y = np.stack([0.4 * np.sin(2 * np.pi * 500 * t), 0.1 * rng.standard_normal(t.size)])
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def image(stereo):
    return spec2img.encode(stereo, SR, n_fft=256)


def test_save_then_load_gives_the_same_pixels_and_metadata(tmp_path, image):
    path = image.save(tmp_path / "a.png")
    back = load(path)
    assert back.meta == image.meta
    np.testing.assert_array_equal(back.pixels, image.pixels)
    assert back.pixels.dtype == np.uint16 and back.phase is None
    assert back.pixels.shape == (2 * 129, image.meta.n_frames) == image.meta.shape


def test_blocks_put_channel_zero_on_top_and_low_frequencies_at_the_bottom(image):
    blocks = image.blocks()
    c, b, t = blocks.shape
    assert (c, b) == (2, 129)
    np.testing.assert_array_equal(blocks[0, 0], image.pixels[b - 1])  # ch 0, lowest bin
    np.testing.assert_array_equal(blocks[0, -1], image.pixels[0])  # ch 0, highest bin
    np.testing.assert_array_equal(blocks[1, 0], image.pixels[-1])  # ch 1, lowest bin
    again = SpectrogramImage.from_blocks(np.ascontiguousarray(blocks), image.meta)
    np.testing.assert_array_equal(again.pixels, image.pixels)
    # the 500 Hz tone sits in channel 0's bin 16 (500 / (8000 / 256)), not in channel 1's
    energy = image.magnitude().mean(axis=-1)
    assert int(np.argmax(energy[0])) == 16
    assert energy[0, 16] > 10 * energy[1, 16]


def test_pixels_are_linear_in_db_between_the_stored_ends(image):
    db = image.db()
    m = image.meta
    assert db.min() >= m.db_min - 1e-3 and db.max() <= m.db_max + 1e-3
    steps = (m.db_max - m.db_min) / PIXEL_MAX
    expected = m.db_min + image.blocks().astype(np.float64) * steps
    nonzero = image.blocks() > 0
    np.testing.assert_allclose(db[nonzero], expected[nonzero], atol=1e-3)
    assert np.all(image.magnitude()[~nonzero] == 0)  # pixel 0 is silence
    mag = image.magnitude()[nonzero]
    np.testing.assert_allclose(20 * np.log10(mag), db[nonzero], atol=1e-3)


def test_an_eight_bit_resave_loads_spread_over_sixteen_bits(tmp_path, image):
    path = image.save(tmp_path / "a.png")
    pixels, text, _ = read_png(path)
    eight = (pixels >> 8).astype(np.uint8)
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in text.items():
        info.add_text("spec2img:" + k, v)
    Image.fromarray(eight, mode="L").save(tmp_path / "l.png", pnginfo=info)
    back = load(tmp_path / "l.png")
    assert back.pixels.dtype == np.uint16
    np.testing.assert_array_equal(back.pixels, eight.astype(np.uint16) * 257)
    assert int(back.pixels.max()) <= PIXEL_MAX


def test_colour_images_with_equal_channels_load_as_gray(tmp_path, image):
    """An editor's RGB save of a spec2img image (8-bit, R = G = B) reads back as the
    gray values, widened to 16 bits (see tests/test_editors.py for 16-bit colour)."""
    text = {"spec2img:" + k: v for k, v in image.meta.to_text().items()}
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in text.items():
        info.add_text(k, v)
    eight = (image.pixels >> 8).astype(np.uint8)
    Image.fromarray(eight).convert("RGB").save(tmp_path / "rgb.png", pnginfo=info)
    back = load(tmp_path / "rgb.png")
    np.testing.assert_array_equal(back.pixels, eight.astype(np.uint16) * 257)


def test_no_metadata_is_refused_with_the_parameters_to_give(tmp_path, image):
    path = write_png(tmp_path / "plain.png", image.pixels, {})
    with pytest.raises(MetadataError) as e:
        load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: no spec2img metadata")
    assert re.search(r"\bn[-_]fft\b", msg) and re.search(r"\bsr\b", msg)  # what to give


@pytest.mark.parametrize("dw, ok", [(0, True), (1, True), (-1, True), (2, False), (-2, False)])
def test_width_may_be_one_frame_off_but_not_two(tmp_path, image, dw, ok):
    h, w = image.pixels.shape
    pixels = np.zeros((h, w + dw), np.uint16)
    path = write_png(tmp_path / "w.png", pixels, image.meta.to_text())
    if ok:  # tolerated, and brought back onto the metadata's grid
        assert load(path).pixels.shape == (h, w) == image.meta.shape
    else:
        with pytest.raises(MetadataError, match=f"width {w + dw} does not match"):
            load(path)


def test_height_must_match_channels_times_bins(tmp_path, image):
    h, w = image.pixels.shape
    path = write_png(tmp_path / "h.png", np.zeros((h - 1, w), np.uint16), image.meta.to_text())
    with pytest.raises(MetadataError, match=f"height {h - 1} does not match.*2 channel"):
        load(path)


def test_max_pixels_counts_pixels_and_the_linear_cells_of_a_mel_decode(tmp_path, stereo):
    mel = spec2img.encode(stereo, SR, n_fft=1024, hop_length=256, scale="mel", n_mels=16)
    path = mel.save(tmp_path / "mel.png")
    h, w = mel.pixels.shape
    cells = 2 * 513 * w
    assert load(path, max_pixels=cells).pixels.shape == (h, w)
    with pytest.raises(InputError, match=f"{cells} cells") as e:
        load(path, max_pixels=cells - 1)
    assert re.search(rf"limit of {cells - 1}\b", str(e.value))
    with pytest.raises(InputError, match=rf"exceeds the limit of {h * w - 1}\b"):
        load(path, max_pixels=h * w - 1)
    assert load(path, max_pixels=None).meta == mel.meta


def test_a_resized_image_comes_back_on_its_grid(tmp_path, stereo):
    big = spec2img.encode(stereo, SR, n_fft=256, size=(64, 300))
    assert big.pixels.shape == (300, 64)
    path = big.save(tmp_path / "s.png")
    grid = load(path)
    assert grid.pixels.shape == grid.meta.shape == (258, grid.meta.n_frames)
    plain = spec2img.encode(stereo, SR, n_fft=256)
    # resampled in dB: close to the unresized image where it is loud
    loud = plain.pixels > PIXEL_MAX // 2
    err = np.abs(grid.pixels.astype(float) - plain.pixels)[loud] / PIXEL_MAX
    assert np.median(err) < 0.05


def test_a_grid_key_that_contradicts_the_others_is_refused(tmp_path, image):
    text = {**image.meta.to_text(), "grid": "10x10"}
    path = write_png(tmp_path / "g.png", np.zeros((5, 5), np.uint16), text)
    with pytest.raises(MetadataError, match="grid='10x10' does not match"):
        load(path)


def test_kept_phase_is_written_beside_and_linked_by_name(tmp_path, stereo):
    image = spec2img.encode(stereo, SR, n_fft=256, keep_phase=True)
    path = image.save(tmp_path / "k.png")
    sidecar = tmp_path / "k.phase.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.phase.png", "k.png"]
    assert read_png(path)[1]["phase_file"] == "k.phase.png"
    assert read_png(sidecar)[1]["kind"] == "phase"
    back = load(path)
    np.testing.assert_array_equal(back.phase, image.phase)
    radians = back.phase_radians()
    assert radians.shape == (2, 129, image.meta.n_frames)
    assert radians.min() >= 0 and radians.max() < 2 * np.pi
    assert load(path, phase=False).phase is None
    # moved together to another folder, the link still holds (it is a name, not a path)
    moved = tmp_path / "moved"
    moved.mkdir()
    path.rename(moved / "k.png")
    sidecar.rename(moved / "renamed.phase.png")
    with pytest.warns(UserWarning, match="kept phase .* is missing"):
        assert load(moved / "k.png").phase is None
    np.testing.assert_array_equal(
        load(moved / "k.png", phase=moved / "renamed.phase.png").phase, image.phase
    )
    with pytest.raises(MetadataError, match="kept-phase image"):
        load(moved / "renamed.phase.png")


def test_a_phase_image_of_other_audio_is_refused(tmp_path, stereo, image):
    other = spec2img.encode(stereo * 0.5, SR, n_fft=256, keep_phase=True)
    other.save(tmp_path / "o.png")
    path = image.save(tmp_path / "a.png")
    with pytest.raises(MetadataError, match="belongs to other audio"):
        load(path, phase=tmp_path / "o.phase.png")


def test_a_failed_spectrogram_write_removes_its_phase_image(tmp_path, stereo):
    image = spec2img.encode(stereo, SR, n_fft=256, keep_phase=True)
    broken = dataclasses.replace(image, pixels=np.zeros((0, 0), np.uint16))
    with pytest.raises(Exception):  # noqa: B017 - whatever Pillow raises for no pixels
        broken.save(tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
