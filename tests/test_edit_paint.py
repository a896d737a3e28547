"""Painting sound, selections (lasso, wand, feather), copy/paste/move, solo and pictures:
checked on the numbers of what is heard."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from edit_helpers import SR, session_for, write_clip

from spec2img.edit import ops, select
from spec2img.edit.session import open_new
from spec2img.errors import ParameterError

HZ = SR / 2048  # Hz per row at the default n_fft


@pytest.fixture(scope="module")
def blank():
    s = open_new(3.0, sr=SR, channels=1)
    s.prepare()
    return s


@pytest.fixture
def canvas(blank):
    yield blank
    while blank.undo_stack:
        blank.undo()
    blank.redo_stack.clear()


def _frame(s, t):
    return (t - s.grid().frame_offset) / s.grid().frame_seconds


def _stroke(s, t0, t1, hz, **kw):
    req = {"op": "paint", "points": [[_frame(s, t0), hz / HZ], [_frame(s, t1), hz / HZ]],
           "radius": [3, 4], "level_db": 20, "softness": 0.5, **kw}  # fmt: skip
    return s.edit(ops.parse_edit(req, s.grid()))


def _bands(y, t0, t1):
    """Energy (dB) of 100-Hz bands centred on 0, 100, 200 ... Hz over [t0, t1] s."""
    seg = y[int(t0 * SR) : int(t1 * SR)].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size))) ** 2
    f = np.fft.rfftfreq(seg.size, 1 / SR)
    centres = np.arange(0, SR / 2, 100.0)
    e = np.array([spec[(f >= c - 50) & (f < c + 50)].sum() for c in centres])
    return centres, 10 * np.log10(e + 1e-30)


def test_a_painted_horizontal_stroke_is_a_steady_sine(canvas):
    s = canvas
    _stroke(s, 1.0, 2.0, 1000.0)
    y, sr = s.render()
    assert sr == SR and y.shape == (1, int(3 * SR))
    centres, db = _bands(y[0], 1.15, 1.85)
    main = db[centres == 1000][0]
    assert main - np.max(db[centres != 1000]) >= 30
    # the level asked for: 20 dB below the image's top, which is a full-scale sine
    assert np.max(np.abs(y[0, int(1.2 * SR) : int(1.8 * SR)])) == pytest.approx(0.1, rel=0.05)
    # steady: the envelope does not flutter at the frame rate
    env = np.abs(y[0, int(1.2 * SR) : int(1.8 * SR)]).reshape(-1, 80).max(axis=1)
    assert np.ptp(env) < 0.01 * env.max()
    assert np.max(np.abs(y[0, : int(0.8 * SR)])) == 0  # silence stays silence
    assert s.state()["history"] == ["paint tone -20 dB"]


def test_harmonics_are_painted_at_2_3_times_and_fall_per_overtone(canvas):
    s = canvas
    _stroke(s, 1.0, 2.0, 1000.0, harmonics=2, falloff_db=6)
    y, _ = s.render()
    centres, db = _bands(y[0], 1.15, 1.85)
    main, h2, h3 = (db[centres == f][0] for f in (1000, 2000, 3000))
    assert h2 == pytest.approx(main - 6, abs=0.5) and h3 == pytest.approx(main - 12, abs=0.5)
    rest = db[~np.isin(centres, [1000, 2000, 3000])]
    assert main - rest.max() >= 30


def test_paint_undo_and_redo_are_exact(canvas):
    s = canvas
    before = (s.px.copy(), s.phase_q.copy(), s.edited.copy())
    _stroke(s, 0.5, 1.5, 440.0, harmonics=3, mode="noise", seed=3)
    after = (s.px.copy(), s.phase_q.copy(), s.edited.copy())
    assert not np.array_equal(before[0], after[0])
    s.undo()
    for a, b in zip(before, (s.px, s.phase_q, s.edited), strict=True):
        assert np.array_equal(a, b)
    s.redo()
    for a, b in zip(after, (s.px, s.phase_q, s.edited), strict=True):
        assert np.array_equal(a, b)


def test_noise_mode_fills_the_brush_area_not_one_tone(canvas):
    s = canvas
    req = {"op": "paint", "mode": "noise", "points": [[_frame(s, 1.0), 2000 / HZ],
           [_frame(s, 2.0), 2000 / HZ]], "radius": [3, 25], "level_db": 20, "softness": 0}  # fmt: skip
    s.edit(ops.parse_edit(req, s.grid()))
    y, _ = s.render()
    centres, db = _bands(y[0], 1.2, 1.8)
    inside = db[(centres >= 1900) & (centres <= 2100)]
    assert np.ptp(inside) < 6  # a flat band of noise, ~400 Hz wide
    assert inside.min() - db[centres == 1000][0] > 30


def test_a_glide_paints_the_frequency_under_each_point(canvas):
    s = canvas
    req = {"op": "paint", "points": [[_frame(s, 0.5), 500 / HZ], [_frame(s, 2.5), 2500 / HZ]],
           "radius": [2, 3], "level_db": 20}  # fmt: skip
    s.edit(ops.parse_edit(req, s.grid()))
    y, _ = s.render()
    for t, want in ((1.0, 1000), (2.0, 2000)):
        centres, db = _bands(y[0], t - 0.03, t + 0.03)
        assert abs(centres[np.argmax(db)] - want) <= 100


def test_polygon_mask_fills_a_triangle():
    tri = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    m = select.polygon_mask(tri, 0, 12, 0, 12)
    assert m[2, 2] and m[0, 5] and not m[8, 8] and not m[11, 0]
    assert abs(m.sum() - 50) <= 12  # about the triangle's area


def test_wand_takes_the_connected_cells_within_tolerance():
    db = np.full((20, 30), -60.0)
    db[5, 3:25] = -10.0  # a hum line
    db[12, 3:25] = -10.0  # another line, not connected
    db[5, 26] = -11.0  # close in level but not connected to the line
    m = select.wand_mask(db, (5, 10), 3.0)
    assert m.sum() == 22 and m[5, 3:25].all() and not m[12].any() and not m[5, 26]
    db[4:7, 12] = -12.0  # a bridge of loud cells joins
    assert select.wand_mask(db, (5, 10), 3.0).sum() == 24
    assert select.wand_mask(np.full((3, 3), -np.inf), (1, 1), 3) is None


def test_the_wand_takes_a_lobe_s_falling_skirts_and_stops_where_it_rises():
    db = np.full((20, 10), -90.0)
    db[10] = -10.0  # a partial: its lobe falls away on both sides
    db[9], db[11], db[8], db[12] = -25.0, -25.0, -45.0, -45.0
    db[13] = -20.0  # a louder neighbour sound above the skirt: not taken
    m = select.wand_mask(db, (10, 5), 6.0, skirt=3)
    rows = np.flatnonzero(m.any(axis=1))
    assert rows.tolist() == [7, 8, 9, 10, 11, 12]  # 3 falling rows below, 2 above
    assert select.wand_mask(db, (10, 5), 6.0).any(axis=1).sum() == 1


def test_feather_softens_the_inner_edge():
    m = select.feather_mask(np.ones((20, 20), bool), 4)
    assert m[10, 10] == 1.0 and 0 < m[0, 10] < m[2, 10] < m[6, 10]


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    path = tmp_path_factory.mktemp("paint") / "clip.wav"
    y = write_clip(path)
    return session_for(path), y


@pytest.fixture
def music(song):
    s, y = song
    yield s, y
    while s.undo_stack:
        s.undo()
    s.redo_stack.clear()
    s.clipboard = None


def _lasso(s, t0, t1, f0, f1, ch=(0,)):
    g = s.grid()
    a, b = _frame(s, t0), _frame(s, t1)
    r0, r1 = f0 / HZ, f1 / HZ
    poly = [[a, r0], [b, r0], [(a + b) / 2, r1]]  # a triangle
    return {"lasso": poly, "channels": list(ch)}, g


def test_erase_with_a_lasso_touches_only_the_cells_inside(music):
    s, _ = music
    sel, g = _lasso(s, 0.5, 1.5, 200, 3000)
    before = s.px.copy()
    s.edit(ops.parse_edit({"op": "erase", **sel}, g))
    changed = before != s.px
    inside = np.zeros_like(changed)
    region, mask = select.shape_mask(ops.parse_selection(sel, g), before, 0, 1)
    inside[0, region.r0 : region.r1, region.t0 : region.t1] = mask > 0
    assert changed.any() and not (changed & ~inside).any()
    assert np.all(s.px[inside] == 0)


def test_wand_erases_a_hum_line_only(music):
    s, y = music
    g = s.grid()
    row = int(round(2500 / HZ))  # the left channel's 2.5-kHz burst
    t = int(_frame(s, 0.2))
    req = {"op": "erase", "wand": {"seed": [t, row], "channel": 0, "tolerance_db": 20},
           "channels": [0]}  # fmt: skip
    before = s.px.copy()
    s.edit(ops.parse_edit(req, g))
    changed = np.argwhere(before[0] != s.px[0])
    rows = changed[:, 0]
    assert abs(np.median(rows) - row) <= 2 and np.ptp(rows) <= 12  # the line, not the glide


def test_solo_contains_nothing_outside_the_selection(music):
    s, _ = music
    g = s.grid()
    sel = {"time": [1.0, 1.5], "freq": [1500, 4000], "channels": [0]}
    start, y = s.solo(ops.parse_selection(sel, g))
    n_fft = s.meta.params.n_fft
    assert start <= int(1.0 * SR) and start + y.shape[1] >= int(1.5 * SR)
    assert start >= int(1.0 * SR) - n_fft and start + y.shape[1] <= int(1.5 * SR) + n_fft
    full = np.zeros(s.meta.n_samples)
    full[start : start + y.shape[1]] = y[0]
    assert np.max(np.abs(full)) > 0.05  # the burst is there
    centres, db = _bands(full, 1.05, 1.45)
    inside = (centres >= 1600) & (centres <= 3900)
    outside = (centres <= 1300) | (centres >= 4300)
    assert db[inside].max() - db[outside].max() >= 50  # the glide (~400 Hz) is gone


def test_copy_paste_places_the_cells_at_a_frame(music):
    s, _ = music
    g = s.grid()
    sel = {"time": [0.1, 0.3], "freq": [2000, 3000], "channels": [0]}
    info = s.copy(ops.parse_selection(sel, g))
    t0, t1 = info["frames"]
    r0, r1 = info["rows"]
    src = s.px[0, r0:r1, t0:t1].copy()
    dest = int(_frame(s, 1.6))
    s.edit(ops.parse_edit({"op": "paste", "frame": dest}, g))
    got = s.px[0, r0:r1, dest : dest + t1 - t0].astype(int)
    assert np.max(np.abs(got - src.astype(int))) <= 2  # replaced: the clip, not a mix
    s.undo()
    assert s.clipboard is not None


def test_move_up_an_octave_doubles_the_frequency(canvas):
    s = canvas
    _stroke(s, 0.5, 1.0, 800.0)
    g = s.grid()
    sel = {"time": [0.3, 1.2], "freq": [600, 1000], "feather": 1}
    s.edit(ops.parse_edit({"op": "move", **sel, "by": int(_frame(s, 1.5) - _frame(s, 0.5)),
                           "ratio": 2.0}, g))  # fmt: skip
    y, _ = s.render()
    centres, db = _bands(y[0], 1.6, 1.9)
    assert centres[np.argmax(db)] == 1600
    assert db.max() - np.delete(db, np.argmax(db)).max() >= 30  # still a clean tone
    seg = y[0, int(1.6 * SR) : int(1.9 * SR)]
    f = np.fft.rfftfreq(seg.size, 1 / SR)[
        np.argmax(np.abs(np.fft.rfft(seg * np.hanning(seg.size))))
    ]
    assert abs(f - 1600) < 5  # exactly an octave: the peak-locked shift keeps the pitch
    assert np.max(np.abs(y[0, int(0.55 * SR) : int(0.95 * SR)])) < 1e-3  # gone from there
    assert s.state()["history"][-1] == "move x2"


def test_cut_then_paste_restores_the_cells(music):
    s, _ = music
    g = s.grid()
    sel = {"frames": [10, 30], "rows": [100, 200], "channels": [1]}
    before = s.px[1, 100:200, 10:30].copy()
    s.edit(ops.parse_edit({"op": "cut", **sel}, g))
    assert not s.px[1, 100:200, 10:30].any()
    s.edit(ops.parse_edit({"op": "paste", "frame": 10, "channels": [1]}, g))
    assert np.max(np.abs(s.px[1, 100:200, 10:30].astype(int) - before)) <= 2


def _png(array):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_a_picture_paints_its_bright_parts_into_the_rectangle(canvas):
    s = canvas
    pic = np.zeros((40, 60), np.uint8)
    pic[:20] = 255  # top half white: the upper half of the rectangle sounds
    req = {"op": "image", "data": _png(pic), "time": [1.0, 2.0], "freq": [1000, 3000],
           "level_db": 20}  # fmt: skip
    s.edit(ops.parse_edit(req, s.grid()))
    y, _ = s.render()
    centres, db = _bands(y[0], 1.2, 1.8)
    assert db[(centres >= 2100) & (centres <= 2900)].min() - db[centres == 1500][0] > 20
    assert s.state()["history"] == ["picture"]


@pytest.mark.parametrize(
    "data, words",
    [
        ({"op": "image", "data": "notbase64!"}, "base64"),
        ({"op": "image", "data": base64.b64encode(b"GIF89a....").decode()}, "PNG or JPEG"),
        ({"op": "paint", "points": [[1, 2]], "radius": [1, 1], "harmonics": 99}, "harmonics"),
        ({"op": "paint", "points": [[1, 2]], "radius": [1, 1], "mode": "saw"}, "mode"),
        ({"op": "paint", "points": [[1, 2]], "radius": [1, 1], "level_db": -5}, "level_db"),
        ({"op": "erase", "lasso": [[1, 2], [3, 4]]}, "lasso"),
        ({"op": "erase", "lasso": [[1, 2], [3, 4], [5, "x"]]}, "pair of numbers"),
        ({"op": "erase", "wand": {"seed": [1e9, 3]}}, "far outside"),
        ({"op": "erase", "wand": {"seed": [1, 3], "channel": 5}}, "channel"),
        ({"op": "erase", "wand": {"seed": [1, 3], "tolerance_db": 1e6}}, "tolerance_db"),
        ({"op": "erase", "feather": -1}, "feather"),
        ({"op": "paste", "frame": 0.5}, "whole number"),
        ({"op": "move", "by": 3, "ratio": 100}, "ratio"),
    ],
)  # fmt: skip
def test_new_requests_are_validated_naming_the_field(data, words, canvas):
    with pytest.raises(ParameterError) as e:
        canvas.edit(ops.parse_edit(data, canvas.grid()))
    assert words in str(e.value)


def test_a_huge_picture_is_refused_from_its_header(canvas):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (9000, 10)).save(buf, format="PNG")
    req = {"op": "image", "data": base64.b64encode(buf.getvalue()).decode()}
    with pytest.raises(ParameterError, match="pixels"):
        canvas.edit(ops.parse_edit(req, canvas.grid()))


def test_paste_with_an_empty_clipboard_says_so(music):
    s, _ = music
    with pytest.raises(ParameterError, match="clipboard is empty"):
        s.edit(ops.parse_edit({"op": "paste", "frame": 3}, s.grid()))


def test_wand_on_silence_says_so(canvas):
    req = {"op": "erase", "wand": {"seed": [10, 10]}}
    with pytest.raises(ParameterError, match="silence"):
        canvas.edit(ops.parse_edit(req, canvas.grid()))


def test_a_new_canvas_saves_what_was_painted(tmp_path, monkeypatch):
    import soundfile as sf

    monkeypatch.chdir(tmp_path)
    s = open_new(1.0, sr=SR, channels=2, name="tune.wav")
    s.prepare()
    _stroke(s, 0.2, 0.8, 440.0)
    s.save(tmp_path / "tune.wav")
    y, sr = sf.read(tmp_path / "tune.wav", always_2d=True)
    assert sr == SR and y.shape == (SR, 2)
    centres, db = _bands(y[:, 0], 0.3, 0.7)
    assert centres[np.argmax(db)] == 400  # 440 Hz
    assert np.allclose(y[:, 0], y[:, 1], atol=1e-4)


def test_a_ctrl_drag_duplicates_leaving_the_original(canvas):
    s = canvas
    _stroke(s, 0.5, 1.0, 800.0)
    g = s.grid()
    req = {"op": "move", "time": [0.3, 1.2], "freq": [600, 1000], "by": int(_frame(s, 1.5) -
           _frame(s, 0.5)), "ratio": 1.5, "keep": True}  # fmt: skip
    s.edit(ops.parse_edit(req, g))
    y, _ = s.render()
    centres, db = _bands(y[0], 0.6, 0.9)
    assert centres[np.argmax(db)] == 800  # still there
    centres, db = _bands(y[0], 1.6, 1.9)
    assert centres[np.argmax(db)] == 1200  # and a fifth up, later
    assert s.state()["history"][-1] == "duplicate x1.5"


@pytest.mark.parametrize(
    "req",
    [
        {"op": "erase", "time": [0.5, 1.0], "freq": [100, 900], "feather": 2.5},
        {"op": "gain", "lasso": [[3, 4.5], [40, 4], [20, 60.25]], "gain_db": -6, "channels": [0]},
        {"op": "heal", "wand": {"seed": [30, 64], "tolerance_db": 9}, "frames": [0, 90]},
        {"op": "brush", "points": [[1, 2], [30.5, 4]], "radius": [2, 3], "gain_db": -3},
        {"op": "paint", "points": [[10, 64], [50, 64]], "radius": [3, 4], "harmonics": 4,
         "mode": "noise", "seed": 77, "falloff_db": 3.5, "level_db": 12},
        {"op": "cut", "frames": [10, 20], "rows": [3, 9]},
        {"op": "paste", "frame": 40, "ratio": 1.5},
        {"op": "move", "lasso": [[3, 4], [40, 4], [20, 60]], "by": -2, "ratio": 2, "keep": True},
        {"op": "image", "data": base64.b64encode(b"\\x89PNG...").decode(), "frames": [1, 9]},
    ],
)  # fmt: skip
def test_every_edit_has_a_canonical_json_that_parses_back_to_it(req, canvas):
    g = canvas.grid()
    edit = ops.parse_edit(req, g)
    again = ops.parse_edit(ops.to_json(edit), g)
    assert again == edit and ops.describe(again) == ops.describe(edit)
    assert ops.to_json(again) == ops.to_json(edit)


def test_a_stroke_too_large_to_synthesise_is_refused_before_the_work(canvas, monkeypatch):
    from spec2img.edit import paint

    monkeypatch.setattr(paint, "MAX_PAINT_CELLS", 1000)
    with pytest.raises(ParameterError, match="too many cells"):
        _stroke(canvas, 0.2, 2.5, 1000.0, harmonics=8)
    with pytest.raises(ParameterError, match="too many cells"):
        _stroke(canvas, 0.2, 2.5, 1000.0, mode="noise", radius=[3, 40])


@pytest.mark.parametrize(
    "reqs",
    [
        [{"op": "erase", "lasso": [[5, 40], [60, 40], [30, 350]], "feather": 3}],
        [{"op": "gain", "wand": {"seed": [10, 320], "channel": 0, "tolerance_db": 15},
          "gain_db": 6}],
        [{"op": "heal", "lasso": [[40, 0], [50, 0], [50, 500], [40, 500]]}],
        [{"op": "paint", "points": [[10, 100], [60, 130]], "radius": [2, 3], "harmonics": 2}],
        [{"op": "cut", "frames": [10, 30], "rows": [50, 300]}, {"op": "paste", "frame": 60}],
        [{"op": "move", "lasso": [[5, 40], [40, 40], [20, 200]], "by": 30, "ratio": 1.5}],
        [{"op": "move", "frames": [5, 40], "rows": [40, 200], "by": -3, "ratio": 0.5,
          "keep": True}],
    ],
)  # fmt: skip
def test_every_new_edit_undoes_and_redoes_exactly(reqs, music):
    s, _ = music
    g = s.grid()
    for req in reqs:
        before = (s.px.copy(), s.phase_q.copy(), s.edited.copy())
        s.edit(ops.parse_edit(req, g))
        after = (s.px.copy(), s.phase_q.copy(), s.edited.copy())
        assert not np.array_equal(before[0], after[0])
        s.undo()
        assert all(np.array_equal(a, b) for a, b in zip(before, (s.px, s.phase_q, s.edited),
                                                          strict=True))  # fmt: skip
        s.redo()
        assert all(np.array_equal(a, b) for a, b in zip(after, (s.px, s.phase_q, s.edited),
                                                         strict=True))  # fmt: skip


def test_solo_and_outline_of_a_huge_selection_are_refused(music, monkeypatch):
    from spec2img.edit import session as session_mod

    s, _ = music
    monkeypatch.setattr(session_mod, "MAX_AUDIO_SAMPLES", 1000)
    with pytest.raises(ParameterError, match="solo plays at most"):
        s.solo(ops.parse_selection({"time": [0.5, 1.5]}, s.grid()))
    monkeypatch.setattr(select, "MAX_MASK_CELLS", 100)
    with pytest.raises(ParameterError, match="more than 100 cells"):
        s.select(ops.parse_selection({"time": [0.5, 1.5]}, s.grid()))
