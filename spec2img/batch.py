"""Whole folders in one command: ``spec2img encode|decode INPUT... -o OUTDIR``.

Inputs are files, folders (walked recursively, hidden files skipped) and globs, local
or fsspec URLs; outputs mirror each input's tree under ``OUTDIR`` with the new
extension.  Every file is converted by the same function the single-file command
uses (:func:`spec2img.cli.encode_file` / :func:`~spec2img.cli.decode_file`), so every
per-file option applies.  The files run

- in this process (``--jobs 1``), in a pool of worker processes (``--jobs N``, default
  all cores; each worker single-threaded: FFT workers 1, BLAS/OpenMP pools 1), or as
  tasks on a Dask cluster (``--scheduler tcp://HOST:PORT``);
- resumably: an output at least as new as its input is skipped (``--overwrite``);
- independently: a bad file is reported (file and reason) and the rest go on; the exit
  status is 1 at the end (``--fail-fast`` stops at the first);
- safely: outputs are written atomically, and an interrupt (Ctrl-C, SIGTERM) stops the
  workers and removes their temporary files.

This module imports nothing heavy at the top, so that the parser stays fast and
worker processes start quickly.
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
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import remote
from .errors import InputError, ParameterError, Spec2ImgError

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus", ".aif", ".aiff")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
SEGMENT_EXTS = (".png",)
DECODE_FORMATS = ("wav", "flac", "ogg")
#: Environment of worker processes: one thread for every numeric library.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip
#: Seconds to wait for workers to clean up after SIGTERM before killing them.
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Job:
    """One input file and the output it becomes (URLs or absolute local paths).

    ``label`` is the input as the user named it, for messages and the manifest.
    """

    index: int
    src: str
    dst: str
    label: str = ""


# ---------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser, kind: str) -> None:
    """Add the batch options (and, for encode, segments and training sets) to ``p``."""
    b = p.add_argument_group("several files (with -o OUTDIR)")
    b.add_argument("-o", "--output-dir", metavar="OUTDIR",
                   help="convert every input into this folder, mirroring folders")  # fmt: skip
    b.add_argument("-j", "--jobs", type=_positive_int, default=None, metavar="N",
                   help="files converted at once (default: all cores)")  # fmt: skip
    b.add_argument("--overwrite", action="store_true",
                   help="redo outputs that are already newer than their input")  # fmt: skip
    b.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    b.add_argument("--manifest", metavar="FILE.csv|.jsonl",
                   help="record each file's parameters and result")  # fmt: skip
    b.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the files as tasks on this Dask cluster (dask://HOST:PORT too)")  # fmt: skip
    if kind == "decode":
        b.add_argument("--format", choices=DECODE_FORMATS, default="wav",
                       help="output extension in a folder (wav)")  # fmt: skip
    if kind == "encode":
        s = p.add_argument_group("long recordings and training sets")
        s.add_argument("--segment", type=_positive_float, metavar="SECONDS",
                       help="cut into images of this length: OUT_000.png, OUT_001.png, ...")  # fmt: skip
        s.add_argument("--overlap", type=_nonneg_float, default=None, metavar="SECONDS",
                       help="seconds shared by consecutive segments (0)")  # fmt: skip
        s.add_argument("--db-range", type=_finite_float, nargs=2, metavar=("LOW", "HIGH"),
                       help="fixed dB of pixel 0 and 65535, so levels compare across images "
                       "(with --segment, default: --top-db below full scale)")  # fmt: skip
        s.add_argument("--size", type=_size, metavar="WxH",
                       help="resize every image to W x H pixels (training sets)")  # fmt: skip


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _nonneg_float(text: str) -> float:
    value = _finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    from .dataset import parse_size

    try:
        return parse_size(text)
    except ParameterError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# ---------------------------------------------------------------- planning


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


# ---------------------------------------------------------------- one file


_IS_WORKER = False
_IN_TASK = False


def process(job: Job, *, fn, args: argparse.Namespace, overwrite: bool) -> dict:
    """Convert one file with ``fn(args, src, dst)``; never raises for a bad file.

    Returns
    -------
    dict
        ``status`` ('converted', 'skipped' or 'failed'), ``src``, ``outputs`` (list),
        ``images`` (output image metadata, encode), ``reason`` (failed), ``warnings``,
        ``seconds``.
    """
    global _IN_TASK
    start = time.monotonic()
    result = {"index": job.index, "src": job.label or job.src, "outputs": [], "warnings": []}
    _IN_TASK = True
    try:
        with _single_threaded(), warnings.catch_warnings(record=True) as caught:
            done = None if overwrite else fresh_outputs(job, args)
            if done is not None:
                result.update(status="skipped", **done)
            else:
                with remote.fetched(job.src) as src, remote.staged(job.dst) as (dst, publish):
                    out = fn(args, src, dst)
                    out["outputs"] = publish(out["outputs"])
                    for item, url in zip(out.get("images", []), out["outputs"], strict=False):
                        item["image"] = url
                result.update(status="converted", **out)
        result["warnings"] = [_one_line(w.message) for w in caught]
    except Spec2ImgError as e:
        result.update(status="failed", reason=_in(job.src, e))
    except MemoryError:
        result.update(status="failed", reason=f"{job.src}: out of memory")
    except KeyboardInterrupt:
        if _IS_WORKER:  # stopped by the main process; temporary files are gone
            os._exit(143)
        raise
    except Exception as e:  # a bug: report it with the file, keep going
        result.update(
            status="failed",
            reason=f"{job.src}: internal error ({type(e).__name__}: {_one_line(e)})",
        )
    finally:
        _IN_TASK = False
    result.pop("message", None)
    if "reason" in result and job.label:
        result["reason"] = result["reason"].replace(job.src, job.label)
    result["seconds"] = round(time.monotonic() - start, 3)
    return result


def fresh_outputs(job: Job, args) -> dict | None:
    """The outputs of ``job`` if they all exist and are at least as new as its input."""
    src_time = remote.mtime(job.src)
    if src_time is None:
        return None  # the conversion reports the missing input
    if getattr(args, "segment", None):
        return _fresh_segments(job, src_time)
    t = remote.mtime(job.dst)
    if t is None or t < src_time:
        return None
    out = {"outputs": [job.dst]}
    if job.dst.lower().endswith(".png"):
        meta = _read_meta(job.dst)
        out["images"] = [{"image": job.dst, "metadata": meta}] if meta else []
    return out


def _fresh_segments(job: Job, src_time: float) -> dict | None:
    from .segments import segment_info, segment_path

    for width in range(3, 8):
        first = segment_path(job.dst, 0, 10 ** (width - 1) + 1)
        first = remote.sibling(job.dst, first.name)
        if remote.mtime(first) is not None:
            break
    else:
        return None
    images = []
    meta = _read_meta(first, parsed=True)
    info = segment_info(meta) if meta is not None else None
    if info is None:
        return None
    for k in range(info.count):
        path = remote.sibling(job.dst, segment_path(job.dst, k, info.count).name)
        t = remote.mtime(path)
        if t is None or t < src_time:
            return None
        m = meta if k == 0 else _read_meta(path, parsed=True)
        if m is None or m.extra.get("segment_count") != str(info.count):
            return None
        images.append({"image": path, "metadata": m.to_dict()})
    return {"outputs": [i["image"] for i in images], "images": images}


def _read_meta(path: str, *, parsed: bool = False):
    from .segments import read_meta

    try:
        with remote.open_binary(path) as f:
            meta, _ = read_meta(f)
    except (Spec2ImgError, OSError):
        return None
    return meta if parsed else meta.to_dict()


@contextlib.contextmanager
def _single_threaded():
    """Limit BLAS/OpenMP pools to one thread (threadpoolctl, where installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def _init_worker(pids) -> None:
    """Start of a worker process: one thread each, signals for a clean stop."""
    global _IS_WORKER
    _IS_WORKER = True
    for name in THREAD_ENV:
        os.environ[name] = "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides
    signal.signal(signal.SIGTERM, _worker_terminated)
    pids.put(os.getpid())


def _worker_terminated(signum, frame):
    if _IN_TASK:
        raise KeyboardInterrupt  # unwind: atomic writes remove their temporary files
    os._exit(143)


def _in(path: str, e: BaseException) -> str:
    msg = _one_line(e)
    name = str(path)
    if msg.startswith(name) or msg.startswith(os.path.basename(name) + ":"):
        return msg
    return f"{name}: {msg}"


def _one_line(e) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


# ---------------------------------------------------------------- runners


def run_serial(work, jobs: list[Job]) -> Iterator[tuple[Job, dict]]:
    """Convert the files one after another in this process."""
    for job in jobs:
        yield job, work(job)


def run_pool(work, jobs: list[Job], n_workers: int) -> Iterator[tuple[Job, dict]]:
    """Convert the files in a pool of ``n_workers`` single-threaded processes.

    A worker that dies (killed, out of memory) breaks the pool and every file in
    flight with it.  Those files are then retried one at a time in a new pool, so the
    file that kills its worker alone is reported as failed and the others go on.
    Closing the generator early (fail-fast, Ctrl-C) stops the workers and removes
    their temporary files.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor

    ctx = mp.get_context("spawn")  # fresh interpreters: no inherited threads or locks
    queue = list(jobs)
    suspects: list[Job] = []  # in flight when a worker died: retried alone
    window = 2 * n_workers
    while queue or suspects:
        pids = ctx.SimpleQueue()
        pool = ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(pids,))  # fmt: skip
        running: dict = {}  # future -> (job, alone)
        broken = False
        try:
            while True:
                if not broken and suspects and not running:
                    job = suspects.pop(0)
                    running[pool.submit(work, job)] = (job, True)
                while not broken and not suspects and queue and len(running) < window:
                    job = queue.pop(0)
                    running[pool.submit(work, job)] = (job, False)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: running[f][0].index):
                    job, alone = running.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if not alone:
                            suspects.append(job)
                            continue
                        result = _failed(job, "worker process died (killed or out of memory)")
                    yield job, result
            suspects.sort(key=lambda j: j.index)
        finally:
            _stop_pool(pool, pids, [job for job, _ in running.values()])


def _stop_pool(pool, pids, in_flight: list[Job]) -> None:
    """Stop a pool now: cancel queued files, stop running ones, remove their temp files."""
    with _signals_deferred():
        _stop_pool_now(pool, pids, in_flight)


@contextlib.contextmanager
def _signals_deferred():
    """Ignore Ctrl-C and SIGTERM while cleaning up (in the main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def _stop_pool_now(pool, pids, in_flight: list[Job]) -> None:
    if in_flight:
        started = []
        while not pids.empty():
            started.append(pids.get())
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for pid in started:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    pool.shutdown(wait=True, cancel_futures=True)
    for job in in_flight:
        remove_temporaries(job.dst)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (an exited child waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # leave reaping to multiprocessing; a zombie ("Z") has finished
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def remove_temporaries(dst: str) -> list[str]:
    """Remove temporary files left for ``dst`` (or its segments) by a stopped worker."""
    if remote.is_remote(dst):
        return []
    path = Path(dst)
    removed = []
    if path.parent.is_dir():
        for tmp in path.parent.glob(f".{glob.escape(path.stem)}*.part"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(str(tmp))
    return removed


_MALLOC_RESTORED = False
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters


def _restore_malloc() -> None:
    """Undo Dask's tiny ``MALLOC_TRIM_THRESHOLD_`` in this worker process (glibc only).

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which turns off
    glibc's adaptive mmap threshold: every array above 128 KiB is then mapped afresh and
    page-faulted on each use, and numpy's temporaries run 10-20 times slower (measured
    on the benchmark's decode).  The thresholds are set back to what glibc would adapt
    to; memory is still returned to the system, only less eagerly.
    """
    global _MALLOC_RESTORED
    if _MALLOC_RESTORED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC_RESTORED = True
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)  # glibc's own upper bound
        libc.mallopt(_M_TRIM_THRESHOLD, 64 * 2**20)
    except (OSError, AttributeError):
        pass


def _dask_task(work, job: Job) -> dict:
    _restore_malloc()
    return work(job)


def scheduler_address(text: str) -> str:
    """``dask://host:port`` -> ``tcp://host:port``; other addresses pass through."""
    return "tcp://" + text[len("dask://") :] if text.startswith("dask://") else text


def run_dask(work, jobs: list[Job], address: str) -> Iterator[tuple[Job, dict]]:
    """Submit one task per file to a Dask distributed scheduler and yield as they finish."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError(
            "--scheduler needs dask.distributed: pip install 'spec2img[dask]'"
        ) from None
    try:
        client = Client(scheduler_address(address), set_as_default=False, timeout=30)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"cannot reach the Dask scheduler at {address}: {_one_line(e)}") from None
    token = f"{os.getpid()}-{time.time_ns()}"
    futures = {}
    try:
        for job in jobs:
            fut = client.submit(_dask_task, work, job, key=f"spec2img-{token}-{job.index}",
                                pure=False)  # fmt: skip
            futures[fut] = job
        for fut in as_completed(list(futures), loop=client.loop):
            job = futures.pop(fut)
            try:
                result = fut.result()
            except Exception as e:  # the task died with its worker, or was lost
                result = _failed(job, f"Dask task failed ({type(e).__name__}: {_one_line(e)})")
            yield job, result
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()


def _failed(job: Job, reason: str) -> dict:
    label = job.label or job.src
    return {"index": job.index, "src": label, "status": "failed", "outputs": [],
            "warnings": [], "reason": f"{label}: {reason}", "seconds": 0.0}  # fmt: skip


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
    from .progress import ProgressBar

    exts, suffix = (AUDIO_EXTS, ".png") if kind == "encode" else (IMAGE_EXTS, f".{args.format}")
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
            bar.write(f"spec2img: warning: {_in(result['src'], w)}")
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
        bar.write(f"spec2img: error: dataset.json not written: {_one_line(e)}")
        return 1
    return 0


def write_manifest(path: str, rows: list[dict], *, kind: str, options: dict) -> None:
    """Write one record per input: result, outputs, parameters (CSV or JSON lines)."""
    from .atomic import atomic_path

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
