"""Whole folders in one command: ``spec2img encode|decode INPUT... -o OUTDIR``.

Inputs are files, folders (walked recursively, hidden files skipped) and globs, local
or fsspec URLs; outputs mirror each input's tree under ``OUTDIR`` with the new
extension.  Every file is converted by the same function the single-file command
uses (:func:`spec2img.cli.main.encode_file` / :func:`~spec2img.cli.main.decode_file`), so every
per-file option applies.  The files run (:mod:`spec2img.batch.runners`)

- in this process (``--jobs 1``), in a pool of worker processes (``--jobs N``, default
  all cores; each worker single-threaded: FFT workers 1, BLAS/OpenMP pools 1), or as
  tasks on a Dask cluster (``--scheduler tcp://HOST:PORT``);
- resumably: an output at least as new as its input is skipped (``--overwrite``);
- independently: a bad file is reported (file and reason) and the rest go on; the exit
  status is 1 at the end (``--fail-fast`` stops at the first);
- safely: outputs are written atomically, and an interrupt (Ctrl-C, SIGTERM) stops the
  workers and removes their temporary files.

This module holds the options, the planning (which input becomes which output) and
the reporting (progress, summary, manifest, ``dataset.json``); it imports nothing heavy
at the top, so that ``spec2img --help`` stays fast.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

from ..cli.argtypes import finite_float, nonneg_float, positive_float, positive_int
from ..errors import Spec2ImgError
from . import remote
from .runners import Job, one_line, process, run_dask, run_pool, run_serial, with_file

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus", ".aif", ".aiff")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
SEGMENT_EXTS = (".png",)
DECODE_FORMATS = ("wav", "flac", "ogg", "opus", "mp3", "aiff")


# ---------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser, kind: str) -> None:
    """Add the batch options (and, for encode, segments and training sets) to ``p``."""
    b = p.add_argument_group("several files (with -o OUTDIR)")
    b.add_argument("-o", "--output-dir", metavar="OUTDIR",
                   help="convert every input into this folder, mirroring folders")  # fmt: skip
    b.add_argument("-j", "--jobs", type=positive_int, default=None, metavar="N",
                   help="files converted at once (default: all cores)")  # fmt: skip
    b.add_argument("-y", "--overwrite", action="store_true",
                   help="replace an existing output file (with -o: redo outputs that are "
                   "already newer than their input)")  # fmt: skip
    b.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    b.add_argument("--manifest", metavar="FILE.csv|.jsonl",
                   help="record each file's parameters and result")  # fmt: skip
    b.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the files as tasks on this Dask cluster (dask://HOST:PORT too)")  # fmt: skip
    if kind == "decode":
        b.add_argument("--format", choices=DECODE_FORMATS, default=None,
                       help="audio format: of the files in OUTDIR (wav), of standard "
                       "output '-' or a FIFO (wav), or instead of the extension")  # fmt: skip
    if kind == "encode":
        s = p.add_argument_group("long recordings and training sets")
        s.add_argument("--segment", type=positive_float, metavar="SECONDS",
                       help="cut into images of this length: OUT_000.png, OUT_001.png, ...")  # fmt: skip
        s.add_argument("--overlap", type=nonneg_float, default=None, metavar="SECONDS",
                       help="seconds shared by consecutive segments (0)")  # fmt: skip
        s.add_argument("--db-range", type=finite_float, nargs=2, metavar=("LOW", "HIGH"),
                       help="fixed dB of pixel 0 and 65535, so levels compare across images "
                       "(with --segment, default: --top-db below full scale)")  # fmt: skip


def check_arguments(args: argparse.Namespace, error: Callable[[str], None]) -> None:
    """Usage checks that argparse cannot express; ``error`` exits with status 2."""
    n = len(args.inputs)
    if args.output_dir is None:
        if n != 2:
            error(f"give INPUT OUTPUT, or INPUT... -o OUTDIR ({n} path(s) and no -o)")
        src = args.inputs[0]
        if not remote.is_remote(src) and (os.path.isdir(src) or _is_glob(src)):
            error(f"{src}: a folder or a glob needs -o OUTDIR")
        for flag in ("manifest", "scheduler"):
            if getattr(args, flag, None):
                error(f"--{flag} needs -o OUTDIR")
    manifest = getattr(args, "manifest", None)
    if manifest and Path(manifest).suffix.lower() not in (".csv", ".jsonl"):
        error(f"--manifest {manifest}: use a .csv or .jsonl file name")
    overlap = getattr(args, "overlap", None)
    if overlap is not None and getattr(args, "segment", None) is None:
        error("--overlap needs --segment")


def _is_glob(path: str) -> bool:
    return remote.has_magic(path) and not os.path.exists(path)


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
    if _is_glob(path):
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


def run(args: argparse.Namespace, fn, kind: str) -> int:
    """Run ``spec2img encode|decode INPUT... -o OUTDIR``; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed command line, as for the single-file command.
    fn : callable(args, src, dst) -> dict
        The single-file conversion (module-level, so that workers can import it).
    kind : {"encode", "decode"}
    """
    from ..cli.progress import ProgressBar

    exts, suffix = (
        (AUDIO_EXTS, ".png") if kind == "encode" else (IMAGE_EXTS, f".{args.format or 'wav'}")
    )
    jobs, problems = plan(args.inputs, args.output_dir, exts=exts, suffix=suffix)
    if not remote.is_remote(args.output_dir) and jobs:
        os.makedirs(remote.local(args.output_dir), exist_ok=True)
    clean = argparse.Namespace(**{k: v for k, v in vars(args).items() if not callable(v)})
    n_workers = args.jobs or _cores()
    if n_workers > 1 and clean.workers is None:
        clean.workers = 1  # one FFT thread per worker: the processes share the cores
    work = functools.partial(process, fn=fn, args=clean, overwrite=args.overwrite)
    if args.scheduler:
        runner = run_dask(work, jobs, args.scheduler)
    elif min(n_workers, len(jobs)) <= 1:
        runner = run_serial(work, jobs)
    else:
        runner = run_pool(work, jobs, min(n_workers, len(jobs)))

    bar = ProgressBar(kind, enabled=None if not args.quiet else False, unit="files")
    counts = {"converted": 0, "skipped": 0, "failed": 0}
    rows: list[dict] = []
    start = time.monotonic()
    interrupted = False

    def report(result: dict) -> None:
        counts[result["status"]] += 1
        rows.append(result)
        for w in result.get("warnings", []):
            bar.write(f"spec2img: warning: {with_file(result['src'], w)}")
        if result["status"] == "failed":
            bar.write(f"spec2img: error: {result['reason']}")

    for src, reason in problems:
        report({"index": -1, "src": src, "status": "failed", "outputs": [], "warnings": [],
                "reason": reason, "seconds": 0.0})  # fmt: skip
    try:
        if not (problems and args.fail_fast):
            for i, (_job, result) in enumerate(runner, 1):
                report(result)
                bar(i, len(jobs))
                if result["status"] == "failed" and args.fail_fast:
                    break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            runner.close()
        bar.close()
    code = 130 if interrupted else (1 if counts["failed"] else 0)
    rows.sort(key=lambda r: (r["index"], r["src"]))
    if args.manifest:
        write_manifest(args.manifest, rows, kind=kind, options=_options(clean, kind))
    if kind == "encode" and getattr(args, "segment", None) and not interrupted:
        code = max(code, _write_dataset(args, rows, bar))
    if not args.quiet or interrupted:
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


def _options(args, kind: str) -> dict:
    """Per-run options worth recording next to each file's metadata."""
    names = (
        ("n_iter", "seed", "method", "momentum", "subtype", "normalize")
        if kind == "decode"
        else ("segment", "overlap", "db_range", "size", "sr", "mono")
    )
    out = {}
    for name in names:
        value = getattr(args, name, None)
        if value is not None and value is not False:
            out[name] = list(value) if isinstance(value, tuple | list) else value
    return out


def _write_dataset(args, rows: list[dict], bar) -> int:
    from .dataset import write_dataset

    entries = [
        {"image": item["image"], "source": r["src"], "metadata": item["metadata"]}
        for r in rows if r["status"] != "failed" for item in r.get("images", [])
    ]  # fmt: skip
    if not entries:
        return 0
    folder = args.output_dir
    try:
        if remote.is_remote(folder):
            with remote.staged(f"{folder.rstrip('/')}/dataset.json") as (tmp, publish):
                publish([write_dataset(folder, entries, size=args.size, dst=tmp)])
        else:
            write_dataset(remote.local(folder), entries, size=args.size)
    except Spec2ImgError as e:
        bar.write(f"spec2img: error: dataset.json not written: {one_line(e)}")
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
