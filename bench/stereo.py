"""Stereo image after a decode: per-channel, mid and side SC, side/mid energy, librosa beside.

Run from the repository root::

    python bench/stereo.py                 # tune and judge sets, 10-s excerpts
    python bench/stereo.py --set judge     # only the recordings the method was not tuned on
    python bench/stereo.py --long --runs 3 # + the 60-s real drum recording, whole processes
    python bench/stereo.py --set none --transients  # speech, piano-like, clicks: panned, spaced

For each clip: encode and decode with the defaults (in process), and
``librosa.griffinlim(n_iter=32)`` on the true magnitude of each channel.  Against the
original it reports the spectral convergence (n_fft 2048, hop 512) of each channel, of
the mid ``(L + R) / 2`` (what a mono fold-down plays) and of the side ``(L - R) / 2``,
and the side-to-mid energy ratio of the decode next to the original's.  With the
``bench`` extra installed (``pip install -e '.[bench]'``: ``visqol-python``) it adds
ViSQOL's audio-mode MOS of the mono fold-down at 48 kHz; without it the column is left
out.  ``--long`` times the decode of 60 s of a real stereo drum recording against the
librosa script, whole processes taking turns, as ``bench/fast.py`` does for its
synthetic drum & bass.  The report goes to ``bench/results/stereo.md``.

Tune set (the method was adjusted on these): Vibe Ace, the solo trumpet, the robin, and
four synthetic mixes (``bench/material.py``: amplitude-panned sources, a spaced pair
with independent reverberation, sparse notes through a spaced pair with early
reflections, a nearly mono drum track).  Judge set (never tuned on):
Sugar Plum Fairy (orchestra), sweet waltz (wide acoustic), Lets Go Fishin (pop with
drums), pibble (a dog's howl in a noisy room).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import material  # noqa: E402

import spec2img  # noqa: E402
from spec2img import phase  # noqa: E402
from spec2img.dsp.stft import Stft  # noqa: E402

#: The recordings (``../shared/corpus``, or ``$SPEC2IMG_CORPUS``).
CORPUS = Path(os.environ.get("SPEC2IMG_CORPUS", ROOT.parent / "shared" / "corpus"))
TUNE = {
    "Vibe Ace (jazz combo)": "Kevin_MacLeod_-_Vibe_Ace.ogg",
    "solo trumpet": "sorohanro_-_solo-trumpet-06.ogg",
    "robin": "456440__inspectorj__bird-whistling-robin-single-13.ogg",
}
SYNTH = {
    "synthetic panned mix": material.stereo_panned,
    "synthetic spaced pair": material.stereo_spaced,
    "synthetic spaced acoustic": material.stereo_acoustic,
    "synthetic near-mono drums": material.near_mono_drums,
}
JUDGE = {
    "Sugar Plum (orchestra)": "Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy.ogg",
    "sweet waltz (wide acoustic)": "147793__setuniman__sweet-waltz-0i-22mi.ogg",
    "Lets Go Fishin (pop, drums)": "Karissa_Hobbs_-_Lets_Go_Fishin.ogg",
    "pibble (howl, room)": "pibble.ogg",
}
LONG_DRUMS = "Karissa_Hobbs_-_Lets_Go_Fishin.ogg"
SPEECH = "3436-172162-0000.ogg"
#: Excerpts start here in recordings long enough (past intros); shorter ones from 0.
OFFSET_S = 30.0


def load_avg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def excerpt(name: str, seconds: float) -> tuple[np.ndarray, int]:
    y, sr = spec2img.load_audio(CORPUS / name)
    start = int(OFFSET_S * sr) if y.shape[-1] >= (OFFSET_S + seconds) * sr else 0
    return np.ascontiguousarray(y[:, start : start + int(seconds * sr)]), sr


def _sc(ref: np.ndarray, est: np.ndarray, engine: Stft) -> float:
    return phase.spectral_convergence(np.abs(engine.forward(ref)), est, engine)


def _energy_db(x: np.ndarray) -> float:
    return float(10 * np.log10(max(float(np.sum(np.asarray(x, np.float64) ** 2)), 1e-30)))


def stereo_figures(y: np.ndarray, est: np.ndarray) -> dict[str, float]:
    """SC (dB) of each channel, of the mid and of the side, and the side/mid energy ratio
    (dB) of ``est`` and of ``y``; n_fft 2048, hop 512."""
    engine = Stft(2048, 512)
    n = min(y.shape[-1], est.shape[-1])
    y, est = y[:, :n].astype(np.float32), est[:, :n].astype(np.float32)
    mid, side = (y[0] + y[1]) / 2, (y[0] - y[1]) / 2
    emid, eside = (est[0] + est[1]) / 2, (est[0] - est[1]) / 2
    return {
        "L": _sc(y[0], est[0], engine), "R": _sc(y[1], est[1], engine),
        "mid": _sc(mid, emid, engine), "side": _sc(side, eside, engine),
        "ratio": _energy_db(eside) - _energy_db(emid), "ratio0": _energy_db(side) - _energy_db(mid),
    }  # fmt: skip


def visqol_mid(y: np.ndarray, est: np.ndarray, sr: int) -> float | None:
    """ViSQOL audio-mode MOS-LQO of the mono fold-down at 48 kHz (``None`` without it)."""
    try:
        from visqol import VisqolApi
    except ImportError:
        return None
    from scipy.signal import resample_poly

    n = min(y.shape[-1], est.shape[-1])
    g = np.gcd(48000, sr)

    def mono48(x):
        return resample_poly(x[:, :n].mean(axis=0).astype(np.float64), 48000 // g, sr // g)

    api = VisqolApi()
    api.create(mode="audio")
    return float(api.measure_from_arrays(mono48(y), mono48(est), 48000).moslqo)


def librosa_gl(y: np.ndarray) -> np.ndarray:
    import librosa

    S = np.abs(librosa.stft(y))
    return librosa.griffinlim(S, n_iter=32, length=y.shape[-1])


def bench_clip(label: str, y: np.ndarray, sr: int, *, use_visqol: bool) -> dict:
    image = spec2img.encode(y, sr)
    t = time.perf_counter()
    ours, _ = spec2img.decode(image)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    theirs = librosa_gl(y)
    t_lr = time.perf_counter() - t
    row = {"label": label, "seconds": y.shape[-1] / sr, "t_ours": t_ours, "t_lr": t_lr,
           "ours": stereo_figures(y, ours), "lr": stereo_figures(y, theirs)}  # fmt: skip
    if use_visqol:
        row["vq_ours"], row["vq_lr"] = visqol_mid(y, ours, sr), visqol_mid(y, theirs, sr)
    return row


def clips(which: str, seconds: float):
    if which in ("all", "tune"):
        for label, name in TUNE.items():
            if (CORPUS / name).exists():
                yield "tune", label, *excerpt(name, seconds)
        for label, make in SYNTH.items():
            yield "tune", label, make(seconds), material.SR
    if which in ("all", "judge"):
        for label, name in JUDGE.items():
            if (CORPUS / name).exists():
                yield "judge", label, *excerpt(name, seconds)


def table(rows: list[dict], use_visqol: bool) -> list[str]:
    head = (
        "| set | clip | L | R | mid | side | side/mid (orig) | librosa L / R | librosa mid "
        "| librosa side | librosa side/mid |"
    )
    rule = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    if use_visqol:
        head += " ViSQOL mono (ours / librosa) |"
        rule += "---:|"
    lines = [head, rule]
    for r in rows:
        o, b = r["ours"], r["lr"]
        line = (
            f"| {r['set']} | {r['label']} | {o['L']:.1f} | {o['R']:.1f} | **{o['mid']:.1f}** | "
            f"**{o['side']:.1f}** | {o['ratio']:.1f} ({o['ratio0']:.1f}) | {b['L']:.1f} / "
            f"{b['R']:.1f} | {b['mid']:.1f} | {b['side']:.1f} | {b['ratio']:.1f} |"
        )
        if use_visqol:
            vo, vl = r.get("vq_ours"), r.get("vq_lr")
            line += f" {vo:.2f} / {vl:.2f} |" if vo is not None else " n/a |"
        lines.append(line)
    return lines


def bench_long(runs: int, baseline: Path | None = None) -> list[str]:
    """60 s of a real stereo recording with drums, whole processes taking turns, wall and
    CPU time (user + system: what a busy machine distorts least); ``baseline``: a
    checkout whose decode takes turns too (its package first on ``PYTHONPATH``)."""
    import statistics
    import subprocess

    import fast
    import oneliner

    if not (CORPUS / LONG_DRUMS).exists():
        return [f"(skipped: {LONG_DRUMS} not in {CORPUS})"]
    fast.compile_sources()
    base_env = None
    if baseline is not None:
        import compileall

        compileall.compile_dir(str(baseline.resolve() / "spec2img"), quiet=1)
        base_env = {**os.environ, "PYTHONPATH": str(baseline.resolve())}
    y, sr = excerpt(LONG_DRUMS, 60.0)
    cmds = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        fast.write_wav(tmp / "d.wav", y, sr)
        subprocess.run(fast.spec2img_cmd("encode", tmp / "d.wav", tmp / "d.png", "-q"), check=True)
        for name in ("ours", "baseline"):
            cmds[name] = fast.spec2img_cmd("decode", tmp / "d.png", tmp / f"{name}.wav", "-q",
                                           "-y", "--subtype", "FLOAT")  # fmt: skip
        cmds["librosa"] = [fast.PY, "-c", fast.LIBROSA_STEREO.format(src=str(tmp / "d.wav"),
                                                                     dst=str(tmp / "librosa.wav"))]  # fmt: skip
        envs = {"ours": None, "librosa": None, "baseline": base_env}
        names = [n for n in ("ours", "librosa", "baseline") if n != "baseline" or base_env]
        times = {n: [] for n in names}
        for _ in range(runs):
            for n in names:
                cwd = baseline.resolve() if n == "baseline" else None
                times[n].append(oneliner.timed([str(c) for c in cmds[n]], envs[n], cwd))
        out = {n: fast.read(tmp / f"{n}.wav") for n in names}
    med = {n: [statistics.median(t[i] for t in times[n]) for i in (0, 1)] for n in names}
    sc = {n: fast.sc_db(y, out[n]) for n in names}
    fig = {n: stereo_figures(y, out[n]) for n in names}
    lw, lc = med["librosa"]
    lines = [
        "| 60 s stereo 44.1 kHz, Lets Go Fishin | wall s (ratio) | CPU s (ratio) | SC dB "
        "(vs librosa) | mid | side |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        w, c = med[n]
        better = f" ({sc['librosa'] - sc[n]:.1f} better)" if n != "librosa" else ""
        lines.append(f"| {n} | {w:.1f} ({w / lw:.2f}x) | {c:.1f} ({c / lc:.2f}x) | "
                     f"{sc[n]:.1f}{better} | {fig[n]['mid']:.1f} | {fig[n]['side']:.1f} |")  # fmt: skip
    lines.append(f"\nMedians of {runs} interleaved runs; load average after: {load_avg()}.")
    return lines


def transient_sources(seconds: float = 8.0, sr: int = material.SR) -> dict[str, np.ndarray]:
    """Transient-heavy mono sources: speech (judge recording 3436, if present), piano-like
    notes (struck, slightly inharmonic partials, a hammer click) and castanet-like clicks
    (clusters of 1-ms bright noise bursts)."""
    from scipy.signal import resample_poly

    rng = np.random.default_rng(24)
    n = int(seconds * sr)
    out = {}
    if (CORPUS / SPEECH).exists():
        y, sr0 = spec2img.load_audio(CORPUS / SPEECH)
        y = np.asarray(y, np.float64).reshape(-1, y.shape[-1]).mean(axis=0)
        g = np.gcd(sr, sr0)
        y = resample_poly(y, sr // g, sr0 // g)[:n]
        out["speech 3436 (judge)"] = np.pad(y, (0, n - y.size))
    t = np.arange(n) / sr
    piano = np.zeros(n)
    for at in np.arange(0.1, seconds - 0.5, 0.45):
        i, f0 = int(at * sr), 110 * 2 ** (rng.integers(0, 30) / 12)
        tt = t[: n - i]
        note = sum(np.sin(2 * np.pi * f0 * k * np.sqrt(1 + 4e-4 * k * k) * tt) / k
                   * np.exp(-tt * (1.5 + 0.8 * k)) for k in range(1, 11))  # fmt: skip
        note[:64] += rng.standard_normal(64) * np.exp(-np.arange(64) / 12) * 0.5
        piano[i:] += note
    out["piano-like"] = piano
    clicks = np.zeros(n)
    burst = rng.standard_normal(int(0.001 * sr)) * np.exp(-np.arange(int(0.001 * sr)) / 8)
    for at in np.arange(0.05, seconds - 0.2, 0.3):
        for k in range(rng.integers(2, 5)):
            i = int((at + 0.022 * k) * sr)
            clicks[i : i + burst.size] += burst * rng.uniform(0.5, 1)
    out["castanet-like clicks"] = clicks
    return {k: (0.5 * v / np.abs(v).max()).astype(np.float32) for k, v in out.items()}


def bench_transients(seconds: float = 8.0) -> list[str]:
    """Each transient source panned (gains 0.8 / 0.45) and through a spaced pair (the
    right channel 1.5 ms late at 0.8), phase retrieval alone (no image, no quantisation),
    n_fft 2048 / hop 512, linked and each channel on its own."""
    sr = material.SR
    engine = Stft(2048, 512)
    lines = [
        "| material | L / R alone | L / R linked | mid alone / linked | side alone / linked "
        "| side/mid linked (original) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    d = int(round(0.0015 * sr))
    for name, y in transient_sources(seconds, sr).items():
        late = np.concatenate([np.zeros(d, np.float32), y[:-d]])
        for how, st in (("panned", np.stack([0.8 * y, 0.45 * y])),
                        ("spaced", np.stack([y, 0.8 * late]))):  # fmt: skip
            S = np.abs(engine.forward(st))
            f = {link: stereo_figures(st, phase.reconstruct(S, engine, length=st.shape[-1],
                                                            link=link))
                 for link in (False, True)}  # fmt: skip
            a, b = f[False], f[True]
            lines.append(
                f"| {name}, {how} | {a['L']:.1f} / {a['R']:.1f} | {b['L']:.1f} / {b['R']:.1f} "
                f"| {a['mid']:.1f} / {b['mid']:.1f} | {a['side']:.1f} / {b['side']:.1f} "
                f"| {b['ratio']:.1f} ({b['ratio0']:.1f}) |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", choices=("all", "tune", "judge", "none"), default="all")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--no-visqol", action="store_true", help="leave the ViSQOL column out")
    ap.add_argument("--long", action="store_true", help="also the 60-s whole-process line")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--transients",
        action="store_true",
        help="also speech, piano-like tones and clicks, panned and spaced",
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="with --long: an older checkout whose decode takes turns too",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "stereo.md")
    args = ap.parse_args(argv)
    use_visqol = not args.no_visqol
    if use_visqol:
        try:
            import visqol  # noqa: F401
        except ImportError:
            print("visqol-python is not installed: no ViSQOL column", file=sys.stderr)
            use_visqol = False
    report = [
        "# Stereo decodes: per channel, mid, side",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load_avg()} at start; numpy {np.__version__}.  {args.seconds:g}-s excerpts (from "
        f"{OFFSET_S:g} s where the recording is long enough), encode + decode with the "
        "defaults; SC in dB at n_fft 2048, hop 512 against the original; side/mid in dB "
        "(the original's in brackets); librosa = griffinlim(n_iter=32) on each channel's "
        "true magnitude.",
        "",
    ]
    rows = []
    for which, label, y, sr in clips(args.set, args.seconds):
        row = bench_clip(label, y, sr, use_visqol=use_visqol)
        row["set"] = which
        rows.append(row)
        o = row["ours"]
        print(f"{which:5} {label:30} L {o['L']:6.1f} R {o['R']:6.1f} mid {o['mid']:6.1f} "
              f"side {o['side']:6.1f} ratio {o['ratio']:6.1f} ({o['ratio0']:6.1f})  "
              f"lr mid {row['lr']['mid']:6.1f} side {row['lr']['side']:6.1f}  "
              f"{row['t_ours']:.2f}s vs {row['t_lr']:.2f}s", file=sys.stderr, flush=True)  # fmt: skip
    report += table(rows, use_visqol)
    if args.transients:
        report += ["", "## Transient material, panned and spaced", ""] + bench_transients()
    if args.long:
        report += ["", "## 60 s of a real drum recording", ""] + bench_long(
            args.runs, args.baseline
        )
    report += ["", f"Load average at the end: {load_avg()}."]
    text = "\n".join(report) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
