"""spec2img.wild.raster: any image read in strips, and the plot area found in it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from spec2img.errors import InputError, ParameterError
from spec2img.wild import raster as rmod
from spec2img.wild.raster import Raster, find_plot_area


@pytest.fixture(scope="module")
def data():
    """A 150 x 200 "spectrogram" of mid-range colours (never white, never near black)."""
    rng = np.random.default_rng(1)
    return rng.integers(110, 230, size=(150, 200, 3), dtype=np.uint8)


def save(tmp_path, array, name, mode=None, **kw):
    path = tmp_path / name
    img = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    img.save(path, **kw)
    return path


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("mode, shape, full", [
    ("L", (150, 200), 255.0), ("I;16", (150, 200), 65535.0), ("RGB", (150, 200, 4), None),
    ("RGBA", (150, 200, 4), None), ("P", (150, 200, 4), None), ("LA", (150, 200, 4), None),
])  # fmt: skip
def test_every_mode_reads_as_gray_or_rgba(tmp_path, data, mode, shape, full):
    gray = data[..., 0]
    if mode == "I;16":
        path = tmp_path / "g16.png"
        Image.fromarray(gray.astype(np.uint16) * 257).save(path)
    else:
        path = save(tmp_path, data if mode != "L" else gray, f"x_{mode}.png", mode)
    with Raster(path) as r:
        assert r.size == r.full_size == (200, 150) and r.scale == 1
        px = r.region((0, 0, 200, 150))
        assert px.shape == shape
        if full is not None:
            assert r.is_single_channel and r.gray_max(px) == full
            np.testing.assert_array_equal(px.astype(np.float64) * 255 / full, gray)
        else:
            assert px.dtype == np.uint8
            if mode in ("RGB", "RGBA"):
                np.testing.assert_array_equal(px[..., :3], data)
            assert np.all(px[..., 3] == 255)  # no alpha in the file: opaque
        rgba = r.rgba((10, 20, 30, 25))
        assert rgba.shape == (5, 20, 4) and rgba.dtype == np.uint8


def test_strips_cover_the_box_exactly_once(tmp_path, data, monkeypatch):
    monkeypatch.setattr(rmod, "STRIP_PIXELS", 37 * 50)  # 37 rows of a 50-wide box
    path = save(tmp_path, data, "x.png")
    box = (30, 7, 80, 141)
    with Raster(path) as r:
        parts = list(r.strips(box))
        rows = [row for row, _ in parts]
        assert rows == list(range(7, 141, 37))
        assert all(px.shape[1] == 50 for _, px in parts)
        whole = np.concatenate([px for _, px in parts])
        np.testing.assert_array_equal(whole, r.region(box))
    np.testing.assert_array_equal(whole[..., :3], data[7:141, 30:80])


def test_a_huge_jpeg_is_drafted_at_a_reduced_scale(tmp_path, monkeypatch):
    gray = np.tile(np.linspace(0, 255, 800, dtype=np.uint8), (800, 1))
    path = save(tmp_path, gray, "big.jpg", quality=95)
    with Raster(path) as r:
        r.draft(4, gray=True)
        assert r.size == (200, 200) and r.scale == 4.0 and r.full_size == (800, 800)
        px = r.region((0, 0, 200, 200))
    assert abs(float(px[100, 100]) - gray[400, 402]) < 8  # the same picture, smaller
    monkeypatch.setattr(rmod, "DRAFT_BUDGET", 800 * 800 // 64)  # the budget can demand 1/8
    with Raster(path) as r:
        r.draft(1, gray=True)
        assert r.scale == 8.0
    png = save(tmp_path, gray, "big.png")
    with Raster(png) as r:
        r.draft(8, gray=True)  # only JPEG decodes at reduced scale
        assert r.scale == 1 and r.size == (800, 800)


def test_max_pixels_and_bad_files_are_input_errors_naming_the_file(tmp_path, data):
    path = save(tmp_path, data, "x.png")
    with Raster(path, max_pixels=200 * 150):
        pass
    with pytest.raises(InputError, match="200x150 pixels exceeds the limit of 29999") as e:
        Raster(path, max_pixels=200 * 150 - 1)
    assert str(e.value).startswith(f"{path}: ")
    with pytest.raises(InputError, match="no such file"):
        Raster(tmp_path / "nope.png")
    with pytest.raises(InputError, match="is a folder"):
        Raster(tmp_path)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(InputError, match="not an image Pillow can read"):
        Raster(junk)
    cut = tmp_path / "cut.png"
    cut.write_bytes(path.read_bytes()[:400])
    with pytest.raises(InputError, match="broken or truncated"), Raster(cut) as r:
        r.region((0, 0, 10, 10))


def test_pillow_bomb_limit_is_lifted_only_while_reading(tmp_path, data, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = save(tmp_path, data, "x.png")
    with Raster(path) as r:
        assert r.region((0, 0, 200, 150)).shape == (150, 200, 4)
    assert Image.MAX_IMAGE_PIXELS == 1000


# ---------------------------------------------------------------- the plot area


def figure(data, *, lw=2, margin_colour=255):
    """A tight plot: margin, tick labels, ticks of ``lw`` rows, frame lines ``lw`` wide.

    The data fill columns 60..259 and rows 20..169; the frame lines lie just outside.
    """
    fig = np.full((200, 300, 3), margin_colour, np.uint8)
    fig[20:170, 60:260] = data
    x0, y0, x1, y1 = 60 - lw, 20 - lw, 259 + lw, 169 + lw  # outer edges, inclusive
    fig[y0 : y1 + 1, x0 : x0 + lw] = 0
    fig[y0 : y1 + 1, x1 + 1 - lw : x1 + 1] = 0
    fig[y0 : y0 + lw, x0 : x1 + 1] = 0
    fig[y1 + 1 - lw : y1 + 1, x0 : x1 + 1] = 0
    for y in (40, 80, 120, 160):  # ticks left of the frame, and their labels
        fig[y : y + lw, x0 - 6 : x0] = 0
        fig[y - 3 : y + 4, 20:40] = 30
    fig[185:195, 100:200] = 30  # an x-axis label
    return fig, (x0, y0, x1, y1)


@pytest.mark.parametrize("lw", [1, 2, 3])
def test_the_axes_frame_gives_the_area_through_its_lines_middles(tmp_path, data, lw):
    fig, (x0, y0, x1, y1) = figure(data, lw=lw)
    with Raster(save(tmp_path, fig, "fig.png")) as r:
        area = find_plot_area(r)
    assert area.how == "axes frame"
    assert (area.left, area.top) == (x0 + lw / 2, y0 + lw / 2)
    assert (area.right, area.bottom) == (x1 + 1 - lw / 2, y1 + 1 - lw / 2)
    # every pixel of the frame lines is masked; the masks are the lines and one pixel more
    covered = np.zeros(fig.shape[:2], bool)
    for left, top, right, bottom in area.masked:
        assert min(right - left, bottom - top) == lw + 1
        covered[top:bottom, left:right] = True
    frame = np.zeros(fig.shape[:2], bool)
    frame[y0 : y1 + 1, x0 : x1 + 1] = fig[y0 : y1 + 1, x0 : x1 + 1].max(axis=-1) == 0
    assert frame.sum() > 0 and np.all(covered[frame])
    assert covered[20 + lw + 1 : 170 - lw - 1, 60 + lw + 1 : 260 - lw - 1].sum() == 0


def test_a_uniform_margin_on_all_sides_is_trimmed(tmp_path, data):
    fig = np.full((200, 300, 3), 255, np.uint8)
    fig[20:170, 60:260] = data
    with Raster(save(tmp_path, fig, "m.png")) as r:
        area = find_plot_area(r)
    assert area.how == "trimmed border"
    assert (area.left, area.top, area.right, area.bottom) == (60, 20, 260, 170)


def test_a_transparent_margin_is_trimmed(tmp_path, data):
    fig = np.zeros((200, 300, 4), np.uint8)
    fig[20:170, 60:260, :3] = data
    fig[20:170, 60:260, 3] = 255
    with Raster(save(tmp_path, fig, "t.png")) as r:
        area = find_plot_area(r)
    assert (area.left, area.top, area.right, area.bottom) == (60, 20, 260, 170)


def test_a_dark_band_on_some_sides_is_data_not_a_border(tmp_path, data):
    """Silence at a plot's start and top is drawn in the colormap's darkest colour."""
    fig = np.zeros((150, 200, 3), np.uint8)
    fig[30:, 40:] = data[30:, 40:]
    with Raster(save(tmp_path, fig, "s.png")) as r:
        area = find_plot_area(r)
    assert (area.left, area.top, area.right, area.bottom) == (0, 0, 200, 150)
    assert area.how == "whole image"


def test_crop_overrides_the_search_and_is_checked(tmp_path, data):
    fig, _ = figure(data)
    with Raster(save(tmp_path, fig, "fig.png")) as r:
        area = find_plot_area(r, crop=(60, 20, 260, 170))
        assert (area.left, area.top, area.right, area.bottom, area.how) == (
            60, 20, 260, 170, "--crop",
        )  # fmt: skip
        assert find_plot_area(r, trim=False).right == 300
        for bad in [(0, 0, 301, 10), (10, 10, 10, 20), (-1, 0, 5, 5), (0, 30, 5, 20)]:
            with pytest.raises(ParameterError, match="crop box .* must satisfy"):
                find_plot_area(r, crop=bad)


def test_crop_is_in_original_pixels_on_a_drafted_jpeg(tmp_path):
    gray = np.tile(np.linspace(20, 235, 800, dtype=np.uint8), (800, 1))
    with Raster(save(tmp_path, gray, "big.jpg", quality=95)) as r:
        r.draft(4, gray=True)
        area = find_plot_area(r, crop=(100, 200, 700, 800))
    assert (area.left, area.top, area.right, area.bottom) == (25, 50, 175, 200)


def test_the_frame_search_is_skipped_on_huge_regions(tmp_path, data, monkeypatch):
    fig, _ = figure(data)
    monkeypatch.setattr(rmod, "FRAME_SEARCH_PIXELS", 100)
    with Raster(save(tmp_path, fig, "fig.png")) as r:
        area = find_plot_area(r)
    assert area.how == "trimmed border" and area.masked == ()
