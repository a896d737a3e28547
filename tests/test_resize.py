"""Resampling weights, and fixed-size images: encode(size=...), --size, load, decode."""

import json

import numpy as np
import pytest
from conftest import SR, sc_db, signals
from hypothesis import given, settings
from hypothesis import strategies as st

import spec2img
from spec2img.cli.main import main
from spec2img.dsp.resize import grid_weights, raster_weights, resize, uniform_edges
from spec2img.errors import MetadataError, ParameterError


def render(values: np.ndarray, edges: np.ndarray, n_px: int) -> np.ndarray:
    """What a rasteriser draws: each pixel takes the cell under its centre."""
    idx = np.searchsorted(edges, np.arange(n_px) + 0.5, side="right") - 1
    return values[np.clip(idx, 0, len(values) - 1)]


@settings(max_examples=60, deadline=None)
@given(
    n_cells=st.integers(1, 60),
    n_px=st.integers(1, 200),
    lo=st.floats(-20, 20),
    span=st.floats(0.5, 400),
)
def test_weights_are_averages(n_cells, n_px, lo, span):
    edges = np.linspace(lo, lo + span, n_cells + 1)
    for weights in (raster_weights, grid_weights):
        w = weights(edges, n_px).toarray()
        assert w.shape == (n_cells, n_px) and w.min() >= 0
        sums = w.sum(axis=1)
        assert np.allclose(sums[sums > 0], 1.0)
        inside = (edges[1:] > 0) & (edges[:-1] < n_px)
        assert np.all(sums[~inside] == 0)
        if inside.any() and (edges[0] < n_px - 0.5) and (edges[-1] > 0.5):
            assert np.all(sums[inside] > 0)


@pytest.mark.parametrize("n_cells, n_px", [(10, 37), (10, 100), (37, 10), (100, 33)])
def test_cells_drawn_by_a_rasteriser_come_back(rng, n_cells, n_px):
    values = rng.standard_normal(n_cells)
    edges = uniform_edges(n_cells, n_px)
    back = raster_weights(edges, n_px) @ render(values, edges, n_px)
    shown = np.unique(np.searchsorted(edges, np.arange(n_px) + 0.5, side="right") - 1)
    assert np.allclose(back[shown], values[shown])  # every cell a pixel shows is exact
    if n_cells > n_px:  # the others lie between their shown neighbours
        hidden = np.setdiff1d(np.arange(shown[0], shown[-1]), shown)
        for k in hidden:
            a, b = shown[shown < k][-1], shown[shown > k][0]
            assert min(values[a], values[b]) - 1e-9 <= back[k] <= max(values[a], values[b]) + 1e-9


def test_resize_keeps_constants_and_ramps():
    x = np.full((2, 30, 40), 7.0)
    assert np.allclose(resize(x, (11, 97)), 7.0)
    ramp = np.tile(np.arange(40, dtype=np.float32), (5, 1))
    up = resize(ramp, (5, 80))
    assert np.allclose(up[:, 1:-1:2], ramp[:, :-1] + 0.25, atol=1e-4)
    down = resize(ramp, (5, 20))
    assert np.allclose(down, ramp.reshape(5, 20, 2).mean(-1))
    with pytest.raises(ParameterError):
        resize(ramp, (0, 3))


SIZE_SC_MAX = {(256, 256): -2.5, (64, 2048): -10, (260, 2050): -27}


@pytest.mark.parametrize("size", sorted(SIZE_SC_MAX), ids=str)
def test_encode_size_round_trip(tmp_path, size):
    y = signals.mixture()
    full = spec2img.encode(y, SR)
    small = spec2img.encode(y, SR, size=size)
    assert small.pixels.shape == (size[1], size[0])
    assert small.meta.extra["grid"] == f"{full.meta.n_frames}x1025"
    small.save(tmp_path / "s.png")
    back = spec2img.load(tmp_path / "s.png")
    assert back.pixels.shape == full.pixels.shape  # resampled to the grid on load
    assert back.meta == small.meta
    z, sr = spec2img.decode(small)  # in memory: decode resamples too
    assert z.shape == y.shape and sr == SR
    # 256 rows keep a quarter of the bins' detail (-4.7 dB measured); 2048 rows by 64
    # frames lose one frame in 65 (-13 dB measured)
    assert sc_db(y, z) < SIZE_SC_MAX[size]


def test_encode_size_stereo_and_bad_sizes():
    y = signals.stereo()
    img = spec2img.encode(y, SR, size=(100, 200))
    assert img.pixels.shape == (200, 100) and img.on_grid().pixels.shape == (2050, 65)
    for size, words in [((100, 201), "multiple of the 2 channels"), ((0, 10), "width"),
                        ((10, 10**6), "height"), ("big", "size must be")]:  # fmt: skip
        with pytest.raises(ParameterError, match=words):
            spec2img.encode(y, SR, size=size)


def test_grid_key_that_disagrees_is_refused(tmp_path):
    from spec2img.io.png import write_png

    img = spec2img.encode(signals.tone(), SR, size=(32, 32))
    text = img.meta.to_text()
    text["grid"] = "99x1025"
    write_png(tmp_path / "bad.png", img.pixels, text)
    with pytest.raises(MetadataError, match="grid"):
        spec2img.load(tmp_path / "bad.png")


def test_cli_size(tmp_path, wav, capsys):
    src = wav("mixture")
    assert main(["encode", str(src), str(tmp_path / "s.png"), "--size", "128x64", "-q"]) == 0
    assert main(["info", str(tmp_path / "s.png"), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["grid"] == "65x1025"
    assert main(["decode", str(tmp_path / "s.png"), str(tmp_path / "s.wav"), "-q"]) == 0
    code = main(["encode", str(src), str(tmp_path / "t.png"), "--size", "12by3"])
    assert code == 2 and "WIDTHxHEIGHT" in capsys.readouterr().err
