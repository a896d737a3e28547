"""A recording being opened: its coarse first view keeps short events, it plays at once,
and the edits made meanwhile wait in a queue and are applied when it is ready."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from edit_helpers import SR, write_clip

from spec2img.edit import ops
from spec2img.edit.session import BusyError, NothingToDo, open_audio
from spec2img.errors import ParameterError
from spec2img.options import DEFAULT_ENCODE


def test_the_coarse_view_keeps_a_click_that_falls_between_sampled_frames(tmp_path):
    import dataclasses

    enc = dataclasses.replace(DEFAULT_ENCODE, n_fft=256, hop_length=64)
    n = 40 * SR  # 10 000 frames: 5 to an overview column
    y = (0.001 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    click = (5 * 1000 + 3) * 64  # frame 5003: mid-column, an odd one (see _preview)
    y[click : click + 8] = 0.8
    sf.write(tmp_path / "click.wav", y, SR, subtype="FLOAT")
    opening = open_audio(tmp_path / "click.wav", encode=enc)
    info = opening.info()
    step = info["overview_step"]
    assert step >= 4 and info["preview"]
    view = opening.tile(0, 0, info["frames"], step).astype(np.float64) * info["db_step"]
    col = (click // 64) // step
    high = view[info["rows"] // 2 :]  # a click is broadband: the upper half has it
    others = np.delete(high, np.s_[col - 3 : col + 4], axis=1)
    assert np.median(high[:, col]) - np.median(others) > 20  # it stands out (it did not)
    # a detail of that stretch shows it too (each column the loudest under it)
    part = opening.tile(0, col * step - 40, col * step + 40, 8)
    assert part[info["rows"] // 2 :].max(axis=0).argmax() == 5


@pytest.fixture
def opening(tmp_path):
    write_clip(tmp_path / "song.wav", seconds=3.0)
    return open_audio(tmp_path / "song.wav")


def test_edits_made_while_opening_are_queued_undone_and_applied_in_order(opening):
    g = opening.grid()
    erase = ops.parse_edit({"op": "erase", "time": [1.0, 1.5], "freq": [2000, 3000]}, g)
    gain = ops.parse_edit({"op": "gain", "time": [0.2, 0.6], "gain_db": -12}, g)
    heal = ops.parse_edit({"op": "heal", "time": [2.0, 2.1]}, g)
    records = []
    opening.on_change = records.append  # the journal
    assert opening.queue(erase)["queued"] == 1
    assert opening.queue(gain)["queued"] == 2
    got = opening.unqueue("undo")
    assert got["label"] == "undo gain -12.0 dB" and got["can_redo"] and got["queued"] == 1
    assert opening.unqueue("redo")["queued"] == 2
    assert opening.unqueue("undo")["queued"] == 1
    assert opening.queue(heal)["queued"] == 2  # a new edit drops what was undone
    with pytest.raises(NothingToDo):
        opening.unqueue("redo")
    st = opening.state()
    assert st["history"] == ["erase", "heal"] and not st["ready"] and st["can_undo"]
    assert len(opening.applied) == 2  # the page asks before the tab closes
    # journaled as they were queued, as a session journals its changes
    kinds = [r.get("do", {}).get("op") or next(iter(r)) for r in records]
    assert kinds == ["erase", "gain", "undo", "redo", "undo", "heal"]
    before = opening.audio("edited", 0, opening.n_samples)
    opening.prepare()
    st = opening.state()
    assert st["ready"] and st["history"] == ["erase", "heal"] and st["version"] == 2
    assert len(records) == 6  # and not again when applied
    assert opening.queue(gain) is None  # ready: edits go to the session now
    after = opening.audio("edited", 0, opening.n_samples)
    assert not np.array_equal(before, after)
    # the same as editing the ready session: undo both, redo both
    px = opening.px.copy()
    opening.undo()
    opening.undo()
    assert np.array_equal(opening.audio("edited", 0, opening.n_samples), before)
    opening.redo()
    opening.redo()
    assert np.array_equal(opening.px, px)


def test_a_queued_edit_the_session_refuses_is_dropped_and_said(opening):
    g = opening.grid()
    silent = ops.parse_edit({"op": "erase", "time": [1.0, 1.5], "freq": [5000, 6000],
                             "channels": [0]}, g)  # fmt: skip
    wand = ops.parse_edit({"op": "erase", "wand": {"seed": [40, 700], "channel": 0,
                                                   "tolerance_db": 6}}, g)  # fmt: skip
    opening.queue(silent)
    opening.queue(wand)  # on the erased (silent) cells: nothing to select
    opening.prepare()
    st = opening.state()
    assert st["history"] == ["erase"] and len(st["dropped"]) == 1
    assert "wand" in st["dropped"][0] and "silence" in st["dropped"][0]


def test_the_queue_is_bounded(opening, monkeypatch):
    import spec2img.edit.session as session

    monkeypatch.setattr(session, "MAX_QUEUED", 3)
    e = ops.parse_edit({"op": "erase", "time": [1.0, 1.5]}, opening.grid())
    for _ in range(3):
        opening.queue(e)
    with pytest.raises(BusyError, match="waiting"):
        opening.queue(e)
    with pytest.raises(ParameterError):
        opening.audio("edited", 0, opening.n_samples + 1)


def test_a_mel_recording_opens_with_a_coarse_view_of_its_bands(tmp_path):
    import dataclasses

    write_clip(tmp_path / "song.wav", seconds=1.0)
    enc = dataclasses.replace(DEFAULT_ENCODE, scale="mel", n_mels=64)
    opening = open_audio(tmp_path / "song.wav", encode=enc)
    info = opening.info()
    view = opening.tile(0, 0, info["frames"], 1)
    assert info["rows"] == 64 and view.shape == (64, info["frames"]) and view.max() > 0


def _exported(session) -> bytes:
    return session.audio_bytes("wav")[0]


def _journaled_opening(tmp_path, monkeypatch):
    """A 3-s recording still opening, and the keeper journaling what is done to it."""
    from spec2img.edit import journal

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    write_clip(tmp_path / "song.wav", seconds=3.0)
    session = open_audio(tmp_path / "song.wav")
    return session, journal.Keeper(session, tmp_path / "song.wav")


def _restored_after_death(keeper, path, n_edits: int):
    """The process behind ``keeper`` dies; a new editor restores its journal, which
    must hold ``n_edits`` edits."""
    from spec2img.edit import journal
    from spec2img.edit.session import open_input

    keeper.lock.release()  # as the kernel does for a dead process
    rec = journal.find_recovery(path)
    assert rec is not None and len(rec.edits) == n_edits
    restored = open_input(path)
    restored.prepare()
    journal.Keeper(restored, path, recovery=rec).resolve("restore")
    return restored


def test_edits_queued_while_opening_survive_a_crash_before_it_is_ready(tmp_path, monkeypatch):
    dying, keeper = _journaled_opening(tmp_path, monkeypatch)
    g = dying.grid()
    erase = ops.parse_edit({"op": "erase", "time": [1.0, 1.5], "freq": [2000, 3000]}, g)
    gain = ops.parse_edit({"op": "gain", "time": [0.2, 0.6], "gain_db": -12}, g)
    dying.queue(erase)
    dying.queue(gain)
    dying.unqueue("undo")
    dying.unqueue("redo")
    # ... and the process dies before the recording is ready
    restored = _restored_after_death(keeper, tmp_path / "song.wav", 2)

    lived = open_audio(tmp_path / "song.wav")  # the same edits, the editor kept running
    lived.queue(erase)
    lived.queue(gain)
    lived.prepare()
    assert restored.state()["history"] == lived.state()["history"] == ["erase", "gain -12.0 dB"]
    assert _exported(restored) == _exported(lived)


def test_a_journal_of_queued_edits_the_session_refused_is_restated(tmp_path, monkeypatch):
    opening, keeper = _journaled_opening(tmp_path, monkeypatch)
    g = opening.grid()
    silent = ops.parse_edit({"op": "erase", "time": [1.0, 1.5], "freq": [5000, 6000],
                             "channels": [0]}, g)  # fmt: skip
    wand = ops.parse_edit({"op": "erase", "wand": {"seed": [40, 700], "channel": 0,
                                                   "tolerance_db": 6}}, g)  # fmt: skip
    opening.queue(silent)
    opening.queue(wand)  # refused when applied (nothing to select on silence)
    opening.prepare()
    assert len(opening.state()["dropped"]) == 1
    opening.edit(ops.parse_edit({"op": "gain", "time": [0.2, 0.6], "gain_db": -6}, g))
    # it dies here; the refused wand is not among the journal's two edits
    restored = _restored_after_death(keeper, tmp_path / "song.wav", 2)
    assert restored.state()["history"] == opening.state()["history"]
    assert _exported(restored) == _exported(opening)
