"""The one-liner across material: 5-s mono 22.05 kHz clips decoded by ``spec2img decode``
against the librosa one-liner, whole processes, side by side (issue 24).

Run from the repository root::

    python bench/oneliner.py                  # every clip, 5 interleaved runs each, the machine as found
    python bench/oneliner.py --busy 1         # the same with a busy loop on one core
    python bench/oneliner.py --pin 0          # both commands pinned to core 0
    python bench/oneliner.py --runs 7 --clips vibe,noise
    python bench/oneliner.py --baseline ../main   # also an older checkout's decode, in turn

Clips: the tune set (Vibe Ace, solo trumpet, LibriSpeech 198-209-0000, robin), the
judge set (Sugar Plum, sweet waltz, Lets Go Fishin, LibriSpeech 3436-172162-0000,
pibble), excerpts of ``../shared/corpus`` resampled to 22.05 kHz mono (skipped, and
said so, when absent), and three made here: white noise, a mostly silent clip (three
short decaying bursts) and clicks.  Each is encoded with ``spec2img encode`` (the
defaults: a 16-bit linear image), then ``spec2img decode`` and the librosa one-liner
(load, ``stft``, ``griffinlim(n_iter=32)``, write) take turns ``--runs`` times.  Both
wall time and CPU time (user + system of the process, what a busy machine distorts
least) are reported, as medians, with their ratios; SC is the spectral convergence
(n_fft 2048, hop 512) of each output against the clip, in dB.  The package's bytecode
is compiled first, as ``pip install`` would.  ``--baseline DIR`` adds a third command
taking turns with the other two: the decode of the checkout in ``DIR`` (its package
first on ``PYTHONPATH``), so that a change is measured before and after in one run.  The report is printed and written to
``bench/results/oneliner-<condition>.md``.

``--stages`` measures inside a process instead, where a whole process's CPU time is
too coarse for a change of a few percent: per clip, the CPU time of PGHI, of the
iterations and of the whole ``spec2img.decode`` (the start excluded), fastest of
``--runs``; with ``--baseline DIR`` the same runs in a process that imports ``DIR``'s
package, the two taking turns clip by clip.  Written to
``bench/results/oneliner-stages.md``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: The package measured: this checkout's, or (``--stages`` with ``--baseline``) another's
PKG = Path(os.environ.get("ONELINER_PACKAGE", ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(PKG))

from fast import CORPUS, LIBROSA_ONE_LINER, compile_sources, load_avg, read, sc_db  # noqa: E402

import spec2img  # noqa: E402

SR = 22050
SECONDS = 5
PY = sys.executable
#: name: (set, corpus file, start in seconds)
CLIPS = {
    "vibe": ("tune", "Kevin_MacLeod_-_Vibe_Ace.ogg", 30),
    "trumpet": ("tune", "sorohanro_-_solo-trumpet-06.ogg", 2),
    "speech 198": ("tune", "198-209-0000.ogg", 2),
    "robin": ("tune", "456440__inspectorj__bird-whistling-robin-single-13.ogg", 0),
    "sugar plum": (
        "judge",
        "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg",
        30,
    ),
    "sweet waltz": ("judge", "147793__setuniman__sweet-waltz-0i-22mi.ogg", 30),
    "lets go fishin": ("judge", "Karissa_Hobbs_-_Lets_Go_Fishin.ogg", 30),
    "speech 3436": ("judge", "3436-172162-0000.ogg", 2),
    "pibble": ("judge", "pibble.ogg", 5),
    "white noise": ("made", None, 0),
    "mostly silent": ("made", None, 0),
    "clicks": ("made", None, 0),
}


def made(name: str) -> np.ndarray:
    """The clips made here, deterministic."""
    n = SECONDS * SR
    rng = np.random.default_rng(7)
    if name == "white noise":
        return (0.1 * rng.standard_normal(n)).astype(np.float32)
    if name == "clicks":
        y = np.zeros(n, np.float32)
        y[:: SR // 4] = 0.9
        return y
    y = np.zeros(n, np.float32)  # mostly silent: three 0.25-s decaying bursts
    t = np.arange(SR // 4) / SR
    env = np.exp(-t / 0.05)
    for at in (0.5, 2.0, 3.7):
        i = int(at * SR)
        y[i : i + t.size] += 0.3 * env * np.sin(2 * np.pi * 440 * t)
        y[i : i + t.size] += 0.2 * env * rng.standard_normal(t.size)
    return y


def clip(name: str) -> np.ndarray | None:
    """The 5-s mono 22.05 kHz excerpt (zero-padded if the recording is shorter)."""
    _, file, start = CLIPS[name]
    if file is None:
        return made(name)
    if not (CORPUS / file).exists():
        return None
    y, _ = spec2img.load_audio(CORPUS / file, sr=SR, mono=True)
    y = np.asarray(y, np.float32).reshape(-1)
    n = SECONDS * SR
    seg = y[start * SR : start * SR + n]
    if seg.size < n:
        seg = y[:n]
    return np.pad(seg, (0, n - seg.size))


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """Wall and CPU time (user + system) of a whole process (in ``cwd``: ``python -m``
    imports the package found there first)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                         cwd=cwd)  # fmt: skip
    _, status, usage = os.wait4(p.pid, 0)
    if status:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime


def _spin() -> None:  # pragma: no cover - a busy loop in its own process
    while True:
        pass


def stage_times(png: Path, runs: int) -> dict[str, float]:
    """CPU ms of PGHI, of the iterations and of the whole in-process decode of ``png``,
    each the fastest of ``runs`` (after one decode that warms up)."""
    from spec2img.options import DEFAULT_METHOD
    from spec2img.phase import methods, pghi

    spent: dict[str, float] = {}
    real_pghi = pghi.pghi_phase
    default = methods.METHODS[DEFAULT_METHOD]
    real_step = default.step

    def timed_call(name, fn):
        def call(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - t

        return call

    pghi.pghi_phase = timed_call("pghi", real_pghi)
    object.__setattr__(default, "step", timed_call("iterations", real_step))
    try:
        image = spec2img.load_image(png)
        spec2img.decode(image)
        best: dict[str, float] = {}
        for _ in range(runs):
            spent.clear()
            t = time.process_time()
            spec2img.decode(image)
            spent["decode"] = time.process_time() - t
            for k, v in spent.items():
                best[k] = min(best.get(k, v), v)
    finally:
        pghi.pghi_phase = real_pghi
        object.__setattr__(default, "step", real_step)
    return {k: 1e3 * v for k, v in best.items()}


def stages(names: list[str], runs: int, baseline: Path | None) -> list[str]:
    """The ``--stages`` report's lines."""
    import json

    lines = [
        f"In-process CPU ms, fastest of {runs}; machine: {os.cpu_count()} cores, load "
        f"average at start {load_avg()}.",
        "",
        "| set | clip | PGHI | iterations | decode |"
        + (" baseline PGHI | baseline iterations | baseline decode |" if baseline else ""),
        "|---|---|---:|---:|---:|" + ("---:|---:|---:|" if baseline else ""),
    ]
    with tempfile.TemporaryDirectory() as tmp_dir:
        for name in names:
            y = clip(name)
            if y is None:
                print(f"skipped {name}: {CLIPS[name][1]} not in {CORPUS}", file=sys.stderr)
                continue
            import soundfile as sf

            src, png = Path(tmp_dir) / "clip.wav", Path(tmp_dir) / "clip.png"
            sf.write(src, y, SR, subtype="FLOAT")
            subprocess.run([PY, "-m", "spec2img", "encode", src, png, "-q", "-y"], check=True)
            ours = stage_times(png, runs)
            row = (
                f"| {CLIPS[name][0]} | {name} | "
                + " | ".join(
                    f"{ours.get(k, float('nan')):.0f}" for k in ("pghi", "iterations", "decode")
                )
                + " |"
            )
            if baseline is not None:
                env = {**os.environ, "ONELINER_PACKAGE": str(baseline.resolve()),
                       "OPENBLAS_NUM_THREADS": "1"}  # fmt: skip
                code = (f"import json, sys; sys.argv = ['oneliner']; sys.path.insert(0, "
                        f"{str(ROOT / 'bench')!r}); import oneliner; from pathlib import Path; "
                        f"print(json.dumps(oneliner.stage_times(Path({str(png)!r}), {runs})))")  # fmt: skip
                out = subprocess.run([PY, "-c", code], env=env, capture_output=True, text=True,
                                     check=True).stdout  # fmt: skip
                theirs = json.loads(out.strip().splitlines()[-1])
                row += (
                    " "
                    + " | ".join(
                        f"{theirs.get(k, float('nan')):.0f}"
                        for k in ("pghi", "iterations", "decode")
                    )
                    + " |"
                )
            lines.append(row)
            print(row, flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clips", default="", help="comma-separated names (default: all)")
    ap.add_argument("--busy", type=int, default=0, help="busy-loop processes during the runs")
    ap.add_argument("--pin", default="", help="taskset CPU list for both commands")
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a checkout whose decode also takes turns (before and after)",
    )
    ap.add_argument("--stages", action="store_true",
                    help="in-process CPU time of PGHI, the iterations and the decode instead")  # fmt: skip
    args = ap.parse_args(argv)
    if args.stages:
        names = [c.strip() for c in args.clips.split(",") if c.strip()] or list(CLIPS)
        lines = stages(names, args.runs, args.baseline)
        lines += ["", f"Load average at the end: {load_avg()}."]
        out = ROOT / "bench" / "results" / "oneliner-stages.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return 0
    base_env = None
    if args.baseline is not None:
        base_env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
        import compileall

        compileall.compile_dir(str(args.baseline.resolve() / "spec2img"), quiet=1)
    names = [c.strip() for c in args.clips.split(",") if c.strip()] or list(CLIPS)
    compile_sources()
    condition = "as-found" if not (args.busy or args.pin) else "-".join(
        ([f"busy{args.busy}"] if args.busy else []) + ([f"pin{args.pin}"] if args.pin else [])
    )  # fmt: skip
    pre = ["taskset", "-c", args.pin] if args.pin else []
    lines = [
        f"Condition: {condition}; machine: {os.cpu_count()} cores, load average at start "
        f"{load_avg()}; medians of {args.runs} interleaved runs.",
        "",
        "| set | clip | spec2img wall s | librosa wall s | **wall ratio** | spec2img CPU s | "
        "librosa CPU s | **CPU ratio** | SC spec2img dB | SC librosa dB |"
        + (" baseline CPU s (ratio) | baseline SC dB |" if base_env else ""),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if base_env else ""),
    ]
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            for name in names:
                y = clip(name)
                if y is None:
                    print(f"skipped {name}: {CLIPS[name][1]} not in {CORPUS}", file=sys.stderr)
                    continue
                import soundfile as sf

                src, png = tmp / "clip.wav", tmp / "clip.png"
                sf.write(src, y, SR, subtype="FLOAT")
                subprocess.run([PY, "-m", "spec2img", "encode", src, png, "-q", "-y"], check=True)
                ours_out, theirs_out = tmp / "ours.wav", tmp / "theirs.wav"
                ours_cmd = [*pre, PY, "-m", "spec2img", "decode", str(png), str(ours_out),
                            "-q", "-y"]  # fmt: skip
                theirs_cmd = [*pre, PY, "-c",
                              LIBROSA_ONE_LINER.format(src=str(src), dst=str(theirs_out))]  # fmt: skip
                base_out = tmp / "base.wav"
                base_cmd = [*ours_cmd[:-3], str(base_out), "-q", "-y"]
                ours, theirs, base = [], [], []
                for _ in range(args.runs):
                    ours.append(timed(ours_cmd))
                    theirs.append(timed(theirs_cmd))
                    if base_env is not None:
                        base.append(timed(base_cmd, base_env, args.baseline.resolve()))
                ow, oc = (statistics.median(t[i] for t in ours) for i in (0, 1))
                tw, tc = (statistics.median(t[i] for t in theirs) for i in (0, 1))
                ref = y[None]
                row = (
                    f"| {CLIPS[name][0]} | {name} | {ow:.2f} | {tw:.2f} | **{ow / tw:.2f}x** | "
                    f"{oc:.2f} | {tc:.2f} | **{oc / tc:.2f}x** | {sc_db(ref, read(ours_out)):.1f} | "
                    f"{sc_db(ref, read(theirs_out)):.1f} |"
                )
                if base_env is not None:
                    bc = statistics.median(t[1] for t in base)
                    row += f" {bc:.2f} ({bc / tc:.2f}x) | {sc_db(ref, read(base_out)):.1f} |"
                lines.append(row)
                print(row, flush=True)
    finally:
        for p in spinners:
            p.terminate()
    lines.append("")
    lines.append(f"Load average at the end: {load_avg()}.")
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results" / f"oneliner-{condition}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
