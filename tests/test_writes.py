"""Outputs are atomic: never over an input (also through links), never a partial file after
an error, an interrupt, a signal or a full disk; every path problem is one error."""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT, SR, ctrl_c_reaches_it

import spec2img
from spec2img.cli.main import main
from spec2img.errors import InputError, OutputError


@pytest.fixture
def files(tmp_path):
    """A short WAV and its spec2img PNG."""
    y = np.random.default_rng(0).standard_normal(SR // 4).astype(np.float32) * 0.1
    wav = tmp_path / "in.wav"
    sf.write(wav, y, SR, subtype="FLOAT")
    png = tmp_path / "in.png"
    spec2img.audio_to_image(wav, png, n_fft=256)
    return wav, png


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_long_and_odd_paths_are_errors_that_name_them(tmp_path, files):
    wav, png = files
    too_long = tmp_path / ("x" * 300 + ".png")
    with pytest.raises(InputError, match="File name too long"):
        spec2img.load(too_long)
    with pytest.raises(InputError, match="File name too long"):
        spec2img.load_audio(too_long.with_suffix(".wav"))
    with pytest.raises(OutputError, match="File name too long"):
        spec2img.audio_to_image(wav, too_long)
    with pytest.raises(InputError, match="no such file"):
        spec2img.load(wav / "x.png")  # a file used as a folder
    with pytest.raises((InputError, OutputError), match="not a valid file name"):
        spec2img.load(str(tmp_path / "a\0b.png"))
    # A name near the 255-byte limit is legal: its temporary file must fit as well.
    near_limit = tmp_path / ("y" * 250 + ".png")
    spec2img.audio_to_image(wav, near_limit, n_fft=256)
    assert near_limit.is_file()


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_an_output_linked_to_the_input_is_refused_and_the_input_kept(tmp_path, files, link):
    wav, png = files
    before = png.read_bytes(), wav.read_bytes()
    out_png, out_wav = tmp_path / "out.png", tmp_path / "out.wav"
    make = os.symlink if link == "symlink" else os.link
    make(png, out_wav.with_suffix(".flac"))
    make(wav, out_png)
    with pytest.raises(OutputError, match="same file as the input"):
        spec2img.audio_to_image(wav, out_png)
    with pytest.raises(OutputError, match="same file as the input"):
        spec2img.image_to_audio(png, out_wav.with_suffix(".flac"), n_iter=1)
    assert (png.read_bytes(), wav.read_bytes()) == before


def _failing_write(exc):
    """A writer that writes part of its output, then fails like a full disk or Ctrl-C."""

    def write(file, *args, **kwargs):
        if hasattr(file, "write"):
            file.write(b"partial data")
        else:
            with open(file, "wb") as f:
                f.write(b"partial data")
        raise exc

    return write


@pytest.mark.parametrize("exc, error", [
    (OSError(errno.ENOSPC, "No space left on device"), OutputError),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), OutputError),
    (KeyboardInterrupt(), KeyboardInterrupt),
])  # fmt: skip
@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_a_failed_audio_write_leaves_no_file(tmp_path, files, monkeypatch, exc, error, suffix):
    wav, png = files
    fail = _failing_write(exc)
    monkeypatch.setattr(sf, "write", fail)  # libsndfile's encoder (FLAC)
    # the bytes themselves (16-bit WAV is encoded without libsndfile)
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: fail(self))
    before = names(tmp_path)
    with pytest.raises(error):
        spec2img.image_to_audio(png, tmp_path / f"out{suffix}", n_iter=1)
    assert names(tmp_path) == before


@pytest.mark.parametrize("exc, error", [
    (OSError(errno.ENOSPC, "No space left on device"), OutputError),
    (KeyboardInterrupt(), KeyboardInterrupt),
])  # fmt: skip
def test_a_failed_image_write_leaves_no_file(tmp_path, files, monkeypatch, exc, error):
    from PIL import Image

    wav, _ = files
    monkeypatch.setattr(Image.Image, "save", lambda self, fp, *a, **k: _failing_write(exc)(fp))
    before = names(tmp_path)
    with pytest.raises(error):
        spec2img.audio_to_image(wav, tmp_path / "out.png", n_fft=256)
    assert names(tmp_path) == before


def test_soundfile_refusing_a_write_is_an_output_error(tmp_path, files, monkeypatch):
    # (FLAC: 16-bit WAV is encoded without libsndfile) soundfile reports a short write (as on a full disk) with a bare AssertionError.
    wav, png = files

    def short_write(file, *args, **kwargs):
        raise AssertionError

    monkeypatch.setattr(sf, "write", short_write)
    with pytest.raises(OutputError, match="out.flac: cannot encode"):
        spec2img.image_to_audio(png, tmp_path / "out.flac", n_iter=1)
    assert not (tmp_path / "out.flac").exists()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64-KiB tmpfs (needs root and a kernel that lets us mount; skipped otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
                         capture_output=True)  # fmt: skip
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_an_output_error_and_leaves_nothing(files, tiny_disk, capsys):
    wav, png = files
    (tiny_disk / "filler").write_bytes(bytes(60_000))  # one 4-KiB page is left
    for argv, out in (
        (["decode", png, tiny_disk / "out.wav", "--subtype", "FLOAT", "-q"], "out.wav"),
        (["encode", wav, tiny_disk / "out.png", "--n-fft", "2048", "-q"], "out.png"),
    ):
        code = main([str(a) for a in argv])
        err = capsys.readouterr().err
        assert code == 1 and err.startswith("spec2img: error:") and out in err, err
        assert "No space left" in err and len(err.strip().splitlines()) == 1, err
        assert names(tiny_disk) == ["filler"]


def _wait_for_cpu(proc, seconds, timeout=60):
    """Wait until ``proc`` has used ``seconds`` of CPU (robust on a loaded machine)."""
    stat = f"/proc/{proc.pid}/stat"
    if not os.path.exists(stat):
        pytest.skip("needs /proc to see a process's CPU time")
    tick = os.sysconf("SC_CLK_TCK")
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        fields = open(stat).read().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / tick >= seconds:  # utime + stime
            return
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_decode_leaves_no_file(tmp_path, files, sig):
    wav, png = files
    out = tmp_path / "out.wav"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spec2img", "decode", str(png), str(out), "--n-iter", "10000000"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it,
    )  # fmt: skip
    _wait_for_cpu(proc, 2.5)  # well into phase retrieval: imports take about a second
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.suffix == ".part"]
    assert spec2img.load(png).pixels.size  # the input is intact


def test_non_finite_audio_is_never_written(tmp_path):
    from spec2img.errors import ParameterError

    with pytest.raises(ParameterError, match="2 NaN or infinite"):
        spec2img.save_audio(tmp_path / "o.wav", np.array([0, np.nan, np.inf], np.float32), SR)
    assert names(tmp_path) == []
