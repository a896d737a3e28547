"""The journal and the edit list hold the clipboard too, in-process: a session of
copies, cuts, pastes and moves restores from its journal bit for bit and replays from
its edit list byte for byte; a journal that cannot be written refuses the change (503)
and keeps nothing of it; two editors of one input keep two journals."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess

import pytest
from edit_helpers import CLIPBOARD_SCRIPT as SCRIPT
from edit_helpers import session_for, write_clip

pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from spec2img.edit import journal, ops  # noqa: E402
from spec2img.edit.server import allowed_hosts, create_app  # noqa: E402
from spec2img.errors import JournalError, ParameterError  # noqa: E402

TOKEN = "journal-token"
BASE = "http://127.0.0.1:8765"

ERASE = {"op": "erase", "frames": [3, 9]}
GAIN = {"op": "gain", "frames": [20, 40], "gain_db": -12}


@pytest.fixture
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("journal") / "clip.wav"
    write_clip(path, seconds=2.0)
    return path


def _client(session, keeper=None):
    app = create_app(session, token=TOKEN, hosts=allowed_hosts("127.0.0.1"), keeper=keeper)
    return TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN})


def _play(c, script):
    for path, body in script:
        r = c.post(path, json=body)
        assert r.status_code == 200, (path, body, r.text)


def test_clipboard_work_restores_from_the_journal_bit_for_bit(state_home, clip):
    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    with _client(s, keeper) as c:
        _play(c, SCRIPT)
        want = c.get("/api/export/audio?format=wav").content
        doc = c.get("/api/edits").json()
    records = [json.loads(x) for x in keeper.journal.path.read_text().splitlines()[1:]]
    assert sum("copy" in r for r in records) == 3  # copies are journaled
    keeper.lock.release()  # the process died here (kill -9: the kernel lets go of the lock)

    rec = journal.find_recovery(clip)
    assert rec is not None and len(rec.edits) == len(doc["edits"]) == 7
    s2 = session_for(clip)
    k2 = journal.Keeper(s2, clip, recovery=rec)
    assert k2.resolve("restore") == {"restored": 7}
    assert s2.audio_bytes("wav")[0] == want
    assert journal.edit_list(s2)["edits"] == doc["edits"]
    # the clipboard came back too: one more paste does the same on both
    more = [("/api/edit", {"op": "paste", "frame": 20, "ratio": 0.5})]
    for session in (s, s2):
        with _client(session) as c:
            _play(c, more)
    assert s2.audio_bytes("wav")[0] == s.audio_bytes("wav")[0] != want
    k2.finish()


def test_the_edit_list_of_clipboard_work_replays_byte_for_byte(clip):
    s = session_for(clip)
    with _client(s) as c:
        _play(c, SCRIPT)
        want = c.get("/api/export/audio?format=wav").content
        doc = json.loads(c.get("/api/edits").content)
    assert doc["version"] == journal.VERSION == 2
    sources = [e["from"] for e in doc["edits"] if e["op"] == "paste"]
    assert [("at" in x, "cells" in x) for x in sources] == [(1, 0), (0, 1), (1, 0)]
    fresh = session_for(clip)
    fresh.replay(journal.parse_edits(doc, fresh.grid(), journal.grid_doc(fresh)))
    assert fresh.audio_bytes("wav")[0] == want
    assert fresh.image_bytes("spectrogram")[0] == s.image_bytes("spectrogram")[0]


def test_a_paste_of_carried_cells_survives_its_json(clip):
    s = session_for(clip)
    g = s.grid()
    shape = ops.parse_selection({"lasso": [[3, 4.5], [40, 4], [20, 60.25]], "feather": 2}, g)
    held = ops.Paste(30, 1.5, (0, 1), ops.Held(ops.copy_clip(shape, s.canvas())))
    back = ops.parse_edit(json.loads(json.dumps(ops.to_json(held))), g)
    assert back == held and back.source.clip.phase.dtype == held.source.clip.phase.dtype
    other = dataclasses.replace(held.source.clip, mask=held.source.clip.mask * 0.5)
    assert back != dataclasses.replace(held, source=ops.Held(other))


def test_on_a_mel_canvas_carried_cells_replay_byte_for_byte():
    from spec2img.edit.session import open_new
    from spec2img.options import EncodeOptions

    def canvas():
        s = open_new(2.0, sr=16000, channels=2, encode=EncodeOptions(scale="mel", n_mels=96))
        s.prepare()
        return s

    s = canvas()
    g = s.grid()
    assert (g.rows, g.bins) == (96, 1025)  # the phase's bins are linear, the rows mel bands
    s.edit(ops.parse_edit({"op": "paint", "points": [[5, 40], [40, 40]], "radius": [2, 2],
                           "harmonics": 2}, g))  # fmt: skip
    s.copy(ops.parse_selection({"frames": [5, 20], "rows": [20, 80]}, g))
    s.undo()  # the copied state is gone: the paste carries its cells
    s.edit(ops.parse_edit({"op": "erase", "frames": [50, 55]}, g))
    s.edit(ops.parse_edit({"op": "paste", "frame": 30, "ratio": 1.5}, g))
    doc = json.loads(json.dumps(journal.edit_list(s)))
    assert "cells" in doc["edits"][1]["from"]
    t = canvas()
    t.replay(journal.parse_edits(doc, t.grid(), journal.grid_doc(t)))
    assert t.audio_bytes("wav")[0] == s.audio_bytes("wav")[0]


def test_a_version_1_list_pastes_what_its_last_cut_took(clip):
    s = session_for(clip)
    g = s.grid()
    cut = {"op": "cut", "frames": [10, 20], "rows": [5, 200]}
    doc = {"format": "spec2img-edits", "version": 1,
           "edits": [cut, {"op": "paste", "frame": 40}]}  # fmt: skip
    s.replay(journal.parse_edits(doc, g))
    pasted = ops.take(s.px, ops.Region((0, 1), 40, 50, 5, 200))
    fresh = session_for(clip)
    assert (pasted == ops.take(fresh.px, ops.Region((0, 1), 10, 20, 5, 200))).all()
    assert journal.edit_list(s)["edits"][1]["from"]["at"] == 0  # written as version 2


@pytest.mark.parametrize(
    "paste,words",
    [
        ({"from": {"at": 5, "frames": [1, 4]}}, "entry 1 ('paste'): 'from' 'at' is 5"),
        ({"from": {"at": 0, "frames": [1, 10**6]}}, "entry 1 ('paste'): 'from': 'frames'"),
        ({"from": {"at": 1.5}}, "'from' 'at' must be a whole number"),
        ({"from": [0]}, "'from' must be an object"),
        ({"from": {"cells": {"channels": [0], "frames": [0, 2], "rows": [0, 2],
                             "bins": [0, 2], "pixels": "AAAA", "mask": "", "phase": ""}}},
         "'from' 'cells' 'pixels' must be base64 of 8 bytes"),
    ],
)  # fmt: skip
def test_a_bad_paste_source_gets_one_line_naming_the_entry(clip, paste, words):
    s = session_for(clip)
    doc = {"format": "spec2img-edits", "version": 2,
           "edits": [ERASE, {"op": "paste", "frame": 3, **paste}]}  # fmt: skip
    with pytest.raises(ParameterError) as e:
        journal.parse_edits(doc, s.grid(), name="E.json")
    assert str(e.value).startswith("E.json: entry 1") and words in str(e.value)
    assert "\n" not in str(e.value)


def test_a_paste_from_an_earlier_state_is_only_for_replays(clip):
    s = session_for(clip)
    g = s.grid()
    with _client(s) as c:
        _play(c, [("/api/edit", ERASE)])
        now = {"op": "paste", "frame": 30, "from": {"at": 1, "frames": [2, 12]}}
        assert c.post("/api/edit", json=now).status_code == 200  # from the state now
        past = {"op": "paste", "frame": 40, "from": {"at": 0, "frames": [2, 12]}}
        r = c.post("/api/edit", json=past)
        assert r.status_code == 400 and "within its edit list only" in r.json()["error"]
    assert ops.parse_edit(now, g).source == ops.Copied(1, ops.parse_selection(now["from"], g))


# ------------------------------------------------------------------ failed writes


def test_a_journal_that_cannot_be_written_refuses_the_change(state_home, clip, monkeypatch):
    s = session_for(clip)
    told = []
    keeper = journal.Keeper(s, clip, warn=told.append)
    with _client(s, keeper) as c:
        _play(c, [("/api/edit", ERASE), ("/api/copy", {"frames": [30, 40]})])
        before = c.get("/api/export/audio?format=wav").content
        on_disk = keeper.journal.path.read_bytes()

        def disk_full(fd, data):
            os.write(fd, data[: len(data) // 2])  # half of it reaches the disk
            raise OSError(errno.ENOSPC, "No space left on device")

        write_all = journal._write_all
        monkeypatch.setattr(journal, "_write_all", disk_full)
        for path, body in [("/api/edit", GAIN), ("/api/undo", {}), ("/api/copy", {}),
                           ("/api/edit", {"op": "paste", "frame": 5})]:  # fmt: skip
            r = c.post(path, json=body)
            assert r.status_code == 503, (path, r.text)
            assert "No space left on device" in r.json()["error"]
            assert str(keeper.journal.path) in r.json()["error"]
        st = c.get("/api/state").json()
        assert st["edits"] == 1 and st["can_undo"] and not st["can_redo"]
        assert c.get("/api/export/audio?format=wav").content == before  # rolled back
        assert keeper.journal.path.read_bytes() == on_disk  # nothing of them on disk
        assert len(told) == 1 and "refused" in told[0]  # told once, not per request
        assert not list(keeper.journal.path.parent.glob("*.part"))

        # space again: the next change is journaled, and the clipboard still works
        monkeypatch.setattr(journal, "_write_all", write_all)
        _play(c, [("/api/edit", GAIN), ("/api/edit", {"op": "paste", "frame": 5})])
        want = c.get("/api/export/audio?format=wav").content
    keeper.lock.release()
    s2 = session_for(clip)
    rec = journal.find_recovery(clip)
    k2 = journal.Keeper(s2, clip, recovery=rec)
    k2.resolve("restore")
    assert s2.audio_bytes("wav")[0] == want


def test_a_save_the_journal_cannot_note_still_saves_and_says_so(state_home, clip, tmp_path,
                                                                monkeypatch):  # fmt: skip
    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    out = tmp_path / "saved.wav"
    app = create_app(s, token=TOKEN, hosts=allowed_hosts("127.0.0.1"), keeper=keeper, output=out)
    with TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN}) as c:
        _play(c, [("/api/edit", ERASE)])
        monkeypatch.setattr(journal, "_write_all", _fail)
        r = c.post("/api/save", json={})
        assert r.status_code == 200 and out.exists()
        assert "journal could not note it" in r.json()["warning"]


def _fail(fd, data):
    raise OSError(errno.EROFS, "Read-only file system")


def test_a_journal_folder_that_cannot_be_written_refuses_the_first_edit(state_home, clip,
                                                                       monkeypatch):  # fmt: skip
    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    monkeypatch.setattr(journal, "_write_all", _fail)
    with pytest.raises(JournalError, match="Read-only file system"):
        s.edit(ops.parse_edit(ERASE, s.grid()))
    assert s.applied == [] and not keeper.journal.path.exists()
    assert not list(keeper.journal.path.parent.glob("*.part"))


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs (needs root and a kernel that lets us mount; skipped otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=64", "tmpfs", str(disk)],
                         capture_output=True)  # fmt: skip
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def test_a_full_disk_for_real_refuses_the_edit_and_keeps_the_journal_whole(
    small_disk, clip, monkeypatch
):
    monkeypatch.setenv("XDG_STATE_HOME", str(small_disk))
    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    with _client(s, keeper) as c:
        _play(c, [("/api/edit", ERASE)])
        filler = small_disk / "filler"
        with open(filler, "wb", buffering=0) as f:  # fill the disk to the last block
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        before = c.get("/api/export/audio?format=wav").content
        long = {"op": "brush", "radius": [1, 1], "gain_db": -3,
                "points": [[10 + (i % 2) / 2, 50] for i in range(3000)]}  # fmt: skip
        r = c.post("/api/edit", json=long)
        assert r.status_code == 503 and "No space left on device" in r.json()["error"]
        assert c.get("/api/export/audio?format=wav").content == before
        filler.unlink()
        _play(c, [("/api/edit", GAIN)])
        want = c.get("/api/export/audio?format=wav").content
    keeper.lock.release()
    rec = journal.find_recovery(clip)
    assert [e["op"] for e in rec.edits] == ["erase", "gain"]
    s2 = session_for(clip)
    journal.Keeper(s2, clip, recovery=rec).resolve("restore")
    assert s2.audio_bytes("wav")[0] == want


# ------------------------------------------------------------------ two editors


def test_two_editors_of_one_input_keep_two_journals(state_home, clip):
    s1, s2 = session_for(clip), session_for(clip)
    k1 = journal.Keeper(s1, clip)
    k2 = journal.Keeper(s2, clip)
    assert k1.others == [] and k2.others[0].startswith(f"process {os.getpid()}, since ")
    assert k2.journal.path != k1.journal.path and k2.journal.path.name.endswith(".2.jsonl")
    s1.edit(ops.parse_edit(ERASE, s1.grid()))
    s2.edit(ops.parse_edit(GAIN, s2.grid()))
    s2.edit(ops.parse_edit(ERASE, s2.grid()))
    wants = [s.audio_bytes("wav")[0] for s in (s1, s2)]
    assert journal.find_recovery(clip) is None  # both still run: nothing to offer
    k1.lock.release()
    k2.lock.release()  # both died

    got = []
    keepers = []
    for _ in range(2):  # each new editor is offered one of them, the other stays
        rec = journal.find_recovery(clip)
        s = session_for(clip)
        k = journal.Keeper(s, clip, recovery=rec)
        k.resolve("restore")
        keepers.append(k)
        got.append(s.audio_bytes("wav")[0])
    assert got == wants
    assert journal.find_recovery(clip) is None  # both are held again
