"""Folders of files: mirroring, resuming, failures, interrupts, manifests, training sets."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import ROOT, SR, ctrl_c_reaches_it, run
from PIL import Image

import spec2img
from spec2img.batch import runners
from spec2img.cli.main import main
from spec2img.io.dataset import read_dataset

FAST = ["--n-fft", "512"]


def make_tree(root: Path, names=("a.wav", "sub/b.wav", "sub/deep/c.flac"), seconds=0.5, sr=SR):
    """Short distinct tones at the given relative paths."""
    paths = []
    for i, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(int(seconds * sr)) / sr
        sf.write(path, (0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t)).astype(np.float32), sr)
        paths.append(path)
    return paths


def summary(err: str) -> str:
    return [line for line in err.splitlines() if " converted, " in line][-1]


def test_mixed_good_and_corrupt_files(tmp_path, capsys):
    make_tree(tmp_path / "in")
    (tmp_path / "in" / "sub" / "broken.wav").write_bytes(b"RIFF not really a wave file")
    sf.write(tmp_path / "in" / "empty.wav", np.zeros(0), SR)
    (tmp_path / "in" / "notes.txt").write_text("not audio, not picked up")
    code, out, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "out", "-j", 1, *FAST)
    assert code == 1 and out == ""
    assert "3 converted, 0 skipped, 2 failed" in summary(err)
    errors = [line for line in err.splitlines() if line.startswith("spec2img: error:")]
    assert len(errors) == 2
    assert any("broken.wav" in e and "not a readable audio file" in e for e in errors)
    assert any("empty.wav" in e and "no samples" in e for e in errors)
    made = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*"))
    assert made == ["a.png", "sub", "sub/b.png", "sub/deep", "sub/deep/c.png"]
    for png in (tmp_path / "out").rglob("*.png"):
        assert spec2img.load(png).meta.params.n_fft == 512


def test_resume_skips_done_files_and_overwrite_redoes_them(tmp_path, capsys):
    a, b, c = make_tree(tmp_path / "in")
    out = tmp_path / "out"
    args = ["encode", tmp_path / "in", "-o", out, "-j", 1, *FAST]
    assert run(capsys, *args)[0] == 0
    pngs = sorted(out.rglob("*.png"))
    stamps = {p: p.stat().st_mtime_ns for p in pngs}
    code, _, err = run(capsys, *args)
    assert code == 0 and "0 converted, 3 skipped, 0 failed" in summary(err)
    assert {p: p.stat().st_mtime_ns for p in pngs} == stamps
    future = time.time() + 5
    os.utime(b, (future, future))  # the input changed after its output was made
    code, _, err = run(capsys, *args)
    assert "1 converted, 2 skipped" in summary(err)
    assert (out / "sub" / "b.png").stat().st_mtime_ns != stamps[out / "sub" / "b.png"]
    code, _, err = run(capsys, *args, "--overwrite")
    assert "3 converted, 0 skipped" in summary(err)


def test_fail_fast_stops_at_the_first_failure(tmp_path, capsys):
    make_tree(tmp_path / "in", names=("b.wav", "c.wav", "d.wav"))
    (tmp_path / "in" / "a.wav").write_text("bad")  # sorted first
    code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "out", "-j", 1,
                       "--fail-fast", *FAST)  # fmt: skip
    assert code == 1 and "0 converted, 0 skipped, 1 failed" in summary(err)
    assert not list((tmp_path / "out").glob("*.png"))


def test_decode_folder_forwards_every_option(tmp_path, capsys):
    make_tree(tmp_path / "in", names=("a.wav", "sub/b.wav"))
    assert run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "png", "-q", *FAST)[0] == 0
    opts = ["--n-iter", 7, "--seed", 5, "--subtype", "PCM_24", "--momentum", 0.9, "--normalize"]
    code, _, err = run(capsys, "decode", tmp_path / "png", "-o", tmp_path / "wav", "--format",
                       "flac", "-j", 1, *opts)  # fmt: skip
    assert code == 0 and "2 converted" in summary(err)
    single = tmp_path / "single.flac"
    assert run(capsys, "decode", tmp_path / "png" / "sub" / "b.png", single, "-q", *opts)[0] == 0
    batch_out = tmp_path / "wav" / "sub" / "b.flac"
    assert sf.info(batch_out).subtype == "PCM_24"
    assert batch_out.read_bytes() == single.read_bytes()


def test_globs_and_single_files_mirror_from_their_base(tmp_path, capsys):
    make_tree(tmp_path / "in")
    code, _, err = run(capsys, "encode", str(tmp_path / "in" / "**" / "*.wav"),
                       tmp_path / "in" / "sub" / "deep" / "c.flac", "-o", tmp_path / "out",
                       "-q", *FAST)  # fmt: skip
    assert code == 0, err
    made = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")
    )
    assert made == ["a.png", "c.png", "sub/b.png"]
    code, _, err = run(capsys, "encode", str(tmp_path / "nothing*.wav"), "-o", tmp_path / "o2")
    assert code == 1 and "no files match" in err


def test_outputs_that_would_collide_are_refused(tmp_path, capsys):
    make_tree(tmp_path / "in", names=("x.wav", "x.flac"))
    code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "out", "-j", 1, *FAST)
    assert code == 1 and "is also the output of" in err
    assert "1 converted, 0 skipped, 1 failed" in summary(err)


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_manifest_records_parameters_and_results(tmp_path, capsys, ext):
    make_tree(tmp_path / "in", names=("a.wav", "b.wav"))
    (tmp_path / "in" / "c.wav").write_text("bad")
    manifest = tmp_path / f"m.{ext}"
    run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "out", "-j", 1, "--manifest",
        manifest, "--top-db", 90, *FAST)  # fmt: skip
    if ext == "csv":
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
        get = lambda row, key: row[key]  # noqa: E731
    else:
        rows = [json.loads(line) for line in manifest.read_text().splitlines()]
        get = lambda row, key: row["params"].get(key, "")  # noqa: E731
    assert [r["status"] for r in rows] == ["converted", "converted", "failed"]
    assert "not a readable audio file" in rows[2]["reason"]
    for row in rows[:2]:
        assert str(get(row, "n_fft")) == "512" and str(get(row, "sample_rate")) == str(SR)
        assert abs(float(get(row, "db_max")) - float(get(row, "db_min")) - 90) < 1e-6
    assert "a.png" in str(rows[0]["outputs"])


@pytest.mark.parametrize("argv, words", [
    (["encode", "a.wav", "b.wav", "c.png"], "-o OUTDIR"),
    (["encode", "a.wav"], "INPUT OUTPUT"),
    (["encode", ".", "x.png"], "needs -o"),
    (["encode", "a.wav", "b.png", "--manifest", "m.csv"], "--manifest needs -o"),
    (["encode", "a.wav", "-o", "out", "--manifest", "m.txt"], ".csv or .jsonl"),
    (["encode", "a.wav", "b.png", "--overlap", "1"], "--overlap needs --segment"),
    (["encode", "a.wav", "-o", "out", "--size", "12"], "WIDTHxHEIGHT"),
    (["join", "only.wav"], "output audio"),
])  # fmt: skip
def test_usage_errors(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "usage:" in err and words in err


def test_pool_matches_serial_and_survives_a_dying_worker(tmp_path, capsys):
    make_tree(tmp_path / "in", names=("a.wav", "b.wav", "c.wav", "d.wav"))
    for jobs in (1, 2):
        code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / f"out{jobs}",
                           "-j", jobs, *FAST)  # fmt: skip
        assert code == 0 and "4 converted" in summary(err)
    for png in (tmp_path / "out1").glob("*.png"):
        one, two = spec2img.load(png), spec2img.load(tmp_path / "out2" / png.name)
        assert one.meta == two.meta and np.array_equal(one.pixels, two.pixels)
    jobs = [runners.Job(i, str(tmp_path / f"{i}"), "", f"f{i}") for i in range(5)]
    results = dict((job.index, r) for job, r in runners.run_pool(_die_on_two, jobs, 2))
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert results[2]["status"] == "failed" and "worker process died" in results[2]["reason"]
    assert all(results[i]["status"] == "converted" for i in (0, 1, 3, 4))


def _die_on_two(job):
    if job.index == 2:
        os._exit(9)  # as the out-of-memory killer would
    return {"index": job.index, "src": job.label, "status": "converted", "outputs": []}


def _slow_decode_batch(tmp_path, n=6):
    make_tree(tmp_path / "in", names=[f"f{i}.wav" for i in range(n)], seconds=3.0)
    assert main(["encode", str(tmp_path / "in"), "-o", str(tmp_path / "png"), "-q", "-j", "1"]) == 0
    cmd = [sys.executable, "-m", "spec2img", "decode", str(tmp_path / "png"), "-o",
           str(tmp_path / "wav"), "-j", "2", "--n-iter", "400", "-q"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=ctrl_c_reaches_it)  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGINT"])  # fmt: skip
def test_interrupt_mid_batch_leaves_no_partial_files(tmp_path, sig):
    proc = _slow_decode_batch(tmp_path)
    out = tmp_path / "wav"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob("*.wav")):
        time.sleep(0.05)
    assert list(out.glob("*.wav")), "no file finished in time"
    time.sleep(0.3)  # let the workers start on the next files
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    left = sorted(p.name for p in out.iterdir())
    assert not [name for name in left if name.startswith(".") or name.endswith(".part")], left
    assert 0 < len(left) < 6
    for name in left:  # every file there is whole
        assert sf.info(out / name).frames == int(3.0 * SR)


def _slow_write(src, dst):
    from spec2img.io.atomic import atomic_path

    with atomic_path(dst) as tmp:
        tmp.write_bytes(b"half a file")
        time.sleep(60)
    return {"outputs": [dst]}


def _slow_write_job(job):
    return _slow_write(job.src, job.dst)


@pytest.mark.parametrize("cleanup", ["worker unwinds", "main sweeps"])
def test_stopping_the_pool_mid_write_removes_temporary_files(tmp_path, monkeypatch, cleanup):
    import functools
    import threading

    jobs = [runners.Job(i, "", str(tmp_path / f"o{i}.png"), f"f{i}") for i in range(4)]
    if cleanup == "worker unwinds":  # the worker's own SIGTERM handling must do it all
        monkeypatch.setattr(runners, "remove_temporaries", lambda dst: [])
        work = functools.partial(runners.process, task=_slow_write, overwrite=True)
    else:  # workers die at once (os._exit): the main process sweeps after them
        work = _slow_write_job
    seen = []

    def interrupt_when_both_write():
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob(".*.part"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        seen.append(len(list(tmp_path.glob(".*.part"))))
        os.kill(os.getpid(), signal.SIGUSR1)

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGUSR1, raise_interrupt)
    watcher = threading.Thread(target=interrupt_when_both_write)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in runners.run_pool(work, jobs, 2):
                pass
    finally:
        watcher.join()
        signal.signal(signal.SIGUSR1, old)
    assert seen == [2]
    assert list(tmp_path.iterdir()) == []


def test_temporaries_left_by_killed_workers_are_swept(tmp_path):
    for name in [".x.png.abc123.part", ".x_000.png.def456.part", ".y.png.0.part", "x.png"]:
        (tmp_path / name).write_text("")
    removed = runners.remove_temporaries(str(tmp_path / "x.png"))
    assert len(removed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".y.png.0.part", "x.png"]


def test_fsspec_urls_are_read_and_written(tmp_path, capsys):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for path in make_tree(tmp_path / "in", names=("a.wav", "sub/b.wav")):
        fs.pipe(f"/s2i-in/{path.relative_to(tmp_path / 'in').as_posix()}", path.read_bytes())
    try:
        args = ["encode", "memory://s2i-in", "-o", "memory://s2i-out", "-j", 1, *FAST]
        code, _, err = run(capsys, *args)
        assert code == 0 and "2 converted" in summary(err)
        assert sorted(fs.find("/s2i-out")) == ["/s2i-out/a.png", "/s2i-out/sub/b.png"]
        with fs.open("/s2i-out/sub/b.png", "rb") as f:
            (tmp_path / "b.png").write_bytes(f.read())
        assert spec2img.load(tmp_path / "b.png").meta.n_samples == SR // 2
        assert "0 converted, 2 skipped" in summary(run(capsys, *args)[2])
    finally:
        fs.rm("/s2i-in", recursive=True)
        if fs.exists("/s2i-out"):
            fs.rm("/s2i-out", recursive=True)


def test_training_set_of_uniform_segments_with_dataset_json(tmp_path, capsys):
    make_tree(tmp_path / "in", names=("a.wav", "b.flac"), seconds=1.3)
    make_tree(tmp_path / "in", names=("c.wav",), seconds=0.4, sr=16000)
    code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "set", "-j", 1,
                       "--segment", 0.5, "--size", "64x32", "--sr", 16000, "--mono",
                       "--db-range", -60, 60, *FAST)  # fmt: skip
    assert code == 0, err
    pngs = sorted((tmp_path / "set").rglob("*.png"))
    assert len(pngs) == 3 + 3 + 1
    assert {Image.open(p).size for p in pngs} == {(64, 32)}
    meta, size, files = read_dataset(tmp_path / "set" / "dataset.json")
    assert size == (64, 32) and len(files) == len(pngs)
    assert (meta.params.sample_rate, meta.channels, meta.n_samples) == (16000, 1, 8000)
    assert (meta.db_min, meta.db_max) == (-60, 60)
    assert {f["image"] for f in files} == {p.relative_to(tmp_path / "set").as_posix() for p in pngs}
    doc = json.loads((tmp_path / "set" / "dataset.json").read_text())
    assert doc["format"] == "spec2img-dataset" and doc["version"] == 1
    assert "segment_index" not in doc["metadata"] and doc["metadata"]["n_fft"] == 512


def test_dataset_metadata_decodes_images_that_lost_theirs(tmp_path, capsys):
    make_tree(tmp_path / "in", names=("a.wav",), seconds=1.2)
    code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "set", "-q",
                       "--segment", 0.5, *FAST)  # fmt: skip
    assert code == 0, err
    meta, size, files = read_dataset(tmp_path / "set" / "dataset.json")
    pixels = np.asarray(Image.open(tmp_path / "set" / files[1]["image"]))  # as a GAN would give
    assert size == (pixels.shape[1], pixels.shape[0])
    y, sr = spec2img.decode(spec2img.SpectrogramImage(pixels, meta), n_iter=10)
    assert sr == SR and y.shape == (SR // 2,)
    original, _ = sf.read(tmp_path / "in" / "a.wav", dtype="float32")
    part = original[files[1]["offset"] : files[1]["offset"] + SR // 2]
    assert abs(np.std(y) / np.std(part) - 1) < 0.1


def test_dataset_refuses_mixed_parameters(tmp_path, capsys):
    make_tree(tmp_path / "in", names=("a.wav",), seconds=0.6)
    make_tree(tmp_path / "in", names=("b.wav",), seconds=0.6, sr=16000)
    code, _, err = run(capsys, "encode", tmp_path / "in", "-o", tmp_path / "set", "-j", 1,
                       "--segment", 0.5, *FAST)  # fmt: skip
    assert code == 1 and "dataset.json not written" in err and "use --sr" in err
    assert not (tmp_path / "set" / "dataset.json").exists()


def test_progress_bar_shows_rate_on_a_terminal():
    import io

    from spec2img.cli.progress import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar("encode", enabled=True, stream=stream, unit="files", min_interval=0)
    bar.start -= 2.0
    bar(4, 10)
    bar.write("spec2img: error: x.wav: bad")
    bar(5, 10)
    text = stream.getvalue()
    assert "4/10" in text and "files/s" in text and "ETA" in text
    assert "\r\033[Kspec2img: error: x.wav: bad\n" in text and text.endswith("s")


def test_batch_modules_import_nothing_heavy():
    res = subprocess.run([sys.executable, "-c", "import sys, spec2img.batch.folders, spec2img.batch.runners; "
                          "print(any(m.startswith(('numpy', 'scipy', 'PIL')) for m in sys.modules))"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert res.stdout.strip() == "False"


def test_fixed_db_range_on_encode(tmp_path, capsys):
    (src,) = make_tree(tmp_path, names=("a.wav",))
    code, _, err = run(capsys, "encode", src, tmp_path / "a.png", "--db-range", -50, 20, *FAST)
    assert code == 0 and "warning" in err and "louder than db_max=20 were clipped" in err
    meta = spec2img.load(tmp_path / "a.png").meta
    assert (meta.db_min, meta.db_max) == (-50, 20)
    code, _, err = run(capsys, "encode", src, tmp_path / "b.png", "--db-range", 10, 5)
    assert code == 1 and "db_range=(10, 5)" in err and not (tmp_path / "b.png").exists()
