"""Never lose an edit, as processes: ``kill -9`` mid-session then ``spec2img edit`` of
the same input restores it (same exported bits), SIGTERM with unsaved edits says where
they are and exits at once, ``-o`` is checked at start, and ``spec2img apply`` replays
the page's edit list byte for byte on one input, several, or a folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import run
from edit_helpers import CLIPBOARD_SCRIPT, write_clip

EDITS = [
    {"op": "erase", "time": [0.5, 1.0], "freq": [1000, 4000]},
    {"op": "gain", "frames": [40, 60], "gain_db": -9.5, "channels": [0]},
    {"op": "brush", "points": [[10, 30], [30, 60]], "radius": [3, 10], "gain_db": -25},
]


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "BROWSER": "false", "XDG_STATE_HOME": str(tmp_path / "state")}


def _start(*args, cwd, env):
    return subprocess.Popen(
        [sys.executable, "-m", "spec2img", "edit", *map(str, args), "--no-browser"], cwd=cwd,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


class Client:
    def __init__(self, proc):
        line = proc.stdout.readline()
        assert "/?token=" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        self.base, self.token = line.strip().split("/?token=")

    def call(self, path, data=None):
        req = urllib.request.Request(self.base + path, method="GET" if data is None else "POST")
        req.add_header("X-Spec2img-Token", self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
            req.data = json.dumps(data).encode()
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def ready(self):
        for _ in range(600):
            st = json.loads(self.call("/api/state")[1])
            if st["ready"] and not st["busy"]:
                return st
            time.sleep(0.05)
        raise AssertionError("never ready")


def _stop(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.stderr.read()


def test_kill_9_then_edit_again_restores_the_same_bits(tmp_path, env):
    tmp_path = tmp_path / "music"  # the input's folder (the state folder is elsewhere)
    tmp_path.mkdir()
    write_clip(tmp_path / "song.wav", seconds=2.0)
    proc = _start("song.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        c.ready()
        for e in EDITS:
            assert c.call("/api/edit", e)[0] == 200
        assert c.call("/api/undo", {})[0] == 200
        assert c.call("/api/redo", {})[0] == 200
        before = c.call("/api/export/audio?format=wav")[1]
        page_edits = c.call("/api/edits")[1]
    finally:
        proc.kill()  # SIGKILL: no handler runs
        proc.wait()
    assert not [n for n in os.listdir(tmp_path) if n != "song.wav"]  # nothing beside the input

    # Without a choice: the page offers the previous session; edits wait for the choice.
    proc = _start("song.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        st = c.ready()
        assert st["recovery"]["edits"] == 3 and st["version"] == 0
        assert c.call("/api/edit", EDITS[0])[0] == 409
        status, body = c.call("/api/recovery", {"action": "restore"})
        assert status == 200 and json.loads(body)["restored"] == 3
        assert c.call("/api/export/audio?format=wav")[1] == before
        assert c.call("/api/edits")[1] == page_edits
    finally:
        proc.kill()
        proc.wait()

    # --resume restores at start; the same bits again.
    proc = _start("song.wav", "--resume", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        st = c.ready()
        assert st["recovery"] is None and st["edits"] == 3 and st["unsaved"]
        assert c.call("/api/export/audio?format=wav")[1] == before
    finally:
        err = _stop(proc)
    assert "--resume" in err  # still unsaved: said again on the way out

    # --fresh sets them aside and starts unedited.
    proc = _start("song.wav", "--fresh", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        st = c.ready()
        assert st["recovery"] is None and st["edits"] == 0
    finally:
        err = _stop(proc)
    assert "set aside" in err and "discarded.jsonl" in err


def test_kill_9_amid_copy_paste_move_cut_then_resume_and_apply_give_the_same_bits(
    tmp_path, env, capsys
):
    write_clip(tmp_path / "song.wav", seconds=2.0)
    proc = _start("song.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        c.ready()
        for path, body in CLIPBOARD_SCRIPT:
            assert c.call(path, body)[0] == 200, (path, body)
        before = c.call("/api/export/audio?format=wav")[1]
        page_edits = c.call("/api/edits")[1]
    finally:
        proc.kill()  # SIGKILL amid the session
        proc.wait()
    proc = _start("song.wav", "--resume", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        st = c.ready()
        assert st["recovery"] is None and st["edits"] == 7 and st["error"] is None
        assert c.call("/api/export/audio?format=wav")[1] == before
        assert json.loads(c.call("/api/edits")[1])["edits"] == json.loads(page_edits)["edits"]
        # the clipboard came back with it: a paste now pastes what it held
        assert c.call("/api/edit", {"op": "paste", "frame": 20})[0] == 200
    finally:
        _stop(proc)
    (tmp_path / "edits.json").write_bytes(page_edits)
    code, out, err = run(capsys, "apply", tmp_path / "edits.json", tmp_path / "song.wav", "-o",
                         tmp_path / "applied.wav")  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "applied.wav").read_bytes() == before


def test_a_new_canvas_is_restored_after_kill_9(tmp_path, env):
    paint = {"op": "paint", "points": [[5, 64], [40, 64]], "radius": [2, 3], "harmonics": 2}
    script = [("/api/edit", paint), ("/api/copy", {"frames": [10, 20]}),
              ("/api/edit", {"op": "paste", "frame": 45}),
              ("/api/edit", {"op": "move", "frames": [5, 15], "rows": [40, 300], "by": 30})]  # fmt: skip
    new = ("--new", "1.5", "--sr", "16000", "-o", "tune.wav")
    tmp_path = tmp_path / "music"  # the output's folder (the state folder is elsewhere)
    tmp_path.mkdir()
    proc = _start(*new, cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        c.ready()
        for path, body in script:
            assert c.call(path, body)[0] == 200, (path, body)
        before = c.call("/api/export/audio?format=wav")[1]
    finally:
        proc.kill()
        proc.wait()
    assert os.listdir(tmp_path) == []  # nothing saved, nothing beside the output
    # the page's banner offers it
    proc = _start(*new, cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        st = c.ready()
        assert st["recovery"]["edits"] == 3 and st["edits"] == 0
    finally:
        proc.kill()
        proc.wait()
    err = proc.stderr.read()
    assert "a previous session of the new canvas tune.wav left 3 unsaved edit(s)" in err
    # another canvas (another length) is not this one: nothing offered, nothing lost
    proc = _start("--new", "2", "--sr", "16000", "-o", "tune.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        assert c.ready()["recovery"] is None
    finally:
        _stop(proc)
    proc = _start(*new, "--resume", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        st = c.ready()
        assert st["edits"] == 3 and st["unsaved"] and st["error"] is None
        assert c.call("/api/export/audio?format=wav")[1] == before
        assert c.call("/api/save", {})[0] == 200
    finally:
        err = _stop(proc)
    assert "--resume" not in err  # saved: nothing kept
    assert os.listdir(tmp_path) == ["tune.wav"]
    journals = tmp_path.parent / "state" / "spec2img" / "edit"
    assert not list(journals.glob("*.jsonl"))  # saved: nothing left to offer


def test_a_second_editor_of_the_same_input_keeps_its_own_journal(tmp_path, env):
    write_clip(tmp_path / "song.wav", seconds=2.0)
    first = _start("song.wav", cwd=tmp_path, env=env)
    second = None
    try:
        a = Client(first)
        a.ready()
        assert a.call("/api/edit", EDITS[0])[0] == 200
        second = _start("song.wav", cwd=tmp_path, env=env)
        b = Client(second)
        st = b.ready()
        assert st["recovery"] is None and st["edits"] == 0  # the first one's are not offered
        assert b.call("/api/edit", EDITS[1])[0] == 200
    finally:
        first.kill()
        first.wait()
        if second is not None:
            second.kill()
            second.wait()
    err = second.stderr.read()
    line = next(x for x in err.splitlines() if "another editor" in x)
    assert f"song.wav is also open in another editor (process {first.pid}," in line
    assert ".2.jsonl" in line
    folder = tmp_path / "state" / "spec2img" / "edit"
    assert len(list(folder.glob("*.jsonl"))) == 2  # both kept, one each


def test_sigterm_with_unsaved_edits_says_where_they_are_and_exits_at_once(tmp_path, env):
    write_clip(tmp_path / "song.wav", seconds=2.0)
    proc = _start("song.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        c.ready()
        assert c.call("/api/edit", EDITS[0])[0] == 200
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        seconds = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read()
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 0 and len(lines) == 1, err
    journal = str(tmp_path / "state" / "spec2img" / "edit")
    assert journal in lines[0] and "--resume" in lines[0] and "1 edit" in lines[0]
    assert seconds < 1.5, seconds  # within a second, plus the process's own exit


def test_sigterm_abandons_a_running_edit(tmp_path, env):
    write_clip(tmp_path / "song.wav", seconds=20.0)
    proc = _start("song.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        c.ready()
        import threading

        big = {"op": "brush", "radius": [20, 100], "gain_db": -20,
               "points": [[(i * 7.3) % 600, (i * 13.1) % 1000] for i in range(1500)]}  # fmt: skip
        threading.Thread(target=c.call, args=("/api/edit", big), daemon=True).start()
        for _ in range(400):
            if json.loads(c.call("/api/state")[1])["busy"]:
                break
            time.sleep(0.005)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        seconds = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert seconds < 1.5, seconds


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_sigterm_does_not_wait_for_a_fifo_reader(tmp_path, env):
    write_clip(tmp_path / "song.wav", seconds=1.0)
    os.mkfifo(tmp_path / "out.wav")  # nobody will ever read it: Save blocks in open()
    proc = _start("song.wav", "-o", "out.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        c.ready()
        import threading

        threading.Thread(target=c.call, args=("/api/save", {}), daemon=True).start()
        for _ in range(400):
            if json.loads(c.call("/api/state")[1])["busy"]:
                break
            time.sleep(0.005)
        time.sleep(0.2)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        seconds = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and seconds < 1.5, seconds


def test_output_is_checked_at_start(tmp_path, capsys):
    write_clip(tmp_path / "song.wav", seconds=1.0)
    (tmp_path / "out.wav").write_bytes(b"precious")
    code, out, err = run(capsys, "edit", tmp_path / "song.wav", "-o", tmp_path / "out.wav",
                         "--no-browser")  # fmt: skip
    assert code == 1 and "already exists" in err and "--overwrite (-y)" in err
    assert err.count("\n") == 1 and (tmp_path / "out.wav").read_bytes() == b"precious"
    code, out, err = run(capsys, "edit", tmp_path / "song.wav", "-o", tmp_path / "no" / "x.wav",
                         "--no-browser")  # fmt: skip
    assert code == 1 and "does not exist" in err


def test_a_full_state_disk_refuses_edits_and_the_terminal_says_it_once(tmp_path, env):
    disk = tmp_path / "disk"
    disk.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=64", "tmpfs",
                          str(disk)], capture_output=True)  # fmt: skip
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        write_clip(tmp_path / "song.wav", seconds=2.0)
        proc = _start("song.wav", cwd=tmp_path, env={**env, "XDG_STATE_HOME": str(disk)})
        try:
            c = Client(proc)
            c.ready()
            assert c.call("/api/edit", EDITS[0])[0] == 200
            with open(disk / "filler", "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError:
                    pass
            big = {
                **EDITS[2],
                "radius": [1, 1],
                "points": [[10 + (i % 2) / 2, 50] for i in range(3000)],
            }
            for _ in range(2):
                status, body = c.call("/api/edit", big)
                assert status == 503 and b"No space left on device" in body
            assert json.loads(c.call("/api/state")[1])["edits"] == 1
        finally:
            err = _stop(proc)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)
    warnings = [x for x in err.splitlines() if "warning" in x]
    assert len(warnings) == 1 and "cannot write the editing journal" in warnings[0]
    assert "1 edit(s) not saved" in err  # the one that was journaled


def test_a_state_folder_that_cannot_hold_the_journal_is_refused_at_start(tmp_path, capsys,
                                                                         monkeypatch):  # fmt: skip
    write_clip(tmp_path / "song.wav", seconds=1.0)
    (tmp_path / "state").write_text("a file, not a folder")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code, out, err = run(capsys, "edit", tmp_path / "song.wav", "--no-browser")
    assert code == 1 and err.count("\n") == 1
    assert "cannot keep the editing journal there" in err and "XDG_STATE_HOME" in err


# ------------------------------------------------------------------ apply


@pytest.fixture(scope="module")
def page_export(tmp_path_factory):
    """An edit list and the WAV and FLAC the page exported for it (one editor process
    for the tests below, each writing its own outputs)."""
    tmp_path = tmp_path_factory.mktemp("apply")
    env = {**os.environ, "BROWSER": "false", "XDG_STATE_HOME": str(tmp_path / "state")}
    write_clip(tmp_path / "take1.wav", seconds=2.0, subtype="PCM_24")
    proc = _start("take1.wav", cwd=tmp_path, env=env)
    try:
        c = Client(proc)
        c.ready()
        for e in EDITS:
            assert c.call("/api/edit", e)[0] == 200
        (tmp_path / "edits.json").write_bytes(c.call("/api/edits")[1])
        wav = c.call("/api/export/audio?format=wav")[1]
        flac = c.call("/api/export/audio?format=flac")[1]
        png = c.call("/api/export/image?part=spectrogram")[1]
    finally:
        proc.kill()
        proc.wait()
    return tmp_path, wav, flac, png


def test_apply_reproduces_the_page_export_byte_for_byte(page_export, capsys):
    folder, wav, flac, png = page_export
    for ext, want in (("wav", wav), ("flac", flac)):
        code, out, err = run(capsys, "apply", folder / "edits.json", folder / "take1.wav",
                             "-o", folder / f"out.{ext}")  # fmt: skip
        assert code == 0, err
        assert (folder / f"out.{ext}").read_bytes() == want
    code, out, err = run(capsys, "apply", folder / "edits.json", folder / "take1.wav", "-o",
                         folder / "out.png")  # fmt: skip
    assert code == 0, err
    from spec2img.io.png import read_png

    (folder / "exported.png").write_bytes(png)
    mine, theirs = read_png(folder / "out.png"), read_png(folder / "exported.png")
    assert np.array_equal(mine[0], theirs[0])  # the same pixels (PNG bytes depend on zlib)
    drop = ("pair_id", "phase_file")  # named after each file
    assert {k: v for k, v in mine[1].items() if k not in drop} == {
        k: v for k, v in theirs[1].items() if k not in drop
    }
    # an existing output is refused without -y
    code, out, err = run(capsys, "apply", folder / "edits.json", folder / "take1.wav",
                         "-o", folder / "out.wav")  # fmt: skip
    assert code == 1 and "already exists" in err


def test_apply_on_a_folder_of_takes_with_jobs(page_export, capsys):
    import soundfile as sf

    folder, wav, _, _ = page_export
    takes = folder / "takes"
    takes.mkdir()
    (takes / "take1.wav").write_bytes((folder / "take1.wav").read_bytes())
    write_clip(takes / "take2.wav", seconds=2.5, subtype="PCM_24")
    (folder / "outs").mkdir()
    code, out, err = run(capsys, "apply", folder / "edits.json", takes, "-o", folder / "outs",
                         "--jobs", "2")  # fmt: skip
    assert code == 0, err
    assert (folder / "outs" / "take1.wav").read_bytes() == wav
    y, sr = sf.read(folder / "outs" / "take2.wav", always_2d=True)
    assert y.shape == (int(2.5 * sr), 2)
    x, _ = sf.read(takes / "take2.wav", always_2d=True)
    erased = slice(int(0.6 * sr), int(0.9 * sr))
    assert np.std(y[erased, 0]) < np.std(x[erased, 0])  # the same edits on another take


def test_apply_refuses_a_bad_edit_list_in_one_line(page_export, capsys):
    folder = page_export[0]
    doc = json.loads((folder / "edits.json").read_text())
    doc["edits"][1]["frames"] = [40, 10**9]
    (folder / "bad.json").write_text(json.dumps(doc))
    code, out, err = run(capsys, "apply", folder / "bad.json", folder / "take1.wav", "-o",
                         folder / "x.wav")  # fmt: skip
    assert code == 1 and err.count("\n") == 1
    assert "bad.json: entry 1 ('gain'): 'frames'" in err
    assert not (folder / "x.wav").exists()
    (folder / "broken.json").write_text('{"format": "spec2img-edits", "version": 1, "edits": [')
    code, out, err = run(capsys, "apply", folder / "broken.json", folder / "take1.wav", "-o",
                         folder / "x.wav")  # fmt: skip
    assert code == 1 and "broken.json: not a JSON edit list" in err
