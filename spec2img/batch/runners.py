"""Where the files of a batch run: this process, a pool of processes, a Dask cluster.

Each runner takes ``work(job) -> result`` (:func:`process` bound to a single-file
task from :mod:`spec2img.convert`) and the jobs, and yields ``(job, result)`` as files finish.  Closing a
runner early (fail-fast, Ctrl-C, SIGTERM) stops its workers and removes the temporary
files they were writing; a bad file is a result, never an exception.

Like :mod:`spec2img.batch.folders`, this imports nothing heavy at the top, so that worker
processes start quickly.
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Spec2ImgError, one_line, printable
from . import remote

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


_IS_WORKER = False
_IN_TASK = False


def process(job: Job, *, task, overwrite: bool) -> dict:
    """Convert one file with ``task(src, dst)``; never raises for a bad file.

    Parameters
    ----------
    job : Job
    task : callable(src, dst) -> dict
        The single-file conversion (picklable, for worker processes), returning at least
        ``outputs`` (paths written) and maybe ``images``; ``task.fresh(src, dst)``, if
        the task has it, returns the same for outputs that need no redoing, or ``None``.
    overwrite : bool
        Convert even where ``task.fresh`` says the outputs are up to date.

    Returns
    -------
    dict
        ``status`` ('converted', 'skipped' or 'failed'), ``src``, ``outputs`` (list),
        ``images`` (output image metadata, encode), ``reason`` (failed), ``params``
        (the parameter names the reason mentions), ``warnings``, ``seconds``.
    """
    global _IN_TASK
    start = time.monotonic()
    result = {"index": job.index, "src": job.label or job.src, "outputs": [], "warnings": []}
    fresh = None if overwrite else getattr(task, "fresh", None)
    _IN_TASK = True
    try:
        with _single_threaded(), warnings.catch_warnings(record=True) as caught:
            done = None if fresh is None else fresh(job.src, job.dst)
            if done is not None:
                result.update(status="skipped", **done)
            else:
                with remote.fetched(job.src) as src, remote.staged(job.dst) as (dst, publish):
                    out = task(src, dst)
                    out["outputs"] = publish(out["outputs"])
                    for item, url in zip(out.get("images", []), out["outputs"], strict=False):
                        item["image"] = url
                result.update(status="converted", **out)
        result["warnings"] = [one_line(w.message) for w in caught]
    except Spec2ImgError as e:
        result.update(status="failed", reason=with_file(job.src, e), params=list(e.params))
    except MemoryError:
        result.update(status="failed", reason=f"{job.src}: out of memory")
    except KeyboardInterrupt:
        if _IS_WORKER:  # stopped by the main process; temporary files are gone
            os._exit(143)
        raise
    except Exception as e:  # a bug: report it with the file, keep going
        result.update(
            status="failed",
            reason=f"{job.src}: internal error ({type(e).__name__}: {one_line(e)})",
        )
    finally:
        _IN_TASK = False
    result.pop("message", None)
    if "reason" in result and job.label:
        result["reason"] = result["reason"].replace(job.src, job.label)
    result["seconds"] = round(time.monotonic() - start, 3)
    return result


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


def with_file(path: str, e: BaseException) -> str:
    """``e`` as one printable line that starts with the file's name."""
    msg = one_line(e)
    name = printable(str(path))
    if msg.startswith(name) or msg.startswith(printable(os.path.basename(str(path))) + ":"):
        return msg
    return f"{name}: {msg}"


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
        raise InputError(f"cannot reach the Dask scheduler at {address}: {one_line(e)}") from None
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
                result = _failed(job, f"Dask task failed ({type(e).__name__}: {one_line(e)})")
            yield job, result
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()


def _failed(job: Job, reason: str) -> dict:
    label = job.label or job.src
    return {"index": job.index, "src": label, "status": "failed", "outputs": [],
            "warnings": [], "reason": f"{label}: {reason}", "seconds": 0.0}  # fmt: skip
