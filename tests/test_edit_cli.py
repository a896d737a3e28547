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


def _info(url: str) -> dict:
    import json

    base, token = url.split("/?token=")
    req = urllib.request.Request(base + "/api/info", headers={"X-Spec2img-Token": token})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _served_info(*args, cwd) -> dict:
    proc = _start(*args, "--no-browser", cwd=cwd)
    try:
        info = _info(_url(proc))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    return info


def test_new_opens_a_silent_canvas_of_the_asked_length_rate_and_channels(tmp_path):
    info = _served_info("--new", "2.5", "--sr", "22050", "--channels", "2", "-o", "tune.wav",
                        cwd=tmp_path)  # fmt: skip
    assert info["n_samples"] == round(2.5 * 22050) and info["sample_rate"] == 22050
    assert info["channels"] == 2 and info["name"] == "tune.wav" and info["save_to"] == "tune.wav"
    assert not (tmp_path / "tune.wav").exists()  # written on Save only


def test_audio_opens_at_the_resolution_asked_for(tmp_path):
    write_clip(tmp_path / "song.wav", seconds=1.0)
    info = _served_info("song.wav", "--n-fft", "1024", "--hop-length", "128", cwd=tmp_path)
    assert (info["n_fft"], info["hop_length"], info["rows"]) == (1024, 128, 513)
    info = _served_info("song.wav", "--scale", "mel", "--n-mels", "64", cwd=tmp_path)
    assert info["scale"] == "mel" and info["rows"] == 64


def test_new_and_resolution_usage_errors(tmp_path, capsys):
    code, _, err = run(capsys, "edit", "--new", "2")
    assert code == 2 and "-o OUTPUT" in err
    code, _, err = run(capsys, "edit")
    assert code == 2 and "INPUT or --new" in err
    code, _, err = run(capsys, "edit", "--new", "0", "-o", tmp_path / "t.wav")
    assert code == 1 and "--new" in err and err.count("\n") == 1
    write_clip(tmp_path / "song.wav", seconds=1.0)
    code, _, err = run(capsys, "edit", tmp_path / "song.wav", "--duration", "3")
    assert code == 1 and "--duration apply to image input only" in err
    code, _, err = run(capsys, "edit", tmp_path / "song.wav", "--n-fft", "7")
    assert code == 1 and "n_fft" in err


def test_a_new_canvas_resume_line_makes_the_same_canvas():
    # the journal of a --new canvas is keyed on how it was made: the line printed for
    # --resume must carry every option that shaped it
    import shlex

    from spec2img.cli import commands
    from spec2img.cli.parser import create_parser

    argv = ["edit", "--new", "1.5", "-o", "my tune.wav", "--sr", "16000", "--n-fft", "512",
            "--hop-length", "128", "--scale", "mel", "--n-mels", "64", "--fmin", "30",
            "--db-range", "-90", "0", "--channels", "2"]  # fmt: skip
    args = create_parser().parse_args(argv)
    line = commands._new_canvas_command(args)
    again = create_parser().parse_args(shlex.split(line)[1:])
    assert commands._edit_encode_options(again) == commands._edit_encode_options(args)
    assert (again.new, again.channels, again.output) == (1.5, 2, "my tune.wav")
