"""The command line, called in-process through main([...])."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, rms_db, run

import spec2img
from spec2img.cli.main import main
from spec2img.io.png import write_png
from spec2img.params import KEYS


def assert_one_line_error(code, err, *words, exit_code=1):
    assert code == exit_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spec2img: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture
def png(tmp_path, wav, capsys):
    src = wav("mixture")
    dst = tmp_path / "mixture.png"
    assert main(["encode", str(src), str(dst), "-q"]) == 0
    capsys.readouterr()
    return dst


def test_encode_decode_info(tmp_path, wav, capsys):
    src = wav("stereo")
    code, out, err = run(capsys, "encode", src, tmp_path / "s.png", "--n-fft", 1024)
    assert code == 0 and "wrote" in err and out == ""
    code, out, _ = run(capsys, "info", tmp_path / "s.png", "--json")
    meta = json.loads(out)
    assert code == 0 and list(meta) == list(KEYS)
    assert meta["n_fft"] == 1024 and meta["channels"] == 2 and meta["sample_rate"] == SR
    code, out, _ = run(capsys, "info", tmp_path / "s.png")
    assert code == 0 and "hop_length" in out and "duration" in out
    code, _, err = run(capsys, "decode", tmp_path / "s.png", tmp_path / "s.wav", "--n-iter", 8)
    assert code == 0, err
    y, sr = sf.read(tmp_path / "s.wav")
    x, _ = sf.read(src)
    assert y.shape == x.shape and sr == SR
    assert abs(rms_db(y) - rms_db(x)) < 0.5


def test_encode_options_reach_the_metadata(tmp_path, wav, capsys):
    code, _, err = run(
        capsys, "encode", wav("stereo"), tmp_path / "m.png", "--scale", "mel", "--n-mels", 64,
        "--fmin", 50, "--fmax", 8000, "--mono", "--sr", 16000, "--window", "hamming",
        "--hop-length", 256, "--win-length", 1024, "--top-db", 90, "-q",
    )  # fmt: skip
    assert code == 0 and err == ""
    m = spec2img.load(tmp_path / "m.png").meta
    assert (m.params.scale, m.params.n_mels, m.params.fmin, m.params.fmax) == ("mel", 64, 50, 8000)
    assert (m.channels, m.params.sample_rate, m.params.window) == (1, 16000, "hamming")
    assert (m.params.hop_length, m.params.win_length) == (256, 1024)
    assert m.db_max - m.db_min == pytest.approx(90)


def test_decode_seed_is_deterministic_and_subtype_applies(tmp_path, png, capsys):
    for name in ("a.wav", "b.wav"):
        code, _, _ = run(capsys, "decode", png, tmp_path / name, "--seed", 3, "--n-iter", 5,
                         "--subtype", "PCM_24", "-q")  # fmt: skip
        assert code == 0
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    assert sf.info(tmp_path / "a.wav").subtype == "PCM_24"


def test_decode_normalize_and_float(tmp_path, png, capsys):
    assert run(capsys, "decode", png, tmp_path / "n.flac", "--normalize", "-q")[0] == 0
    y, _ = sf.read(tmp_path / "n.flac")
    assert 20 * np.log10(np.max(np.abs(y))) == pytest.approx(-1.0, abs=0.01)
    assert run(capsys, "decode", png, tmp_path / "f.wav", "--subtype", "FLOAT", "-q")[0] == 0
    assert sf.info(tmp_path / "f.wav").subtype == "FLOAT"


def test_clipping_is_reported_as_one_warning_line(tmp_path, capsys):
    sr = 8000
    y = (1.0 * np.sign(np.sin(2 * np.pi * 50 * np.arange(sr) / sr))).astype(np.float32)
    sf.write(tmp_path / "sq.wav", y, sr, subtype="FLOAT")
    assert run(capsys, "encode", tmp_path / "sq.wav", tmp_path / "sq.png", "-q")[0] == 0
    code, _, err = run(capsys, "decode", tmp_path / "sq.png", tmp_path / "o.wav", "-q")
    assert code == 0
    assert "spec2img: warning: clipped" in err and "Traceback" not in err


def _write_with(tmp_path, png, **changes):
    image = spec2img.load(png)
    text = image.meta.to_text()
    text.update({k: str(v) for k, v in changes.items()})
    out = tmp_path / "bad.png"
    write_png(out, image.pixels, text)
    return out


@pytest.mark.parametrize("changes, words", [
    ({"hop_length": 0}, "hop_length=0"),
    ({"n_fft": 3}, "n_fft=3"),
    ({"db_min": 50, "db_max": 50}, "db_min=50"),
    ({"n_samples": -1}, "n_samples=-1"),
    ({"n_samples": 10**12}, "image width"),
    ({"n_samples": 10**15}, "n_samples"),
    ({"version": 99}, "version=99"),
    ({"channels": 2}, "height"),
])  # fmt: skip
def test_bad_metadata(tmp_path, png, capsys, changes, words):
    bad = _write_with(tmp_path, png, **changes)
    code, _, err = run(capsys, "decode", bad, tmp_path / "out.wav")
    assert_one_line_error(code, err, str(bad), words)
    assert not (tmp_path / "out.wav").exists()


def test_bad_inputs(tmp_path, png, capsys):
    out = tmp_path / "out.wav"
    cases = []
    cases.append((["encode", tmp_path / "missing.wav", tmp_path / "x.png"], "no such file"))
    (tmp_path / "text.wav").write_text("not audio at all")
    cases.append((["encode", tmp_path / "text.wav", tmp_path / "x.png"], "not a readable audio"))
    sf.write(tmp_path / "empty.wav", np.zeros(0), SR)
    cases.append((["encode", tmp_path / "empty.wav", tmp_path / "x.png"], "no samples"))
    sf.write(tmp_path / "short.wav", np.zeros(100), SR)
    cases.append((["encode", tmp_path / "short.wav", tmp_path / "x.png"], "shorter than one frame"))
    sf.write(tmp_path / "nan.wav", np.array([0.1, np.nan, np.inf] * 2000), SR, subtype="FLOAT")
    cases.append((["encode", tmp_path / "nan.wav", tmp_path / "x.png"], "4000 NaN or infinite"))
    from PIL import Image

    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "plain.png")
    cases.append((["decode", tmp_path / "plain.png", out], "no spec2img metadata", "--sr"))
    data = png.read_bytes()
    (tmp_path / "trunc.png").write_bytes(data[: len(data) // 2])
    cases.append((["decode", tmp_path / "trunc.png", out], "truncated"))
    cases.append((["decode", tmp_path / "missing.png", out], "no such file"))
    cases.append((["decode", png, tmp_path / "nodir" / "o.wav"], "does not exist"))
    cases.append((["decode", png, png.with_suffix(".mp4")], "unknown audio extension"))
    cases.append((["decode", png, out, "--subtype", "PCM_99"], "subtype must be one of"))
    cases.append((["decode", png, out, "--method", "magic"], "method must be one of"))
    cases.append(
        (["encode", tmp_path / "mixture.wav", tmp_path / "nodir" / "x.png"], "does not exist")
    )
    cases.append(
        (
            ["encode", tmp_path / "mixture.wav", tmp_path / "x.png", "--window", "nope"],
            "unknown window",
        )
    )
    cases.append(
        (["encode", tmp_path / "mixture.wav", tmp_path / "x.png", "--n-fft", 8], "n_fft=8")
    )
    cases.append(
        (
            ["encode", tmp_path / "mixture.wav", tmp_path / "x.png", "--fmin", 9000, "--fmax", 100],
            "fmin",
        )
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    for argv, *words in cases:
        code, _, err = run(capsys, *argv)
        assert_one_line_error(code, err, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing left behind


def test_output_equal_to_input_is_refused_and_input_kept(tmp_path, png, capsys):
    before = png.read_bytes()
    code, _, err = run(capsys, "encode", png, png)
    assert_one_line_error(code, err, "same file as the input")
    src = tmp_path / "mixture.wav"
    wav_before = src.read_bytes()
    code, _, err = run(capsys, "decode", png, tmp_path / "." / "mixture.png")
    assert code == 1 and png.read_bytes() == before
    code, _, err = run(capsys, "encode", src, tmp_path / ".." / tmp_path.name / "mixture.wav")
    assert_one_line_error(code, err, "same file as the input")
    assert src.read_bytes() == wav_before


@pytest.mark.parametrize("argv", [[], ["encode"], ["decode", "a.png"], ["frobnicate"],
                                  ["encode", "a.wav", "b.png", "--n-fft", "big"],
                                  ["decode", "a.png", "b.wav", "--n-iter", "-3"]])  # fmt: skip
def test_usage_errors_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "usage:" in err and "Traceback" not in err


def test_help_and_module_entry_point():
    res = subprocess.run([sys.executable, "-m", "spec2img", "--help"], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert res.returncode == 0 and "encode" in res.stdout and "decode" in res.stdout
    res = subprocess.run([sys.executable, "-c", "import sys, spec2img.cli.main; "
                          "print(any(m.startswith(('librosa', 'scipy', 'matplotlib', 'numpy')) "
                          "for m in sys.modules))"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.stdout.strip() == "False"  # --help loads no heavy module


BLAS_THREADS = """
import os, sys
{pre}
from spec2img.cli.main import one_blas_thread
one_blas_thread()
print(os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS"))
import numpy, threadpoolctl
print([p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"])
"""


@pytest.mark.parametrize(("pre", "env", "want"), [
    ("", {}, "1"),  # the command line's own process: one BLAS thread
    ("", {"OPENBLAS_NUM_THREADS": "2"}, "2"),  # the user's choice stands
    ("import numpy", {}, None),  # NumPy already loaded: too late, nothing is set
])  # fmt: skip
def test_command_line_process_gives_blas_one_thread(pre, env, want):
    import os

    pytest.importorskip("threadpoolctl")
    base = {k: v for k, v in os.environ.items()
            if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS",
                         "GOTO_NUM_THREADS")}  # fmt: skip
    res = subprocess.run([sys.executable, "-c", BLAS_THREADS.format(pre=pre)],
                         capture_output=True, text=True, timeout=60, env={**base, **env})  # fmt: skip
    assert res.returncode == 0, res.stderr
    variables, pools = res.stdout.splitlines()
    if want is None:
        assert variables == "None None"
        return
    assert variables.split()[0] == want
    assert json.loads(pools) == [int(want)], "NumPy's BLAS pool"
