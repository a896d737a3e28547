"""Heal on a lasso and moves in frequency leave nothing of what they took away: checked
against the same recording made without the sound that was healed, and on the cells a
moved note leaves and lands on."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from edit_helpers import session_for

import fixtures.make_fixtures as mf
from spec2img.edit import ops, select
from spec2img.edit.session import open_new


def _db(s, px):
    """Pixels as dB, silence at the floor."""
    return np.where(px > 0, px.astype(np.float64) * s.db_step + s.meta.db_min, s.meta.db_min)


def _band_db(y, sr, t0, t1, f0, f1):
    seg = y[int(t0 * sr) : int(t1 * sr)].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size))) ** 2
    f = np.fft.rfftfreq(seg.size, 1 / sr)
    return 10 * np.log10(spec[(f >= f0) & (f < f1)].sum() + 1e-30)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """The speech scenario with its cough, and the same recording without it."""
    folder = tmp_path_factory.mktemp("speech")
    y = mf.speech_cough_hum()
    sf.write(folder / "cough.wav", y, mf.SR, subtype="FLOAT")
    cough, mf.COUGH = mf.COUGH, (10.0, 10.1)  # past the end: the same take, no cough
    try:
        clean = mf.speech_cough_hum()
    finally:
        mf.COUGH = cough
    sf.write(folder / "clean.wav", clean, mf.SR, subtype="FLOAT")
    return session_for(folder / "cough.wav"), session_for(folder / "clean.wav"), y, clean


def test_heal_on_a_lasso_fills_with_the_background_not_the_neighbouring_word(speech):
    s, c, y, clean = speech
    g, hz = s.grid(), s.row_hz()

    def at(t, f):
        return [(t - g.frame_offset) / g.frame_seconds, float(np.interp(f, hz, np.arange(hz.size)))]

    a, b = mf.COUGH  # the lasso drawn around the smear, as docs/editor-speech.png shows
    poly = [at(a - 0.06, 100), at(b + 0.06, 130), at(b + 0.1, 10900), at(a - 0.07, 10900),
            at(a - 0.07, 110)]  # fmt: skip
    before = s.px.copy()
    s.edit(ops.parse_edit({"op": "heal", "lasso": poly}, g))
    try:
        region, mask = select.shape_mask(ops.parse_selection({"lasso": poly}, g), before, 0, 1)
        inside = np.zeros(before.shape[1:], bool)
        inside[region.r0 : region.r1, region.t0 : region.t1] = mask > 0
        d = _db(s, s.px[0]) - _db(c, c.px[0])  # healed against the take without a cough
        assert (_db(s, before[0]) - _db(c, c.px[0]))[inside].mean() > 60  # the cough was there
        assert d[inside].mean() < 3
        for f0, f1 in [(100, 300), (300, 1000), (1000, 3000), (3000, 11000)]:
            band = inside & ((hz >= f0) & (hz < f1))[:, None]
            # the word before the cough is not drawn across the gap (it was, 30 dB up)
            assert abs(d[band].mean()) < 5, (f0, f1, d[band].mean())
        # what is heard: the burst is gone, in every band
        e = s.edited[0]
        for f0, f1 in [(150, 1000), (1000, 4000), (4000, 10000)]:
            assert _band_db(e, mf.SR, a, b, f0, f1) < _band_db(y, mf.SR, a, b, f0, f1) - 60
    finally:
        s.undo()


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """Coloured noise and a steady tone, with and without a cough-like burst at 1.5 s."""
    from scipy.signal import butter, lfilter, sosfilt

    sr = mf.SR
    rng = np.random.default_rng(1)
    t = np.arange(3 * sr) / sr
    bg = 0.3 * lfilter([1], [1, -0.9], 0.02 * rng.standard_normal(t.size))
    bg += 0.05 * np.sin(2 * np.pi * 220 * t) + 0.03 * np.sin(2 * np.pi * 440 * t)
    sos = butter(4, [500, 4000], btype="band", fs=sr, output="sos")
    burst = sosfilt(sos, rng.standard_normal(t.size)) * 0.5 * np.exp(-0.5 * ((t - 1.5) / 0.05) ** 2)
    folder = tmp_path_factory.mktemp("noisy")
    sf.write(folder / "burst.wav", (bg + burst).astype(np.float32), sr, subtype="FLOAT")
    return session_for(folder / "burst.wav"), bg.astype(np.float32), sr


def test_heal_on_a_lasso_in_noise_matches_the_surrounding_level(noisy):
    s, bg, sr = noisy
    g = s.grid()
    hz_row = sr / 2048

    def at(t, f):
        return [(t - g.frame_offset) / g.frame_seconds, f / hz_row]

    poly = [at(1.3, 300), at(1.7, 300), at(1.75, 2500), at(1.7, 4500), at(1.3, 4500),
            at(1.25, 2500)]  # fmt: skip
    s.edit(ops.parse_edit({"op": "heal", "lasso": poly}, g))
    try:
        e = s.edited[0]
        for t0 in np.arange(1.35, 1.65, 0.05):  # frame by frame through the lasso
            healed = _band_db(e, sr, t0, t0 + 0.05, 600, 3500)
            quiet = _band_db(bg, sr, t0, t0 + 0.05, 600, 3500)
            assert abs(healed - quiet) < 4, (t0, healed, quiet)  # within a few dB of it
    finally:
        s.undo()


def test_heal_reads_each_row_s_context_outside_the_lasso_not_its_box():
    # one row selected over frames 10-20, another over 14-16: the second row's context
    # is frames 12-13 and 16-17 (quiet), not 8-9 and 20-21 (loud)
    block = np.full((1, 2, 30), 100, np.uint16)
    block[:, :, :10] = block[:, :, 20:] = 1000
    mask = np.zeros((2, 10), np.float32)
    mask[0, :] = 1
    mask[1, 4:6] = 1
    out = ops.heal_patch(block, 10, 20, 0, 2, mask=mask)
    assert np.all(out[0, 0] == 1000)  # the first row's neighbours are the loud frames
    assert np.all(out[0, 1, 4:6] == 100)  # the second row's are quiet
    # a loud side is held to HEAL_STEP_DB above the quiet one
    block2 = block.copy()
    block2[:, :, 20:] = 100
    held = ops.heal_patch(block2, 10, 20, 0, 1, step_db=1.0)
    assert held.max() <= 100 + ops.HEAL_STEP_DB


@pytest.fixture(scope="module")
def tune():
    s = open_new(5.0, sr=44100, channels=1)
    s.prepare()
    return s


@pytest.mark.parametrize("sel_kind,by", [("lasso", 0), ("lasso", 9), ("rect", -5)])
def test_a_note_moved_an_octave_leaves_no_dot_behind_or_beside_it(tune, sel_kind, by):
    s = tune
    g = s.grid()
    hz = 44100 / 2048

    def fr(t):
        return (t - g.frame_offset) / g.frame_seconds

    f, a, b = 783.99, 3.2, 4.2  # G5 with five overtones, as the tune scenario paints it
    s.edit(ops.parse_edit({"op": "paint", "points": [[fr(a), f / hz], [fr(b), f / hz]],
                           "radius": [3, 4], "level_db": 20, "softness": 0.5,
                           "harmonics": 5}, g))  # fmt: skip
    painted = s.px[0].copy()
    lo, hi = f * 0.85, f * 6.6
    if sel_kind == "lasso":
        sel = {"lasso": [[fr(a - 0.1), lo / hz], [fr(b + 0.1), lo / hz], [fr(b + 0.1), hi / hz],
                         [fr(a - 0.1), hi / hz], [fr(a - 0.1), lo * 1.02 / hz]]}  # fmt: skip
    else:
        sel = {"time": [a - 0.1, b + 0.1], "freq": [lo, hi]}
    try:
        s.edit(ops.parse_edit({"op": "move", **sel, "by": by, "ratio": 2.0}, g))
        after = s.px[0]
        floor = 1  # pixel 0 is silence: nothing at all above the floor
        # the original place: the odd overtones' rows (which the octave does not land
        # on) are silent in every frame
        for k in (1, 3, 5):
            r = int(round(k * f / hz))
            assert after[r - 4 : r + 5].max() < floor, k
        # the moved note: every cell near one of its partials, no stray dot (the onset
        # frame's peak once went to a bin measured from a silent cell's phase)
        harm = np.array([2 * f * k for k in range(1, 8)]) / hz
        live = np.argwhere(after > 0)
        assert live.size
        assert np.min(np.abs(live[:, :1] - harm[None]), axis=1).max() <= 4
        t_live = live[:, 1]
        span = np.argwhere(painted > 0)[:, 1]
        assert t_live.min() >= span.min() + by and t_live.max() <= span.max() + by
    finally:
        while s.undo_stack:
            s.undo()
