"""The batch runners: one file's result, never an exception, whatever the task does."""

from __future__ import annotations

import functools
import os

import pytest

from spec2img.batch import runners
from spec2img.errors import InputError, ParameterError


class Task:
    """A task like convert's: writes ``dst``, or raises what it is told to."""

    def __init__(self, raise_=None, fresh=None):
        self.raise_, self._fresh, self.calls = raise_, fresh, []

    def __call__(self, src, dst):
        self.calls.append((src, dst))
        if self.raise_ is not None:
            raise self.raise_
        with open(dst, "w") as f:
            f.write("out")
        return {"outputs": [dst], "message": "wrote it"}

    def fresh(self, src, dst):
        return self._fresh


def job(tmp_path, i=0):
    src = tmp_path / f"in{i}.wav"
    src.write_text("x")
    return runners.Job(i, str(src), str(tmp_path / f"out{i}.png"), f"in{i}.wav")


def test_a_converted_file_reports_its_outputs_and_drops_the_message(tmp_path):
    task = Task()
    r = runners.process(job(tmp_path), task=task, overwrite=False)
    assert r["status"] == "converted" and r["outputs"] == [str(tmp_path / "out0.png")]
    assert "message" not in r and r["src"] == "in0.wav" and r["seconds"] >= 0
    assert (tmp_path / "out0.png").read_text() == "out"


def test_a_fresh_output_is_skipped_unless_overwriting(tmp_path):
    done = {"outputs": ["kept.png"]}
    task = Task(fresh=done)
    r = runners.process(job(tmp_path), task=task, overwrite=False)
    assert r["status"] == "skipped" and r["outputs"] == ["kept.png"] and task.calls == []
    r = runners.process(job(tmp_path), task=task, overwrite=True)
    assert r["status"] == "converted" and len(task.calls) == 1


@pytest.mark.parametrize(
    "error,words",
    [
        (InputError("in0.wav: not audio"), "in0.wav: not audio"),
        (ParameterError("n_fft must be whole", params=("n_fft",)), "in0.wav: n_fft must be whole"),
        (MemoryError(), "out of memory"),
        (ZeroDivisionError("boom"), "internal error (ZeroDivisionError: boom)"),
    ],
)
def test_a_failing_task_is_a_result_naming_the_file(tmp_path, error, words):
    r = runners.process(job(tmp_path), task=Task(raise_=error), overwrite=False)
    assert r["status"] == "failed" and words in r["reason"], r
    assert r["reason"].startswith("in0.wav")  # the name the user gave, not the absolute path
    if isinstance(error, ParameterError):
        assert r["params"] == ["n_fft"]  # for the face to respell as its flags


def test_warnings_are_collected_as_printable_lines(tmp_path):
    import warnings

    class Warns(Task):
        def __call__(self, src, dst):
            warnings.warn("two\nlines \x1b[31m", stacklevel=1)
            return super().__call__(src, dst)

    r = runners.process(job(tmp_path), task=Warns(), overwrite=False)
    assert r["warnings"] == ["two lines \\x1b[31m"]


def test_with_file_prefixes_once_and_escapes(tmp_path):
    assert runners.with_file("a.png", InputError("a.png: bad")) == "a.png: bad"
    assert runners.with_file("a.png", InputError("bad")) == "a.png: bad"
    assert runners.with_file("b\x07.png", InputError("bad")) == "b\\x07.png: bad"


def test_serial_runner_keeps_order_and_goes_on_after_a_failure(tmp_path):
    jobs = [job(tmp_path, i) for i in range(3)]
    os.remove(jobs[1].src)
    flaky = Task()

    def task(src, dst):
        if not os.path.exists(src):
            raise InputError(f"{src}: no such file")
        return flaky(src, dst)

    work = functools.partial(runners.process, task=task, overwrite=False)
    out = [(j.index, r["status"]) for j, r in runners.run_serial(work, jobs)]
    assert out == [(0, "converted"), (1, "failed"), (2, "converted")]


def test_remove_temporaries_removes_only_the_jobs_part_files(tmp_path):
    (tmp_path / ".out0.png.1234.part").write_text("half")
    (tmp_path / ".other.png.1.part").write_text("half")
    removed = runners.remove_temporaries(str(tmp_path / "out0.png"))
    assert [os.path.basename(p) for p in removed] == [".out0.png.1234.part"]
    assert (tmp_path / ".other.png.1.part").exists()


def test_scheduler_addresses():
    assert runners.scheduler_address("dask://h:8786") == "tcp://h:8786"
    assert runners.scheduler_address("tcp://h:1") == "tcp://h:1"
