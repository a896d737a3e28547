"""Never lose an edit in a notebook: the widget's sessions are journaled as the
command line's.  A kernel that dies (here: a journal abandoned without its editor's
end, or a Python process SIGKILLed while it holds the widget) leaves its edits, and the
next ``spec2img.edit`` of the same input -- the same file path, or an array with the
same content, rate and options -- offers them back and restores them bit for bit."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from edit_helpers import CLIPBOARD_SCRIPT, stereo_clip, write_clip

import spec2img
from spec2img.edit.journal import find_recovery

pytest.importorskip("anywidget", reason="anywidget is not installed (spec2img[notebook])")

SR = 16000
WAV = "/api/export/audio?format=wav"


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    """A state folder of this test's own: no other test's journal is offered here."""
    folder = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder / "spec2img" / "edit"


def _ask(w, method, url, body=None):
    """One request by the widget's own path: as a view sends it (checked as data),
    answered by the routes in-process."""
    from spec2img.edit.widget import _call, _request

    content = {"method": method, "url": url, "body": "" if body is None else json.dumps(body)}
    return asyncio.run(_call(w._app, *_request(content)))


def _ready(w):
    assert w._session.ready.wait(60)
    w._prep.join(60)


def _script(w, script=CLIPBOARD_SCRIPT):
    for path, body in script:
        status, _, answer = _ask(w, "POST", path, body)
        assert status == 200, (path, answer)


def _crash(w):
    """What a dead kernel leaves: the journal as written, its lock let go (the system
    does that for a dead process), no end of session run."""
    keeper, w._keeper = w._keeper, None
    keeper.journal.close()
    keeper.lock.release()
    w._pool.shutdown(wait=True)


def test_a_dead_kernels_edits_on_a_file_come_back_exactly(tmp_path, state):
    music = tmp_path / "music"
    music.mkdir()
    write_clip(music / "song.wav", seconds=2.0)
    w = spec2img.edit(music / "song.wav")
    _ready(w)
    _script(w)
    audio, history = w.audio.copy(), w.history
    wav, edits = _ask(w, "GET", WAV)[2], _ask(w, "GET", "/api/edits")[2]
    assert w.journal.parent == state and w.journal.exists()
    _crash(w)
    assert os.listdir(music) == ["song.wav"]  # nothing beside the input

    # The banner's way: edits wait for the choice, restore brings back the same bits.
    w2 = spec2img.edit(music / "song.wav")
    _ready(w2)
    assert w2.recovery == len(history)
    st = json.loads(_ask(w2, "GET", "/api/state")[2])
    assert st["recovery"]["edits"] == len(history) and st["version"] == 0
    assert _ask(w2, "POST", "/api/edit", CLIPBOARD_SCRIPT[0][1])[0] == 409
    status, _, body = _ask(w2, "POST", "/api/recovery", {"action": "restore"})
    assert status == 200 and json.loads(body)["restored"] == len(history)
    assert w2.recovery is None and w2.history == history
    assert np.array_equal(w2.audio, audio)
    assert _ask(w2, "GET", WAV)[2] == wav and _ask(w2, "GET", "/api/edits")[2] == edits
    # the restored session goes on being journaled: one more edit, crash, resume=True
    _script(w2, [("/api/edit", {"op": "gain", "frames": [5, 9], "gain_db": -12})])
    audio2, history2 = w2.audio.copy(), w2.history
    assert len(history2) == len(history) + 1
    _crash(w2)

    w3 = spec2img.edit(music / "song.wav", resume=True)
    assert w3.recovery is None and w3.history == history2
    assert np.array_equal(w3.audio, audio2)
    _crash(w3)

    # resume=False sets the journal aside (kept once) and starts unedited
    w4 = spec2img.edit(music / "song.wav", resume=False)
    assert w4.recovery is None and w4.history == []
    unedited = spec2img.edit(music / "song.wav", resume=False)  # a second slot, no journal
    assert np.array_equal(w4.audio, unedited.audio)
    assert not np.array_equal(w4.audio, audio)
    assert any(n.endswith(".discarded.jsonl") for n in os.listdir(state))
    for x in (w4, unedited):
        x.close()  # nothing unsaved: their journals go
    assert find_recovery(music / "song.wav") is None


def test_an_array_is_known_by_its_content_rate_and_options():
    y = stereo_clip(2.0)
    w = spec2img.edit(y, sr=SR)
    _ready(w)
    _script(w)
    audio, wav = w.audio.copy(), _ask(w, "GET", WAV)[2]
    _crash(w)
    # other content, another rate or other options: not this session's journal
    for other in (
        spec2img.edit(y * 0.5, sr=SR),
        spec2img.edit(y, sr=SR // 2),
        spec2img.edit(y, sr=SR, n_fft=1024),
        spec2img.edit(y[0], sr=SR),
    ):
        assert other.recovery is None
        other.close()
    # the same samples (a copy, another layout in memory) at the same rate: restored
    again = spec2img.edit(np.asfortranarray(y.copy()), sr=SR, resume=True)
    assert np.array_equal(again.audio, audio) and _ask(again, "GET", WAV)[2] == wav
    with pytest.warns(RuntimeWarning, match="resume=True"):
        again.close()


def test_one_journal_per_running_editor_and_saves_are_not_offered(tmp_path, state):
    write_clip(tmp_path / "song.wav", seconds=2.0)
    a = spec2img.edit(tmp_path / "song.wav")
    b = spec2img.edit(tmp_path / "song.wav")  # the same kernel: its own slot, flock'd
    _ready(a)
    _ready(b)
    assert a.journal != b.journal and b.journal.name.endswith(".2.jsonl")
    _script(a, CLIPBOARD_SCRIPT[:3])
    _script(b, CLIPBOARD_SCRIPT[:1])
    # a running editor's journal is never offered to another
    c = spec2img.edit(tmp_path / "song.wav")
    assert c.recovery is None and c.journal.name.endswith(".3.jsonl")
    c.close()
    # saved, then killed: nothing to offer; b is left unsaved and says where at close
    out = a.save(tmp_path / "out.wav")
    assert out.exists()
    saved_journal = a.journal
    _crash(a)
    with pytest.warns(RuntimeWarning, match=r"1 edit\(s\) not saved.*resume=True"):
        b.close()
    assert b.journal is None
    d = spec2img.edit(tmp_path / "song.wav")
    assert d.recovery == 1  # b's, not a's (saved: removed when looked at)
    assert not saved_journal.exists() and d.journal.exists()
    with pytest.warns(RuntimeWarning, match="1 unsaved edits are still in"):
        d.close()  # neither restored nor discarded: still there for the next one


def test_a_bad_resume_and_an_unwritable_state_folder_are_named(tmp_path, monkeypatch):
    from spec2img.errors import OutputError, ParameterError

    with pytest.raises(ParameterError, match="resume"):
        spec2img.edit(stereo_clip(1.0), sr=SR, resume="yes")
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))
    with pytest.raises(OutputError, match="journal"):
        spec2img.edit(stereo_clip(1.0), sr=SR)


KERNEL = textwrap.dedent(
    """
    import hashlib, json, queue, sys, time
    import spec2img
    from edit_helpers import CLIPBOARD_SCRIPT

    w = spec2img.edit(sys.argv[1])
    answers = queue.Queue()
    w.send = lambda content, buffers=None: answers.put((content, buffers))
    w._prep.join()

    def ask(method, url, body=None):  # as a view does: a model message, answered on a worker
        w._on_message(w, {"kind": "request", "id": url, "method": method, "url": url,
                          "body": "" if body is None else json.dumps(body)}, [])
        content, buffers = answers.get(timeout=120)
        assert content["status"] == 200, (url, bytes(buffers[0]))
        return bytes(buffers[0])

    for path, body in CLIPBOARD_SCRIPT:
        ask("POST", path, body)
    wav = ask("GET", "/api/export/audio?format=wav")
    print(hashlib.sha256(wav).hexdigest(), len(w.history), flush=True)
    time.sleep(600)
    """
)


def test_a_killed_kernel_with_the_widget_loses_nothing(tmp_path):
    write_clip(tmp_path / "song.wav", seconds=2.0)
    tests = os.path.dirname(__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", KERNEL, str(tmp_path / "song.wav")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.poll() is not None else "no answer"
        digest, n = line.split()
    finally:
        proc.send_signal(signal.SIGKILL)  # no handler, no end of session
        proc.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: the journal is whole
        w = spec2img.edit(tmp_path / "song.wav", resume=True)
        _ready(w)
    assert len(w.history) == int(n)
    assert hashlib.sha256(_ask(w, "GET", WAV)[2]).hexdigest() == digest
    with pytest.warns(RuntimeWarning, match="not saved"):
        w.close()  # still unsaved: kept, and said


def test_a_widget_restores_what_spec2img_edit_left_and_the_reverse(tmp_path):
    """One file, one journal key: a widget is offered (and restores to the same audio
    samples) what a dead ``spec2img edit`` left, and the command line what a widget left."""
    from spec2img.edit import journal
    from spec2img.edit.server import prepare, session_app
    from spec2img.edit.session import open_audio
    from spec2img.options import EncodeOptions

    path = tmp_path / "song.wav"
    write_clip(path, seconds=2.0)

    def command_line(resume):  # what _cmd_edit builds, without the HTTP server
        s = open_audio(path, encode=EncodeOptions())
        subject = journal.Subject.of_file(path)
        k = journal.Keeper(s, subject, recovery=journal.find_recovery(subject))
        app = session_app(s, keeper=k)
        prepare(app, resume)
        return s, k, app

    s, k, app = command_line(False)
    _script(type("W", (), {"_app": app})())
    y, _ = s.render()
    k.journal.close()
    k.lock.release()  # killed
    w = spec2img.edit(path, resume=True)
    assert len(w.history) == 7 and np.array_equal(np.atleast_2d(w.audio), y)
    _script(w, [("/api/edit", {"op": "gain", "frames": [5, 9], "gain_db": -12})])
    y2 = np.atleast_2d(w.audio)
    _crash(w)
    s, k, app = command_line(True)
    assert app.state.recovery is None and len(s.applied) == 8
    assert np.array_equal(s.render()[0], y2)
    k.finish()
