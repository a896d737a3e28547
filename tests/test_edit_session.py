"""The editor's state: pure operations on pixels, partial re-synthesis, undo/redo, export."""

from __future__ import annotations

import numpy as np
import pytest
from edit_helpers import SR, session_for, write_clip

from spec2img.edit import ops
from spec2img.edit.session import margin_frames, splice
from spec2img.errors import ParameterError


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.wav"
    y = write_clip(path)
    return path, y


def _grid(frames=100, rows=50, channels=2):
    return ops.Grid(channels=channels, rows=rows, frames=frames, frame_seconds=0.01,
                    frame_offset=0.0, row_hz=tuple(float(10 * r) for r in range(rows)))  # fmt: skip


def test_parse_region_time_and_freq_pick_cells_whose_centres_are_inside():
    r = ops.parse_region({"time": [0.095, 0.31], "freq": [95, 200]}, _grid())
    assert (r.t0, r.t1, r.r0, r.r1) == (10, 32, 10, 21)
    assert r.channels == (0, 1)


@pytest.mark.parametrize(
    "data, words",
    [
        ({"op": "erase", "frames": [5, 2]}, "low < high"),
        ({"op": "erase", "frames": [0, 101]}, "<= 100"),
        ({"op": "erase", "frames": [0.5, 3]}, "whole numbers"),
        ({"op": "gain", "gain_db": float("nan")}, "finite"),
        ({"op": "gain", "gain_db": 1e9}, "[-120, 120]"),
        ({"op": "gain"}, "required"),
        ({"op": "gain", "gain_db": "3"}, "number"),
        ({"op": "erase", "channels": [2]}, "channels are 0 to 1"),
        ({"op": "erase", "channels": []}, "non-empty"),
        ({"op": "erase", "time": [1e6, 2e6]}, "no cells"),
        ({"op": "explode"}, "'op' must be one of"),
        ({"op": "brush", "points": [], "radius": [1, 1], "gain_db": -3}, "points"),
        ({"op": "brush", "points": [[1, 2]], "radius": [0, 1], "gain_db": -3}, "radius"),
        ({"op": "brush", "points": [[1e9, 2]], "radius": [1, 1], "gain_db": -3}, "far outside"),
        ({"op": "brush", "points": [[1, 2]], "radius": [1, 1], "gain_db": -3, "softness": 2},
         "softness"),
    ],
)  # fmt: skip
def test_parse_edit_refuses_bad_requests_naming_the_field(data, words):
    with pytest.raises(ParameterError, match=None) as e:
        ops.parse_edit(data, _grid())
    assert words in str(e.value)


def test_gain_pixels_keeps_silence_and_floors_to_silence():
    patch = np.array([[0, 100, 60000]], np.uint16)
    out = ops.gain_pixels(patch, -1.0, db_step=0.01)  # -100 pixels
    assert out.tolist() == [[0, 0, 59900]]
    assert ops.gain_pixels(patch, 50.0, db_step=0.001).tolist() == [[0, 50100, 65535]]


def test_heal_interpolates_between_medians_of_the_neighbours():
    block = np.full((1, 2, 20), 1000, np.uint16)
    block[0, :, 10:] = 3000
    block[0, :, 8:12] = 60000  # the click
    out = ops.heal_patch(block, 8, 12, 0, 2)
    assert out.shape == (1, 2, 4)
    assert np.all(np.diff(out[0, 0].astype(int)) > 0)
    assert 1000 < out[0, 0, 0] < out[0, 0, -1] < 3000


def test_brush_mask_soft_edges_and_joined_strokes():
    b = ops.Brush(channels=(0,), points=((10, 10), (30, 10)), radius=(3, 3), gain_db=-20,
                  softness=0.5)  # fmt: skip
    t0, t1, r0, r1, mask = ops.brush_mask(b, 50, 100)
    assert (t0, r0) == (7, 7)
    row = mask[10 - r0]
    assert np.all(row[10 - t0 : 30 - t0] == 1.0)  # a line, not two dots
    assert 0 < mask[10 - r0 + 2, 20 - t0] < 1  # soft rim
    assert mask[10 - r0 + 4, 20 - t0] == 0 if 10 + 4 - r0 < mask.shape[0] else True


def test_splice_crossfades_and_keeps_the_rest():
    y = np.ones((1, 1000), np.float32)
    piece = np.zeros((1, 400), np.float32)
    lo, hi = splice(y, piece, 300, fade_in=50, fade_out=50, skip=20)
    assert (lo, hi) == (320, 680)
    assert np.all(y[0, :320] == 1) and np.all(y[0, 680:] == 1)
    assert np.all(y[0, 370:630] == 0)
    assert np.all(np.diff(y[0, 320:370]) <= 0)  # smooth fade, no step


def test_erase_silences_the_span_and_leaves_the_rest(clip):
    path, y = clip
    s = session_for(path)
    g = s.grid()
    change = s.edit(ops.parse_edit({"op": "erase", "time": [1.0, 2.0]}, g))
    n_fft = s.meta.params.n_fft
    inner = slice(int(1.0 * SR) + n_fft, int(2.0 * SR) - n_fft)
    assert np.max(np.abs(s.edited[:, inner])) < 1e-6
    lo, hi = change.samples
    assert np.array_equal(s.edited[:, :lo], y[:, :lo])
    assert np.array_equal(s.edited[:, hi:], y[:, hi:])
    # only the edit plus a few windows was re-synthesised
    m = margin_frames(n_fft, s.meta.params.hop_length) * s.meta.params.hop_length
    assert lo >= int(1.0 * SR) - m - n_fft and hi <= int(2.0 * SR) + m + n_fft
    # near the edit, outside it, the audio is still what it was
    near = slice(lo, int(1.0 * SR) - n_fft)
    err = np.max(np.abs(s.edited[:, near] - y[:, near]))
    assert err < 0.01 * np.max(np.abs(y))


def test_undo_redo_restore_every_sample(clip):
    path, y = clip
    s = session_for(path)
    g = s.grid()
    px0, ph0 = s.px.copy(), s.phase_q.copy()
    s.edit(ops.parse_edit({"op": "gain", "time": [0.5, 1.5], "gain_db": -12}, g))
    after = s.edited.copy()
    s.edit(ops.parse_edit({"op": "heal", "time": [2.0, 2.1], "channels": [1]}, g))
    s.undo()
    assert np.array_equal(s.edited, after)
    s.undo()
    assert np.array_equal(s.edited, y) and np.array_equal(s.px, px0)
    assert np.array_equal(s.phase_q, ph0)
    s.redo()
    assert np.array_equal(s.edited, after)
    assert s.state()["can_redo"] and s.state()["history"] == ["gain -12.0 dB"]


def test_gain_changes_the_level_by_the_gain(clip):
    path, y = clip
    s = session_for(path)
    s.edit(ops.parse_edit({"op": "gain", "time": [1.0, 2.0], "gain_db": -20}, s.grid()))
    part = slice(int(1.2 * SR), int(1.8 * SR))
    ratio = 20 * np.log10(np.std(s.edited[:, part]) / np.std(y[:, part]))
    assert ratio == pytest.approx(-20, abs=0.5)


def test_render_is_the_full_decode_with_exact_length(clip):
    path, y = clip
    s = session_for(path)
    s.edit(ops.parse_edit({"op": "erase", "time": [1.0, 2.0], "channels": [0]}, s.grid()))
    out, sr = s.render()
    assert sr == SR and out.shape == y.shape
    n_fft = s.meta.params.n_fft
    assert np.max(np.abs(out[0, int(1.0 * SR) + n_fft : int(2.0 * SR) - n_fft])) < 1e-4
    rest = slice(int(2.3 * SR), None)
    assert np.max(np.abs(out[:, rest] - y[:, rest])) < 0.02 * np.max(np.abs(y))
    assert np.max(np.abs(out[1] - y[1])) < 0.02 * np.max(np.abs(y))  # channel 1 untouched


def test_image_input_without_phase_is_decoded_then_editable(tmp_path, clip):
    from spec2img.pipeline import encode

    path, y = clip
    png = tmp_path / "clip.png"
    encode(y, SR).save(png)
    s = session_for(png)
    assert not s.kept_phase and s.original.shape == y.shape
    change = s.edit(ops.parse_edit({"op": "erase", "time": [1.0, 2.0]}, s.grid()))
    assert change.version == 1
    n_fft = s.meta.params.n_fft
    assert np.max(np.abs(s.edited[:, int(1.0 * SR) + n_fft : int(2.0 * SR) - n_fft])) < 1e-6


def test_image_export_round_trips_through_load(tmp_path, clip):
    from spec2img.io.image import load

    path, y = clip
    s = session_for(path)
    s.edit(ops.parse_edit({"op": "erase", "time": [1.0, 2.0]}, s.grid()))
    out = tmp_path / "edited.png"
    s.save(out)
    img = load(out)
    assert img.phase is not None and img.meta.n_samples == y.shape[-1]
    assert np.array_equal(img.blocks(), s.px)


def test_edited_audio_with_kept_phase_is_the_inverse_stft_of_the_edited_image(clip):
    from spec2img.pipeline import linear_magnitude

    path, y = clip
    s = session_for(path)
    g = s.grid()
    s.edit(ops.parse_edit({"op": "erase", "time": [1.0, 1.5], "freq": [1000, 4000]}, g))
    s.edit(ops.parse_edit({"op": "gain", "time": [0.2, 2.5], "gain_db": 6, "channels": [1]}, g))
    s.edit(ops.parse_edit({"op": "brush", "points": [[20, 100], [60, 200]], "radius": [4, 30],
                           "gain_db": -40, "softness": 0.3}, g))  # fmt: skip
    image = s.edited_image()
    X = linear_magnitude(image) * np.exp(1j * image.phase_radians())
    full = s.engine.inverse(X.astype(np.complex64), length=y.shape[-1])
    out, _ = s.render()
    assert np.max(np.abs(out - full)) < 1e-3 * np.max(np.abs(y))


def test_plain_image_input_with_its_parameters(tmp_path, clip):
    from PIL import Image

    from spec2img.options import PlainOptions
    from spec2img.pipeline import encode

    path, y = clip
    img = encode(y[:1], SR, top_db=80)
    gray = (img.pixels >> 8).astype(np.uint8)  # what an 8-bit plot of it holds
    Image.fromarray(gray).save(tmp_path / "plot.png")
    plain = PlainOptions(
        sr=SR, n_fft=2048, duration=y.shape[-1] / SR, db_range=(img.meta.db_min, img.meta.db_max)
    )
    s = open_input_plain(tmp_path / "plot.png", plain)
    assert s.channels == 1 and s.meta.n_samples == y.shape[-1]
    s.edit(ops.parse_edit({"op": "erase", "time": [1.0, 2.0]}, s.grid()))
    n_fft = s.meta.params.n_fft
    assert np.max(np.abs(s.edited[:, int(1.0 * SR) + n_fft : int(2.0 * SR) - n_fft])) < 1e-6
    out, sr = s.render()
    assert sr == SR and out.shape == (1, y.shape[-1])


def open_input_plain(path, plain):
    from spec2img.edit.session import open_input

    s = open_input(path, plain=plain)
    s.prepare()
    return s


def test_opening_shows_a_coarse_view_at_once_then_becomes_the_session(tmp_path):
    from spec2img.edit.session import BusyError, Opening, open_audio

    path = tmp_path / "clip.wav"
    write_clip(path, seconds=3.0)
    opening = open_audio(path)
    assert isinstance(opening, Opening)
    info = opening.info()
    assert info["preview"] and not info["ready"] and info["frames"] == opening.n_frames
    first = info
    coarse = opening.tile(0, 0, info["frames"], info["overview_step"])
    assert coarse.shape == (info["rows"], -(-info["frames"] // info["overview_step"]))
    with pytest.raises(BusyError):  # not an edit yet: edits are queued, see test_edit_opening
        opening.undo()
    assert np.array_equal(opening.audio("edited", 0, 10), opening.audio("original", 0, 10))
    assert opening.grid().frames == info["frames"]  # known before the encode
    opening.prepare()
    info = opening.info()
    assert info["ready"] and not info["preview"]
    step = first["overview_step"]
    db = lambda px, i: px.astype(float) * i["db_step"] + i["db_min"]  # noqa: E731
    # the coarse view showed the same picture: each column the loudest of its frames
    pooled = opening.tile(0, 0, info["frames"], step)
    a, b = db(coarse, first)[:, 2:-2], db(pooled, info)[:, 2:-2]
    loud = (coarse[:, 2:-2] > 0) & (pooled[:, 2:-2] > 0)
    assert loud.mean() > 0.5 and np.max(np.abs(a - b)[loud]) < 0.1
    y = opening.audio("edited", 0, 100)
    assert y.shape == (2, 100)
    change = opening.edit(ops.parse_edit({"op": "erase", "time": [1.0, 1.2]}, opening.grid()))
    assert change.version == 1 and opening.state()["history"] == ["erase"]
