"""Phase-retrieval benchmark: spec2img against librosa.griffinlim, side by side.

Run from the repository root::

    python bench/phase.py            # about 4 minutes on 2 cores
    python bench/phase.py --runs 5   # medians of 5 runs instead of 3

It reads ``Kevin_MacLeod_-_Vibe_Ace.ogg`` from ``../shared/corpus`` (relative to the
repository root) and skips, saying so, when that is absent.  For 30-s and 60-s mono
excerpts at 22050 Hz (n_fft 2048, hop 512) it measures, in one run:

* milliseconds per iteration of spec2img's FGLA and of ``librosa.griffinlim``, and of
  the bare FFTs of one iteration (the floor), each the median of ``--runs`` runs;
* spectral convergence (SC) after 0, 16, 32 and 100 iterations of every method;
* the headline comparisons of the default decode against librosa;
* whole-process start-up time, and the peak memory (``/usr/bin/time -v``) of decoding
  a 10-minute stereo 44.1 kHz magnitude.

The Markdown report goes to stdout and to ``bench/results/phase.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spec2img import phase  # noqa: E402
from spec2img.dsp.stft import DEFAULT_WORKERS, Stft  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
MUSIC = "Kevin_MacLeod_-_Vibe_Ace.ogg"
SR, N_FFT, HOP = 22050, 2048, 512
ITERS = (0, 16, 32, 100)
METHODS = ("gla", "fgla", "pghi", "pghi+fgla")


def median_time(fn, runs: int) -> float:
    """Median wall time of ``fn()`` in seconds."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_iteration_ms(runners: dict, runs: int, lo: int = 2, hi: int = 32) -> dict:
    """ms per iteration of each ``runners[name](n_iter)``, set-up cost excluded.

    Each run times ``lo`` and ``hi`` iterations of every runner in turn, so that all
    runners see the same machine load; the result per runner is the median over runs
    of ``(t_hi - t_lo) / (hi - lo)``, in wall time and in CPU time of this process.
    """
    wall: dict = {name: [] for name in runners}
    cpu: dict = {name: [] for name in runners}
    for _ in range(runs):
        for name, run in runners.items():
            w, c = [], []
            for n in (lo, hi):
                w0, c0 = time.perf_counter(), time.process_time()
                run(n)
                w.append(time.perf_counter() - w0)
                c.append(time.process_time() - c0)
            wall[name].append((w[1] - w[0]) / (hi - lo) * 1e3)
            cpu[name].append((c[1] - c[0]) / (hi - lo) * 1e3)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runners}


def fft_floor_ms(engine: Stft, n_frames: int, runs: int) -> float:
    """One rfft and one irfft of all frames, as whole arrays or in engine-sized blocks
    (whichever is faster): the FFT work of one Griffin-Lim iteration and nothing else."""
    import scipy.fft

    rng = np.random.default_rng(0)
    frames = rng.standard_normal((n_frames, engine.n_fft)).astype(np.float32)
    spec = scipy.fft.rfft(frames, axis=-1)
    w = engine.workers
    block = engine.block_frames(1)

    def whole():
        scipy.fft.rfft(frames, axis=-1, workers=w)
        scipy.fft.irfft(spec, n=engine.n_fft, axis=-1, workers=w)

    def blocked():
        for a in range(0, n_frames, block):
            scipy.fft.rfft(frames[a : a + block], axis=-1, workers=w)
            scipy.fft.irfft(spec[a : a + block], n=engine.n_fft, axis=-1, workers=w)

    return min(median_time(whole, max(runs, 5)), median_time(blocked, max(runs, 5))) * 1e3


def load_excerpt(seconds: float) -> np.ndarray:
    import librosa

    y, _ = librosa.load(CORPUS / MUSIC, sr=SR, mono=True, duration=seconds)
    return y.astype(np.float32)


def bench_excerpt(seconds: int, runs: int) -> dict:
    import librosa

    y = load_excerpt(seconds)
    engine = Stft(N_FFT, HOP)
    S = np.abs(engine.forward(y))
    n = y.size
    res: dict = {"seconds": seconds, "frames": S.shape[-1]}

    def ours(n_iter, method="fgla", **kw):
        return phase.reconstruct(S, engine, method=method, n_iter=n_iter, length=n, **kw)

    def theirs(n_iter):
        return librosa.griffinlim(
            S, n_iter=n_iter, hop_length=HOP, n_fft=N_FFT, length=n, random_state=0
        )

    ours(1)  # compile or load the kernels once
    ours(1, method="pghi+fgla")
    theirs(1)
    ms = per_iteration_ms({"ours": ours, "librosa": theirs}, runs)
    res["ms_ours"], res["cpu_ours"] = ms["ours"]
    res["ms_librosa"], res["cpu_librosa"] = ms["librosa"]
    res["ms_floor"] = fft_floor_ms(engine, S.shape[-1], runs)

    res["sc"] = {}
    for method in METHODS:
        res["sc"][method] = [
            phase.spectral_convergence(S, ours(k, method=method), engine) for k in ITERS
        ]
    res["sc"]["librosa.griffinlim"] = [
        phase.spectral_convergence(S, theirs(k), engine) for k in ITERS
    ]

    # Headline 1: the default decode's time to -32 dB vs librosa's 32 iterations.
    default = phase.DEFAULT_METHOD
    res["librosa32_s"] = median_time(lambda: theirs(32), runs)
    res["librosa32_sc"] = phase.spectral_convergence(S, theirs(32), engine)
    n_32 = None
    for k in range(0, 101, 4):
        if phase.spectral_convergence(S, ours(k, method=default), engine) <= -32:
            n_32 = k
            break
    res["n_to_32"] = n_32
    res["s_to_32"] = None if n_32 is None else median_time(lambda: ours(n_32, method=default), runs)
    # Headline 2: the default decode as shipped.
    res["default_s"] = median_time(lambda: phase.reconstruct(S, engine, length=n), runs)
    res["default_sc"] = phase.spectral_convergence(
        S, phase.reconstruct(S, engine, length=n), engine
    )
    return res


def bench_workers(runs: int) -> dict:
    """FGLA ms/iteration on the 30-s excerpt with 1 and 2 FFT threads, idle and with one
    core kept busy by another process."""
    y = load_excerpt(30)
    out = {}
    for loaded in (False, True):
        hog = None
        if loaded:
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        try:
            for workers in (1, 2):
                engine = Stft(N_FFT, HOP, workers=workers)
                S = np.abs(engine.forward(y))

                def run(k, engine=engine, S=S):
                    return phase.reconstruct(S, engine, method="fgla", n_iter=k, length=y.size)

                run(1)
                out[(loaded, workers)] = per_iteration_ms({"fgla": run}, runs)["fgla"][0]
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
    return out


def bench_startup(runs: int) -> dict:
    """Whole-process wall time of one-liners, median of ``max(runs, 5)`` runs: ``--help``,
    and the encode and default decode of a 5-s mono clip of the music at 22050 Hz."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cli = (ROOT / "spec2img" / "__main__.py").exists()
    tmp = Path(tempfile.mkdtemp(prefix="spec2img-bench-"))
    try:
        if cli:
            import soundfile as sf

            sf.write(tmp / "clip.wav", load_excerpt(5), SR)
            spec = [sys.executable, "-m", "spec2img"]
            cmds = {
                "spec2img --help": [*spec, "--help"],
                "spec2img encode clip.wav clip.png (5 s)": [
                    *spec, "encode", str(tmp / "clip.wav"), str(tmp / "clip.png"), "-q", "-y"
                ],
                "spec2img decode clip.png back.wav (5 s, default)": [
                    *spec, "decode", str(tmp / "clip.png"), str(tmp / "back.wav"), "-q", "-y"
                ],
            }  # fmt: skip
        else:
            cmds = {
                'python -c "import spec2img.phase"': [sys.executable, "-c", "import spec2img.phase"]
            }
        out = {}
        for label, cmd in cmds.items():
            subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
            out[label] = median_time(
                lambda cmd=cmd: subprocess.run(
                    cmd, check=True, capture_output=True, env=env, cwd=ROOT
                ),
                max(runs, 5),
            )
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _peak_rss(cmd: list[str]) -> tuple[float, str]:
    """Peak resident memory (bytes) of ``cmd`` under ``/usr/bin/time -v``, and its stdout."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)[1])
    return kb * 1024.0, proc.stdout


def bench_memory(n_iter: int = 4) -> dict | None:
    """Peak RSS of decoding 10 minutes of stereo 44.1 kHz music: the phase retrieval on
    its magnitude (a child process), and ``spec2img decode`` of its image (whole CLI)."""
    if not Path("/usr/bin/time").exists():
        return None
    peak, stdout = _peak_rss([sys.executable, str(Path(__file__).resolve()), "--memory-child"])
    info = dict(line.split("=", 1) for line in stdout.split() if "=" in line)
    mag = int(info["magnitude_bytes"])
    out = {
        "peak_mb": peak / 1e6, "magnitude_mb": mag / 1e6, "ratio": peak / mag,
        "seconds": float(info["decode_s"]), "n_iter": int(info["n_iter"]),
        "shape": info["shape"],
    }  # fmt: skip
    if (ROOT / "spec2img" / "cli.py").exists():
        tmp = Path(tempfile.mkdtemp(prefix="spec2img-bench-"))
        try:
            subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--make-image", str(tmp / "m.png")],
                check=True, cwd=ROOT,
            )  # fmt: skip
            t0 = time.perf_counter()
            peak, _ = _peak_rss([
                sys.executable, "-m", "spec2img", "decode", str(tmp / "m.png"),
                str(tmp / "m.wav"), "--n-iter", str(n_iter), "-q",
            ])  # fmt: skip
            out["cli_s"] = time.perf_counter() - t0
            out["cli_peak_mb"] = peak / 1e6
            out["cli_ratio"] = peak / mag
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def ten_minutes() -> np.ndarray:
    """The corpus music (44.1 kHz stereo) repeated to 10 minutes, float32 (2, n)."""
    import soundfile as sf

    audio, sr = sf.read(CORPUS / MUSIC, dtype="float32", always_2d=True)
    assert sr == 44100, sr
    return np.ascontiguousarray(np.resize(audio.T, (audio.shape[1], 600 * sr)))


def make_image(path: str) -> int:
    """Encode :func:`ten_minutes` to a spec2img PNG at ``path``."""
    import spec2img

    spec2img.encode(ten_minutes(), 44100, n_fft=N_FFT, hop_length=HOP).save(path)
    return 0


def memory_child(n_iter: int = 4) -> int:
    """Build the magnitude of 10 minutes of stereo 44.1 kHz music and decode it.

    The music is the corpus file (44.1 kHz stereo) repeated to 10 minutes.  The
    magnitude is built frame block by frame block in the ``(channels, frames, bins)``
    layout and handed over as its transpose (no copy); the audio is freed first, so
    the peak is the decoder's.  Peak memory does not depend on the iteration count.
    """
    y = ten_minutes()
    n = y.shape[-1]
    engine = Stft(N_FFT, HOP)
    frames = engine.n_frames(n)
    S = np.empty((y.shape[0], frames, engine.n_bins), np.float32)
    y = np.pad(y, [(0, 0), (N_FFT // 2, N_FFT // 2)])
    raw = Stft(N_FFT, HOP, center=False)
    step = 4096
    for a in range(0, frames, step):
        b = min(a + step, frames)
        chunk = y[:, a * HOP : (b - 1) * HOP + N_FFT]
        S[:, a:b] = np.abs(raw.forward(chunk)).transpose(0, 2, 1)
    del y, chunk
    t0 = time.perf_counter()
    out = phase.reconstruct(np.swapaxes(S, -1, -2), engine, n_iter=n_iter, length=n)
    dt = time.perf_counter() - t0
    assert out.shape == (S.shape[0], n) and np.isfinite(out).all()
    shape = "x".join(map(str, S.shape))
    print(f"magnitude_bytes={S.nbytes} decode_s={dt:.2f} n_iter={n_iter} shape={shape}")
    return 0


def fmt_db(x: float) -> str:
    return f"{x:.1f}"


def report(excerpts, workers, startup, memory, runs: int, load0: float) -> str:
    lines = []
    import librosa
    import scipy

    lines.append(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, librosa {librosa.__version__}. "
        f"Medians of {runs} runs; mono 22050 Hz, n_fft {N_FFT}, hop {HOP}; "
        f"default workers = {DEFAULT_WORKERS}."
    )
    lines.append("")
    lines.append("**Speed** (ms per iteration; set-up excluded)")
    lines.append("")
    lines.append(
        "| excerpt | librosa.griffinlim | spec2img fgla | speed-up | bare FFTs | fgla / FFTs "
        "| speed-up in CPU time |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in excerpts:
        lines.append(
            f"| {r['seconds']} s ({r['frames']} frames) | {r['ms_librosa']:.1f} | "
            f"{r['ms_ours']:.1f} | **{r['ms_librosa'] / r['ms_ours']:.1f}×** | "
            f"{r['ms_floor']:.1f} | {r['ms_ours'] / r['ms_floor']:.2f}× | "
            f"{r['cpu_librosa'] / r['cpu_ours']:.1f}× ({r['cpu_librosa']:.1f} / "
            f"{r['cpu_ours']:.1f} ms) |"
        )
    lines.append("")
    lines.append(
        "**Spectral convergence** (dB, lower is better) after 0 / 16 / 32 / 100 iterations"
    )
    lines.append("")
    head = " | ".join(f"{r['seconds']} s" for r in excerpts)
    lines.append(f"| method | {head} |")
    lines.append("|---|" + "---:|" * len(excerpts))
    for method in (*METHODS, "librosa.griffinlim"):
        cells = [" / ".join(fmt_db(v) for v in r["sc"][method]) for r in excerpts]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"**Headlines** (default decode = `{phase.DEFAULT_METHOD}`, "
        f"{phase.DEFAULT_N_ITER} iterations)"
    )
    lines.append("")
    for r in excerpts:
        if r["s_to_32"] is None:
            lines.append(f"- {r['seconds']} s: the default method never reached −32 dB (FAIL)")
        else:
            ok = r["s_to_32"] < r["librosa32_s"]
            lines.append(
                f"- {r['seconds']} s: default method reaches {'≤'} −32 dB after "
                f"{r['n_to_32']} iterations in **{r['s_to_32']:.2f} s**; "
                f"librosa.griffinlim(n_iter=32) takes **{r['librosa32_s']:.2f} s** to reach "
                f"{r['librosa32_sc']:.1f} dB "
                f"({r['librosa32_s'] / r['s_to_32']:.1f}× longer) — {'PASS' if ok else 'FAIL'}"
            )
    for r in excerpts:
        ok = r["default_sc"] <= -35
        lines.append(
            f"- {r['seconds']} s: default decode SC **{r['default_sc']:.2f} dB** in "
            f"{r['default_s']:.2f} s"
            + (f" — {'PASS' if ok else 'FAIL'} (≤ −35 dB)" if r["seconds"] == 30 else "")
        )
    lines.append("")
    lines.append("**FFT threads** (fgla ms per iteration, 30 s; loaded = one core kept busy)")
    lines.append("")
    lines.append("| workers | idle | loaded |")
    lines.append("|---:|---:|---:|")
    for w in (1, 2):
        lines.append(f"| {w} | {workers[(False, w)]:.1f} | {workers[(True, w)]:.1f} |")
    lines.append("")
    lines.append("**Start-up and memory**")
    lines.append("")
    for label, secs in startup.items():
        lines.append(f"- `{label}`: {secs:.2f} s (whole process)")
    if memory is None:
        lines.append("- peak memory: /usr/bin/time not found (apt-get install time)")
    else:
        m = memory
        lines.append(
            f"- phase retrieval of a 10-minute stereo 44.1 kHz magnitude ({m['shape']}, "
            f"{m['magnitude_mb']:.0f} MB as float32; default method, {m['n_iter']} "
            f"iterations, {m['seconds']:.1f} s): peak {m['peak_mb']:.0f} MB = "
            f"**{m['ratio']:.2f}×** the magnitude — {'PASS' if m['ratio'] <= 6 else 'FAIL'} (≤ 6×)"
        )
        if "cli_ratio" in m:
            lines.append(
                f"- `spec2img decode` of that image (PNG -> WAV, whole process, "
                f"{m['n_iter']} iterations, {m['cli_s']:.1f} s): peak {m['cli_peak_mb']:.0f} MB "
                f"= **{m['cli_ratio']:.2f}×** the magnitude — "
                f"{'PASS' if m['cli_ratio'] <= 6 else 'FAIL'} (≤ 6×)"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--make-image", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (CORPUS / MUSIC).exists():
        print(f"skipped: {CORPUS / MUSIC} not found")
        return 0
    if args.memory_child:
        return memory_child()
    if args.make_image:
        return make_image(args.make_image)
    runs = max(3, args.runs)
    load0 = os.getloadavg()[0]
    excerpts = [bench_excerpt(s, runs) for s in (30, 60)]
    workers = bench_workers(runs)
    startup = bench_startup(runs)
    memory = bench_memory()
    text = report(excerpts, workers, startup, memory, runs, load0)
    print(text)
    out = ROOT / "bench" / "results" / "phase.md"
    out.parent.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False, suffix=".tmp") as f:
        f.write(text)
    os.replace(f.name, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
