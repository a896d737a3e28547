"""Decodes users feel, side by side with librosa: one-liners, Riffusion, long files, GAN images.

Run from the repository root::

    python bench/fast.py             # about 15 minutes on 2 cores
    python bench/fast.py --runs 5    # medians of 5 interleaved runs instead of 3
    python bench/fast.py --quick     # skip the method table (the longest part)

It reads recordings from ``../shared/corpus`` (skipping, and saying so, when absent)
and makes the rest in a temporary folder: a synthetic 60-s stereo drum & bass track
(``bench/material.py``), Riffusion-convention images and an 8-bit 256x256 GAN-style
image.  Whole processes are timed where a user would run one (``spec2img decode``
against a ``python -c`` librosa script doing the same), every pair interleaved, and the
median of ``--runs`` is quoted with the ratio.  It prints a Markdown report and writes
it to ``bench/results/fast.md``.

Targets (issue 14): Riffusion decode <= 0.5x librosa-32 at that framing with mel-LSD no
worse than the previous default; 5-s one-liner <= 0.2x; 60-s stereo drum & bass
<= 0.6x and >= 8 dB better SC; GAN-style mel-LSD <= the careful decoder's.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import material  # noqa: E402
import reference_phase  # noqa: E402

import spec2img  # noqa: E402
from spec2img import phase  # noqa: E402
from spec2img.dsp.stft import Stft  # noqa: E402
from spec2img.phase import coarse  # noqa: E402

CORPUS = Path(os.environ.get("SPEC2IMG_CORPUS", ROOT.parent / "shared" / "corpus"))
MUSIC = "Kevin_MacLeod_-_Vibe_Ace.ogg"
SPEECH = "198-209-0000.ogg"
PY = sys.executable

# The librosa scripts a Q&A answer gives, as whole processes.
LIBROSA_ONE_LINER = (
    "import librosa, soundfile as sf, numpy as np; y, sr = librosa.load({src!r}, sr=None); "
    "S = np.abs(librosa.stft(y)); sf.write({dst!r}, librosa.griffinlim(S, n_iter=32), sr)"
)
LIBROSA_STEREO = (
    "import librosa, soundfile as sf, numpy as np; y, sr = librosa.load({src!r}, sr=None, "
    "mono=False); S = np.abs(librosa.stft(y)); "
    "sf.write({dst!r}, librosa.griffinlim(S, n_iter=32).T, sr, subtype='FLOAT')"
)
LIBROSA_RIFFUSION = (
    "import librosa, soundfile as sf, numpy as np; y, sr = librosa.load({src!r}, sr=None); "
    "k = dict(n_fft=17640, hop_length=441, win_length=4410); S = np.abs(librosa.stft(y, **k)); "
    "sf.write({dst!r}, librosa.griffinlim(S, n_iter=32, **k), sr)"
)


def load_avg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def interleaved(pairs: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time of each whole-process command, the commands taking turns."""
    times: dict[str, list[float]] = {k: [] for k in pairs}
    for _ in range(runs):
        for name, cmd in pairs.items():
            times[name].append(timed(cmd))
    return {k: statistics.median(v) for k, v in times.items()}


def read(path) -> np.ndarray:
    import soundfile as sf

    y, _ = sf.read(path, dtype="float32", always_2d=True)
    return y.T


def sc_db(y_ref: np.ndarray, y: np.ndarray, n_fft=2048, hop=512) -> float:
    e = Stft(n_fft, hop)
    n = min(y_ref.shape[-1], y.shape[-1])
    return phase.spectral_convergence(np.abs(e.forward(y_ref[..., :n])), y[..., :n], e)


def mel_lsd(ref: np.ndarray, est: np.ndarray, sr: int, *, fmax: float | None = None,
            floor_db: float = 80.0) -> float:  # fmt: skip
    """Mel log-spectral distance (dB) as tests/conftest.py defines it (80 bands of a
    1024-point STFT, hop 256, floor 80 dB below the reference's peak), per channel and
    averaged, up to ``fmax``, after matching the level (Riffusion's level is relative)."""
    import librosa

    ref, est = np.atleast_2d(ref), np.atleast_2d(est)
    n = min(ref.shape[-1], est.shape[-1])

    def mel_db(y):
        M = librosa.feature.melspectrogram(y=y[..., :n], sr=sr, n_fft=1024, hop_length=256,
                                           n_mels=80, fmax=fmax)  # fmt: skip
        return 10 * np.log10(np.maximum(M, 1e-30))

    out = []
    for a, b in zip(mel_db(ref), mel_db(est), strict=True):
        b = b + 10 * np.log10(np.sum(10 ** (a / 10)) / max(np.sum(10 ** (b / 10)), 1e-30))
        floor = a.max() - floor_db
        a, b = np.maximum(a, floor), np.maximum(b, floor)
        out.append(float(np.mean(np.sqrt(np.mean((a - b) ** 2, axis=0)))))
    return float(np.mean(out))


def write_wav(path, y, sr) -> None:
    import soundfile as sf

    sf.write(path, np.atleast_2d(y).T, sr, subtype="FLOAT")


def spec2img_cmd(*args) -> list[str]:
    """A whole ``spec2img`` process; ``-y``: the interleaved runs rewrite their outputs."""
    return [PY, "-m", "spec2img", *map(str, args), "-y"]


def compile_sources() -> None:
    """Write the package's bytecode next to its sources (``__pycache__``, ignored by git)."""
    import compileall

    compileall.compile_dir(str(ROOT / "spec2img"), quiet=1)


def prepare(tmp: Path) -> dict:
    """Write every input file; returns their paths and reference signals."""
    music, sr_m = spec2img.load_audio(CORPUS / MUSIC)  # 44.1 kHz stereo
    music = np.atleast_2d(music)  # (channels, n), mono too
    mono22, _ = spec2img.load_audio(CORPUS / MUSIC, sr=22050, mono=True)
    mono22 = np.atleast_2d(mono22)  # (channels, n), mono too
    clip = mono22[:, 30 * 22050 : 35 * 22050]
    write_wav(tmp / "clip.wav", clip, 22050)
    subprocess.run(spec2img_cmd("encode", tmp / "clip.wav", tmp / "clip.png", "-q"), check=True)
    dnb = material.drum_and_bass(60.0)
    write_wav(tmp / "dnb.wav", dnb, material.SR)
    subprocess.run(spec2img_cmd("encode", tmp / "dnb.wav", tmp / "dnb.png", "-q"), check=True)
    jazz = music[:, : 60 * sr_m]
    write_wav(tmp / "jazz.wav", jazz, sr_m)
    subprocess.run(spec2img_cmd("encode", tmp / "jazz.wav", tmp / "jazz.png", "-q"), check=True)
    riff = {}
    n_riff = int(5.11 * material.SR)  # 512 columns, Riffusion's image width
    mono44, _ = spec2img.load_audio(CORPUS / MUSIC, mono=True)
    mono44 = np.atleast_2d(mono44)  # (channels, n), mono too
    for name, y in (("music", mono44[0, 20 * 44100 : 20 * 44100 + n_riff]),
                    ("drums", dnb.mean(axis=0)[:n_riff])):  # fmt: skip
        write_wav(tmp / f"riff_{name}.wav", y, material.SR)
        material.riffusion_image(tmp / f"riff_{name}.png", y)
        riff[name] = y
    # GAN-style: a mel image of the clip as 8-bit RGB 256x256 (bilinear), as trainers make them
    from PIL import Image

    train = spec2img.encode(clip, 22050, scale="mel", n_mels=128)
    train.save(tmp / "train.png")
    eight = (train.pixels >> 8).astype(np.uint8)
    Image.fromarray(eight).convert("RGB").resize((256, 256), Image.BILINEAR).save(tmp / "gan.png")
    return {"clip": clip, "dnb": dnb, "jazz": jazz, "riff": riff, "train": train}


def careful_gan(tmp: Path, train, n_samples: int) -> np.ndarray:
    """The careful decoder of a GAN image: bicubic back to the grid, NNLS, 100 iterations."""
    from PIL import Image

    from spec2img.dsp import scale

    g = Image.open(tmp / "gan.png").convert("L")
    rows, cols = train.pixels.shape
    back = np.asarray(Image.fromarray(np.asarray(g, np.float32)).resize((cols, rows),
                                                                        Image.BICUBIC))  # fmt: skip
    px = np.clip(back.astype(np.float64) * 257, 0, 65535)[::-1]
    m = train.meta
    amp = scale.pixels_to_amplitude(px, m.db_min, m.db_max)
    S = scale.mel_to_linear(amp, scale.mel_basis(m.params))
    e = Stft.from_params(m.params)
    return phase.reconstruct(S, e, method="pghi+fgla", n_iter=100, length=n_samples)


def bench_targets(tmp: Path, data: dict, runs: int, only: str = "all") -> list[str]:
    lines = ["| decode (whole process) | spec2img s | librosa s | ratio | target | quality |",
             "|---|---:|---:|---:|---|---|"]  # fmt: skip
    # 1. Riffusion, music and drums
    for name in ("music", "drums") if only in ("all", "riffusion") else ():
        src, png = tmp / f"riff_{name}.wav", tmp / f"riff_{name}.png"
        t = interleaved({
            "ours": spec2img_cmd("decode", png, tmp / "r_ours.wav", "-q"),
            "librosa": [PY, "-c", LIBROSA_RIFFUSION.format(src=str(src), dst=str(tmp / "r_lr.wav"))],
        }, runs)  # fmt: skip
        y = data["riff"][name]
        ours = mel_lsd(y, read(tmp / "r_ours.wav"), 44100, fmax=10000)
        theirs = mel_lsd(y, read(tmp / "r_lr.wav"), 44100, fmax=10000)
        ratio = t["ours"] / t["librosa"]
        # the previous default: 100 iterations on the full grid (--stop-db 0), one run
        t_prev = timed(spec2img_cmd("decode", png, tmp / "r_prev.wav", "-q", "--stop-db", "0"))
        prev = mel_lsd(y, read(tmp / "r_prev.wav"), 44100, fmax=10000)
        lines.append(
            f"| Riffusion image of {name} (5.1 s, n_fft 17640, hop 441, 512 mel) vs "
            f"griffinlim(32) on the true magnitude | {t['ours']:.2f} | {t['librosa']:.2f} | "
            f"**{ratio:.2f}x** | <= 0.5x: {'PASS' if ratio <= 0.5 else 'FAIL'} | mel-LSD "
            f"(<= 10 kHz) {ours:.2f} dB (previous default, 100 iterations on the full grid: "
            f"{prev:.2f} dB in {t_prev:.1f} s; librosa-32 on the true magnitude {theirs:.2f}) |"
        )
    if only == "riffusion":
        return lines
    # 2. one-liner (NumPy mode), and the same decode with compiled kernels for comparison
    t = interleaved({
        "ours": spec2img_cmd("decode", tmp / "clip.png", tmp / "c_ours.wav", "-q"),
        "compiled": ["env", "SPEC2IMG_NUMBA=always",
                     *spec2img_cmd("decode", tmp / "clip.png", tmp / "c_comp.wav", "-q")],
        "librosa": [PY, "-c", LIBROSA_ONE_LINER.format(src=str(tmp / "clip.wav"),
                                                       dst=str(tmp / "c_lr.wav"))],
    }, runs)  # fmt: skip
    ratio = t["ours"] / t["librosa"]
    clip = data["clip"]
    lines.append(
        f"| 5-s mono 22.05 kHz clip vs the librosa one-liner | {t['ours']:.2f} | "
        f"{t['librosa']:.2f} | **{ratio:.2f}x** | <= 0.2x: {'PASS' if ratio <= 0.2 else 'FAIL'} "
        f"| SC {sc_db(clip, read(tmp / 'c_ours.wav')):.1f} vs "
        f"{sc_db(clip, read(tmp / 'c_lr.wav')):.1f} dB (with compiled kernels, "
        f"`SPEC2IMG_NUMBA=always`: {t['compiled']:.2f} s, {t['compiled'] / t['librosa']:.2f}x, "
        f"SC {sc_db(clip, read(tmp / 'c_comp.wav')):.1f} dB) |"
    )
    # 3. long stereo files: drum & bass (the target) and the jazz combo
    for name, label in (("dnb", "60-s stereo 44.1 kHz drum & bass"),
                        ("jazz", "60-s stereo 44.1 kHz jazz combo (Vibe Ace)")):  # fmt: skip
        t = interleaved({
            "ours": spec2img_cmd("decode", tmp / f"{name}.png", tmp / "l_ours.wav", "-q",
                                 "--subtype", "FLOAT"),
            "librosa": [PY, "-c", LIBROSA_STEREO.format(src=str(tmp / f"{name}.wav"),
                                                        dst=str(tmp / "l_lr.wav"))],
        }, runs)  # fmt: skip
        ratio = t["ours"] / t["librosa"]
        y = data[name]
        a, b = sc_db(y, read(tmp / "l_ours.wav")), sc_db(y, read(tmp / "l_lr.wav"))
        ok = ratio <= 0.6 and b - a >= 8
        lines.append(
            f"| {label} vs griffinlim(32) on both channels | {t['ours']:.2f} | "
            f"{t['librosa']:.2f} | **{ratio:.2f}x** | <= 0.6x and >= 8 dB: "
            f"{'PASS' if ok else 'FAIL'} | SC {a:.1f} vs {b:.1f} dB ({b - a:.1f} dB better) |"
        )
    if only == "long":
        return lines
    # 4. GAN-style small mel image
    clip_n = clip.shape[-1]
    subprocess.run(spec2img_cmd("decode", tmp / "gan.png", tmp / "g_ours.wav", "--params-from",
                                tmp / "train.png", "-q"), check=True)  # fmt: skip
    ours = mel_lsd(clip, read(tmp / "g_ours.wav"), 22050)
    careful = mel_lsd(clip, careful_gan(tmp, data["train"], clip_n)[None], 22050)
    lines.append(
        f"| GAN-style image (mel 128 x 216 -> 8-bit 256x256, `--params-from`) | | | | <= careful "
        f"decoder: {'PASS' if ours <= careful else 'FAIL'} | mel-LSD {ours:.2f} dB (careful "
        f"decoder: bicubic, NNLS, 100 iterations {careful:.2f}) |"
    )
    return lines


def bench_fft_lengths(runs: int) -> list[str]:
    """Time of one rfft + irfft of a Riffusion frame at the exact and at fast lengths."""
    import scipy.fft

    exact = 17640
    lengths = {
        "exact (17640 = 2^3 3^2 5 7^2)": exact,
        f"next_fast_len (real) = {scipy.fft.next_fast_len(exact, real=True)}": (
            scipy.fft.next_fast_len(exact, real=True)
        ),
        "18000 (2^4 3^2 5^3)": 18000,
        "2^15 = 32768": 32768,
        "oversampled grid: 17640 / 2 = 8820 (PGHI and the last iterations)": 8820,
        "tight grid: 17640 / 4 = 4410 (where the decode iterates most)": 4410,
    }
    out = ["| FFT length | ms per 512 frames (rfft + irfft, float32) |", "|---|---:|"]
    x = np.random.default_rng(0).random((64, exact), dtype=np.float32)
    for label, n in lengths.items():
        xs = np.zeros((64, n), np.float32)
        xs[:, : min(n, exact)] = x[:, : min(n, exact)]
        ts = []
        for _ in range(max(3, runs)):
            t = time.perf_counter()
            for _ in range(8):
                scipy.fft.irfft(scipy.fft.rfft(xs, axis=-1), n=n, axis=-1)
            ts.append(time.perf_counter() - t)
        out.append(f"| {label} | {statistics.median(ts) * 1e3:.1f} |")
    return out


def bench_riffusion_parts(tmp: Path) -> list[str]:
    """Where a Riffusion decode's time goes, in-process."""
    from spec2img import pipeline
    from spec2img.wild import riffusion

    t0 = time.perf_counter()
    image = pipeline.load_image(tmp / "riff_music.png")
    t_load = time.perf_counter() - t0
    # the mel inverse alone (it runs inside load_image)
    from PIL import Image

    from spec2img.dsp.scale import mel_to_linear

    img = Image.open(tmp / "riff_music.png")
    p = riffusion.riffusion_params(img.getexif())
    mel = riffusion.mel_from_pixels(np.asarray(img.convert("L"))[::-1][None], p["power"])
    basis = riffusion.riffusion_basis(p)
    t0 = time.perf_counter()
    mel_to_linear(mel, basis)
    t_mel = time.perf_counter() - t0
    phase.loop.TRACE = []
    t0 = time.perf_counter()
    spec2img.decode(image)
    t_phase = time.perf_counter() - t0
    trace, phase.loop.TRACE = phase.loop.TRACE, None
    t0 = time.perf_counter()
    spec2img.decode(image, stop_db=0)
    t_all = time.perf_counter() - t0
    total = t_load + t_phase
    stops = ", ".join(f"{i}: {v:.2f}" for i, v in trace)
    return [
        f"- loading the image (mel inverse included): {t_load:.2f} s; the mel inverse (NNLS) "
        f"alone {t_mel:.2f} s = **{100 * t_mel / total:.0f}%** of the in-process decode "
        f"({total:.2f} s)",
        f"- phase retrieval (default: PGHI at 8820, iterations at 4410 with the stopping "
        f"rule, then {coarse.REFINE_ITER} at 8820): {t_phase:.2f} s; with --stop-db 0 "
        f"(the previous default, 100 iterations on the full grid): {t_all:.2f} s",
        f"- SC on the tight grid (4410), dB, at each check: {stops}",
    ]


def bench_methods(runs: int, seconds: float = 15.0) -> list[str]:
    """SC of every PGHI-started method at equal iterations and at equal wall time."""
    mono, _ = spec2img.load_audio(CORPUS / MUSIC, sr=22050, mono=True)
    mono = np.atleast_2d(mono)  # (channels, n), mono too
    speech, sr_s = spec2img.load_audio(CORPUS / SPEECH, mono=True)
    speech = np.atleast_2d(speech)  # (channels, n), mono too
    dnb = material.drum_and_bass(seconds)
    cases = {
        "music": (mono[:, 30 * 22050 : int((30 + seconds) * 22050)], 22050),
        "speech": (speech[:, : int(seconds * sr_s)], sr_s),
        "drums": (dnb, material.SR),
    }
    methods = {
        "pghi+fgla": phase.METHODS.get("pghi+fgla"),
        "pghi+agla": phase.METHODS.get("pghi+agla"),
        **reference_phase.REFERENCE,  # pghi+raar, pghi+dm, pghi+admm
        "fgla (random start)": phase.METHODS.get("fgla"),
    }
    iters = (32, 100, 200)
    out = [
        f"SC in dB (lower is better), {seconds:g}-s excerpts, n_fft 2048, hop 512; equal time = "
        "the wall time of the default (pghi+fgla, 100 iterations), each method getting the "
        "iterations that fit in it (median per-iteration time of "
        f"{runs} runs).",
        "",
        "| method | " + " | ".join(
            f"{c} @{n}" for c in cases for n in iters) + " | "
        + " | ".join(f"{c} @equal time (iters)" for c in cases) + " |",
        "|---|" + "---:|" * (len(cases) * (len(iters) + 1)),
    ]  # fmt: skip
    results: dict = {m: {} for m in methods}
    for case, (y, _sr) in cases.items():
        e = Stft(2048, 512)
        S = np.abs(e.forward(y))
        per_iter = {}
        for m, fn in methods.items():

            def run(n, fn=fn, S=S, e=e, y=y):
                rng = np.random.default_rng(0)
                Si = np.ascontiguousarray(np.swapaxes(S, -1, -2)).reshape(
                    -1, S.shape[-1], S.shape[-2]
                )
                return fn(Si, e, n_iter=n, init=None, rng=rng, length=y.shape[-1])

            run(2)  # compile
            ts = []
            for _ in range(runs):
                t = time.perf_counter()
                run(2)
                t2 = time.perf_counter()
                run(22)
                ts.append(((time.perf_counter() - t2) - (t2 - t)) / 20)
            per_iter[m] = (statistics.median(ts), run)
        t0 = time.perf_counter()
        run_default = per_iter["pghi+fgla"][1]
        run_default(0)
        setup = time.perf_counter() - t0
        budget = setup + 100 * per_iter["pghi+fgla"][0]
        for m, (dt, run) in per_iter.items():
            for n in iters:
                results[m][(case, n)] = sc_db(y, run(n).reshape(y.shape))
            n_eq = max(0, int((budget - setup) / dt))
            results[m][(case, "eq")] = (sc_db(y, run(n_eq).reshape(y.shape)), n_eq)
    for m in methods:
        r = results[m]
        out.append(
            f"| {m} | " + " | ".join(f"{r[(c, n)]:.1f}" for c in cases for n in iters) + " | "
            + " | ".join(f"{r[(c, 'eq')][0]:.1f} ({r[(c, 'eq')][1]})" for c in cases) + " |"
        )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip the method table")
    ap.add_argument(
        "--only",
        choices=["all", "riffusion", "long", "methods"],
        default="all",
        help="riffusion: only the Riffusion lines (with --quick); long: only the one-liner "
        "and the 60-s stereo lines (with --quick); methods: only the method table",
    )
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"skipped: {CORPUS} is absent")
        return 0
    import numba
    import scipy

    report = [
        "# Fast where users feel it (`bench/fast.py`)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load_avg()} "
        f"at start; Python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, numba {numba.__version__}.  Medians of {args.runs} interleaved "
        "whole-process runs.",
        "",
    ]
    if args.only == "methods":
        report += ["## Phase retrieval methods from a PGHI start", ""] + bench_methods(args.runs)
        return finish(report)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = prepare(tmp)
        # An installed package has its bytecode compiled (pip does it); an editable
        # checkout under PYTHONDONTWRITEBYTECODE=1 would compile every module afresh in
        # every timed process (measured: 0.06 s of a 0.7-s one-liner), as librosa's
        # installed modules do not.  Compile it once, as an install would.
        compile_sources()
        # warm the kernel caches so that no run pays for compiling
        subprocess.run(["env", "SPEC2IMG_NUMBA=always",
                        *spec2img_cmd("decode", tmp / "clip.png", tmp / "w.wav", "-q")],
                       check=True)  # fmt: skip
        subprocess.run(spec2img_cmd("decode", tmp / "riff_music.png", tmp / "w2.wav", "-q"),
                       check=True)  # fmt: skip
        report += ["## The four targets", ""] + bench_targets(tmp, data, args.runs, args.only)
        if args.only == "long":
            return finish(report)
        report += ["", "## Riffusion: where the time goes", ""] + bench_riffusion_parts(tmp)
    report += ["", "## FFT lengths for Riffusion frames", ""] + bench_fft_lengths(args.runs)
    if not args.quick:
        report += ["", "## Phase retrieval methods from a PGHI start", ""]
        report += bench_methods(args.runs)
    return finish(report)


def finish(report: list[str]) -> int:
    """Print the report and write it to ``bench/results/fast.md``."""
    report += ["", f"Load average at the end: {load_avg()}."]
    text = "\n".join(report) + "\n"
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "fast.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
