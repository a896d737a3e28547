"""``spec2img edit`` as a process: the URL line, signals, bad input, options."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import run
from edit_helpers import write_clip


def _start(*args, cwd):
    env = {**os.environ, "BROWSER": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "spec2img", "edit", *map(str, args)], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _url(proc) -> str:
    line = proc.stdout.readline()  # flushed: arrives while the server runs
    assert line.startswith("http://127.0.0.1:") and "/?token=" in line, line
    return line.strip()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_the_url_serves_and_exits_0_on_a_signal(tmp_path, sig):
    write_clip(tmp_path / "song.wav", seconds=2.0)
    before = sorted(os.listdir(tmp_path))
    proc = _start("song.wav", "--no-browser", cwd=tmp_path)
    try:
        url = _url(proc)
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b'id="spectrogram"' in r.read()
        base = url.split("/?")[0]
        try:
            urllib.request.urlopen(base + "/api/info", timeout=10)
            raise AssertionError("no token, yet served")
        except urllib.error.HTTPError as e:
            assert e.code == 403
        time.sleep(0.2)
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, proc.stderr.read()
    assert sorted(os.listdir(tmp_path)) == before  # no temporary files left


def test_bad_input_fails_before_the_server_starts(tmp_path, capsys):
    (tmp_path / "bad.wav").write_bytes(b"RIFF nonsense")
    code, out, err = run(capsys, "edit", tmp_path / "bad.wav", "--no-browser")
    assert code == 1 and out == ""
    assert err.startswith("spec2img: error: ") and "bad.wav" in err and err.count("\n") == 1
    code, out, err = run(capsys, "edit", tmp_path / "missing.png", "--no-browser")
    assert code == 1 and "missing.png" in err and out == ""


def test_output_over_the_input_is_refused(tmp_path, capsys):
    write_clip(tmp_path / "song.wav", seconds=1.0)
    code, _, err = run(capsys, "edit", tmp_path / "song.wav", "-o", tmp_path / "song.wav")
    assert code == 1 and "same file as the input" in err
    code, _, err = run(capsys, "edit", tmp_path / "song.wav", "-o", tmp_path / "out.mp9")
    assert code == 1 and "unknown audio extension" in err
    code, _, err = run(capsys, "edit", tmp_path / "song.wav", "--port", "70000")
    assert code == 1 and "--port" in err


def test_non_loopback_host_warns(tmp_path):
    write_clip(tmp_path / "song.wav", seconds=1.0)
    proc = _start("song.wav", "--no-browser", "--host", "0.0.0.0", cwd=tmp_path)
    try:
        url = _url(proc)
        assert url.startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "not a loopback address" in proc.stderr.read()


def test_help_names_the_options(capsys):
    code, out, _ = run(capsys, "edit", "--help")
    assert code == 0
    for opt in ("--port", "--host", "--no-browser", "-o OUTPUT"):
        assert opt in out


def test_exits_0_while_the_first_decode_still_runs(tmp_path):
    from edit_helpers import SR, stereo_clip

    from spec2img.pipeline import encode

    encode(stereo_clip(20.0), SR).save(tmp_path / "song.png")  # no kept phase: decoded
    before = sorted(os.listdir(tmp_path))
    proc = _start("song.png", "--no-browser", cwd=tmp_path)
    try:
        _url(proc)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, proc.stderr.read()
    assert sorted(os.listdir(tmp_path)) == before
