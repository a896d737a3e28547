"""Mutation fuzzer for spec2img's input paths.

    python fuzz/fuzz.py --n 20000            # 20,000 mutated inputs, 2 workers
    python fuzz/fuzz.py --n 500 --targets load,decode --seed 7
    python fuzz/fuzz.py --replay fuzz/corpus/*.png --targets load
    python fuzz/fuzz.py --n 20000 --save fuzz/failures   # keep minimised failing inputs

Each case is a seed from :mod:`seeds` with one to four mutations from :mod:`mutators`,
run against one entry point of :mod:`targets` in a worker process that has a memory
cap (``RLIMIT_AS``) and a deadline (the worker is killed and replaced when it is late).
Case ``i`` of seed ``s`` is the same input on every run, so a summary line such as
``case 1234`` can be replayed with ``--case 1234``.  The summary lists inputs tried,
outcomes by kind, the slowest case and every failure; the exit code is 1 if any case
failed (an exception other than a Spec2ImgError, a message that does not name the
file, a leftover output, a broken invariant, a timeout or a crash).
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import random
import re
import sys
import tempfile
import time
from multiprocessing.connection import wait
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one thread per worker: the pool is the parallelism

import mutators  # noqa: E402
import seeds as seedlib  # noqa: E402
import targets as targetlib  # noqa: E402

#: Share of cases that run an unmutated seed (they must all be "ok").
CLEAN_SHARE = 0.02


def make_case(seeds, target_names, base_seed: int, i: int):
    """Case ``i``: ``(target name, seed, input bytes, description)``, deterministic."""
    rng = random.Random(f"{base_seed}:{i}")
    table = [targetlib.TARGETS[n] for n in target_names]
    target = rng.choices(table, [t.weight for t in table])[0]
    seed = rng.choice([s for s in seeds if s.kind in target.kinds])
    if rng.random() < CLEAN_SHARE:
        return target.name, seed, seed.data, "unmutated"
    data, desc = mutators.mutate(seed.data, seed.kind, rng)
    return target.name, seed, data, desc


# ---- workers ----------------------------------------------------------------------


def _worker(conn, seeds, target_names, base_seed, workdir, mem_mb):
    import resource

    if mem_mb:
        cap = mem_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import warnings

    warnings.simplefilter("ignore")  # a warning is a legal outcome; only exceptions count
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # libraries' own chatter (libmpg123 on junk) would drown the summary
    while True:
        msg = conn.recv()
        if msg is None:
            return
        if msg[0] == "case":
            name, seed, data, _ = make_case(seeds, target_names, base_seed, msg[1])
            suffix = seed.suffix
        else:  # ("data", target name, suffix, bytes)
            _, name, suffix, data = msg
        outcome = targetlib.run_case(targetlib.TARGETS[name], data, suffix, workdir)
        conn.send((outcome.kind, outcome.detail, outcome.seconds))


class Pool:
    """Worker processes with a deadline per task and a memory cap each."""

    def __init__(self, jobs, seeds, target_names, base_seed, timeout, mem_mb, tmp):
        self.ctx = mp.get_context("fork")
        self.args = (seeds, target_names, base_seed)
        self.timeout, self.mem_mb, self.tmp = timeout, mem_mb, Path(tmp)
        self.workers = [self._start(k) for k in range(jobs)]

    def _start(self, k):
        parent, child = self.ctx.Pipe()
        workdir = self.tmp / f"w{k}"
        proc = self.ctx.Process(
            target=_worker, args=(child, *self.args, workdir, self.mem_mb), daemon=True
        )
        proc.start()
        child.close()
        return {"k": k, "proc": proc, "conn": parent, "task": None, "start": 0.0}

    def _restart(self, w):
        w["proc"].kill()
        w["proc"].join()
        w["conn"].close()
        self.workers[w["k"]] = self._start(w["k"])

    def run(self, tasks):
        """Yield ``(task, Outcome)`` for each task, in completion order."""
        tasks = iter(tasks)
        pending = True
        while True:
            for w in self.workers:
                if w["task"] is None and pending:
                    task = next(tasks, None)
                    if task is None:
                        pending = False
                        break
                    w["task"], w["start"] = task, time.monotonic()
                    w["conn"].send(task[1])
            busy = [w for w in self.workers if w["task"] is not None]
            if not busy:
                return
            now = time.monotonic()
            left = min(w["start"] + self.timeout - now for w in busy)
            ready = wait([w["conn"] for w in busy], timeout=max(0.0, left))
            now = time.monotonic()
            for w in busy:
                outcome = None
                if w["conn"] in ready:
                    try:
                        outcome = targetlib.Outcome(*w["conn"].recv())
                    except (EOFError, ConnectionError):
                        w["proc"].join()
                        code = w["proc"].exitcode
                        outcome = targetlib.Outcome("crash", f"worker exit code {code}",
                                                    now - w["start"])  # fmt: skip
                        self._restart(w)
                elif now - w["start"] > self.timeout:
                    outcome = targetlib.Outcome("timeout", f"over {self.timeout:g} s",
                                                now - w["start"])  # fmt: skip
                    self._restart(w)
                if outcome is not None:
                    task = w["task"]
                    self.workers[w["k"]]["task"] = None  # w itself, unless restarted
                    yield task, outcome

    def close(self):
        for w in self.workers:
            try:
                w["conn"].send(None)
            except (BrokenPipeError, OSError):
                pass
            w["proc"].join(timeout=5)
            if w["proc"].is_alive():
                w["proc"].kill()


# ---- minimising -------------------------------------------------------------------


def minimise(pool, target: str, suffix: str, data: bytes, kind: str, budget: int = 400) -> bytes:
    """A smaller input that fails the same way: whole PNG chunks first, then byte spans."""
    import pngbytes

    tries = 0

    def same(candidate: bytes) -> bool:
        nonlocal tries
        tries += 1
        ((_, outcome),) = list(pool.run([(None, ("data", target, suffix, candidate))]))
        return outcome.kind == kind

    chunks = pngbytes.split(data)
    if chunks:
        i = 1
        while i < len(chunks) and tries < budget:
            smaller = chunks[:i] + chunks[i + 1 :]
            if same(pngbytes.join(smaller, fix_crc=False)):
                chunks = smaller
            else:
                i += 1
        data = pngbytes.join(chunks, fix_crc=False)
    span = len(data) // 2
    while span >= 1 and tries < budget:
        i, shrunk = 0, False
        while i < len(data) and tries < budget:
            candidate = data[:i] + data[i + span :]
            if candidate and same(candidate):
                data, shrunk = candidate, True
            else:
                i += span
        if not shrunk:
            span //= 2
    return data


# ---- main -------------------------------------------------------------------------


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="mutated inputs to try (1000)")
    p.add_argument("--seed", type=int, default=0, help="base seed of the cases (0)")
    p.add_argument("--start", type=int, default=0, help="first case number (0)")
    p.add_argument("--case", type=int, action="append", help="run only this case (repeatable)")
    p.add_argument("--targets", default=",".join(targetlib.TARGETS),
                   help="comma-separated entry points (all)")  # fmt: skip
    p.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1), help="workers")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per case (20)")
    p.add_argument("--mem-mb", type=int, default=3072, help="address-space cap per worker (3072)")
    p.add_argument("--save", type=Path, help="write minimised failing inputs to this folder")
    p.add_argument("--replay", type=Path, nargs="+", help="run these files instead of mutations")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _parse(argv)
    names = [n for n in args.targets.split(",") if n]
    unknown = [n for n in names if n not in targetlib.TARGETS]
    if unknown:
        print(f"unknown targets {unknown}; known: {sorted(targetlib.TARGETS)}", file=sys.stderr)
        return 2
    seeds = seedlib.make_seeds()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="spec2img-fuzz-") as tmp:
        pool = Pool(args.jobs, seeds, names, args.seed, args.timeout, args.mem_mb, tmp)
        try:
            if args.replay:
                tasks = [((str(f), n, f.suffix), ("data", n, f.suffix, f.read_bytes()))
                         for f in args.replay for n in names]  # fmt: skip
            else:
                cases = args.case or range(args.start, args.start + args.n)
                tasks = [(i, ("case", i)) for i in cases]
            results = _collect(pool, tasks, quiet=args.quiet)
            failures = [(task, o) for task, o in results if o.failed]
            _summary(args, results, failures, time.monotonic() - started, seeds, names)
            if failures and args.save and not args.replay:
                _save(pool, args, failures, seeds, names)
        finally:
            pool.close()
    return 1 if failures else 0


def _collect(pool, tasks, *, quiet):
    results, last = [], 0.0
    for task, outcome in pool.run(tasks):
        results.append((task[0], outcome))
        now = time.monotonic()
        if not quiet and now - last > 5:
            bad = sum(o.failed for _, o in results)
            print(f"\r{len(results)}/{len(tasks)} cases, {bad} failures", end="", file=sys.stderr)
            last = now
    if not quiet:
        print(file=sys.stderr)
    return results


def _describe(task, seeds, names, base_seed):
    if isinstance(task, int):
        target, seed, data, desc = make_case(seeds, names, base_seed, task)
        return f"case {task}: {target} on {seed.name} ({len(data)} bytes): {desc}"
    return f"{task[1]} on {task[0]}"


def _summary(args, results, failures, elapsed, seeds, names):
    kinds = collections.Counter(o.kind for _, o in results)
    print(f"inputs tried: {len(results)} in {elapsed:.0f} s ({args.jobs} workers, "
          f"targets {', '.join(names)}, seed {args.seed})")  # fmt: skip
    print("outcomes by type:")
    for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {kind:<28} {n}")
    if results:
        task, slow = max(results, key=lambda r: r[1].seconds)
        print(f"slowest case: {slow.seconds:.2f} s, {slow.kind}, "
              f"{_describe(task, seeds, names, args.seed)}")  # fmt: skip
    print(f"escapes and other failures: {len(failures)}")
    for task, o in failures[:50]:
        print(f"  {o.kind}: {o.detail[:300]}\n    {_describe(task, seeds, names, args.seed)[:400]}")


def _save(pool, args, failures, seeds, names):
    args.save.mkdir(parents=True, exist_ok=True)
    seen = set()
    for task, o in failures:
        target, seed, data, _ = make_case(seeds, names, args.seed, task)
        what = (target, o.kind, re.sub(r"\d+", "N", o.detail)[:40])
        if what in seen:  # one example of each failure is enough
            continue
        seen.add(what)
        small = minimise(pool, target, seed.suffix, data, o.kind)
        name = f"{target}-{o.kind.replace(':', '-')}-case{task}{seed.suffix}"
        (args.save / name).write_bytes(small)
        print(f"saved {args.save / name} ({len(small)} of {len(data)} bytes)")


if __name__ == "__main__":
    sys.exit(main())
