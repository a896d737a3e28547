"""The editor against forgery, bad numbers and lost work, in-process: anti-forgery and
origin checks, Host by name, bounds before arithmetic, the edit-list format and its
table of operations, the journal and its restore, safe saves of an image pair."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from edit_helpers import SR, session_for, write_clip

pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from spec2img.edit import journal, ops  # noqa: E402
from spec2img.edit.server import allowed_hosts, create_app, host_allowed  # noqa: E402
from spec2img.errors import MetadataError, OutputError, ParameterError  # noqa: E402

TOKEN = "safety-token-1"
BASE = "http://127.0.0.1:8765"
STATIC = Path(__file__).parents[1] / "spec2img" / "edit" / "static"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("safety")
    path = folder / "clip.wav"
    write_clip(path, seconds=2.0)
    return path


@pytest.fixture
def session(clip):
    return session_for(clip)


@pytest.fixture
def app(session, tmp_path):
    return create_app(session, token=TOKEN, hosts=allowed_hosts("127.0.0.1", ["tunnel.example"]),
                      output=tmp_path / "out.wav", csrf="csrf-abc")  # fmt: skip


def _cookie_client(app, **kw):
    c = TestClient(app, base_url="http://127.0.0.1:8765", **kw)
    assert c.get(f"/?token={TOKEN}").status_code == 200  # the cookie is set
    return c


ERASE = {"op": "erase", "time": [0.5, 1.0]}


# ------------------------------------------------------------------ forgery


def test_a_cookie_alone_changes_nothing_and_reads_nothing(app, session):
    with _cookie_client(app) as c:
        assert c.post("/api/edit", json=ERASE).status_code == 403
        assert c.post("/api/save", json={}).status_code == 403
        assert c.post("/api/undo").status_code == 403
        for path in ("/api/info", "/api/state", "/api/tile?ch=0", "/api/edits",
                     "/api/audio?start=0&end=10", "/api/export/audio"):  # fmt: skip
            assert c.get(path).status_code == 403, path
        assert c.get("/static/app.js").status_code == 200  # the page's own files only
        assert session.version == 0 and not session.applied
        r = c.post("/api/edit", json=ERASE, headers={"X-Spec2img-CSRF": "csrf-abc"})
        assert r.status_code == 200, r.text
        bad = c.post("/api/edit", json=ERASE, headers={"X-Spec2img-CSRF": "csrf-abd"})
        assert bad.status_code == 403


def test_the_page_carries_its_anti_forgery_token(app):
    with _cookie_client(app) as c:
        html = c.get("/").text
        assert '<meta name="spec2img-csrf" content="csrf-abc">' in html


@pytest.mark.parametrize("kind", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                  "text/plain", "text/plain;charset=UTF-8"])  # fmt: skip
def test_form_like_bodies_are_refused_even_with_the_token(app, session, kind):
    with TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN}) as c:
        r = c.post("/api/edit", content=json.dumps(ERASE), headers={"Content-Type": kind})
        assert r.status_code == 415, r.text
        r = c.post("/api/edit", content=json.dumps(ERASE), headers={"Content-Type": ""})
        assert r.status_code == 415
    assert session.version == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://127.0.0.1:9999"},  # another port: another origin
        {"Origin": "null"},
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "same-site"},  # what Chromium says for another 127.0.0.1 port
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_requests_from_another_origin_are_refused_even_with_the_token(app, session, headers):
    with TestClient(app, base_url="http://127.0.0.1:8765",
                    headers={"X-Spec2img-Token": TOKEN}) as c:  # fmt: skip
        assert c.post("/api/edit", json=ERASE, headers=headers).status_code == 403
        assert c.get("/api/info", headers=headers).status_code == 403
    assert session.version == 0


def test_own_origin_and_navigations_pass(app):
    with TestClient(app, base_url="http://127.0.0.1:8765",
                    headers={"X-Spec2img-Token": TOKEN}) as c:  # fmt: skip
        own = {"Origin": "http://127.0.0.1:8765", "Sec-Fetch-Site": "same-origin"}
        assert c.post("/api/edit", json=ERASE, headers=own).status_code == 200
        nav = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"}
        assert c.get("/", headers=nav).status_code == 200  # a link from a notebook
        assert c.get("/api/info", headers=nav).status_code == 403


def test_host_is_checked_by_name_whatever_the_port():
    names = allowed_hosts("127.0.0.1", ["Tunnel.Example"])
    for ok in ("127.0.0.1:8765", "localhost:1234", "LOCALHOST", "[::1]:80", "127.0.0.2:5",
               "tunnel.example:443", "localhost."):  # fmt: skip
        assert host_allowed(ok, names), ok
    for bad in ("evil.example:8765", "localhost.evil.example", "10.0.0.1:8765", "", "[::2]:1"):
        assert not host_allowed(bad, names), bad
    assert host_allowed("10.0.0.1:1", names, any_ip=True)
    assert host_allowed("192.168.1.5:1", allowed_hosts("192.168.1.5"))


def test_a_tunnel_port_and_an_allowed_name_are_served(app):
    for base in ("http://localhost:40999", "http://tunnel.example:8000"):
        with TestClient(app, base_url=base, headers={"X-Spec2img-Token": TOKEN}) as c:
            assert c.get("/api/state").status_code == 200, base
    with TestClient(app, base_url="http://rebound.example:8765") as c:
        assert c.get(f"/?token={TOKEN}").status_code == 403


def test_the_page_uses_only_relative_urls():
    for f in STATIC.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"""["'`(]/(api|static)\b""", text), f.name
        assert "http://" not in text and "https://" not in text, f.name
    html = (STATIC / "index.html").read_text()
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["data:,", "static/style.css",
                                                           "static/app.js"]  # fmt: skip


# ------------------------------------------------------------------ bounds


@pytest.mark.parametrize(
    "edit,field",
    [
        ({"op": "erase", "time": [0, 1e308]}, "'time'"),
        ({"op": "erase", "frames": [0, int("9" * 400)]}, "'frames'"),
        ({"op": "gain", "gain_db": int("9" * 400)}, "'gain_db'"),
        ({"op": "gain", "gain_db": -1e300}, "'gain_db'"),
        ({"op": "erase", "freq": [-1e308, 1e308]}, "'freq'"),
        (
            {"op": "brush", "points": [[int("1" * 400), 1]], "radius": [2, 2], "gain_db": -3},
            "points",
        ),
        ({"op": "brush", "points": [[1, 1]], "radius": [1e308, 2], "gain_db": -3}, "'radius'"),
        ({"op": "erase", "channels": [int("9" * 400)]}, "'channels'"),
    ],
)
def test_huge_numbers_get_a_400_naming_the_field(app, session, edit, field):
    with TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN}) as c:
        r = c.post("/api/edit", json=edit)
        assert r.status_code == 400, r.text
        assert field in r.json()["error"]
        r = c.get("/api/tile?ch=0&t0=" + "9" * 400)
        assert r.status_code == 400 and "'t0'" in r.json()["error"]
        r = c.get("/api/audio?start=0&end=" + "9" * 5000)
        assert r.status_code == 400
    assert session.version == 0


def test_a_brush_over_the_work_cap_is_refused_before_any_work(session):
    g = session.grid()
    whole = {"op": "brush", "radius": [g.frames, g.rows], "gain_db": -20,
             "points": [[i % g.frames, 10] for i in range(20_000)]}  # fmt: skip
    with pytest.raises(ParameterError, match="cells dab by dab"):
        ops.parse_edit(whole, g)
    b = ops.parse_edit({**whole, "points": whole["points"][:5]}, g)
    assert ops.brush_cells(b) <= ops.MAX_BRUSH_CELLS


# ------------------------------------------------------------------ edit lists


def _examples(g):
    return [
        {"op": "erase", "time": [0.25, 0.5], "freq": [500, 3000]},
        {"op": "gain", "frames": [3, 20], "rows": [0, 300], "gain_db": -7.25, "channels": [1]},
        {"op": "heal", "time": [1.0, 1.04]},
        {"op": "brush", "points": [[10.5, 40], [20, 44.25]], "radius": [3, 12], "gain_db": -30,
         "softness": 0.3},
    ]  # fmt: skip


def _more_examples(g):
    """Issue 22's operations (selections, paint, clipboard, pictures)."""
    return [
        {"op": "erase", "lasso": [[3, 4.5], [40, 4], [20, 60.25]], "feather": 2},
        {"op": "heal", "wand": {"seed": [10, 64], "tolerance_db": 9}, "frames": [0, 40]},
        {"op": "paint", "points": [[10, 64], [50, 64]], "radius": [3, 4], "harmonics": 2},
        {"op": "cut", "frames": [10, 20], "rows": [3, 9]},
        {"op": "paste", "frame": 40, "ratio": 1.5},
        {"op": "move", "frames": [5, 20], "rows": [3, 60], "by": 4, "ratio": 2, "keep": True},
        {"op": "image", "data": "iVBORw0KGgo=", "frames": [1, 9]},
    ]  # fmt: skip


def test_every_operation_survives_its_canonical_json(session):
    g = session.grid()
    seen = set()
    for data in _examples(g) + _more_examples(g):
        e = ops.parse_edit(data, g)
        back = json.loads(json.dumps(ops.to_json(e)))
        assert ops.parse_edit(back, g) == e
        seen.add(back["op"])
    assert seen == set(ops.OPS)  # a new operation needs an example here


def test_export_edits_then_replay_gives_the_same_audio_bits(app, session, clip):
    with TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN}) as c:
        for data in _examples(session.grid()):
            assert c.post("/api/edit", json=data).status_code == 200
        assert c.post("/api/undo").status_code == 200
        assert c.post("/api/redo").status_code == 200
        assert c.post("/api/undo").status_code == 200  # the brush is not in effect
        r = c.get("/api/edits")
        assert "clip.edits.json" in r.headers["content-disposition"]
        doc = r.json()
        page_wav = c.get("/api/export/audio?format=wav").content
    assert doc["format"] == "spec2img-edits" and doc["version"] == 2
    assert [e["op"] for e in doc["edits"]] == ["erase", "gain", "heal"]
    assert doc["grid"]["sample_rate"] == SR and doc["grid"]["rows"] == session.rows
    fresh = session_for(clip)
    fresh.replay(journal.parse_edits(doc, fresh.grid(), journal.grid_doc(fresh)))
    assert fresh.audio_bytes("wav")[0] == page_wav


@pytest.mark.parametrize(
    "change,words",
    [
        (lambda d: d.update(version=3), "version 3 is not one"),
        (lambda d: d.update(format="other"), "not a spec2img edit list"),
        (lambda d: d["edits"][1].update(op="smudge"), "entry 1: 'op' must be one of"),
        (lambda d: d["edits"][0].update(frames=[0, 10**6]), "entry 0 ('erase'): 'frames'"),
        (lambda d: d["edits"][1].update(gain_db=10**400), "entry 1 ('gain'): 'gain_db'"),
        (lambda d: d["edits"].append([1, 2]), "entry 2: an edit must be a JSON object"),
        (lambda d: d["grid"].update(n_fft=4096), "made for n_fft=4096"),
        (lambda d: d.update(edits={}), "'edits' must be a list"),
    ],
)
def test_bad_edit_lists_get_one_line_naming_the_entry(session, change, words):
    g = session.grid()
    doc = {"format": "spec2img-edits", "version": 1, "grid": journal.grid_doc(session),
           "edits": [ops.to_json(ops.parse_edit(d, g)) for d in _examples(g)[:2]]}  # fmt: skip
    change(doc)
    with pytest.raises(ParameterError) as e:
        journal.parse_edits(doc, g, journal.grid_doc(session), name="E.json")
    assert str(e.value).startswith("E.json: ") and words in str(e.value)
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------ the journal


@pytest.fixture
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state"


def test_the_journal_lives_in_the_state_folder_never_beside_the_input(state_home, clip):
    p = journal.journal_path(clip)
    assert p.parent == state_home / "spec2img" / "edit" and p.suffix == ".jsonl"
    assert clip.parent not in p.parents


def test_every_change_is_on_disk_and_restores_bit_for_bit(state_home, clip):
    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    g = s.grid()
    for data in _examples(g):
        s.edit(ops.parse_edit(data, g))
    s.undo()
    lines = keeper.journal.path.read_text().splitlines()
    assert len(lines) == 1 + 4 + 1 and json.loads(lines[-1]) == {"undo": 1}
    with open(keeper.journal.path, "a") as f:
        f.write('{"do": {"op": "era')  # a crash while writing: a torn last line
    want = s.audio_bytes("wav")[0]
    assert journal.find_recovery(clip) is None  # its editor still runs: not offered
    keeper.lock.release()  # the process died: the kernel lets go of its lock

    rec = journal.find_recovery(clip)
    assert rec is not None and rec.unsaved and len(rec.edits) == 3
    s2 = session_for(clip)
    k2 = journal.Keeper(s2, clip, recovery=rec)
    assert k2.resolve("restore") == {"restored": 3}
    assert s2.audio_bytes("wav")[0] == want
    assert "--resume" in k2.finish()  # unsaved: kept, and the one line says where
    assert journal.find_recovery(clip) is not None


def test_a_saved_session_leaves_no_journal_and_discard_sets_it_aside(state_home, clip, tmp_path):
    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    s.edit(ops.parse_edit(ERASE, s.grid()))
    assert keeper.unsaved()
    keeper.saved("out.wav")
    assert not keeper.unsaved() and keeper.finish() is None
    assert not journal.journal_path(clip).exists()

    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    s.edit(ops.parse_edit(ERASE, s.grid()))
    keeper.finish()
    rec = journal.find_recovery(clip)
    k2 = journal.Keeper(session_for(clip), clip, recovery=rec)
    out = k2.resolve("discard")
    assert out["discarded"] == 1 and (rec.path.parent / out["kept_in"]).exists()
    assert journal.find_recovery(clip) is None


def test_a_journal_for_other_content_is_not_offered(state_home, tmp_path):
    path = tmp_path / "take.wav"
    write_clip(path, seconds=1.0)
    s = session_for(path)
    journal.Keeper(s, path).lock.release()  # (as after the process died)
    s.edit(ops.parse_edit(ERASE, s.grid()))
    write_clip(path, seconds=1.5)  # the file was replaced since
    assert journal.find_recovery(path) is None


def test_recovery_through_the_api(state_home, clip):
    s = session_for(clip)
    k = journal.Keeper(s, clip)
    s.edit(ops.parse_edit(ERASE, s.grid()))
    want = s.audio_bytes("wav")[0]
    k.finish()
    s2 = session_for(clip)
    k2 = journal.Keeper(s2, clip, recovery=journal.find_recovery(clip))
    app = create_app(s2, token=TOKEN, hosts=allowed_hosts("127.0.0.1"), keeper=k2)
    with TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN}) as c:
        st = c.get("/api/state").json()
        assert st["recovery"]["edits"] == 1
        r = c.post("/api/edit", json=ERASE)
        assert r.status_code == 409 and "restore or discard" in r.json()["error"]
        assert c.post("/api/recovery", json={"action": "maybe"}).status_code == 400
        assert c.post("/api/recovery", json={"action": "restore"}).json()["restored"] == 1
        st = c.get("/api/state").json()
        assert st["recovery"] is None and st["unsaved"] and st["edits"] == 1
        assert c.get("/api/export/audio?format=wav").content == want


# ------------------------------------------------------------------ safe saves


def _pair(session, folder):
    out = folder / "edited.png"
    session.save(out)
    return out, out.with_name("edited.phase.png")


def _bytes(*paths):
    return [p.read_bytes() for p in paths]


def test_a_saved_pair_shares_one_id_and_loads(session, tmp_path):
    from spec2img.io.image import load
    from spec2img.io.png import read_png

    png, phase = _pair(session, tmp_path)
    a, b = read_png(png)[1]["pair_id"], read_png(phase)[1]["pair_id"]
    assert a == b and len(a) == 16
    assert load(png).phase is not None
    png2, _ = _pair(session, tmp_path)
    assert read_png(png2)[1]["pair_id"] == a  # the same phase: the same id (reproducible)
    session.edit(ops.parse_edit({"op": "heal", "time": [0.5, 0.6]}, session.grid()))
    png3, _ = _pair(session, tmp_path)
    assert read_png(png3)[1]["pair_id"] != a  # other phase: another id


def test_a_save_into_a_read_only_folder_leaves_the_old_pair(session, tmp_path, monkeypatch):
    png, phase = _pair(session, tmp_path)
    before = _bytes(png, phase)
    session.edit(ops.parse_edit(ERASE, session.grid()))
    import tempfile

    def read_only(*a, **kw):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputError, match="Read-only"):
        session.save(png)
    monkeypatch.undo()
    assert _bytes(png, phase) == before
    assert sorted(os.listdir(tmp_path)) == ["edited.phase.png", "edited.png"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_save_into_a_read_only_folder_leaves_the_old_pair_for_real(session, tmp_path):
    png, phase = _pair(session, tmp_path)
    before = _bytes(png, phase)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(OutputError):
            session.save(png)
    finally:
        tmp_path.chmod(0o755)
    assert _bytes(png, phase) == before


def test_a_failure_while_encoding_leaves_the_old_pair(session, tmp_path, monkeypatch):
    from spec2img.io import image as image_mod

    png, phase = _pair(session, tmp_path)
    before = _bytes(png, phase)
    calls = []

    def failing(file, pixels, text, **kw):
        calls.append(file)
        if len(calls) == 2:  # the phase image is written, the spectrogram fails
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(file, pixels, text, **kw)

    real = image_mod.save_png
    monkeypatch.setattr(image_mod, "save_png", failing)
    with pytest.raises(OutputError, match="No space left"):
        session.save(png)
    assert _bytes(png, phase) == before
    assert sorted(os.listdir(tmp_path)) == ["edited.phase.png", "edited.png"]


def test_a_crash_between_the_two_renames_is_told_on_load(session, tmp_path, monkeypatch):
    from spec2img.io import atomic
    from spec2img.io.image import load

    png, phase = _pair(session, tmp_path)
    # heal puts new content under the phase: the new save's phase differs (an erase
    # keeps the exact phase, and then an old spectrogram with the new phase is a pair)
    session.edit(ops.parse_edit({"op": "heal", "time": [0.5, 0.6]}, session.grid()))
    real = os.replace
    done = []

    def crash_second(src, dst):
        if done:
            raise KeyboardInterrupt  # the process dies before the spectrogram's rename
        done.append(dst)
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crash_second)
    with pytest.raises(KeyboardInterrupt):
        session.save(png)
    monkeypatch.undo()
    assert Path(done[0]) == phase  # the phase image went first, the PNG is the old one
    with pytest.raises(MetadataError, match="another save"):
        load(png)


# ------------------------------------------------------------------ -o at start


def test_output_that_exists_or_cannot_be_written_is_refused_at_start(clip, tmp_path, monkeypatch):
    from spec2img.edit.session import check_output_path

    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(out, clip)
    assert check_output_path(out, clip, overwrite=True) == out
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(tmp_path / "a.png", clip)
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "no" / "x.wav", clip)
    import tempfile

    def denied(*a, **kw):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(OutputError, match="cannot write in"):
        check_output_path(tmp_path / "new.wav", clip)
    assert out.read_bytes() == b"precious"


def test_the_grid_of_an_edit_list_is_checked_before_any_work(session):
    g = session.grid()
    doc = journal.edit_list(session)
    assert doc["edits"] == [] and journal.parse_edits(doc, g) == []
    np.testing.assert_equal(doc["grid"]["channels"], session.channels)


def test_save_through_the_api_clears_unsaved_and_the_journal(state_home, clip, tmp_path):
    s = session_for(clip)
    keeper = journal.Keeper(s, clip)
    out = tmp_path / "saved.wav"
    app = create_app(s, token=TOKEN, hosts=allowed_hosts("127.0.0.1"), keeper=keeper, output=out)
    with TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN}) as c:
        assert not c.get("/api/state").json()["unsaved"]
        assert c.post("/api/edit", json=ERASE).status_code == 200
        assert c.get("/api/state").json()["unsaved"]
        assert keeper.journal.path.exists()
        assert c.post("/api/save", json={}).json() == {"saved": "saved.wav"}
        assert not c.get("/api/state").json()["unsaved"] and out.exists()
    assert keeper.finish() is None and not keeper.journal.path.exists()


@pytest.fixture
def read_only_later(tmp_path):
    """A tmpfs that the test can turn read-only (needs root and a kernel that lets us
    mount; skipped otherwise)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
                         capture_output=True)  # fmt: skip
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")

    def freeze():
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)

    yield disk, freeze
    subprocess.run(["umount", str(disk)], check=True)


def test_a_save_on_a_read_only_folder_through_the_api_keeps_the_old_pair(session, read_only_later):
    disk, freeze = read_only_later
    out = disk / "edited.png"
    app = create_app(session, token=TOKEN, hosts=allowed_hosts("127.0.0.1"), output=out)
    with TestClient(app, base_url=BASE, headers={"X-Spec2img-Token": TOKEN}) as c:
        assert c.post("/api/save", json={}).status_code == 200
        before = _bytes(out, disk / "edited.phase.png")
        heal = {"op": "heal", "time": [0.5, 0.6]}  # changes pixels and phase
        assert c.post("/api/edit", json=heal).status_code == 200
        freeze()  # the folder (its whole file system) becomes read-only
        r = c.post("/api/save", json={})
        assert r.status_code == 500 and "Read-only file system" in r.json()["error"]
    assert _bytes(out, disk / "edited.phase.png") == before
    assert sorted(os.listdir(disk)) == ["edited.phase.png", "edited.png"]
