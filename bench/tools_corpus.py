"""sox and audio-diffusion images of real recordings, decoded as spec2img detects them.

``python bench/tools_corpus.py [--set tune|judge|synthetic|all] [--seconds S]`` writes
``sox in.wav -n spectrogram`` (default: axes, title margin, dB scale) and an
audio-diffusion 256x256 image of each clip (the corpus in ``../shared/corpus`` or
``$SPEC2IMG_CORPUS``, and the synthetic sounds of ``bench/figures.py``), decodes each
with no option (sox: the rate, duration and dB scale read from its labels; a
misread is reported), and prints per clip the mel log-spectral distance (LSD, dB, lower is
better; audio-diffusion decodes, whose level is relative, are brought to the source's
RMS first) and, for sox (whose dB are absolute), the RMS level error; beside them the
*ceiling*: the same audio encoded by spec2img at the tool's framing and decoded, what
a perfect reading of the picture could reach.  Each sox figure is also decoded given
every option (preset, rate, DFT size, duration, dB range): the reading should come
within 0.5 dB mel-LSD of it; ``--jpeg 90,75`` does the same for the figure saved as
JPEG at those qualities, read with no option.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="all", choices=("tune", "judge", "synthetic", "all"))
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--jpeg", default="", help="JPEG qualities of the sox figure to read too "
                    "(comma-separated): no options against every option, same JPEG")  # fmt: skip
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import librosa
    import soundfile as sf
    from conftest import mel_lsd, rms_db
    from figures import _level, clips

    import spec2img
    from spec2img.pipeline import audio_to_image
    from spec2img.wild.sox import framing

    tools = _load("tools", ROOT / "fixtures" / "make_tool_images.py")
    d = Path(tempfile.mkdtemp())
    sets = ("tune", "judge", "synthetic") if args.set == "all" else (args.set,)
    has_sox = shutil.which("sox") is not None

    def ceiling(y, sr, name, **kw):
        wav, png = d / f"{name}_c.wav", d / f"{name}_c.png"
        sf.write(wav, y, sr, subtype="FLOAT")
        audio_to_image(wav, png, **kw)
        z, _ = spec2img.decode(spec2img.load_image(png))
        return z

    print("| set | clip | sox LSD / ceiling / level error | audio-diffusion LSD / ceiling |")
    print("| --- | --- | --- | --- |")
    totals = {}
    for which in sets:
        for name, (y, sr) in clips(which, args.seconds).items():
            y = (0.5 * y / max(1e-9, float(np.max(np.abs(y))))).astype(np.float32)
            row = [which, name[:28]]
            if has_sox:
                wav = d / f"{name[:20]}.wav"
                sf.write(wav, y, sr, subtype="FLOAT")
                png = tools.sox_image(d / f"{name[:20]}_sox.png", wav)
                dur = len(y) / sr
                # no options: the rate, duration and dB scale are read from sox's labels
                z, got_sr = spec2img.decode(spec2img.load_image(png))
                if got_sr != sr or abs(len(z) - len(y)) > 0.01 * len(y):
                    row.append(f"misread: {got_sr} Hz, {len(z) / got_sr:.3f} s")
                    print("| " + " | ".join(row) + " |")
                    continue
                # the same figure decoded given every option: what reading it should reach
                told = {"preset": "sox", "sr": sr, "n_fft": 1024, "duration": dur,
                        "db_range": (-120.0, 0.0)}  # fmt: skip
                zt, _ = spec2img.decode(spec2img.load_image(png, plain=told))
                derr = 100 * abs(len(z) - len(y)) / len(y)
                totals.setdefault((which, "png vs told"), []).append(
                    (mel_lsd(y, z, sr), mel_lsd(y, zt, sr), derr)
                )
                step, _ = framing(sr, 1024, 800, dur)
                c = ceiling(y, sr, f"{name[:20]}_sox", n_fft=1024, hop_length=step)
                for q in [int(v) for v in args.jpeg.split(",") if v]:
                    from PIL import Image

                    jpg = d / f"{name[:20]}_sox{q}.jpg"
                    Image.open(png).convert("RGB").save(jpg, quality=q)
                    zj, sj = spec2img.decode(spec2img.load_image(jpg))
                    za, _ = spec2img.decode(spec2img.load_image(jpg, plain=told))
                    ok = sj == sr and abs(len(zj) - len(y)) <= 0.01 * len(y)
                    lj, la = mel_lsd(y, zj, sr), mel_lsd(y, za, sr)
                    totals.setdefault((which, f"jpeg{q}"), []).append(
                        (lj, la, rms_db(zj[: len(y)]) - rms_db(y[: len(zj)]))
                    )
                    totals.setdefault((which, f"jpeg{q} vs told"), []).append(
                        (lj, la, 100 * abs(len(zj) - len(y)) / len(y))
                    )
                    row.append(f"q{q}: {lj:.3f} / {la:.3f}" + ("" if ok else " MISREAD"))
                a, b = mel_lsd(y, z, sr), mel_lsd(y, c, sr)
                lvl = rms_db(z[: len(y)]) - rms_db(y[: len(z)])
                clvl = rms_db(c[: len(y)]) - rms_db(y[: len(c)])
                totals.setdefault((which, "sox"), []).append((a, b, lvl))
                row.append(f"{a:.3f} / {b:.3f} / {lvl:+.3f} dB (ceiling {clvl:+.3f})")
            else:
                row.append("sox not installed")
            y22 = librosa.resample(y, orig_sr=sr, target_sr=22050) if sr != 22050 else y
            n = 256 * 512 - 1
            y22 = np.pad(y22[:n], (0, max(0, n - len(y22)))).astype(np.float32)
            ad = tools.audio_diffusion_image(d / f"{name[:20]}_ad.png", y22)
            z, _ = spec2img.decode(spec2img.load_image(ad, plain={"preset": "audio-diffusion"}))
            c = ceiling(y22, 22050, f"{name[:20]}_ad", n_fft=2048, hop_length=512,
                        scale="mel", n_mels=256)  # fmt: skip
            # the image's level is relative (ref=np.max): both at the source's RMS
            a, b = mel_lsd(y22, _level(z, y22), 22050), mel_lsd(y22, _level(c, y22), 22050)
            totals.setdefault((which, "ad"), []).append((a, b, 0.0))
            row.append(f"{a:.3f} / {b:.3f}")
            print("| " + " | ".join(row) + " |")
            sys.stdout.flush()
    print()
    for (which, tool), v in totals.items():
        v = np.array(v)
        if tool.endswith("vs told"):  # no options against every option, duration error
            d = v[:, 0] - v[:, 1]
            print(f"{which} {tool}: LSD no options {v[:, 0].mean():.3f}, every option "
                  f"{v[:, 1].mean():.3f}, difference {d.mean():+.3f} (worst {d.max():+.3f}), "
                  f"largest duration error {v[:, 2].max():.2f} %")  # fmt: skip
            continue
        print(f"{which} {tool}: LSD {v[:, 0].mean():.3f}, ceiling {v[:, 1].mean():.3f}, "
              f"level error {v[:, 2].mean():+.3f} dB (worst {v[np.argmax(np.abs(v[:, 2])), 2]:+.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
