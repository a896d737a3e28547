"""Figures read with no options against the same figures decoded with every option.

``python bench/figures.py [--set tune|judge|synthetic|all] [--seconds S] [--figsize WxH]
[--dpi D]`` draws every
kind of figure of ``fixtures/make_figures.py`` from clips of the corpus
(``../shared/corpus``, or ``$SPEC2IMG_CORPUS``; the first ``S`` seconds, 10 by default) and from our own
synthetic sounds (noise, clicks, piano-like tones), decodes each twice — with no
option at all, and given every parameter it was drawn with — and prints per kind:
whether the sample rate was read right, the duration error, and the mel
log-spectral distance (LSD, dB, lower is better) of both decodes against the source
at its own rate.  The tune set is what the reading was tuned on; the judge set and
the synthetic sounds were not looked at while tuning.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
CORPUS = Path(os.environ.get("SPEC2IMG_CORPUS", ROOT.parent / "shared" / "corpus"))
TUNE = ("Kevin_MacLeod_-_Vibe_Ace", "sorohanro_-_solo-trumpet-06", "198-209-0000",
        "456440__inspectorj__bird-whistling-robin-single-13")  # fmt: skip
JUDGE = ("Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of_the_Sugar_Plum_Fairy",
         "147793__setuniman__sweet-waltz-0i-22mi", "Karissa_Hobbs_-_Lets_Go_Fishin",
         "3436-172162-0000", "pibble")  # fmt: skip


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def synthetic(sr: int, seconds: float) -> dict[str, np.ndarray]:
    """Sounds unlike the corpus: pink-ish noise, clicks, piano-like tones."""
    rng = np.random.default_rng(20)
    n = int(sr * seconds)
    noise = np.cumsum(rng.standard_normal(n)) * 0.002
    noise = noise - np.convolve(noise, np.ones(64) / 64, "same") + 0.05 * rng.standard_normal(n)
    clicks = np.zeros(n)
    clicks[rng.integers(0, n, 40)] = rng.uniform(-0.9, 0.9, 40)
    t = np.arange(n) / sr
    piano = np.zeros(n)
    for k, f0 in enumerate(rng.uniform(110, 880, 8)):
        start = int(k * n / 8)
        tt = t[: n - start]
        piano[start:] += sum(np.sin(2 * np.pi * f0 * h * tt) * 0.5**h for h in (1, 2, 3, 4, 5))
        piano[start:] *= 1.0  # notes ring on
        piano[start:] += 0.0
    piano *= np.exp(-0.2 * t)
    out = {"noise": noise, "clicks": clicks, "piano-like": piano}
    return {k: (0.5 * v / np.max(np.abs(v))).astype(np.float32) for k, v in out.items()}


def clips(which: str, seconds: float) -> dict[str, tuple[np.ndarray, int]]:
    import soundfile as sf

    names = {"tune": TUNE, "judge": JUDGE}.get(which, ())
    out = {}
    for name in names:
        path = CORPUS / f"{name}.ogg"
        if not path.exists():
            continue
        with sf.SoundFile(path) as f:
            y = f.read(int(seconds * f.samplerate), dtype="float32", always_2d=True)
            out[name] = (y.mean(axis=1), f.samplerate)
    if which == "synthetic":
        out = {k: (v, 22050) for k, v in synthetic(22050, seconds).items()}
    return out


def _level(z: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``z`` at ``ref``'s RMS: a figure without absolute dB decodes normalised, and
    LSD is to judge the shape, not the level."""
    n = min(len(z), len(ref))
    rz = np.sqrt(np.mean(np.square(z[:n], dtype=np.float64))) + 1e-30
    return (z * (np.sqrt(np.mean(np.square(ref[:n], dtype=np.float64))) / rz)).astype(np.float32)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="all", choices=("tune", "judge", "synthetic", "all"))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--kinds", default=None, help="comma-separated kind names")
    ap.add_argument("--jpeg", action="store_true", help="draw every kind as JPEG (quality 90)")
    ap.add_argument("--figsize", default=None, help="WxH inches, for every kind (e.g. 12x8)")
    ap.add_argument("--dpi", type=int, default=None, help="dots per inch, for every kind")
    ap.add_argument("--per-clip", action="store_true", help="also print each clip's difference")
    ap.add_argument("--style", default=None, help="a matplotlib style (e.g. dark_background)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import librosa
    from conftest import mel_lsd

    import spec2img

    figs = _load("make_figures", ROOT / "fixtures" / "make_figures.py")
    kinds = [k for k in figs.KINDS if args.kinds is None or k.name in args.kinds.split(",")]
    if args.figsize or args.dpi:  # other sizes of the same kinds
        size = tuple(float(v) for v in args.figsize.split("x")) if args.figsize else None
        kinds = [dataclasses.replace(k, figsize=size or k.figsize, dpi=args.dpi or k.dpi)
                 for k in kinds]  # fmt: skip
    if args.jpeg:
        kinds = [dataclasses.replace(k, name=f"{k.name}_jpg", fmt="jpg") for k in kinds]
    sets = ("tune", "judge", "synthetic") if args.set == "all" else (args.set,)
    d = Path(tempfile.mkdtemp())
    if args.style:  # every figure drawn under this style (issue 20: figures as people make them)
        import matplotlib.pyplot as plt

        plt.style.use(args.style)
    for which in sets:
        material = clips(which, args.seconds)
        if not material:
            print(f"{which}: no material (corpus absent?)")
            continue
        print(f"\n### {which} set: {', '.join(material)} ({args.seconds:g} s each)\n")
        print("| kind | sr right | duration error | mel-LSD no options | mel-LSD all options |"
              " difference |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- |")
        for kind in kinds:
            right, derr, lsd0, lsd1, fails = 0, [], [], [], []
            t0 = time.time()
            for name, (y, sr) in material.items():
                info = {}
                path, clim, cmap = figs.draw(
                    kind, y, sr, d / f"{which}_{kind.name}_{name[:12]}", info
                )
                ref = librosa.resample(y, orig_sr=sr, target_sr=kind.sr) if sr != kind.sr else y
                want = figs.truth(kind, len(ref), clim, cmap, info["ylim"])
                try:
                    image = spec2img.load_image(path)
                except spec2img.Spec2ImgError as e:
                    fails.append(f"{name}: {e}")
                    continue
                got_sr = image.meta.params.sample_rate
                z, _ = spec2img.decode(image)
                right += got_sr == kind.sr
                derr.append(abs(image.meta.n_samples / got_sr - len(ref) / kind.sr)
                            / (len(ref) / kind.sr))  # fmt: skip
                zz = (
                    librosa.resample(z, orig_sr=got_sr, target_sr=kind.sr)
                    if got_sr != kind.sr
                    else z
                )
                lsd0.append(mel_lsd(ref, _level(zz, ref), kind.sr))
                full = spec2img.load_image(path, plain=want)
                z1, _ = spec2img.decode(full)
                lsd1.append(mel_lsd(ref, _level(z1, ref), kind.sr))
            if args.per_clip:
                names = [m for m in material if not any(f.startswith(f"{m}:") for f in fails)]
                print("  " + ", ".join(f"{m[:16]} {a - b:+.2f}"
                                        for m, a, b in zip(names, lsd0, lsd1, strict=True)))  # fmt: skip
            n = len(material)
            if lsd0:
                a, b = float(np.mean(lsd0)), float(np.mean(lsd1))
                print(f"| {kind.name} | {right}/{n} | {100 * max(derr):.2f} % (max) | {a:.2f} |"
                      f" {b:.2f} | {a - b:+.2f} (worst {max(np.subtract(lsd0, lsd1)):+.2f}) |")  # fmt: skip
            for f in fails:
                print(f"| {kind.name} | failed: {f} | | | | |")
            sys.stdout.flush()
            del t0


if __name__ == "__main__":
    main()
