"""Outputs and inputs the way Unix tools treat them: links, FIFOs, devices, ``-``,
existing files, extensions; and MP3/Opus output."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, run, signals

import spec2img
from spec2img.errors import OutputError
from spec2img.io import atomic

CLI = [sys.executable, "-m", "spec2img"]


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "in.wav"
    sf.write(path, np.atleast_2d(signals.mixture()).T, SR, subtype="FLOAT")
    return path


@pytest.fixture
def png(tmp_path, wav, capsys):
    path = tmp_path / "in.png"
    assert run(capsys, "encode", wav, path, "-q")[0] == 0
    return path


def one_line_error(code, err, *words):
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("spec2img: error:"), err
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_an_output_symlink_is_written_through_and_stays_a_link(tmp_path, wav, capsys):
    real = tmp_path / "store" / "real.png"
    real.parent.mkdir()
    link = tmp_path / "link.png"
    link.symlink_to(real)  # dangling: the target is created, as a shell's > would
    assert run(capsys, "encode", wav, link, "-q")[0] == 0
    assert link.is_symlink() and real.is_file()
    assert spec2img.load(real).meta.n_samples == sf.info(wav).frames
    first = real.read_bytes()
    code, _, err = run(capsys, "encode", wav, link, "-q", "--n-fft", "1024")
    one_line_error(code, err, "already exists", "--overwrite")
    assert real.read_bytes() == first
    assert run(capsys, "encode", wav, link, "-q", "--n-fft", "1024", "-y")[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert spec2img.load(link).params.n_fft == 1024
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.png"]  # no temporary left


def test_a_replaced_file_keeps_its_permissions(tmp_path, png, capsys):
    out = tmp_path / "out.wav"
    assert run(capsys, "decode", png, out, "-q")[0] == 0
    out.chmod(0o640)
    assert run(capsys, "decode", png, out, "-q", "-y")[0] == 0
    assert (out.stat().st_mode & 0o777) == 0o640


def test_existing_outputs_are_never_replaced_unasked(tmp_path, wav, png, capsys):
    recording = tmp_path / "song.wav"
    recording.write_bytes(wav.read_bytes())
    code, _, err = run(capsys, "decode", png, recording)
    one_line_error(code, err, str(recording), "already exists", "give --overwrite")
    assert recording.read_bytes() == wav.read_bytes()
    assert run(capsys, "decode", png, recording, "-q", "--overwrite")[0] == 0
    assert sf.info(recording).subtype == "PCM_16"  # now the decode


def test_previews_and_factor_images_are_never_replaced_unasked(tmp_path, png, capsys):
    preview = tmp_path / "preview.png"
    preview.write_bytes(b"my own picture")
    code, _, err = run(capsys, "show", png, "-o", preview)
    one_line_error(code, err, str(preview), "already exists", "--overwrite (-y)")
    assert preview.read_bytes() == b"my own picture"
    assert run(capsys, "show", png, "-o", preview, "-q", "-y")[0] == 0
    assert preview.read_bytes().startswith(b"\x89PNG")
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "activations.png").write_bytes(b"keep me")
    code, _, err = run(capsys, "decompose", png, parts, "-k", 2, "--max-iter", 5)
    one_line_error(code, err, "activations.png", "already exists")
    assert (parts / "activations.png").read_bytes() == b"keep me"
    assert not (parts / "components.png").exists()  # refused before the work
    assert run(capsys, "decompose", png, parts, "-k", 2, "--max-iter", 5, "-q", "-y")[0] == 0
    assert (
        spec2img.load_factors(parts / "components.png", parts / "activations.png").W.shape[-1] == 2
    )


def test_encode_refuses_an_output_that_is_not_png(tmp_path, wav, capsys):
    for name in ("out.wav", "out", "out.PNG.txt"):
        code, _, err = run(capsys, "encode", wav, tmp_path / name)
        one_line_error(code, err, "must be named *.png")
        assert not (tmp_path / name).exists()
    assert run(capsys, "encode", wav, tmp_path / "UPPER.PNG", "-q")[0] == 0


def test_dev_null_is_written_to_and_never_replaced(wav, png, capsys):
    before = os.stat("/dev/null")
    assert run(capsys, "encode", wav, "/dev/null", "-q")[0] == 0
    assert run(capsys, "decode", png, "/dev/null", "-q")[0] == 0
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not os.path.isfile("/dev/null")


def _read_fifo(path, into: list):
    with open(path, "rb") as f:
        into.append(f.read())


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_a_fifo_is_streamed_into_not_replaced(tmp_path, wav, png, capsys, command):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=_read_fifo, args=(fifo, got), daemon=True)
    reader.start()
    src = wav if command == "encode" else png
    code, _, err = run(capsys, command, src, fifo, "-q")
    reader.join(timeout=60)
    assert code == 0, err
    assert fifo.is_fifo()
    out = tmp_path / "got"
    out.write_bytes(got[0])
    if command == "encode":
        assert np.array_equal(spec2img.load(out).pixels, spec2img.load(png).pixels)
    else:
        info = sf.info(out)
        assert info.format == "WAV" and info.frames == sf.info(wav).frames


def test_pipes_both_ways(tmp_path, wav):
    """cat a.wav | spec2img encode - - | spec2img decode - - > b.wav"""
    enc = subprocess.run([*CLI, "encode", "-", "-", "-q"], input=wav.read_bytes(),
                         capture_output=True, timeout=120)  # fmt: skip
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout.startswith(b"\x89PNG") and enc.stderr == b""
    dec = subprocess.run([*CLI, "decode", "-", "-"], input=enc.stdout, capture_output=True,
                         timeout=120)  # fmt: skip
    assert dec.returncode == 0, dec.stderr
    assert b"wrote <stdout>" in dec.stderr  # status on stderr, data alone on stdout
    out = tmp_path / "b.wav"
    out.write_bytes(dec.stdout)
    back, sr = sf.read(out)
    assert sr == SR and len(back) == sf.info(wav).frames
    flac = subprocess.run([*CLI, "decode", "-", "-", "-q", "--format", "flac"],
                          input=enc.stdout, capture_output=True, timeout=120)  # fmt: skip
    assert flac.returncode == 0 and flac.stdout.startswith(b"fLaC")


def test_stdin_problems_are_one_line_errors_naming_stdin(tmp_path):
    res = subprocess.run([*CLI, "encode", "-", str(tmp_path / "x.png")], input=b"not audio",
                         capture_output=True, timeout=60)  # fmt: skip
    assert res.returncode == 1
    err = res.stderr.decode().strip()
    assert err.startswith("spec2img: error: <stdin>: not a readable audio file"), err
    assert "spec2img-stdin" not in err and not (tmp_path / "x.png").exists()


def test_binary_output_is_not_written_to_a_terminal(png):
    import pty

    main_fd, sub_fd = pty.openpty()
    try:
        res = subprocess.run([*CLI, "decode", str(png), "-"], stdout=sub_fd,
                             stderr=subprocess.PIPE, timeout=60)  # fmt: skip
    finally:
        os.close(sub_fd)
        os.close(main_fd)
    assert res.returncode == 1 and b"refusing to write binary data to a terminal" in res.stderr


def test_a_failed_stream_write_leaves_nothing_behind(tmp_path, monkeypatch):
    made = []
    real_mkstemp = atomic.tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        made.append(name)
        return fd, name

    monkeypatch.setattr(atomic.tempfile, "mkstemp", spy)
    with pytest.raises(RuntimeError), atomic.atomic_path("/dev/null") as tmp:
        tmp.write_bytes(b"x")
        raise RuntimeError("boom")
    assert made and not any(os.path.exists(n) for n in made)


def test_check_output_recognises_streams(tmp_path):
    assert atomic.is_stream("-") and atomic.is_stream("/dev/null")
    assert atomic.is_stream("/dev/stdout") and atomic.is_stream("/proc/self/fd/1")
    assert not atomic.is_stream(tmp_path / "new.wav") and not atomic.is_stream(tmp_path)
    f = tmp_path / "f.wav"
    f.write_bytes(b"")
    with pytest.raises(OutputError, match="already exists"):
        atomic.check_output(f, overwrite=False)
    assert atomic.check_output(f) == f


@pytest.mark.parametrize("ext, fmt", [(".mp3", "MP3"), (".opus", "OGG")])
def test_mp3_and_opus_output_keep_the_duration(tmp_path, png, wav, capsys, ext, fmt):
    out = tmp_path / f"out{ext}"
    code, _, err = run(capsys, "decode", png, out, "-q")
    assert code == 0, err
    info = sf.info(out)
    want = sf.info(wav).duration
    assert info.format == fmt and abs(info.duration - want) <= 0.1, (info.duration, want)
    if ext == ".opus":  # 22050 Hz is not an Opus rate: resampled, and said so
        assert info.samplerate == 24000 and "resampling 22050 Hz to 24000 Hz" in err


def test_mp3_bitrate_options_change_the_file(tmp_path, png, capsys):
    sizes = {}
    for level in ("0", "0.9"):
        out = tmp_path / f"l{level}.mp3"
        argv = ["decode", png, out, "-q", "--compression-level", level, "--bitrate-mode",
                "constant"]  # fmt: skip
        assert run(capsys, *argv)[0] == 0
        sizes[level] = out.stat().st_size
    assert sizes["0.9"] < sizes["0"] / 2
    code, _, err = run(capsys, "decode", png, tmp_path / "x.wav", "--bitrate-mode", "constant")
    one_line_error(code, err, "--bitrate-mode applies to MP3")
    code, _, err = run(capsys, "decode", png, tmp_path / "x.wav", "--compression-level", "0.5")
    one_line_error(code, err, "--compression-level applies to")
    code, _, err = run(capsys, "decode", png, tmp_path / "x.flac", "--compression-level", "2")
    one_line_error(code, err, "--compression-level must be in [0, 1]")


def test_format_overrides_the_extension(tmp_path, png, capsys):
    out = tmp_path / "audio.bin"
    assert run(capsys, "decode", png, out, "-q", "--format", "flac")[0] == 0
    assert sf.info(out).format == "FLAC"


def test_join_recompose_and_mosaic_also_refuse_to_replace_a_file(tmp_path, wav, png, capsys):
    segments = tmp_path / "segs"
    segments.mkdir()
    assert run(capsys, "encode", wav, segments / "s.png", "--segment", "0.5", "-q")[0] == 0
    factors = tmp_path / "nmf"
    assert run(capsys, "decompose", png, factors, "-k", "2", "--max-iter", "5", "-q")[0] == 0
    commands = {
        "join": ["join", segments],
        "recompose": ["recompose", factors / "components.png", factors / "activations.png"],
        "mosaic": ["mosaic", wav, wav, "--n-iter", "2"],
    }
    for name, argv in commands.items():
        out = tmp_path / f"{name}.wav"
        out.write_bytes(b"precious")
        code, _, err = run(capsys, *argv, out)
        one_line_error(code, err, "already exists", "give --overwrite")
        assert out.read_bytes() == b"precious", name
        code, _, err = run(capsys, *argv, out, "-q", "-y")
        assert code == 0, err
        assert sf.info(out).frames == sf.info(wav).frames, name
