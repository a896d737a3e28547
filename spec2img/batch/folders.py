"""Whole folders in one command: ``spec2img encode|decode INPUT... -o OUTDIR``.

Inputs are files, folders (walked recursively, hidden files skipped) and globs, local
or fsspec URLs; outputs mirror each input's tree under ``OUTDIR`` with the new
extension.  Every file is converted by the same task the single-file command runs
(:class:`spec2img.convert.EncodeTask` / :class:`~spec2img.convert.DecodeTask`), so every
per-file option applies.  The files run (:mod:`spec2img.batch.runners`)

- in this process (``--jobs 1``), in a pool of worker processes (``--jobs N``, default
  all cores; each worker single-threaded: FFT workers 1, BLAS/OpenMP pools 1), or as
  tasks on a Dask cluster (``--scheduler tcp://HOST:PORT``);
- resumably: an output at least as new as its input is skipped (``--overwrite``);
- independently: a bad file is reported (file and reason) and the rest go on; the exit
  status is 1 at the end (``--fail-fast`` stops at the first);
- safely: outputs are written atomically, and an interrupt (Ctrl-C, SIGTERM) stops the
  workers and removes their temporary files.

This module holds the settings, the planning (which input becomes which output) and
the reporting (progress, summary, manifest, ``dataset.json``); it knows nothing of the
command line (the CLI declares the options and builds :class:`BatchSettings`) and
imports nothing heavy at the top, so that worker processes start fast.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import glob
import io
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import Spec2ImgError, one_line, printable
from . import remote
from .runners import Job, process, run_dask, run_pool, run_serial, with_file

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus", ".aif", ".aiff")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
SEGMENT_EXTS = (".png",)


def plan(
    inputs: list[str], output_dir: str, *, exts: tuple[str, ...], suffix: str
) -> tuple[list[Job], list[tuple[str, str]]]:
    """Jobs for ``inputs`` and the inputs that cannot become jobs, with the reason.

    A folder is walked recursively for files with one of ``exts`` (hidden files and
    the output folder itself are skipped) and mirrored under ``output_dir``; a glob is
    mirrored from its last folder without wildcards; a file goes to the top of
    ``output_dir``.  Outputs get ``suffix``.
    """
    problems: list[tuple[str, str]] = []
    pairs: list[tuple[str, str]] = []  # (source, path relative to output_dir)
    out_abs = None if remote.is_remote(output_dir) else os.path.abspath(remote.local(output_dir))
    for item in inputs:
        found = _expand(item, exts, out_abs)
        if found is None:
            pairs.append((item, _name(item)))
        elif not found:
            problems.append((item, _nothing_in(item, exts)))
        else:
            pairs.extend(found)
    jobs, owner, seen = [], {}, set()
    for label, rel in pairs:
        src = label if remote.is_remote(label) else os.path.abspath(remote.local(label))
        dst = _join(output_dir, str(Path(rel).with_suffix(suffix)))
        if (src, dst) in seen:
            continue
        seen.add((src, dst))
        if dst in owner:
            problems.append((label, f"{show(dst)} is also the output of {owner[dst]}"))
            continue
        owner[dst] = label
        jobs.append(Job(len(jobs), src, dst, label))
    return jobs, problems


def expand(inputs: list[str], exts: tuple[str, ...]) -> tuple[list[str], list[tuple[str, str]]]:
    """The files ``inputs`` name (files, folders, globs) and the inputs that name none."""
    files, problems = [], []
    for item in inputs:
        found = _expand(item, exts, None)
        if found is None:
            files.append(item)
        elif not found:
            problems.append((item, _nothing_in(item, exts)))
        else:
            files.extend(f for f, _ in found)
    return files, problems


def _nothing_in(item: str, exts) -> str:
    if remote.has_magic(item):
        return f"no files match {item}"
    return f"no {'/'.join(exts)} files in {item}"


def _expand(item: str, exts, out_abs) -> list[tuple[str, str]] | None:
    """Files an input names, each with its path relative to the mirrored base."""
    if remote.is_remote(item):
        return remote.list_files(item, exts)
    path = remote.local(item)
    if remote.is_glob(path):
        base = remote._static_prefix(path) or "."
        files = []
        for match in sorted(glob.glob(path, recursive=True)):
            if os.path.isdir(match):
                files.extend(_walk(match, exts, out_abs))
            elif os.path.isfile(match):
                files.append(match)
        return [(f, os.path.relpath(f, base)) for f in files]
    if os.path.isdir(path):
        return [(f, os.path.relpath(f, path)) for f in _walk(path, exts, out_abs)]
    return None


def _walk(folder: str, exts, out_abs) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and os.path.abspath(os.path.join(root, d)) != out_abs
        )  # fmt: skip
        found.extend(
            os.path.join(root, f)
            for f in sorted(files)
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in exts
        )
    return found


def show(path: str) -> str:
    """A local path under the working folder as a relative path; others unchanged."""
    if remote.is_remote(path) or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _name(path: str) -> str:
    return str(path).rstrip("/").rsplit("/", 1)[-1]


def _join(folder: str, rel: str) -> str:
    if remote.is_remote(folder):
        return folder.rstrip("/") + "/" + Path(rel).as_posix()
    return os.path.abspath(os.path.join(remote.local(folder), rel))


# ---------------------------------------------------------------- the batch


@dataclass(frozen=True)
class BatchSettings:
    """How a batch runs (``INPUT... -o OUTDIR``).

    Parameters
    ----------
    output_dir : str
        Folder (or URL) the outputs mirror the inputs into.
    kind : {"encode", "decode"}
    suffix : str
        Extension of the outputs (``.png``, ``.wav``, ...).
    jobs : int or None
        Files converted at once (``None``: all cores).
    scheduler : str or None
        Dask scheduler address: run the files as tasks there.
    overwrite, fail_fast : bool
        Redo fresh outputs; stop at the first failure.
    manifest : str or None
        ``.csv`` or ``.jsonl`` file recording every file's parameters and result.
    dataset_size : (int, int) or None
        Pixel size of the images, for the ``dataset.json`` of a segmented encode.
    quiet : bool
        No summary line (errors and warnings are still printed).
    """

    output_dir: str
    kind: str
    suffix: str
    jobs: int | None = None
    scheduler: str | None = None
    overwrite: bool = False
    fail_fast: bool = False
    manifest: str | None = None
    dataset_size: tuple[int, int] | None = None
    quiet: bool = False


class _NoBar:
    """Progress that shows nothing (the batch's default)."""

    def __call__(self, done: int, total: int) -> None:
        pass

    def write(self, line: str) -> None:
        print(line, file=sys.stderr)

    def close(self) -> None:
        pass


def run(
    task,
    inputs: list[str],
    settings: BatchSettings,
    *,
    bar=None,
    spell: Callable[[str, tuple[str, ...]], str] | None = None,
    segmented: bool = False,
) -> int:
    """Convert every file ``inputs`` name into ``settings.output_dir``; return the exit status.

    Parameters
    ----------
    task : callable(src, dst) -> dict
        The single-file conversion, picklable (:class:`spec2img.convert.EncodeTask`
        or :class:`~spec2img.convert.DecodeTask`), with ``fresh``, ``with_workers``,
        ``for_batch`` and ``record`` methods.
    inputs : list of str
        Files, folders and globs, local or URLs.
    settings : BatchSettings
    bar : object or None
        Progress: ``bar(done, total)``, ``bar.write(line)`` (a line for the terminal),
        ``bar.close()``; the CLI passes its terminal progress bar.
    spell : callable(text, params) -> str or None
        Rewrites an error's parameter names for the face that prints it (the CLI's
        flags); ``None`` prints them as they are.
    segmented : bool
        The task writes segment series: also write ``dataset.json``.
    """
    exts, suffix = (AUDIO_EXTS if settings.kind == "encode" else IMAGE_EXTS), settings.suffix
    jobs, problems = plan(inputs, settings.output_dir, exts=exts, suffix=suffix)
    if not remote.is_remote(settings.output_dir) and jobs:
        os.makedirs(remote.local(settings.output_dir), exist_ok=True)
    n_workers = settings.jobs or _cores()
    task = task.for_batch(len(jobs))
    if n_workers > 1:
        task = task.with_workers(1)  # one FFT thread per worker: the processes share the cores
    work = functools.partial(process, task=task, overwrite=settings.overwrite)
    if settings.scheduler:
        runner = run_dask(work, jobs, settings.scheduler)
    elif min(n_workers, len(jobs)) <= 1:
        runner = run_serial(work, jobs)
    else:
        runner = run_pool(work, jobs, min(n_workers, len(jobs)))

    bar = _NoBar() if bar is None else bar
    counts = {"converted": 0, "skipped": 0, "failed": 0}
    rows: list[dict] = []
    start = time.monotonic()
    interrupted = False

    def report(result: dict) -> None:
        counts[result["status"]] += 1
        rows.append(result)
        for w in result.get("warnings", []):
            bar.write(f"spec2img: warning: {printable(with_file(result['src'], w))}")
        if result["status"] == "failed":
            reason = printable(result["reason"])
            if spell is not None and result.get("params"):
                reason = spell(reason, tuple(result["params"]))
            bar.write(f"spec2img: error: {reason}")

    for src, reason in problems:
        report({"index": -1, "src": src, "status": "failed", "outputs": [], "warnings": [],
                "reason": reason, "seconds": 0.0})  # fmt: skip
    try:
        if not (problems and settings.fail_fast):
            for i, (_job, result) in enumerate(runner, 1):
                report(result)
                bar(i, len(jobs))
                if result["status"] == "failed" and settings.fail_fast:
                    break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            runner.close()
        bar.close()
    code = 130 if interrupted else (1 if counts["failed"] else 0)
    rows.sort(key=lambda r: (r["index"], r["src"]))
    if settings.manifest:
        write_manifest(settings.manifest, rows, kind=settings.kind, options=task.record())
    if segmented and not interrupted:
        code = max(code, _write_dataset(settings, rows, bar, spell))
    if not settings.quiet or interrupted:
        elapsed = time.monotonic() - start
        done = counts["converted"] + counts["skipped"]
        note = " (interrupted)" if interrupted else ""
        print(
            f"spec2img: {counts['converted']} converted, {counts['skipped']} skipped, "
            f"{counts['failed']} failed in {elapsed:.1f} s "
            f"({done / elapsed if elapsed > 0 else 0:.2f} files/s){note}",
            file=sys.stderr,
        )
    return code


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _write_dataset(settings: BatchSettings, rows: list[dict], bar, spell) -> int:
    from ..io.dataset import write_dataset

    entries = [
        {"image": item["image"], "source": r["src"], "metadata": item["metadata"]}
        for r in rows if r["status"] != "failed" for item in r.get("images", [])
    ]  # fmt: skip
    if not entries:
        return 0
    folder, size = settings.output_dir, settings.dataset_size
    try:
        if remote.is_remote(folder):
            with remote.staged(f"{folder.rstrip('/')}/dataset.json") as (tmp, publish):
                publish([write_dataset(folder, entries, size=size, dst=tmp)])
        else:
            write_dataset(remote.local(folder), entries, size=size)
    except Spec2ImgError as e:
        reason = one_line(e) if spell is None else spell(one_line(e), e.params)
        bar.write(f"spec2img: error: dataset.json not written: {reason}")
        return 1
    return 0


def write_manifest(path: str, rows: list[dict], *, kind: str, options: dict) -> None:
    """Write one record per input: result, outputs, parameters (CSV or JSON lines)."""
    from ..io.atomic import atomic_path

    records = []
    for r in rows:
        params = {}
        images = r.get("images") or []
        if images:
            params.update(images[0]["metadata"])
        params.update(r.get("metadata") or {})
        if r["status"] != "failed":
            params.update(options)
        records.append({
            "input": r["src"], "status": r["status"],
            "outputs": [show(o) for o in r.get("outputs", [])],
            "reason": r.get("reason", ""), "seconds": r.get("seconds", 0.0),
            "warnings": r.get("warnings", []), "params": params,
        })  # fmt: skip
    ext = Path(path).suffix.lower()
    if ext == ".csv":
        keys = []
        for rec in records:
            keys.extend(k for k in rec["params"] if k not in keys)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, ["input", "status", "outputs", "reason", "seconds",
                                      "warnings", *keys], extrasaction="ignore")  # fmt: skip
        writer.writeheader()
        for rec in records:
            row = {k: v for k, v in rec.items() if k != "params"}
            row["outputs"] = ";".join(rec["outputs"])
            row["warnings"] = " | ".join(rec["warnings"])
            row.update({k: _cell(v) for k, v in rec["params"].items()})
            writer.writerow(row)
        text = buf.getvalue()
    else:
        text = "".join(json.dumps(rec) + "\n" for rec in records)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _cell(value):
    return " ".join(map(str, value)) if isinstance(value, list) else value
